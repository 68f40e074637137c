/**
 * A compact index of one log file, written by ingest inside the file's summary, so that a lookup over a bucket
 * can tell from a few hundred bytes that a file holds no record it asks for, and not read it.
 *
 * Per field, the distinct values of the file's records: the exact sorted list while there are at most
 * {@link EXACT_MAX} of them, else a Bloom filter sized for a false-positive rate of {@link BLOOM_FPR} (1%: one
 * file in a hundred that holds no such value is read anyway; a file that holds it is never skipped), or of
 * {@link NEEDLE_FPR} for event IDs and access keys. Plus the eventTime bounds and whether it holds read and
 * write calls.
 *
 * Fields, each a superset of what lookup's filter compares: event names, event sources, caller names
 * ({@link userNames}), access key IDs, event IDs, and resource names ({@link indexResourceNames}). Resource
 * types are not kept: a `--resource-type` filter alone never skips a file. Plus, optionally
 * ({@link PAIR_FIELD}), the (caller name, event name) pairs of the records ({@link userEventPair}): a file where
 * alice and DescribeInstances each occur, but in different records, is skipped by a query for both. An index
 * written before that field existed lacks it, and is then not asked about pairs.
 *
 * An index is only trusted for the object it was built from: the summary names the key, size and ETag, and a
 * reader that finds anything else (or an index that does not parse) reads the file in full.
 */
import { createHash } from 'node:crypto';
import { type IndexLayout, parseIndexLayout, RecordLayoutBuilder } from '#shared/logfile/record-layout.ts';
import { type CloudTrailRecord, isReadOnly, objectOf, textOf, userNames } from '#shared/record.ts';
import { extractResources, resourceNameCandidates, TABLES } from '#shared/resources/index.ts';

export const INDEX_SCHEMA = 'trailwatch.index/1';
/** Up to this many distinct values a field keeps them as they are; beyond, a Bloom filter. */
export const EXACT_MAX = 32;
/** False-positive rate the Bloom filters are sized for. */
export const BLOOM_FPR = 0.01;
/**
 * The rate for the values a needle query looks for (event IDs, access keys): such a query reads only the files
 * that pass, so each false positive is a file read for nothing (12 for 1 at 1% over a week of one region);
 * the filter costs about half a byte more per value.
 */
export const NEEDLE_FPR = 0.001;
const NEEDLE_FIELDS: ReadonlySet<string> = new Set(['eventIds', 'accessKeys']);

export const INDEX_FIELDS = [
  'eventNames',
  'eventSources',
  'users',
  'accessKeys',
  'eventIds',
  'resources',
] as const;
export type IndexField = (typeof INDEX_FIELDS)[number];

/** The optional field of (caller name, event name) pairs: absent from indexes written before it existed. */
export const PAIR_FIELD = 'userEvents';

/**
 * One record's caller name and event name as one value of {@link PAIR_FIELD}. Neither holds a NUL in any
 * record CloudTrail writes; one that does (forged) can only make two pairs share a value, which reads a file
 * more, never skips one that matches.
 */
export function userEventPair(userName: string, eventName: string): string {
  return `${userName}\u0000${eventName}`;
}

/**
 * The resource tables the index's resource names were extracted with. A lookup whose extractor differs (a
 * newer release that finds more resources) cannot trust the names: it reads the file rather than miss one.
 */
export const RESOURCE_RULES = createHash('sha256')
  .update(JSON.stringify(TABLES, (_k, v: unknown) => (v instanceof RegExp ? String(v) : v)))
  .digest('hex')
  .slice(0, 16);

export type IndexSet =
  | { values: string[] }
  /** `bits` bits (base64), `hashes` probes per value, `count` values added. */
  | { bloom: string; bits: number; hashes: number; count: number };

/** The object an index was built from, as the store listed it: an index is trusted for this object only. */
export interface IndexedObject {
  bucket: string;
  key: string;
  size: number;
  etag?: string;
}

export interface FileIndex {
  schema: typeof INDEX_SCHEMA;
  source: IndexedObject;
  /** Milliseconds of the oldest and newest parseable eventTime; null when no record has one. */
  timeRange: [number, number] | null;
  /** Whether the file holds read calls, write calls ({@link isReadOnly}). */
  readOnly: { read: boolean; write: boolean };
  /** {@link RESOURCE_RULES} of the ingest that built it (absent: built before resources were extracted). */
  resourceRules?: string;
  fields: Record<IndexField, IndexSet> & { [PAIR_FIELD]?: IndexSet };
  /** Where each record lies in the file (shared/logfile/record-layout.ts); absent for a file not clean. */
  layout?: IndexLayout;
}

export class IndexFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Every name under which lookup's `--resource-name` finds a resource the record writes as `value`
 * (`nameMatches` of shared/resources/): the value itself, and each end of it that starts at a `/` or `:` or just after one
 * (`arn:aws:iam::1:role/admin` gives `admin`, `/admin`, `role/admin`, `:role/admin`, ...).
 */
function addMatchingNames(out: Set<string>, value: string): void {
  out.add(value);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c !== 0x2f && c !== 0x3a) continue;
    if (i > 0) out.add(value.slice(i));
    if (i + 1 < value.length) out.add(value.slice(i + 1));
  }
}

/**
 * The names a record's resources go by, for the index: every name `--resource-name` matches (the lookup
 * filter's `namesResource`) for every resource the shared extractor finds in the record. The same
 * extractor decides both, so the index cannot miss a resource the filter would find.
 */
export function indexResourceNames(r: CloudTrailRecord): string[] {
  const out = new Set<string>();
  for (const res of extractResources(r)) addMatchingNames(out, res.name);
  return [...out];
}

/** Two 32-bit hashes of a string's UTF-16 code units (FNV-1a, and a multiplicative one), for double hashing. */
function hashes(s: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  // An odd step visits distinct bits for every probe.
  return [h1 >>> 0, (h2 | 1) >>> 0];
}

function probe(bits: number, h1: number, h2: number, i: number): number {
  return ((h1 + Math.imul(i, h2)) >>> 0) % bits;
}

function buildSet(values: Set<string>, fpr: number): IndexSet {
  if (values.size <= EXACT_MAX) return { values: [...values].sort() };
  return bloomOf(values.size, fpr, (visit) => {
    for (const v of values) {
      const [h1, h2] = hashes(v);
      visit(h1, h2);
    }
  });
}

/** A Bloom filter sized for `n` values at rate `fpr`, holding the values whose hash pairs `each` visits. */
function bloomOf(n: number, fpr: number, each: (visit: (h1: number, h2: number) => void) => void): IndexSet {
  const bits = Math.ceil((-n * Math.log(fpr)) / (Math.LN2 * Math.LN2) / 8) * 8;
  const k = Math.max(1, Math.round((bits / n) * Math.LN2));
  const bytes = new Uint8Array(bits / 8);
  each((h1, h2) => {
    for (let i = 0; i < k; i++) {
      const b = probe(bits, h1, h2, i);
      bytes[b >>> 3] |= 1 << (b & 7);
    }
  });
  return { bloom: Buffer.from(bytes).toString('base64'), bits, hashes: k, count: n };
}

/**
 * Event IDs, unique record after record: past {@link EXACT_MAX} of them only their hash pairs are kept, not a
 * set of strings (which held every ID of a big file until the end, and cost the garbage collector to carry).
 * Repeats are then counted again, which only sizes the filter a little larger.
 */
class HashPairs {
  private pairs = new Uint32Array(1024);
  count = 0;

  add(v: string): void {
    if (this.count * 2 + 2 > this.pairs.length) {
      const bigger = new Uint32Array(this.pairs.length * 2);
      bigger.set(this.pairs);
      this.pairs = bigger;
    }
    const [h1, h2] = hashes(v);
    this.pairs[this.count * 2] = h1;
    this.pairs[this.count * 2 + 1] = h2;
    this.count++;
  }

  build(): IndexSet {
    return bloomOf(this.count, NEEDLE_FPR, (visit) => {
      for (let i = 0; i < this.count; i++) visit(this.pairs[i * 2], this.pairs[i * 2 + 1]);
    });
  }
}

/** Decoded Bloom filters, kept beside the index object they came from. */
const decoded = new WeakMap<object, Uint8Array>();

/** Whether a set may hold the value: exactly for a list, with the rate it was sized for (a filter). */
export function mayContain(set: IndexSet, value: string): boolean {
  if ('values' in set) return set.values.includes(value);
  let bytes = decoded.get(set);
  if (!bytes) {
    bytes = Buffer.from(set.bloom, 'base64');
    decoded.set(set, bytes);
  }
  const [h1, h2] = hashes(value);
  for (let i = 0; i < set.hashes; i++) {
    const b = probe(set.bits, h1, h2, i);
    if ((bytes[b >>> 3] & (1 << (b & 7))) === 0) return false;
  }
  return true;
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the layout CloudTrail writes, in which text order is time order. */
function isoSeconds(t: string): boolean {
  return (
    t.length === 20 &&
    t.charCodeAt(4) === 45 &&
    t.charCodeAt(7) === 45 &&
    t.charCodeAt(10) === 84 &&
    t.charCodeAt(13) === 58 &&
    t.charCodeAt(16) === 58 &&
    t.charCodeAt(19) === 90
  );
}

/**
 * Every field userNames reads, as one key no other identity shares: each value tagged with its kind, a
 * string ended by a NUL (which only values holding a NUL themselves, and non-strings, can forge; those
 * take JSON, which never writes a raw NUL). Cheaper than JSON for each record.
 */
function identityKey(values: unknown[]): string {
  let key = '\u0000';
  for (const v of values) {
    if (v === undefined) key += 'u';
    else if (typeof v === 'string' && !v.includes('\u0000')) key += `s${v}\u0000`;
    else return JSON.stringify(values);
  }
  return key;
}

export class FileIndexBuilder {
  private readonly fields: Record<IndexField, Set<string>> = {
    eventNames: new Set(),
    eventSources: new Set(),
    users: new Set(),
    accessKeys: new Set(),
    eventIds: new Set(),
    resources: new Set(),
  };
  private minMs = Number.POSITIVE_INFINITY;
  private maxMs = Number.NEGATIVE_INFINITY;
  /** CloudTrail's own `YYYY-MM-DDTHH:MM:SSZ` times sort as text: compared so, parsed once at the end. */
  private minText: string | undefined;
  private maxText: string | undefined;
  private read = false;
  private write = false;
  /**
   * Work done once per distinct identity and resource value: a file repeats both record after record. Per
   * identity, its caller names and the event names already paired with them.
   */
  private readonly identities = new Map<string, { names: string[]; events: Set<string> }>();
  private readonly pairs = new Set<string>();
  private readonly resourceValues = new Set<string>();
  /** The event IDs once there are more than an exact list holds. */
  private idHashes: HashPairs | undefined;
  /** Filled by the scanner that reads the file (the `recordLayout` of its read), for the index's layout. */
  readonly layout = new RecordLayoutBuilder();

  /** Every name the extractor can find (a superset of `extractResources`'s: the index must miss none). */
  private readonly addResource = (name: string): void => {
    if (this.resourceValues.has(name)) return;
    this.resourceValues.add(name);
    addMatchingNames(this.fields.resources, name);
  };

  add(r: CloudTrailRecord): void {
    const f = this.fields;
    const name = textOf(r.eventName);
    if (name) f.eventNames.add(name);
    const source = textOf(r.eventSource);
    if (source) f.eventSources.add(source);
    const id = textOf(r.eventID);
    if (id) {
      if (this.idHashes) this.idHashes.add(id);
      else if (f.eventIds.add(id).size > EXACT_MAX) {
        this.idHashes = new HashPairs();
        for (const v of f.eventIds) this.idHashes.add(v);
        f.eventIds.clear();
      }
    }
    const u = objectOf(r.userIdentity);
    const key = textOf(u?.accessKeyId);
    if (key) f.accessKeys.add(key);
    if (u) {
      const issuer = objectOf(objectOf(u.sessionContext)?.sessionIssuer);
      const identity = identityKey([u.type, u.userName, u.arn, u.principalId, u.invokedBy, issuer?.userName]);
      let seen = this.identities.get(identity);
      if (!seen) {
        seen = { names: userNames(r), events: new Set() };
        this.identities.set(identity, seen);
        for (const n of seen.names) f.users.add(n);
      }
      if (name && !seen.events.has(name)) {
        seen.events.add(name);
        for (const n of seen.names) this.pairs.add(userEventPair(n, name));
      }
    }
    resourceNameCandidates(r, this.addResource);
    const time = r.eventTime;
    if (typeof time === 'string') {
      if (isoSeconds(time)) {
        // Parsed only when it would become a bound: an impossible date (month 13) is never one.
        const lower = this.minText === undefined || time < this.minText;
        const higher = this.maxText === undefined || time > this.maxText;
        if ((lower || higher) && !Number.isNaN(Date.parse(time))) {
          if (lower) this.minText = time;
          if (higher) this.maxText = time;
        }
      } else {
        const t = Date.parse(time);
        if (!Number.isNaN(t)) {
          if (t < this.minMs) this.minMs = t;
          if (t > this.maxMs) this.maxMs = t;
        }
      }
    }
    if (!(this.read && this.write)) {
      if (isReadOnly(r)) this.read = true;
      else this.write = true;
    }
  }

  build(source: IndexedObject): FileIndex {
    if (this.minText !== undefined) this.minMs = Math.min(this.minMs, Date.parse(this.minText));
    if (this.maxText !== undefined) this.maxMs = Math.max(this.maxMs, Date.parse(this.maxText));
    const fields = {} as FileIndex['fields'];
    for (const name of INDEX_FIELDS)
      fields[name] = buildSet(this.fields[name], NEEDLE_FIELDS.has(name) ? NEEDLE_FPR : BLOOM_FPR);
    if (this.idHashes) fields.eventIds = this.idHashes.build();
    fields[PAIR_FIELD] = buildSet(this.pairs, BLOOM_FPR);
    const layout = this.layout.build();
    return {
      schema: INDEX_SCHEMA,
      source: {
        bucket: source.bucket,
        key: source.key,
        size: source.size,
        ...(source.etag !== undefined ? { etag: source.etag } : {}),
      },
      timeRange: this.minMs <= this.maxMs ? [this.minMs, this.maxMs] : null,
      readOnly: { read: this.read, write: this.write },
      resourceRules: RESOURCE_RULES,
      fields,
      ...(layout ? { layout } : {}),
    };
  }
}

const BASE64_BODY = /^[A-Za-z0-9+/]*$/;

/** One field of an index as written; throws {@link IndexFormatError} for anything else. */
export function parseIndexSet(name: string, v: unknown): IndexSet {
  const o = objectOf(v);
  if (o && Array.isArray(o.values) && o.values.every((s) => typeof s === 'string'))
    return { values: o.values as string[] };
  if (
    o &&
    typeof o.bloom === 'string' &&
    Number.isInteger(o.bits) &&
    (o.bits as number) > 0 &&
    Number.isInteger(o.hashes) &&
    (o.hashes as number) >= 1 &&
    (o.hashes as number) <= 64 &&
    Number.isInteger(o.count)
  ) {
    // Checked without decoding (a lookup decodes only the fields it asks, in mayContain): base64 of this
    // length, padded so, with no other character, decodes to exactly bits / 8 bytes.
    const bits = o.bits as number;
    const n = bits / 8;
    const pad = (3 - (n % 3)) % 3;
    if (
      bits % 8 !== 0 ||
      o.bloom.length !== 4 * Math.ceil(n / 3) ||
      !BASE64_BODY.test(o.bloom.slice(0, o.bloom.length - pad)) ||
      !o.bloom.endsWith('='.repeat(pad))
    )
      throw new IndexFormatError(
        `index field ${name}: expected ${bits} bits of base64, found ${o.bloom.length} characters`,
      );
    return { bloom: o.bloom, bits: o.bits as number, hashes: o.hashes as number, count: o.count as number };
  }
  throw new IndexFormatError(`index field ${name}: expected {values} or {bloom, bits, hashes, count}`);
}

/** The index as written by {@link FileIndexBuilder}; throws {@link IndexFormatError} for anything else. */
export function parseFileIndex(v: unknown): FileIndex {
  const o = objectOf(v);
  if (!o || o.schema !== INDEX_SCHEMA)
    throw new IndexFormatError(`expected an index of schema ${INDEX_SCHEMA}, found ${String(o?.schema)}`);
  const src = objectOf(o.source);
  if (
    !src ||
    typeof src.bucket !== 'string' ||
    typeof src.key !== 'string' ||
    !Number.isInteger(src.size) ||
    (src.etag !== undefined && typeof src.etag !== 'string')
  )
    throw new IndexFormatError('index source: expected {bucket, key, size[, etag]}');
  const source: IndexedObject = {
    bucket: src.bucket,
    key: src.key,
    size: src.size as number,
    ...(typeof src.etag === 'string' ? { etag: src.etag } : {}),
  };
  const range = o.timeRange;
  const timeRange =
    range === null
      ? null
      : Array.isArray(range) && range.length === 2 && range.every((t) => Number.isFinite(t))
        ? ([range[0], range[1]] as [number, number])
        : undefined;
  if (timeRange === undefined) throw new IndexFormatError('index timeRange: expected [min, max] or null');
  const ro = objectOf(o.readOnly);
  if (!ro || typeof ro.read !== 'boolean' || typeof ro.write !== 'boolean')
    throw new IndexFormatError('index readOnly: expected {read, write} booleans');
  if (o.resourceRules !== undefined && typeof o.resourceRules !== 'string')
    throw new IndexFormatError('index resourceRules: expected a string');
  const fieldsIn = objectOf(o.fields);
  if (!fieldsIn) throw new IndexFormatError('index fields: expected an object');
  const fields = {} as FileIndex['fields'];
  for (const name of INDEX_FIELDS) fields[name] = parseIndexSet(name, fieldsIn[name]);
  if (fieldsIn[PAIR_FIELD] !== undefined)
    fields[PAIR_FIELD] = parseIndexSet(PAIR_FIELD, fieldsIn[PAIR_FIELD]);
  let layout: IndexLayout | undefined;
  try {
    if (o.layout !== undefined) layout = parseIndexLayout(o.layout);
  } catch (err) {
    throw new IndexFormatError((err as Error).message, { cause: err });
  }
  return {
    schema: INDEX_SCHEMA,
    source,
    timeRange,
    readOnly: { read: ro.read, write: ro.write },
    ...(typeof o.resourceRules === 'string' ? { resourceRules: o.resourceRules } : {}),
    fields,
    ...(layout ? { layout } : {}),
  };
}

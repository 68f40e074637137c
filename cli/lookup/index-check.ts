/**
 * Whether a log file can hold a record a lookup asks for, from the index ingest wrote with the file's summary
 * (shared/logfile/file-index.ts), so that a lookup over a bucket reads only the files that can match.
 *
 * An index is used only when it certainly describes the object listed now: the summary must name the same
 * bucket and key, the same size and the same ETag. A summary that is missing, describes another object
 * (stale: the file was rewritten after ingest), or does not parse (corrupt) gets the file read in full, and
 * is counted, never silently skipped.
 *
 * Where ingest runs batched (shared/pipeline/ingest-batch.ts), a file has no summary of its own: its summary,
 * index included, is in its batch's summaries object (`summaries/batches/DAY/ID.json.gz`), read here too.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CliError } from '#cli/errors.ts';
import { BATCH_SUMMARIES_PREFIX, BATCH_SUMMARIES_SCHEMA, dayPath, summaryKeyFor } from '#shared/keys.ts';
import {
  type FileIndex,
  IndexFormatError,
  mayContain,
  PAIR_FIELD,
  parseFileIndex,
  RESOURCE_RULES,
  userEventPair,
} from '#shared/logfile/file-index.ts';
import type { IndexLayout } from '#shared/logfile/record-layout.ts';
import { ObjectNotFoundError, type ObjectStore } from '#shared/ports.ts';
import { objectOf } from '#shared/record.ts';
import type { LookupFilter } from './filter.ts';
import { type CacheField, IndexCache } from './index-cache.ts';
import { DAY_MS, type SelectedFile } from './select-files.ts';

/** A summary bigger than this is not what ingest writes: read the file instead. */
const MAX_SUMMARY_BYTES = 8 << 20;

export type IndexVerdict = 'skip' | 'may-match' | 'missing' | 'stale' | 'corrupt';

/** A verdict, and for a file to read, where its records lie when the index knows (the read then walks less). */
export interface IndexAnswer {
  verdict: IndexVerdict;
  layout?: IndexLayout;
}

function answer(index: FileIndex, filter: LookupFilter): IndexAnswer {
  if (!indexMayMatch(index, filter)) return { verdict: 'skip' };
  const layout = index.layout;
  return layout ? { verdict: 'may-match', layout } : { verdict: 'may-match' };
}

/**
 * Whether an index can rule out a file for this filter: not when it sets none of the attributes
 * {@link indexMayMatch} looks at (no filter, or a resource type alone), so every file is read anyway.
 */
export function indexCanSkip(f: LookupFilter): boolean {
  return (
    f.startTime !== undefined ||
    f.endTime !== undefined ||
    f.readOnly !== undefined ||
    f.eventName !== undefined ||
    f.eventSource !== undefined ||
    f.eventId !== undefined ||
    f.accessKeyId !== undefined ||
    f.username !== undefined ||
    f.resourceName !== undefined
  );
}

/** The index fields {@link indexMayMatch} reads for this filter: an index holding only these answers alike. */
export function fieldsAsked(f: LookupFilter): CacheField[] {
  const out: CacheField[] = [];
  if (f.eventName !== undefined) out.push('eventNames');
  if (f.eventSource !== undefined) out.push('eventSources');
  if (f.eventId !== undefined) out.push('eventIds');
  if (f.accessKeyId !== undefined) out.push('accessKeys');
  if (f.username !== undefined) out.push('users');
  if (f.username !== undefined && f.eventName !== undefined) out.push(PAIR_FIELD);
  if (f.resourceName !== undefined) out.push('resources');
  return out;
}

/** Whether a file with this index may hold a record the filter matches. */
export function indexMayMatch(index: FileIndex, f: LookupFilter): boolean {
  if (f.startTime || f.endTime) {
    // No parseable eventTime in the file: no record can pass a time bound.
    if (!index.timeRange) return false;
    if (f.startTime && index.timeRange[1] < f.startTime.getTime()) return false;
    if (f.endTime && index.timeRange[0] > f.endTime.getTime()) return false;
  }
  if (f.readOnly === true && !index.readOnly.read) return false;
  if (f.readOnly === false && !index.readOnly.write) return false;
  const { fields } = index;
  if (f.eventName !== undefined && !mayContain(fields.eventNames, f.eventName)) return false;
  if (f.eventSource !== undefined) {
    const source = f.eventSource.includes('.') ? f.eventSource : `${f.eventSource}.amazonaws.com`;
    if (!mayContain(fields.eventSources, source)) return false;
  }
  if (f.eventId !== undefined && !mayContain(fields.eventIds, f.eventId)) return false;
  if (f.accessKeyId !== undefined && !mayContain(fields.accessKeys, f.accessKeyId)) return false;
  if (f.username !== undefined && !mayContain(fields.users, f.username)) return false;
  // Both in the file is not enough: one record must pair them. Older indexes have no pairs to ask.
  const pairs = fields[PAIR_FIELD];
  if (
    f.username !== undefined &&
    f.eventName !== undefined &&
    pairs !== undefined &&
    !mayContain(pairs, userEventPair(f.username, f.eventName))
  )
    return false;
  // Names found by another release's resource tables may lack one this lookup's tables find.
  if (
    f.resourceName !== undefined &&
    index.resourceRules === RESOURCE_RULES &&
    !mayContain(fields.resources, f.resourceName)
  )
    return false;
  return true;
}

/**
 * A summary's bytes, or undefined when it is too big to be one; throws {@link ObjectNotFoundError}. With
 * `tail`, at most the last `tail` bytes (fewer only when that is the whole summary); with `range`, the bytes
 * from `range.from`, at most `range.length` of them (fewer at the object's end).
 */
export type SummaryReader = (
  key: string,
  tail?: number,
  range?: { from: number; length: number },
) => Promise<Uint8Array | undefined>;

/**
 * Bytes read from the end of a summary first: the index is its last key, and ingest's indexes are a few
 * kilobytes (a file of thousands of distinct values makes a bigger one, found by reading the whole summary).
 */
export const SUMMARY_TAIL_BYTES = 8 << 10;

async function readFromStore(store: ObjectStore, key: string): Promise<Uint8Array | undefined> {
  const obj = await store.get(key);
  if (obj.size > MAX_SUMMARY_BYTES) return undefined;
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of obj.body) {
    n += c.length;
    if (n > MAX_SUMMARY_BYTES) return undefined;
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * Summaries in a local folder, each read in one blocking call: a summary is a few kilobytes, read in tens of
 * microseconds, less than what a store's streamed get (or a thread pool's round trip) costs to set up.
 */
export function folderReader(root: string, maxBytes = MAX_SUMMARY_BYTES): SummaryReader {
  return async (key, tail, range) => {
    if (key.split('/').includes('..')) throw new ObjectNotFoundError(`refusing key with '..': ${key}`, key);
    let fd: number;
    try {
      fd = openSync(join(root, key), 'r');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR')
        throw new ObjectNotFoundError(`no object at ${root}/${key}`, key, { cause: err });
      throw err;
    }
    try {
      const { size } = fstatSync(fd);
      if (size > maxBytes) return undefined;
      const from = range ? Math.min(range.from, size) : tail === undefined ? 0 : Math.max(0, size - tail);
      const end = range ? Math.min(size, from + range.length) : size;
      // Memory of its own (not Node's shared pool): it can be handed to a worker thread without a copy.
      const bytes = new Uint8Array(end - from);
      let n = 0;
      while (n < bytes.length) {
        const got = readSync(fd, bytes, n, bytes.length - n, from + n);
        if (got === 0) break;
        n += got;
      }
      return bytes.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  };
}

/** Files of a local folder, each read in one blocking call (log files are tens of kilobytes). */
export function folderBytes(root: string): (key: string) => Promise<Uint8Array> {
  const read = folderReader(root, Number.POSITIVE_INFINITY);
  return async (key) => (await read(key)) ?? new Uint8Array(0);
}

const INDEX_KEY = Buffer.from('"index":');
const RBRACE = 0x7d;
const UNVERIFIED_TAIL = Buffer.from(',"unverified":true');

function endsWith(bytes: Buffer, tail: Buffer, end: number): boolean {
  return end >= tail.length && bytes.compare(tail, 0, tail.length, end - tail.length, end) === 0;
}

/**
 * Where `needle` last occurs in `bytes`, -1 if nowhere. A plain loop from the end: the index key lies a few
 * kilobytes before it, and Buffer#lastIndexOf searches far slower than that (it ran at ~100 MB/s here).
 */
function lastIndexOf(bytes: Buffer, needle: Buffer): number {
  const first = needle[0];
  outer: for (let i = bytes.length - needle.length; i >= 0; i--) {
    if (bytes[i] !== first) continue;
    for (let j = 1; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * The index of a summary's bytes, or of their end: ingest writes it as the summary's last key, so the index
 * alone is decoded and parsed (a fifth of the bytes). `"index":` with its quotes cannot occur inside a JSON
 * string, and no key inside an index is named so: the last occurrence is the key (in an end of the bytes
 * too: an occurrence before the end's start comes before one inside it). Searched for in the bytes (UTF-8
 * never hides an ASCII byte inside another character), not in decoded text: a backward search of a string is
 * slow, and decoding the whole summary is most of what reading it costs. Undefined when the bytes are not
 * laid out so (or the end read is too short to hold the index).
 */
function indexAtEnd(bytes: Buffer): FileIndex | undefined {
  const at = lastIndexOf(bytes, INDEX_KEY);
  if (at < 0 || bytes[bytes.length - 1] !== RBRACE) return undefined;
  let end = bytes.length - 1;
  // Summaries of earlier releases have this one key after the index.
  if (endsWith(bytes, UNVERIFIED_TAIL, end)) end -= UNVERIFIED_TAIL.length;
  try {
    return parseFileIndex(JSON.parse(bytes.toString('utf8', at + INDEX_KEY.length, end)));
  } catch {
    return undefined;
  }
}

/** The index of a whole summary's bytes: at their end, else wherever the parsed summary has it. */
function indexOf(bytes: Buffer): FileIndex | 'missing' | 'corrupt' {
  if (bytes[0] === 0x7b) {
    const found = indexAtEnd(bytes);
    if (found) return found;
  }
  let summary: Record<string, unknown> | undefined;
  try {
    summary = objectOf(JSON.parse(bytes.toString('utf8')));
  } catch {
    return 'corrupt';
  }
  if (!summary) return 'corrupt';
  if (summary.index === undefined) return 'missing';
  try {
    return parseFileIndex(summary.index);
  } catch {
    return 'corrupt';
  }
}

const asBuffer = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length);

/** The summaries ingest wrote for the files of one trail bucket. */
export class SummaryIndex {
  private readonly store: ObjectStore;
  private readonly prefix: string;
  private readonly bucket: string;
  private readonly read: SummaryReader;
  /** Whether `read` reads the end of a summary alone when asked (a store's get reads it all anyway). */
  private readonly tails: boolean;

  /** The day folders' gathered indexes (a state folder only: a lookup does not write to a state bucket). */
  private cache: IndexCache | undefined;
  private readonly cacheRead: SummaryReader | undefined;

  /**
   * `bucket`: the trail bucket's name as ingest saw it (summaries are filed under it). `cacheRead`: keep and
   * use the indexes of each day folder gathered in one object of the state store (cli/lookup/index-cache.ts),
   * read with this.
   */
  constructor(
    store: ObjectStore,
    bucket: string,
    prefix = '',
    read?: SummaryReader,
    cacheRead?: SummaryReader,
  ) {
    this.store = store;
    this.bucket = bucket;
    this.tails = read !== undefined;
    this.read = read ?? ((key) => readFromStore(store, key));
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.cacheRead = cacheRead;
  }

  /** What the day folders' cache objects did (undefined without them, or before the first check). */
  get cacheStats(): IndexCache['stats'] | undefined {
    return this.cache?.stats;
  }

  /** Writes the day folders' cache objects that this lookup's summary reads bring up to date. */
  async flush(): Promise<void> {
    await this.cache?.flush();
  }

  get location(): string {
    return `${this.store.location}/${this.prefix}summaries/${this.bucket}/`;
  }

  private asked: { filter: LookupFilter; fields: CacheField[] } | undefined;

  /** {@link fieldsAsked}, worked out once for the filter a lookup asks of every file. */
  private fieldsFor(filter: LookupFilter): CacheField[] {
    if (this.asked?.filter !== filter) this.asked = { filter, fields: fieldsAsked(filter) };
    return this.asked.fields;
  }

  /** What the file's index says of the filter, or why there is no index to go by. */
  async check(file: SelectedFile, filter: LookupFilter): Promise<IndexAnswer> {
    const key = file.trailKey.key;
    if (this.cacheRead) {
      this.cache ??= new IndexCache(this.store, this.cacheRead, this.bucket, this.prefix);
      const fields = this.fieldsFor(filter);
      const cached = await this.cache.lookup(file, fields);
      if (cached) {
        const found = answer(cached, filter);
        if (found.verdict !== 'may-match') return found;
        const layout = await this.cache.layoutOf(file, fields);
        return layout ? { ...found, layout } : found;
      }
    }
    const summaryKey = `${this.prefix}${summaryKeyFor(this.bucket, key)}`;
    let found: Uint8Array | undefined | 'absent';
    let index: FileIndex | 'missing' | 'corrupt' | undefined;
    try {
      if (this.tails) {
        // The end of the summary, where ingest writes the index; all of it only when the end is not enough.
        found = await this.read(summaryKey, SUMMARY_TAIL_BYTES);
        if (found && found.length >= SUMMARY_TAIL_BYTES) {
          index = indexAtEnd(asBuffer(found));
          if (!index) found = await this.read(summaryKey);
        }
      } else found = await this.read(summaryKey);
    } catch (err) {
      if (err instanceof CliError) throw err;
      if (!(err instanceof ObjectNotFoundError)) return { verdict: 'corrupt' };
      found = 'absent';
    }
    if (found === undefined) return { verdict: 'corrupt' };
    // No summary of its own: batched ingest files it in its batch's summaries object.
    index ??= found === 'absent' ? await this.batched(file) : indexOf(asBuffer(found));
    if (index === 'corrupt' || index === 'missing') return { verdict: index };
    const source = index.source;
    if (
      source.bucket !== this.bucket ||
      source.key !== key ||
      source.size !== file.size ||
      file.etag === undefined ||
      source.etag !== file.etag
    ) {
      return { verdict: 'stale' };
    }
    this.cache?.learn(index);
    return answer(index, filter);
  }

  /** The indexes of the batch summaries objects filed under a day, by `bucket\nkey`, read once. */
  private readonly batchDays = new Map<string, Promise<Map<string, FileIndex | 'missing' | 'corrupt'>>>();

  /**
   * The file's index from the summaries object of the batch that ingested it, or 'missing'. A batch is filed
   * under the delivery day of one of its files, and a batch may straddle midnight: the days around the file's
   * own are read too. An object that cannot be read or parsed names no file: its files are read in full.
   */
  private async batched(file: SelectedFile): Promise<FileIndex | 'missing' | 'corrupt'> {
    const day = file.trailKey.time.getTime();
    const want = `${this.bucket}\n${file.trailKey.key}`;
    for (const d of [day, day - DAY_MS, day + DAY_MS]) {
      const found = (await this.batchDay(dayPath(new Date(d)))).get(want);
      if (found) return found;
    }
    return 'missing';
  }

  private batchDay(day: string): Promise<Map<string, FileIndex | 'missing' | 'corrupt'>> {
    let loading = this.batchDays.get(day);
    if (!loading) {
      loading = this.loadBatchDay(day);
      this.batchDays.set(day, loading);
    }
    return loading;
  }

  private async loadBatchDay(day: string): Promise<Map<string, FileIndex | 'missing' | 'corrupt'>> {
    const out = new Map<string, FileIndex | 'missing' | 'corrupt'>();
    const keys: string[] = [];
    // Loaded only here: it brings in the whole ingest pipeline, which a lookup over per-file summaries never runs.
    try {
      for await (const o of this.store.list(`${this.prefix}${BATCH_SUMMARIES_PREFIX}${day}/`))
        keys.push(o.key);
    } catch (err) {
      if (err instanceof CliError) throw err;
      // No such folder, or a listing that failed: no file of the day gets an index from a batch.
      return out;
    }
    for (const key of keys) {
      let summaries: unknown[];
      try {
        summaries = batchSummaries(await this.read(key));
      } catch (err) {
        if (err instanceof CliError) throw err;
        continue;
      }
      for (const s of summaries) {
        const source = objectOf(objectOf(s)?.source);
        if (typeof source?.bucket !== 'string' || typeof source.key !== 'string') continue;
        const raw = objectOf(s)?.index;
        let index: FileIndex | 'missing' | 'corrupt' = 'missing';
        try {
          if (raw !== undefined) index = parseFileIndex(raw);
        } catch {
          index = 'corrupt';
        }
        out.set(`${source.bucket}\n${source.key}`, index);
      }
    }
    return out;
  }
}

/** Batched ingest's summaries objects: gzip JSON, at most this big once inflated. */
const MAX_BATCH_BYTES = 64 << 20;

/** The summaries of a batch summaries object's bytes; throws for anything else. */
function batchSummaries(bytes: Uint8Array | undefined): unknown[] {
  if (!bytes) throw new IndexFormatError('batch summaries object over the size cap');
  const gzip = bytes[0] === 0x1f && bytes[1] === 0x8b;
  const text = (gzip ? gunzipSync(bytes, { maxOutputLength: MAX_BATCH_BYTES }) : Buffer.from(bytes)).toString(
    'utf8',
  );
  const doc = objectOf(JSON.parse(text));
  if (doc?.schema !== BATCH_SUMMARIES_SCHEMA || !Array.isArray(doc.summaries))
    throw new IndexFormatError(
      `expected a ${BATCH_SUMMARIES_SCHEMA} object, found schema ${String(doc?.schema)}`,
    );
  return doc.summaries;
}

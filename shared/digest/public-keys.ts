/**
 * CloudTrail's public keys: where they come from (the PublicKeySource port: a ListPublicKeys-shaped file,
 * or the API through shared/adapters/cloudtrail-public-keys.ts) and how a digest's key is chosen (KeyRing): by
 * fingerprint, and only when the digest's end time lies inside the key's validity window, which the AWS
 * CLI never checks.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { type ObjectStore, readAll } from '#shared/ports.ts';
import { DigestError } from './errors.ts';
import { displayDate, REASONS, type VerdictCode } from './verdict.ts';

export interface PublicKeyRecord {
  /** As listed (CloudTrail: MD5 hex of the DER bytes). */
  fingerprint: string;
  /** DER: PKCS#1 RSAPublicKey as CloudTrail publishes it, or SPKI. */
  value: Uint8Array;
  validityStart: Date;
  validityEnd: Date;
}

export interface PublicKeySource {
  /**
   * The keys CloudTrail used in `region` whose validity overlaps [start, end]. Returning more is fine:
   * windows are checked per digest. Throws when the keys cannot be read at all.
   */
  publicKeys(region: string, start: Date, end: Date): Promise<PublicKeyRecord[]>;
}

function parseTime(v: unknown, what: string): Date {
  const d = typeof v === 'string' || v instanceof Date ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) {
    throw new DigestError(`expected ${what} to be a time, found ${JSON.stringify(v)}`);
  }
  return d;
}

/** `{"PublicKeyList":[{Value (base64 DER), ValidityStartTime, ValidityEndTime, Fingerprint}]}`. */
export function parsePublicKeyList(text: string | Uint8Array): PublicKeyRecord[] {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'));
  } catch (err) {
    throw new DigestError('expected ListPublicKeys JSON, found text that is not JSON', { cause: err });
  }
  const list = (doc as { PublicKeyList?: unknown })?.PublicKeyList;
  if (!Array.isArray(list)) {
    throw new DigestError('expected ListPublicKeys JSON with a PublicKeyList array, found none');
  }
  return list.map((e: Record<string, unknown>, i) => {
    const what = `PublicKeyList[${i}]`;
    if (typeof e?.Value !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(e.Value)) {
      throw new DigestError(
        `expected ${what}.Value to be base64 DER, found ${JSON.stringify(e?.Value)?.slice(0, 40)}`,
      );
    }
    if (typeof e.Fingerprint !== 'string' || e.Fingerprint === '') {
      throw new DigestError(
        `expected ${what}.Fingerprint to be a string, found ${JSON.stringify(e.Fingerprint)}`,
      );
    }
    return {
      fingerprint: e.Fingerprint,
      value: Buffer.from(e.Value, 'base64'),
      validityStart: parseTime(e.ValidityStartTime, `${what}.ValidityStartTime`),
      validityEnd: parseTime(e.ValidityEndTime, `${what}.ValidityEndTime`),
    };
  });
}

/** A fixed list of keys (a ListPublicKeys-shaped file): every key, whatever the region or range asked. */
export class StaticPublicKeySource implements PublicKeySource {
  readonly records: readonly PublicKeyRecord[];

  constructor(records: readonly PublicKeyRecord[]) {
    this.records = records;
  }

  async publicKeys(): Promise<PublicKeyRecord[]> {
    return [...this.records];
  }
}

/** Reads a ListPublicKeys-shaped object (the generator's `public-keys.json`) from a store. */
export async function publicKeysFromStore(store: ObjectStore, key: string): Promise<StaticPublicKeySource> {
  let bytes: Buffer;
  try {
    bytes = await readAll(store, key);
  } catch (err) {
    throw new DigestError(`expected public keys at ${store.location}/${key}, could not read them`, {
      cause: err,
    });
  }
  return new StaticPublicKeySource(parsePublicKeyList(bytes));
}

export type KeyLookup =
  | { ok: true; key: KeyObject; record: PublicKeyRecord }
  | {
      ok: false;
      code: Extract<
        VerdictCode,
        'key-not-found' | 'key-unloadable' | 'key-fingerprint-mismatch' | 'key-not-valid'
      >;
      reason: string;
    };

const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const HOUR_MS = 3_600_000;

function loadKey(der: Uint8Array): KeyObject | undefined {
  for (const type of ['pkcs1', 'spki'] as const) {
    try {
      const key = createPublicKey({ key: Buffer.from(der), format: 'der', type });
      return key.asymmetricKeyType === 'rsa' ? key : undefined;
    } catch {
      // try the other encoding
    }
  }
  return undefined;
}

/** The fingerprint may be the MD5 of the bytes given, or of the same key in the other DER encoding. */
function fingerprintMatches(record: PublicKeyRecord, key: KeyObject): boolean {
  const want = record.fingerprint.toLowerCase();
  if (md5(record.value) === want) return true;
  return (
    md5(key.export({ type: 'pkcs1', format: 'der' })) === want ||
    md5(key.export({ type: 'spki', format: 'der' })) === want
  );
}

/** Keys by region and fingerprint, loaded from a source on demand and parsed once. */
export class KeyRing {
  private readonly source: PublicKeySource;
  private readonly byRegion = new Map<string, Map<string, PublicKeyRecord[]>>();
  private readonly loaded = new Map<string, Promise<void>>();
  private readonly parsed = new WeakMap<PublicKeyRecord, KeyObject | null>();

  constructor(source: PublicKeySource) {
    this.source = source;
  }

  /** Loads the keys of a range once (the AWS CLI asks for [start, end + 2 h] up front). */
  load(region: string, start: Date, end: Date): Promise<void> {
    const id = `${region}|${start.getTime()}|${end.getTime()}`;
    let p = this.loaded.get(id);
    if (!p) {
      p = this.source.publicKeys(region, start, end).then(
        (records) => this.add(region, records),
        (err) => {
          this.loaded.delete(id);
          throw err instanceof DigestError
            ? err
            : new DigestError(`could not list public keys for ${region}: ${(err as Error)?.message}`, {
                cause: err,
              });
        },
      );
      this.loaded.set(id, p);
    }
    return p;
  }

  private add(region: string, records: PublicKeyRecord[]): void {
    let m = this.byRegion.get(region);
    if (!m) {
      m = new Map();
      this.byRegion.set(region, m);
    }
    for (const r of records) {
      const list = m.get(r.fingerprint) ?? [];
      const same = list.some(
        (x) =>
          x.validityStart.getTime() === r.validityStart.getTime() &&
          x.validityEnd.getTime() === r.validityEnd.getTime() &&
          Buffer.from(x.value).equals(Buffer.from(r.value)),
      );
      if (!same) list.push(r);
      m.set(r.fingerprint, list);
    }
  }

  /** The key for a digest ending at `at` and naming `fingerprint`, or why there is none. */
  async lookup(region: string, fingerprint: string, at: Date): Promise<KeyLookup> {
    let candidates = this.byRegion.get(region)?.get(fingerprint);
    if (!candidates?.some((r) => covers(r, at))) {
      // Not among the keys of the range loaded so far: ask for the digest's own hour too.
      const hour = Math.floor(at.getTime() / HOUR_MS) * HOUR_MS;
      await this.load(region, new Date(hour - HOUR_MS), new Date(hour + 2 * HOUR_MS));
      candidates = this.byRegion.get(region)?.get(fingerprint);
    }
    if (!candidates || candidates.length === 0) {
      return { ok: false, code: 'key-not-found', reason: REASONS.keyNotFound(region, fingerprint) };
    }
    const record = candidates.find((r) => covers(r, at));
    if (!record) {
      const r = candidates[0];
      return {
        ok: false,
        code: 'key-not-valid',
        reason: REASONS.keyNotValid(
          fingerprint,
          displayDate(at),
          displayDate(r.validityStart),
          displayDate(r.validityEnd),
        ),
      };
    }
    let key = this.parsed.get(record);
    if (key === undefined) {
      key = loadKey(record.value) ?? null;
      if (key && !fingerprintMatches(record, key)) key = null;
      this.parsed.set(record, key);
    }
    if (!key) {
      const loadable = loadKey(record.value);
      return loadable
        ? { ok: false, code: 'key-fingerprint-mismatch', reason: REASONS.keyFingerprintMismatch(fingerprint) }
        : { ok: false, code: 'key-unloadable', reason: REASONS.keyUnloadable(fingerprint) };
    }
    return { ok: true, key, record };
  }
}

function covers(r: PublicKeyRecord, at: Date): boolean {
  return r.validityStart.getTime() <= at.getTime() && at.getTime() <= r.validityEnd.getTime();
}

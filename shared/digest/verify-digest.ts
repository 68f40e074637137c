/**
 * One digest and its log files: fetched, parsed from the exact uncompressed bytes, checked in the AWS CLI's
 * order (format, signature metadata, fields, location, key, signature) plus what it skips (every field's
 * type, the key's validity window, bytes after the gzip stream), and each log file hashed while streaming.
 */

import { createHash, verify as verifySignature } from 'node:crypto';
import { classifyKey } from '#shared/keys.ts';
import { DEFAULT_LIMITS, MAX_DIGEST_BYTES } from '#shared/limits.ts';
import {
  type GetOptions,
  ObjectNotFoundError,
  type ObjectStore,
  PreconditionFailedError,
} from '#shared/ports.ts';
import {
  type DigestFile,
  type DigestLogFile,
  SIGNATURE_ALGORITHM,
  SIGNATURE_ALGORITHM_METADATA,
  SIGNATURE_METADATA,
  sha256Hex,
  stringToSign,
} from './digest-format.ts';
import { DigestError } from './errors.ts';
import { chunkSizeFor, type GzipResult, gunzipFirstMember, inflateFirstMember } from './gzip.ts';
import { Pool } from './pool.ts';
import { KeyRing, type PublicKeySource } from './public-keys.ts';
import { type FileVerdict, invalid, REASONS, valid } from './verdict.ts';

/** S3 user-metadata name of a backfill digest's generation time. */
export const BACKFILL_TIMESTAMP_METADATA = 'backfill-generation-timestamp';

export type FetchedDigest =
  | { found: false; bucket: string; key: string }
  | {
      found: true;
      bucket: string;
      key: string;
      gzip: GzipResult;
      /** Uncompressed bytes (complete only when `gzip.ok`). */
      bytes: Buffer;
      sha256: string;
      metadata: Record<string, string>;
    };

/** Reads a digest object. Throws DigestError only when the store fails (not for a missing object). */
export async function fetchDigest(
  store: ObjectStore,
  bucket: string,
  key: string,
  maxBytes = MAX_DIGEST_BYTES,
  version?: GetOptions,
): Promise<FetchedDigest> {
  let obj: Awaited<ReturnType<ObjectStore['get']>>;
  try {
    obj = await store.get(key, version);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return { found: false, bucket, key };
    // The caller asked for one version: that it is gone is its finding, not a store failure.
    if (err instanceof PreconditionFailedError) throw err;
    throw new DigestError(`could not read digest s3://${bucket}/${key}: ${(err as Error)?.message}`, {
      cause: err,
    });
  }
  let unzipped: Awaited<ReturnType<typeof gunzipFirstMember>>;
  try {
    unzipped = await gunzipFirstMember(obj.body, { maxOutputBytes: maxBytes });
  } catch (err) {
    throw new DigestError(`could not read digest s3://${bucket}/${key}: ${(err as Error)?.message}`, {
      cause: err,
    });
  }
  return {
    found: true,
    bucket,
    key,
    gzip: unzipped.result,
    bytes: unzipped.bytes,
    sha256: sha256Hex(unzipped.bytes),
    metadata: obj.metadata ?? {},
  };
}

const STRING_FIELDS = [
  'awsAccountId',
  'digestStartTime',
  'digestEndTime',
  'digestS3Bucket',
  'digestS3Object',
  'digestPublicKeyFingerprint',
  'digestSignatureAlgorithm',
] as const;
const NULLABLE_FIELDS = ['newestEventTime', 'oldestEventTime'] as const;
const PREVIOUS_FIELDS = [
  'previousDigestS3Bucket',
  'previousDigestS3Object',
  'previousDigestHashValue',
  'previousDigestHashAlgorithm',
  'previousDigestSignature',
] as const;
const LOG_FIELDS = [
  's3Bucket',
  's3Object',
  'hashValue',
  'hashAlgorithm',
  'newestEventTime',
  'oldestEventTime',
] as const;
const HEX = /^[0-9a-fA-F]+$/;

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Parses JSON text (strict UTF-8). */
export function parseJson(bytes: Uint8Array): { ok: true; value: unknown } | { ok: false; detail: string } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, detail: `not UTF-8 JSON: ${(err as Error).message}` };
  }
}

/** Checks every field of a digest for presence and type. Returns what is wrong, or undefined. */
export function digestShapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `expected a JSON object, found ${typeName(value)}`;
  }
  const d = value as Record<string, unknown>;
  for (const f of STRING_FIELDS) {
    if (typeof d[f] !== 'string')
      return `expected ${f} to be a string, found ${f in d ? typeName(d[f]) : 'nothing'}`;
  }
  for (const f of ['digestStartTime', 'digestEndTime'] as const) {
    if (Number.isNaN(Date.parse(d[f] as string)))
      return `expected ${f} to be a time, found ${JSON.stringify(d[f])}`;
  }
  for (const f of [...NULLABLE_FIELDS, ...PREVIOUS_FIELDS]) {
    if (!(f in d)) return `expected ${f}, found nothing`;
    if (d[f] !== null && typeof d[f] !== 'string')
      return `expected ${f} to be a string or null, found ${typeName(d[f])}`;
  }
  const nulls = PREVIOUS_FIELDS.filter((f) => d[f] === null).length;
  if (nulls !== 0 && nulls !== PREVIOUS_FIELDS.length) {
    return 'expected the previousDigest* fields to be all null (first digest of a chain) or all set, found a mix';
  }
  if (!Array.isArray(d.logFiles)) return `expected logFiles to be an array, found ${typeName(d.logFiles)}`;
  for (const [i, l] of (d.logFiles as unknown[]).entries()) {
    if (typeof l !== 'object' || l === null || Array.isArray(l)) {
      return `expected logFiles[${i}] to be an object, found ${typeName(l)}`;
    }
    for (const f of LOG_FIELDS) {
      const v = (l as Record<string, unknown>)[f];
      if (typeof v !== 'string') return `expected logFiles[${i}].${f} to be a string, found ${typeName(v)}`;
    }
  }
  return undefined;
}

export interface CheckDigestOptions {
  /** Region whose public keys apply (the digest's source region). Default: from the key's name. */
  region?: string;
}

export interface CheckedDigest {
  verdict: FileVerdict;
  /** The parsed digest, when it could be read (valid or not). */
  digest?: DigestFile;
}

/**
 * Verifies a fetched digest on its own: everything but its chain and its log files. The bucket and key
 * are where it was found; the file must name exactly those.
 */
export async function checkDigest(
  fetched: FetchedDigest,
  keys: KeyRing,
  options: CheckDigestOptions = {},
): Promise<CheckedDigest> {
  const { bucket, key } = fetched;
  const classified = classifyKey(key);
  const backfill = classified.kind === 'digest' && classified.backfill === true;
  const bad = (
    code: Parameters<typeof invalid>[3],
    reason: string,
    detail?: string,
    digest?: DigestFile,
  ): CheckedDigest => ({
    verdict: { ...invalid('digest', bucket, key, code, reason, detail), ...(backfill ? { backfill } : {}) },
    ...(digest ? { digest } : {}),
  });
  if (!fetched.found) return bad('not-found', REASONS.notFound);
  if (!fetched.gzip.ok) {
    return fetched.gzip.problem === 'trailing-data'
      ? bad('trailing-data', REASONS.trailingData)
      : bad('invalid-format', REASONS.invalidFormat, fetched.gzip.message);
  }
  const json = parseJson(fetched.bytes);
  if (!json.ok) return bad('invalid-format', REASONS.invalidFormat, json.detail);
  const meta = fetched.metadata;
  const signature = meta[SIGNATURE_METADATA];
  const algorithm = meta[SIGNATURE_ALGORITHM_METADATA];
  if (signature === undefined || algorithm === undefined) {
    return bad('signature-failed', REASONS.signatureFailed, 'no signature in the object metadata');
  }
  if (backfill && meta[BACKFILL_TIMESTAMP_METADATA] === undefined) {
    return bad(
      'invalid-format',
      REASONS.invalidFormat,
      `backfill digest without ${BACKFILL_TIMESTAMP_METADATA} metadata`,
    );
  }
  const problem = digestShapeProblem(json.value);
  if (problem) return bad('invalid-format', REASONS.invalidFormat, problem);
  const digest = json.value as DigestFile;
  if (digest.digestS3Bucket !== bucket || digest.digestS3Object !== key) {
    return bad(
      'moved',
      REASONS.moved,
      `the file says s3://${digest.digestS3Bucket}/${digest.digestS3Object}`,
      digest,
    );
  }
  // A backfill digest is signed when it is generated, with the key valid then.
  let signedAt = new Date(digest.digestEndTime);
  if (backfill) {
    signedAt = new Date(meta[BACKFILL_TIMESTAMP_METADATA]);
    if (Number.isNaN(signedAt.getTime())) {
      return bad(
        'invalid-format',
        REASONS.invalidFormat,
        `${BACKFILL_TIMESTAMP_METADATA} is not a time`,
        digest,
      );
    }
  }
  const region = options.region ?? (classified.kind === 'digest' ? classified.region : undefined);
  if (!region) throw new DigestError(`expected the region of digest ${key}: not in its name, none given`);
  const found = await keys.lookup(region, digest.digestPublicKeyFingerprint, signedAt);
  if (!found.ok) return bad(found.code, found.reason, undefined, digest);
  if (algorithm !== SIGNATURE_ALGORITHM) {
    return bad(
      'signature-failed',
      REASONS.signatureFailed,
      `unsupported signature algorithm ${algorithm}`,
      digest,
    );
  }
  if (!HEX.test(signature) || signature.length % 2 !== 0) {
    return bad('signature-failed', REASONS.signatureFailed, 'signature metadata is not hexadecimal', digest);
  }
  const toSign = stringToSign({
    digestEndTime: digest.digestEndTime,
    digestS3Bucket: digest.digestS3Bucket,
    digestS3Object: digest.digestS3Object,
    digestSha256Hex: fetched.sha256,
    previousDigestSignature: digest.previousDigestSignature,
  });
  let ok = false;
  try {
    ok = verifySignature('sha256', Buffer.from(toSign, 'utf8'), found.key, Buffer.from(signature, 'hex'));
  } catch {
    ok = false;
  }
  if (!ok) return bad('signature-failed', REASONS.signatureFailed, undefined, digest);
  return {
    verdict: {
      ...valid('digest', bucket, key),
      ...(backfill ? { backfill } : {}),
      startTime: digest.digestStartTime,
      endTime: digest.digestEndTime,
    },
    digest,
  };
}

/**
 * Whether the previous digest found is the one `newer` was chained to: its uncompressed bytes hash to
 * `previousDigestHashValue` and its signature metadata equals `previousDigestSignature`. The verdict is
 * about the previous file (the newer one is signed, so its record of the past is the trusted side).
 */
export function checkChainLink(newer: DigestFile, previous: FetchedDigest): FileVerdict {
  const { bucket, key } = previous;
  if (!previous.found) return invalid('digest', bucket, key, 'not-found', REASONS.notFound);
  const recordedHash = newer.previousDigestHashValue?.toLowerCase();
  if (newer.previousDigestHashAlgorithm === 'SHA-256' && recordedHash !== previous.sha256) {
    return invalid(
      'digest',
      bucket,
      key,
      'chain-hash-mismatch',
      REASONS.chainHashMismatch,
      `s3://${newer.digestS3Bucket}/${newer.digestS3Object} recorded ${recordedHash}, found ${previous.sha256}`,
    );
  }
  const recordedSignature = newer.previousDigestSignature?.toLowerCase();
  const foundSignature = previous.metadata[SIGNATURE_METADATA]?.toLowerCase();
  if (recordedSignature !== foundSignature) {
    return invalid(
      'digest',
      bucket,
      key,
      'chain-signature-mismatch',
      REASONS.chainSignatureMismatch,
      `s3://${newer.digestS3Bucket}/${newer.digestS3Object} recorded another signature than the one found`,
    );
  }
  return valid('digest', bucket, key);
}

/**
 * Streams one log file through gunzip and SHA-256 (of the uncompressed bytes of the first gzip member) and
 * compares with the digest's record. `store` is the bucket `entry.s3Bucket` names, or undefined when it
 * cannot be reached (reported as not found).
 */
export async function checkLogFile(
  store: ObjectStore | undefined,
  entry: DigestLogFile,
  maxBytes: number = DEFAULT_LIMITS.maxFileBytes,
): Promise<FileVerdict> {
  const { s3Bucket: bucket, s3Object: key } = entry;
  if (!store)
    return invalid('log', bucket, key, 'not-found', REASONS.notFound, `bucket ${bucket} is not available`);
  if (entry.hashAlgorithm !== 'SHA-256') {
    return invalid(
      'log',
      bucket,
      key,
      'unsupported-algorithm',
      REASONS.unsupportedAlgorithm(entry.hashAlgorithm),
    );
  }
  let obj: Awaited<ReturnType<ObjectStore['get']>>;
  try {
    obj = await store.get(key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return invalid('log', bucket, key, 'not-found', REASONS.notFound);
    throw new DigestError(`could not read log file s3://${bucket}/${key}: ${(err as Error)?.message}`, {
      cause: err,
    });
  }
  const hash = createHash('sha256');
  let result: GzipResult;
  try {
    // The cap ingest applies: a bomb listed (or named) in a digest costs no more to hash than to ingest.
    result = await inflateFirstMember(obj.body, (chunk) => hash.update(chunk), {
      chunkSize: chunkSizeFor(obj.size),
      maxOutputBytes: maxBytes,
    });
  } catch (err) {
    throw new DigestError(`could not read log file s3://${bucket}/${key}: ${(err as Error)?.message}`, {
      cause: err,
    });
  }
  if (!result.ok) {
    return result.problem === 'trailing-data'
      ? invalid('log', bucket, key, 'trailing-data', REASONS.trailingData)
      : invalid('log', bucket, key, 'invalid-format', REASONS.invalidFormat, result.message);
  }
  const computed = hash.digest('hex');
  if (computed !== entry.hashValue.toLowerCase()) {
    return invalid(
      'log',
      bucket,
      key,
      'hash-mismatch',
      REASONS.hashMismatch,
      `expected ${entry.hashValue}, found ${computed}`,
    );
  }
  return valid('log', bucket, key);
}

export interface VerifyDigestOptions {
  /** Name of the bucket `store` holds. Default: from `store.location` when it is `s3://bucket`. */
  bucket?: string;
  /** Region whose public keys apply. Default: the source region in the digest's key. */
  region?: string;
  /** Other buckets named by the digest (log files or the previous digest elsewhere). */
  resolveStore?: (bucket: string) => ObjectStore | undefined;
  /** Log files read at once. Default 16. */
  concurrency?: number;
  /** Hash every log file the digest lists. Default true. */
  checkLogs?: boolean;
  /** Fetch the previous digest and compare it with the hash and signature this one recorded. Default true. */
  checkPrevious?: boolean;
  /** The digest's version (or ETag) the S3 event named. */
  version?: GetOptions;
  /** Decompressed-size cap of a log file (default: ingest's). */
  maxFileBytes?: number;
}

export interface DigestReport {
  digest: FileVerdict;
  /** The parsed digest when it could be read. */
  file?: DigestFile;
  /** The previous digest compared with this one's record of it (only when this one is valid and chained). */
  previous?: FileVerdict;
  /** One verdict per listed log file, in the digest's order (only when the digest is valid). */
  logs: FileVerdict[];
}

export function bucketOf(store: ObjectStore, given?: string): string {
  if (given) return given;
  const m = /^s3:\/\/([^/]+)\/?$/.exec(store.location);
  if (m) return m[1];
  throw new DigestError(`expected the bucket name of ${store.location}: give it (option bucket)`);
}

export function storeResolver(
  store: ObjectStore,
  bucket: string,
  resolve?: (bucket: string) => ObjectStore | undefined,
): (b: string) => ObjectStore | undefined {
  return (b) => (b === bucket ? store : resolve?.(b));
}

/**
 * The check for one delivered digest (what an S3-triggered function runs): the digest itself, the link to
 * its predecessor, and each log file it lists. Invalid input gives verdicts, never exceptions; a store or
 * key source that fails throws DigestError.
 */
export async function verifyDigest(
  store: ObjectStore,
  key: string,
  keys: PublicKeySource | KeyRing,
  options: VerifyDigestOptions = {},
): Promise<DigestReport> {
  const bucket = bucketOf(store, options.bucket);
  const ring = keys instanceof KeyRing ? keys : new KeyRing(keys);
  const storeFor = storeResolver(store, bucket, options.resolveStore);
  const fetched = await fetchDigest(store, bucket, key, MAX_DIGEST_BYTES, options.version);
  const checked = await checkDigest(fetched, ring, { region: options.region });
  const report: DigestReport = {
    digest: checked.verdict,
    ...(checked.digest ? { file: checked.digest } : {}),
    logs: [],
  };
  if (checked.verdict.status !== 'valid' || !checked.digest) return report;
  const d = checked.digest;
  const pool = new Pool(options.concurrency ?? 16);
  const logs = Promise.all(
    options.checkLogs === false
      ? []
      : d.logFiles.map((entry) =>
          pool.run(() => checkLogFile(storeFor(entry.s3Bucket), entry, options.maxFileBytes)),
        ),
  );
  // Awaited below; a failure meanwhile must not surface as an unhandled rejection.
  logs.catch(() => undefined);
  if (
    options.checkPrevious !== false &&
    d.previousDigestS3Bucket !== null &&
    d.previousDigestS3Object !== null
  ) {
    const prevStore = storeFor(d.previousDigestS3Bucket);
    const prev: FetchedDigest = prevStore
      ? await fetchDigest(prevStore, d.previousDigestS3Bucket, d.previousDigestS3Object)
      : { found: false, bucket: d.previousDigestS3Bucket, key: d.previousDigestS3Object };
    report.previous = checkChainLink(d, prev);
  }
  report.logs = await logs;
  return report;
}

/**
 * What to do with one S3 ObjectCreated record on the trail bucket: CloudTrail writes logs, digests and
 * Insights files under one prefix, and S3 notification filters cannot tell them apart by folder in the middle
 * of the key, so one entry receives them all and routes by key.
 */
import { classifyKey, decodeEventKey, type TrailKey } from '#shared/keys.ts';

export interface S3ObjectRef {
  bucket: string;
  /** Decoded key. */
  key: string;
  size?: number;
}

export type Route =
  | { to: 'ingest'; object: S3ObjectRef; key: TrailKey }
  | { to: 'verify'; object: S3ObjectRef; key: TrailKey }
  | { to: 'ignore'; object: S3ObjectRef; reason: string };

export function route(bucket: string, rawKey: string, size?: number, encoded = true): Route {
  let key: string;
  try {
    key = encoded ? decodeEventKey(rawKey) : rawKey;
  } catch {
    return { to: 'ignore', object: { bucket, key: rawKey, size }, reason: 'key is not valid URL encoding' };
  }
  const object = { bucket, key, ...(size !== undefined ? { size } : {}) };
  const k = classifyKey(key);
  if (size === 0) return { to: 'ignore', object, reason: 'zero-byte object' };
  switch (k.kind) {
    case 'log':
      return { to: 'ingest', object, key: k };
    case 'digest':
      return { to: 'verify', object, key: k };
    case 'insight':
      return {
        to: 'ignore',
        object,
        reason: 'CloudTrail Insights file (read by insights report, not ingested)',
      };
    default:
      return { to: 'ignore', object, reason: k.reason };
  }
}

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
  /** The version the event named (versioned bucket). */
  versionId?: string;
  /** The ETag the event named, unquoted. */
  etag?: string;
}

/** One object a notification announced, as the event names it (key URL-encoded). */
export interface Delivery {
  bucket: string;
  key: string;
  size?: number;
  /** `removed` for ObjectRemoved events; created otherwise. */
  event?: 'created' | 'removed';
  /** S3 event name, e.g. `ObjectCreated:Put`. */
  eventName?: string;
  versionId?: string;
  etag?: string;
  /** The notification record itself, handed on unchanged when the object goes to another function. */
  notification: unknown;
}

export type Route =
  | { to: 'ingest'; object: S3ObjectRef; key: TrailKey }
  | { to: 'verify'; object: S3ObjectRef; key: TrailKey }
  /** A log file or digest deleted, or written empty: CloudTrail does neither. */
  | { to: 'tamper'; object: S3ObjectRef; key: TrailKey; tamper: 'removed' | 'empty' }
  | { to: 'ignore'; object: S3ObjectRef; reason: string };

export function route(
  bucket: string,
  rawKey: string,
  size?: number,
  encoded = true,
  event: Pick<Delivery, 'event' | 'versionId' | 'etag'> = {},
): Route {
  let key: string;
  try {
    key = encoded ? decodeEventKey(rawKey) : rawKey;
  } catch {
    return { to: 'ignore', object: { bucket, key: rawKey, size }, reason: 'key is not valid URL encoding' };
  }
  const object: S3ObjectRef = {
    bucket,
    key,
    ...(size !== undefined ? { size } : {}),
    ...(event.versionId && event.versionId !== 'null' ? { versionId: event.versionId } : {}),
    ...(event.etag ? { etag: event.etag.replace(/"/g, '') } : {}),
  };
  const k = classifyKey(key);
  const cloudTrails = k.kind === 'log' || k.kind === 'digest';
  if (event.event === 'removed') {
    return cloudTrails
      ? { to: 'tamper', object, key: k, tamper: 'removed' }
      : { to: 'ignore', object, reason: 'object removed (not a CloudTrail log file or digest)' };
  }
  if (size === 0) {
    return cloudTrails
      ? { to: 'tamper', object, key: k, tamper: 'empty' }
      : { to: 'ignore', object, reason: 'zero-byte object' };
  }
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

/** {@link route} for a delivery taken from an S3 notification. */
export function routeDelivery(d: Delivery): Route {
  return route(d.bucket, d.key, d.size, true, d);
}

/**
 * Alerts about the trail bucket itself rather than what a file says: a CloudTrail object rewritten, deleted
 * or planted empty, a log file that no digest ever listed, objects planted to look like deliveries. CloudTrail
 * writes each object once and never deletes one, so each of these is someone else writing to the bucket.
 * All are `tamper` alerts of the alert contract (shared/notify/alert-kinds.ts), one subtype each.
 */
import { classifyKey } from '#shared/keys.ts';
import { type TamperObjectSubtype, tamperObjectAlert } from '#shared/notify/alert-kinds.ts';
import type { Notification } from '#shared/ports.ts';

export type ObjectTamper =
  /** A second ObjectCreated for a key already read, with other content. */
  | 'overwritten'
  /** The object the event named was replaced before it could be read (no versioning to read it back). */
  | 'replaced-before-read'
  /** ObjectRemoved on a log file or digest. */
  | 'removed'
  /** A zero-byte object with a CloudTrail file name. */
  | 'empty';

export interface ObjectTamperInput {
  tamper: ObjectTamper;
  bucket: string;
  key: string;
  /** What the event said (S3 event name, version, ETag) and what was read before, for the record. */
  details?: Record<string, unknown>;
  /** When it happened: the S3 event's time, else when it was found. */
  at?: string;
}

/** The contract's subtype of a tampered object: what happened, and to a log file or a digest. */
export function objectTamperSubtype(tamper: ObjectTamper, key: string): TamperObjectSubtype {
  const digest = classifyKey(key).kind === 'digest';
  switch (tamper) {
    case 'empty':
      return 'empty-object';
    case 'removed':
      return digest ? 'digest-deleted' : 'log-deleted';
    default:
      return digest ? 'digest-overwritten' : 'log-overwritten';
  }
}

function placeOf(key: string): { account: string; region: string } {
  const k = classifyKey(key);
  return k.kind === 'other' ? { account: 'unknown', region: 'unknown' } : k;
}

function describe(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([name, v]) => `${name}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('; ');
}

/** CRITICAL: CloudTrail never rewrites, deletes or writes empty a file of its own. */
export function objectTamperAlert(topic: string, t: ObjectTamperInput): Notification {
  const { account, region } = placeOf(t.key);
  const details =
    t.tamper === 'replaced-before-read'
      ? {
          note: 'replaced before trailwatch could read it; without versioning the original cannot be read back',
          ...t.details,
        }
      : (t.details ?? {});
  const detail = describe(details);
  return tamperObjectAlert({
    topic,
    subtype: objectTamperSubtype(t.tamper, t.key),
    bucket: t.bucket,
    key: t.key,
    account,
    region,
    severity: 'CRITICAL',
    ...(t.at ? { at: t.at } : {}),
    ...(detail ? { detail } : {}),
  });
}

export interface UnlistedFile {
  bucket: string;
  key: string;
  sha256?: string;
  /** When the log file was delivered (from its name). */
  deliveredAt: string;
}

const unlistedDetail = (f: UnlistedFile) =>
  `delivered ${f.deliveredAt}${f.sha256 ? `, SHA-256 ${f.sha256}` : ''}`;

/**
 * HIGH: log files of one account and region that no valid digest listed within two digest periods, in one
 * message (an attacker planting many files gets one message per place, not one per file).
 */
export function unlistedAlert(topic: string, files: UnlistedFile[], at?: string): Notification {
  const [first, ...rest] = files;
  return tamperObjectAlert({
    topic,
    subtype: 'unlisted-log-file',
    bucket: first.bucket,
    key: first.key,
    ...placeOf(first.key),
    severity: 'HIGH',
    ...(at ? { at } : {}),
    detail: `${unlistedDetail(first)}; no valid digest lists it two digest periods after delivery, so its events are kept out of the anomaly baselines`,
    ...(rest.length > 0 ? { others: rest.map((f) => ({ key: f.key, detail: unlistedDetail(f) })) } : {}),
  });
}

export interface PlantedObject {
  key: string;
  size: number;
  reason: string;
}

/** HIGH: objects named like deliveries that cannot be deliveries: reported, and never counted as one. */
export function plantedAlert(
  topic: string,
  bucket: string,
  objects: PlantedObject[],
  at?: string,
): Notification {
  const [first, ...rest] = objects;
  return tamperObjectAlert({
    topic,
    subtype: 'planted-object',
    bucket,
    key: first.key,
    ...placeOf(first.key),
    severity: 'HIGH',
    ...(at ? { at } : {}),
    detail: `${first.size} bytes: ${first.reason}; not counted as a delivery`,
    ...(rest.length > 0
      ? { others: rest.map((o) => ({ key: o.key, detail: `${o.size} bytes: ${o.reason}` })) }
      : {}),
  });
}

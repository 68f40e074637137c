/**
 * Alerts about the trail bucket itself rather than what a file says: a CloudTrail object rewritten, deleted
 * or planted empty, a log file that no digest ever listed, objects planted to look like deliveries. CloudTrail
 * writes each object once and never deletes one, so each of these is someone else writing to the bucket.
 */
import { classifyKey } from '#shared/keys.ts';
import { buildAlert } from '#shared/notify/alert-message.ts';
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
}

const TITLES: Record<ObjectTamper, string> = {
  overwritten: 'CloudTrail file overwritten',
  'replaced-before-read': 'CloudTrail file replaced before it was read',
  removed: 'CloudTrail file deleted',
  empty: 'Empty object with a CloudTrail file name',
};

const EXPLANATIONS: Record<ObjectTamper, string> = {
  overwritten:
    'CloudTrail writes each file once. A second write with other content is someone rewriting the record (for instance to remove events, then putting the original back).',
  'replaced-before-read':
    'The object the S3 event announced was already replaced when trailwatch read it. The bucket does not keep versions, so the content CloudTrail wrote cannot be read back.',
  removed: 'CloudTrail never deletes its files. A deleted log file or digest removes evidence.',
  empty:
    'CloudTrail never writes an empty file. An empty object named like a delivery can hide that deliveries stopped from anything that only looks at names.',
};

function fileKind(key: string): string {
  const k = classifyKey(key);
  return k.kind === 'digest' ? 'digest' : k.kind === 'log' ? 'log file' : 'object';
}

export function objectTamperAlert(topic: string, t: ObjectTamperInput): Notification {
  const k = classifyKey(t.key);
  const where = k.kind === 'other' ? {} : { account: k.account, region: k.region };
  const text = [
    `[CRITICAL] ${TITLES[t.tamper]}: s3://${t.bucket}/${t.key} (${fileKind(t.key)})`,
    '',
    EXPLANATIONS[t.tamper],
    '',
    ...Object.entries(t.details ?? {}).map(
      ([name, v]) => `${name}: ${typeof v === 'string' ? v : JSON.stringify(v)}`,
    ),
    '',
    'Check: the bucket policy and who can write to it (CloudTrail data events on the bucket, S3 server access logs);',
    `list the versions of the key: aws s3api list-object-versions --bucket ${t.bucket} --prefix ${t.key}`,
    'Recommended: versioning and Object Lock on the trail bucket (README: Log file integrity).',
  ].join('\n');
  return buildAlert({
    topic,
    severity: 'CRITICAL',
    title: TITLES[t.tamper],
    ...where,
    kind: 'tamper',
    text,
    data: { tamper: t.tamper, bucket: t.bucket, key: t.key, ...(t.details ? { details: t.details } : {}) },
    attributes: { tamper: t.tamper },
  });
}

export interface UnlistedFile {
  bucket: string;
  key: string;
  sha256?: string;
  /** When the log file was delivered (from its name). */
  deliveredAt: string;
}

/** Log files no valid digest listed within two digest periods: one HIGH alert per account and region. */
export function unlistedAlert(topic: string, files: UnlistedFile[]): Notification {
  const k = classifyKey(files[0].key);
  const where = k.kind === 'other' ? {} : { account: k.account, region: k.region };
  const text = [
    `[HIGH] ${files.length === 1 ? 'Unlisted log file' : `${files.length} unlisted log files`}: no valid digest lists ${files.length === 1 ? 'it' : 'them'}`,
    '',
    'CloudTrail lists every log file it delivers in the next hourly digest. A log file that no valid digest lists two hours after its delivery was not written by CloudTrail (or its digest was deleted): its events are kept out of the anomaly baselines.',
    '',
    ...files.map(
      (f) =>
        `  s3://${f.bucket}/${f.key} (delivered ${f.deliveredAt}${f.sha256 ? `, SHA-256 ${f.sha256}` : ''})`,
    ),
  ].join('\n');
  return buildAlert({
    topic,
    severity: 'HIGH',
    title: files.length === 1 ? 'Unlisted log file' : `${files.length} unlisted log files`,
    ...where,
    kind: 'tamper',
    text,
    data: { tamper: 'unlisted', files },
    attributes: { tamper: 'unlisted' },
  });
}

export interface PlantedObject {
  key: string;
  size: number;
  reason: string;
}

/** Objects named like deliveries that cannot be deliveries: reported, and never counted as one. */
export function plantedAlert(topic: string, bucket: string, objects: PlantedObject[]): Notification {
  const k = classifyKey(objects[0].key);
  const where = k.kind === 'other' ? {} : { account: k.account, region: k.region };
  const text = [
    `[HIGH] ${objects.length} object${objects.length === 1 ? '' : 's'} named like CloudTrail deliveries that cannot be`,
    '',
    'The watchdog did not count these as deliveries: someone may be planting files to hide that deliveries stopped.',
    '',
    ...objects.map((o) => `  s3://${bucket}/${o.key} (${o.size} bytes): ${o.reason}`),
  ].join('\n');
  return buildAlert({
    topic,
    severity: 'HIGH',
    title: 'Objects planted among CloudTrail deliveries',
    ...where,
    kind: 'tamper',
    text,
    data: { tamper: 'planted', bucket, objects },
    attributes: { tamper: 'planted' },
  });
}

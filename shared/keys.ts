/**
 * CloudTrail's S3 key layout (docs/cloudtrail-format.md section 1), parsed strictly:
 * a key is only a log, digest or Insights file when every part of its name agrees with its folders.
 * Region names are matched by shape, not against a list, so new regions work without a release.
 *
 * A log or Insights file may end in `.json` as well as `.json.gz`: CloudTrail always writes gzip, but public
 * datasets and exports ship the same files uncompressed under the same names, and the reader tells the two
 * apart by their bytes. Digests stay `.json.gz` only: they are signed as delivered, so a renamed one could
 * not be checked anyway.
 */

export type TrailObjectKind = 'log' | 'digest' | 'insight';

export interface TrailKey {
  kind: TrailObjectKind;
  key: string;
  /** Everything before `AWSLogs/`, including its trailing slash; '' when none. */
  prefix: string;
  /** Organization id for organization trails (`AWSLogs/o-xxx/ACCOUNT/...`). */
  orgId?: string;
  account: string;
  /** The region whose folder holds the file (for digests: the source region). */
  region: string;
  /** `YYYY/MM/DD` of the folders. */
  day: string;
  /** Timestamp in the file name: delivery time (logs, Insights) or digest end time (digests). */
  time: Date;
  /** Digests only. */
  trailName?: string;
  homeRegion?: string;
  backfill?: boolean;
}

export type KeyClass = TrailKey | { kind: 'other'; key: string; reason: string };

const LOG_RE =
  /^(?<prefix>(?:.*\/)?)AWSLogs\/(?:(?<org>o-[a-z0-9]{10,32})\/)?(?<account>\d{12})\/(?<folder>CloudTrail|CloudTrail-Insight)\/(?<region>[a-z]{2,}(?:-[a-z0-9]+){1,4})\/(?<y>\d{4})\/(?<m>\d{2})\/(?<d>\d{2})\/(?<file>[^/]+)$/;
const LOG_FILE_RE =
  /^(?<account>\d{12})_(?<folder>CloudTrail|CloudTrail-Insight)_(?<region>[a-z]{2,}(?:-[a-z0-9]+){1,4})_(?<stamp>\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json(?:\.gz)?$/;
const DIGEST_RE =
  /^(?<prefix>(?:.*\/)?)AWSLogs\/(?:(?<org>o-[a-z0-9]{10,32})\/)?(?<account>\d{12})\/CloudTrail-Digest\/(?<region>[a-z]{2,}(?:-[a-z0-9]+){1,4})\/(?<y>\d{4})\/(?<m>\d{2})\/(?<d>\d{2})\/(?<file>[^/]+)$/;
const DIGEST_FILE_RE =
  /^(?<account>\d{12})_CloudTrail-Digest_(?<region>[a-z]{2,}(?:-[a-z0-9]+){1,4})_(?<trail>.+)_(?<home>[a-z]{2,}(?:-[a-z0-9]+){1,4})_(?<stamp>\d{8}T\d{6}Z)(?<backfill>_backfill)?\.json\.gz$/;

/** S3 event notifications URL-encode keys and turn spaces into `+`. */
export function decodeEventKey(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

function stampToDate(stamp: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?Z$/.exec(stamp);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], m[6] ? +m[6] : 0));
  // Date.UTC rolls 2026-02-31 over into March: a name that does not survive the round trip is not CloudTrail's.
  return d.getUTCDate() === +m[3] && d.getUTCHours() === +m[4] && d.getUTCMinutes() === +m[5] ? d : undefined;
}

function other(key: string, reason: string): KeyClass {
  return { kind: 'other', key, reason };
}

export function classifyKey(key: string): KeyClass {
  if (key.endsWith('/')) return other(key, 'folder marker');
  const digest = DIGEST_RE.exec(key);
  if (digest?.groups) {
    const g = digest.groups;
    const f = DIGEST_FILE_RE.exec(g.file)?.groups;
    if (!f) return other(key, 'file name does not follow CloudTrail digest naming');
    if (f.account !== g.account || f.region !== g.region) {
      return other(key, `file name names ${f.account}/${f.region}, folders say ${g.account}/${g.region}`);
    }
    const time = stampToDate(f.stamp);
    if (!time) return other(key, `invalid timestamp ${f.stamp} in file name`);
    return {
      kind: 'digest',
      key,
      prefix: g.prefix,
      ...(g.org ? { orgId: g.org } : {}),
      account: g.account,
      region: g.region,
      day: `${g.y}/${g.m}/${g.d}`,
      time,
      trailName: f.trail,
      homeRegion: f.home,
      backfill: f.backfill !== undefined,
    };
  }
  const log = LOG_RE.exec(key);
  if (log?.groups) {
    const g = log.groups;
    const f = LOG_FILE_RE.exec(g.file)?.groups;
    if (!f) return other(key, `file name does not follow CloudTrail ${g.folder} naming`);
    if (f.account !== g.account || f.region !== g.region || f.folder !== g.folder) {
      return other(key, `file name names ${f.account}/${f.region}, folders say ${g.account}/${g.region}`);
    }
    const time = stampToDate(f.stamp);
    if (!time) return other(key, `invalid timestamp ${f.stamp} in file name`);
    return {
      kind: g.folder === 'CloudTrail' ? 'log' : 'insight',
      key,
      prefix: g.prefix,
      ...(g.org ? { orgId: g.org } : {}),
      account: g.account,
      region: g.region,
      day: `${g.y}/${g.m}/${g.d}`,
      time,
    };
  }
  return other(key, key.includes('AWSLogs/') ? 'not a CloudTrail file name' : 'outside AWSLogs/');
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYYMMDDTHHmmZ` (log and Insights names) or, with seconds, `YYYYMMDDTHHmmssZ` (digest names). */
export function fileStamp(d: Date, seconds = false): string {
  const base = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}`;
  return `${base}${seconds ? pad(d.getUTCSeconds()) : ''}Z`;
}

export function dayPath(d: Date): string {
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

export interface KeyParts {
  prefix?: string;
  orgId?: string;
  account: string;
  region: string;
}

function accountRoot(p: KeyParts): string {
  return `${p.prefix ?? ''}AWSLogs/${p.orgId ? `${p.orgId}/` : ''}${p.account}`;
}

/** The key CloudTrail gives a log (`CloudTrail`) or Insights (`CloudTrail-Insight`) file. */
export function logFileKey(
  p: KeyParts & { folder?: 'CloudTrail' | 'CloudTrail-Insight'; time: Date; unique: string },
): string {
  const folder = p.folder ?? 'CloudTrail';
  return `${accountRoot(p)}/${folder}/${p.region}/${dayPath(p.time)}/${p.account}_${folder}_${p.region}_${fileStamp(p.time)}_${p.unique}.json.gz`;
}

export function digestFileKey(
  p: KeyParts & { trailName: string; homeRegion: string; endTime: Date; backfill?: boolean },
): string {
  return `${accountRoot(p)}/CloudTrail-Digest/${p.region}/${dayPath(p.endTime)}/${p.account}_CloudTrail-Digest_${p.region}_${p.trailName}_${p.homeRegion}_${fileStamp(p.endTime, true)}${p.backfill ? '_backfill' : ''}.json.gz`;
}

/** The folder prefix that holds one kind of file for one account, region and day. */
export function dayFolder(p: KeyParts & { folder: string; day: Date }): string {
  return `${accountRoot(p)}/${p.folder}/${p.region}/${dayPath(p.day)}/`;
}

/**
 * Where the summary of a log file lives in the state store: one object per source object. `x.json.gz` keeps
 * the key it always had (`x.summary.json`: summaries already written stay the commit markers they are);
 * `x.json` is another object, so it gets `x.uncompressed.summary.json`. CloudTrail's file names end in an
 * alphanumeric id before `.json`, so no log file's stem ends in `.uncompressed` and the two never meet.
 */
export function summaryKeyFor(bucket: string, key: string): string {
  const stem = key.endsWith('.json.gz')
    ? key.slice(0, -'.json.gz'.length)
    : key.endsWith('.json')
      ? `${key.slice(0, -'.json'.length)}.uncompressed`
      : key;
  return `summaries/${bucket}/${stem}.summary.json`;
}

/** Batched ingest writes one summaries object per batch under this prefix (`<day>/<id>.json.gz`), of this schema. */
export const BATCH_SUMMARIES_PREFIX = 'summaries/batches/';
export const BATCH_SUMMARIES_SCHEMA = 'trailwatch.batch-summaries/1';

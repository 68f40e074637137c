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

// Numbered groups (named in the comments): a listing classifies every key, and a match's groups object cost
// more than the rest of its parse.
/** 1 prefix, 2 org, 3 account, 4 folder, 5 region, 6 year, 7 month, 8 day, 9 file. */
const LOG_RE =
  /^((?:.*\/)?)AWSLogs\/(?:(o-[a-z0-9]{10,32})\/)?(\d{12})\/(CloudTrail|CloudTrail-Insight)\/([a-z]{2,}(?:-[a-z0-9]+){1,4})\/(\d{4})\/(\d{2})\/(\d{2})\/([^/]+)$/;
/** 1 account, 2 folder, 3 region, 4 stamp. */
const LOG_FILE_RE =
  /^(\d{12})_(CloudTrail|CloudTrail-Insight)_([a-z]{2,}(?:-[a-z0-9]+){1,4})_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json(?:\.gz)?$/;
const DIGEST_RE =
  /^(?<prefix>(?:.*\/)?)AWSLogs\/(?:(?<org>o-[a-z0-9]{10,32})\/)?(?<account>\d{12})\/CloudTrail-Digest\/(?<region>[a-z]{2,}(?:-[a-z0-9]+){1,4})\/(?<y>\d{4})\/(?<m>\d{2})\/(?<d>\d{2})\/(?<file>[^/]+)$/;
const DIGEST_FILE_RE =
  /^(?<account>\d{12})_CloudTrail-Digest_(?<region>[a-z]{2,}(?:-[a-z0-9]+){1,4})_(?<trail>.+)_(?<home>[a-z]{2,}(?:-[a-z0-9]+){1,4})_(?<stamp>\d{8}T\d{6}Z)(?<backfill>_backfill)?\.json\.gz$/;

/** S3 event notifications URL-encode keys and turn spaces into `+`. */
export function decodeEventKey(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

const STAMP_RE = /^\d{8}T\d{4}(?:\d{2})?Z$/;

/** The number written by the ASCII digits `s[from..to)` (checked to be digits already). */
function digits(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
}

function stampToDate(stamp: string): Date | undefined {
  // Tested, then read digit by digit: a listing reads one stamp per key, and captures cost a string each.
  if (!STAMP_RE.test(stamp)) return undefined;
  const day = digits(stamp, 6, 8);
  const hour = digits(stamp, 9, 11);
  const minute = digits(stamp, 11, 13);
  const second = stamp.length === 16 ? digits(stamp, 13, 15) : 0;
  const d = new Date(Date.UTC(digits(stamp, 0, 4), digits(stamp, 4, 6) - 1, day, hour, minute, second));
  // Date.UTC rolls 2026-02-31 over into March: a name that does not survive the round trip is not CloudTrail's.
  return d.getUTCDate() === day && d.getUTCHours() === hour && d.getUTCMinutes() === minute ? d : undefined;
}

function other(key: string, reason: string): KeyClass {
  return { kind: 'other', key, reason };
}

export function classifyKey(key: string): KeyClass {
  if (key.endsWith('/')) return other(key, 'folder marker');
  // Log keys far outnumber digests: the literal every digest key holds is looked for before the pattern.
  const digest = key.includes('/CloudTrail-Digest/') ? DIGEST_RE.exec(key) : null;
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
  const g = LOG_RE.exec(key);
  if (g) {
    // Indexed, not destructured: destructuring walks an iterator, an object per group.
    const account = g[3];
    const folder = g[4];
    const region = g[5];
    const f = LOG_FILE_RE.exec(g[9]);
    if (!f) return other(key, `file name does not follow CloudTrail ${folder} naming`);
    if (f[1] !== account || f[3] !== region || f[2] !== folder) {
      return other(key, `file name names ${f[1]}/${f[3]}, folders say ${account}/${region}`);
    }
    const time = stampToDate(f[4]);
    if (!time) return other(key, `invalid timestamp ${f[4]} in file name`);
    const kind = folder === 'CloudTrail' ? 'log' : 'insight';
    const day = `${g[6]}/${g[7]}/${g[8]}`;
    return g[2]
      ? { kind, key, prefix: g[1], orgId: g[2], account, region, day, time }
      : { kind, key, prefix: g[1], account, region, day, time };
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

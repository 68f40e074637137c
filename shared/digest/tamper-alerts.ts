/**
 * What on-call receives when a delivered digest does not check out: one message per digest, naming every
 * failing file, the failure, the hour of logs it puts in doubt, and the command that checks it again, ready
 * to run as printed.
 */

import { classifyKey, type TrailKey } from '#shared/keys.ts';
import { buildAlert } from '#shared/notify/alert-message.ts';
import type { Notification } from '#shared/ports.ts';
import type { FileVerdict } from './verdict.ts';
import type { DigestReport } from './verify-digest.ts';

const HOUR_MS = 3_600_000;

/** The partition a region belongs to, as ARNs name it. */
function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** A trail's ARN from what a digest's key names: its account, the trail's name and home region. */
export function trailArnOf(p: { account: string; trailName: string; homeRegion: string }): string {
  return `arn:${partitionOf(p.homeRegion)}:cloudtrail:${p.homeRegion}:${p.account}:trail/${p.trailName}`;
}

/** A word as a POSIX shell reads it back: quoted only when it has to be. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

const seconds = (t: number) => `${new Date(t).toISOString().slice(0, 19)}Z`;

/**
 * The options of `trailwatch validate` and `aws cloudtrail validate-logs` (they take the same) that walk
 * this digest's chain over the hours in doubt: from before the oldest failing digest (so its predecessor
 * is reached) to an hour after this digest (so its successor's record of it is compared too).
 */
function validateArguments(
  key: TrailKey,
  bucket: string,
  window: { start?: string; end: string },
  failures: FileVerdict[],
): string[] {
  const trailName = key.trailName ?? '';
  const homeRegion = key.homeRegion ?? key.region;
  let start = Date.parse(window.start ?? window.end) || key.time.getTime();
  for (const f of failures) {
    const c = f.type === 'digest' ? classifyKey(f.key) : undefined;
    if (c?.kind === 'digest') start = Math.min(start, c.time.getTime() - HOUR_MS);
  }
  const end = (Date.parse(window.end) || key.time.getTime()) + HOUR_MS;
  return [
    '--trail-arn',
    trailArnOf({ account: key.account, trailName, homeRegion }),
    '--s3-bucket',
    bucket,
    ...(key.prefix ? ['--s3-prefix', key.prefix.replace(/\/+$/, '')] : []),
    // An organization trail's ARN names its management account, which no digest records. The ARN above
    // names the member account instead (trailwatch takes only the trail's name, home region and default
    // account from it), so the member account whose files these are is named on its own.
    ...(key.orgId ? ['--account-id', key.account] : []),
    // The chain walked is the source region's; both tools take it from --region when it is not the home one.
    ...(key.region !== homeRegion ? ['--region', key.region] : []),
    '--start-time',
    seconds(Math.floor(start / 1000) * 1000),
    '--end-time',
    seconds(Math.ceil(end / 1000) * 1000),
  ];
}

export function failuresOf(report: DigestReport & { gaps?: FileVerdict[] }): FileVerdict[] {
  return [
    report.digest,
    ...(report.previous ? [report.previous] : []),
    ...(report.gaps ?? []),
    ...report.logs,
  ].filter((v) => v.status === 'invalid');
}

function checkLines(
  key: TrailKey,
  bucket: string,
  window: { start?: string; end: string },
  failures: FileVerdict[],
): string[] {
  const args = validateArguments(key, bucket, window, failures).map(shellWord).join(' ');
  return [`Check: trailwatch validate ${args}`, `   or: aws cloudtrail validate-logs ${args}`];
}

export function digestAlert(
  topic: string,
  key: TrailKey,
  report: DigestReport & { gaps?: FileVerdict[] },
): Notification | undefined {
  const failures = failuresOf(report);
  if (failures.length === 0) return undefined;
  const digestBad = report.digest.status === 'invalid';
  const start = report.file?.digestStartTime ?? report.digest.startTime;
  const end = report.file?.digestEndTime ?? report.digest.endTime ?? key.time.toISOString();
  const window = start ? `${start} to ${end}` : `the hour ending ${end}`;
  const title = digestBad
    ? `CloudTrail digest failed validation: ${report.digest.reason}`
    : `CloudTrail log files failed validation (${failures.length})`;
  const lines = [
    `trailwatch could not confirm the integrity of CloudTrail logs for ${key.account} in ${key.region}, ${window}.`,
    digestBad
      ? 'The digest itself is invalid, so none of the log files it covers can be trusted until this is explained.'
      : 'The digest is authentic; the files below differ from what CloudTrail recorded or are missing.',
    '',
    ...failures
      .slice(0, 50)
      .map(
        (v) =>
          `${v.type === 'digest' ? 'Digest file' : 'Log file'}  s3://${v.bucket}/${v.key}\n    INVALID: ${v.reason}${v.detail ? ` (${v.detail})` : ''}`,
      ),
    ...(failures.length > 50 ? [`... and ${failures.length - 50} more`] : []),
    '',
    ...checkLines(key, report.digest.bucket, { ...(start ? { start } : {}), end }, failures),
  ];
  return buildAlert({
    topic,
    severity: 'HIGH',
    title,
    account: key.account,
    region: key.region,
    kind: 'digest',
    text: lines.join('\n'),
    data: {
      digest: {
        bucket: report.digest.bucket,
        key: report.digest.key,
        status: report.digest.status,
        code: report.digest.code,
      },
      window: { start: start ?? null, end },
      failures: failures.map((v) => ({
        type: v.type,
        bucket: v.bucket,
        key: v.key,
        code: v.code,
        reason: v.reason,
        detail: v.detail ?? null,
      })),
    },
    attributes: { check: digestBad ? report.digest.code : 'log-files' },
  });
}

/**
 * What on-call receives when a delivered digest does not check out: one message per digest, naming every
 * failing file, the failure, the hour of logs it puts in doubt, and the command that checks it again, ready
 * to run as printed.
 */

import { classifyKey, type TrailKey } from '#shared/keys.ts';
import { TAMPER_MEANING, type TamperSubtype } from '#shared/notify/alert-kinds.ts';
import { buildAlert } from '#shared/notify/alert-message.ts';
import { chainIncidentKey, objectIncidentKey } from '#shared/notify/incident.ts';
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

const CHAIN_CODES = new Set(['chain-hash-mismatch', 'chain-signature-mismatch']);

/** The worst thing a digest's report says, as a tamper subtype; undefined when everything checks out. */
export function tamperSubtypeOf(report: DigestReport & { gaps?: FileVerdict[] }): TamperSubtype | undefined {
  if (failuresOf(report).length === 0) return undefined;
  const { digest, previous } = report;
  if (digest.status === 'invalid') return CHAIN_CODES.has(digest.code) ? 'chain-broken' : 'digest-invalid';
  if (previous?.status === 'invalid')
    return previous.code === 'not-found' ? 'digest-missing' : 'chain-broken';
  if ((report.gaps ?? []).some((g) => g.status === 'invalid')) return 'digest-missing';
  return report.logs.some((l) => l.status === 'invalid' && l.code === 'not-found')
    ? 'log-deleted'
    : 'log-overwritten';
}

/** Subtypes that break the digest chain: one incident until a later digest links again. */
export function breaksChain(subtype: TamperSubtype | undefined): boolean {
  return subtype === 'chain-broken' || subtype === 'digest-missing';
}

/** Where the open chain incident of a trail's account and region is kept (state bucket). */
export function chainIncidentStateKey(key: TrailKey): string {
  return `chain-incidents/${key.account}/${key.region}/${key.trailName ?? 'unknown'}.json`;
}

/** The incident a digest's failure belongs to: the chain's open one, a new chain break, or the digest's own. */
export function digestIncidentKey(
  key: TrailKey,
  bucket: string,
  subtype: TamperSubtype,
  openChainIncident?: string,
): string {
  if (breaksChain(subtype)) {
    return (
      openChainIncident ??
      chainIncidentKey({
        account: key.account,
        region: key.region,
        trailName: key.trailName ?? 'unknown',
        since: key.time.toISOString(),
      })
    );
  }
  return objectIncidentKey({ subtype, bucket, key: key.key });
}

export function digestAlert(
  topic: string,
  key: TrailKey,
  report: DigestReport & { gaps?: FileVerdict[] },
  openChainIncident?: string,
): Notification | undefined {
  const failures = failuresOf(report);
  const subtype = tamperSubtypeOf(report);
  if (failures.length === 0 || !subtype) return undefined;
  const digestBad = report.digest.status === 'invalid';
  const start = report.file?.digestStartTime ?? report.digest.startTime;
  const end = report.file?.digestEndTime ?? report.digest.endTime ?? key.time.toISOString();
  const window = start ? `${start} to ${end}` : `the hour ending ${end}`;
  const title = digestBad
    ? `CloudTrail digest failed validation: ${report.digest.reason}`
    : subtype === 'digest-missing'
      ? `CloudTrail digest chain broken: digest missing (${failures.length})`
      : subtype === 'chain-broken'
        ? 'CloudTrail digest chain broken'
        : `CloudTrail log files failed validation (${failures.length})`;
  const lines = [
    `trailwatch could not confirm the integrity of CloudTrail logs for ${key.account} in ${key.region}, ${window}.`,
    digestBad
      ? TAMPER_MEANING[subtype]
      : `The digest is authentic; the files below differ from what CloudTrail recorded or are missing. ${TAMPER_MEANING[subtype]}`,
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
  const check = checkLines(key, report.digest.bucket, { ...(start ? { start } : {}), end }, failures)[0];
  return buildAlert({
    topic,
    severity: 'HIGH',
    title,
    account: key.account,
    region: key.region,
    kind: 'tamper',
    text: lines.join('\n'),
    incidentKey: digestIncidentKey(key, report.digest.bucket, subtype, openChainIncident),
    decision: `Act now: treat the logs of ${window} as untrusted until the failure is explained.`,
    chat: {
      nextSteps: [
        `Check again: \`${check.replace(/^Check: /, '')}\``,
        'Find who can write to the trail bucket',
      ],
      keywords: [subtype],
      relatedResources: failures.slice(0, 8).map((v) => `s3://${v.bucket}/${v.key}`),
    },
    data: {
      tamper: { subtype },
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

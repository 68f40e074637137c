/**
 * What on-call receives when a delivered digest does not check out: one message per digest, naming every
 * failing file, the failure, and the hour of logs it puts in doubt.
 */

import type { TrailKey } from '#shared/keys.ts';
import { buildAlert } from '#shared/notify/alert-message.ts';
import type { Notification } from '#shared/ports.ts';
import type { FileVerdict } from './verdict.ts';
import type { DigestReport } from './verify-digest.ts';

export function failuresOf(report: DigestReport & { gaps?: FileVerdict[] }): FileVerdict[] {
  return [
    report.digest,
    ...(report.previous ? [report.previous] : []),
    ...(report.gaps ?? []),
    ...report.logs,
  ].filter((v) => v.status === 'invalid');
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
    `Check: aws cloudtrail validate-logs or trailwatch validate --s3-bucket ${report.digest.bucket} --start-time ${start ?? end}`,
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

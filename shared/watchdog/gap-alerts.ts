/** Watchdog messages: what stopped arriving, where, since when, and what to check first. */
import { trailArnOf } from '#shared/digest/tamper-alerts.ts';
import { classifyKey } from '#shared/keys.ts';
import { buildAlert } from '#shared/notify/alert-message.ts';
import { gapIncidentKey } from '#shared/notify/incident.ts';
import type { Notification } from '#shared/ports.ts';
import type { Finding, WatchdogResult } from './delivery-gaps.ts';

function hours(minutes: number): string {
  return minutes >= 120 ? `${Math.floor(minutes / 60)} h` : `${minutes} min`;
}

export function watchdogAlerts(
  topic: string,
  result: Pick<WatchdogResult, 'opened' | 'closed'>,
): Notification[] {
  const out: Notification[] = [];
  for (const f of result.opened) out.push(gapAlert(topic, f));
  for (const c of result.closed) {
    const what = c.kind === 'digest-missing' ? 'CloudTrail digests' : 'CloudTrail log files';
    // The gap's own key: the watchdog's state remembers the `since` it was reported with.
    const incidentKey = gapIncidentKey({ check: c.kind, ...c.place, since: c.since });
    out.push(
      buildAlert({
        topic,
        severity: 'LOW',
        title: `${what} arriving again`,
        account: c.place.account,
        region: c.place.region,
        kind: 'watchdog',
        text: `${what} for ${c.place.account} in ${c.place.region} are arriving again (gap reported since ${c.since}). Validate the gap's hours with trailwatch validate.`,
        incidentKey,
        resolves: incidentKey,
        decision: "Resolved: validate the gap's hours with trailwatch validate, then close the incident.",
        chat: {
          nextSteps: ["Validate the gap's hours: `npx trailwatch validate --s3-bucket <trail bucket> ...`"],
        },
        data: { state: 'recovered', check: c.kind, place: c.place, since: c.since },
        attributes: { check: c.kind, state: 'recovered' },
      }),
    );
  }
  return out;
}

/**
 * The trail's status, asked the way it runs as printed: a digest's name carries the trail's name and home
 * region; a log file's name does not, so the trail is found first.
 */
function checkLine(f: Finding): string {
  const c = f.newestKey ? classifyKey(f.newestKey) : undefined;
  if (c?.kind === 'digest' && c.trailName && c.homeRegion) {
    // An organization trail's ARN names the management account, which no digest records: its name, asked
    // there, finds it.
    const name = c.orgId
      ? `${c.trailName} --region ${c.homeRegion} (in the management account of ${c.orgId})`
      : `${trailArnOf({ account: c.account, trailName: c.trailName, homeRegion: c.homeRegion })} --region ${c.homeRegion}`;
    return `Check: aws cloudtrail get-trail-status --name ${name}`;
  }
  return `Check: aws cloudtrail describe-trails --region ${f.place.region} (the trail that writes here), then aws cloudtrail get-trail-status --name TRAIL_ARN`;
}

function gapAlert(topic: string, f: Finding): Notification {
  const digest = f.kind === 'digest-missing';
  const title = digest
    ? `No CloudTrail digest for ${hours(f.silentMinutes)}`
    : `No CloudTrail log file for ${hours(f.silentMinutes)}`;
  const where = `${f.place.prefix}AWSLogs/${f.place.orgId ? `${f.place.orgId}/` : ''}${f.place.account}/${digest ? 'CloudTrail-Digest' : 'CloudTrail'}/${f.place.region}/`;
  const text = [
    digest
      ? `CloudTrail delivers a digest every hour, even for an hour without events. None has arrived under ${where} since ${f.newestTime}.`
      : `No log file has arrived under ${where} since ${f.newestTime}, though this account and region delivered recently.`,
    '',
    'Likely causes, most serious first:',
    digest
      ? '  - the trail was stopped or deleted, or log file validation was turned off (look for StopLogging, DeleteTrail, UpdateTrail);'
      : '  - the trail was stopped or deleted, or its event selectors changed (look for StopLogging, DeleteTrail, PutEventSelectors);',
    digest
      ? '  - the newest digest files were deleted from the bucket (they hide tampering with the last hour of logs);'
      : '  - the bucket policy or KMS key no longer lets CloudTrail write;',
    '  - the bucket policy or KMS key no longer lets CloudTrail write, or the region is quiet.',
    '',
    `Newest file: ${f.newestKey ?? 'none'}`,
    checkLine(f),
  ].join('\n');
  return buildAlert({
    topic,
    severity: digest ? 'HIGH' : 'MEDIUM',
    title,
    account: f.place.account,
    region: f.place.region,
    kind: 'watchdog',
    text,
    incidentKey: gapIncidentKey({ check: f.kind, ...f.place, since: f.newestTime ?? 'unknown' }),
    chat: {
      nextSteps: [`${checkLine(f).replace(/^Check: /, 'Ask CloudTrail why: `')}\``],
      ...(f.newestKey ? { relatedResources: [f.newestKey] } : {}),
    },
    data: {
      state: 'open',
      check: f.kind,
      place: f.place,
      newestKey: f.newestKey,
      newestTime: f.newestTime,
      silentMinutes: f.silentMinutes,
      thresholdMinutes: f.thresholdMinutes,
    },
    attributes: { check: f.kind, state: 'open' },
  });
}

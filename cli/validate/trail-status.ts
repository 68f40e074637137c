/**
 * Why a trail's digests stop after the newest one in the bucket: stopped logging, deleted, or the newest
 * digests deleted. The bucket alone cannot tell these apart; CloudTrail's account of the trail can
 * (GetTrailStatus: whether it logs and when it last delivered a digest), and its event history names who
 * stopped or deleted it (LookupEvents). The calls sit behind {@link TrailStatusSource}
 * (cli/adapters/cloudtrail-trail-status.ts over AWS), so this reasoning is tested without AWS.
 */
import { HOUR_MS } from '#shared/digest/gaps.ts';
import { displayDate } from '#shared/digest/verdict.ts';

const MINUTE_MS = 60_000;
/** How far back CloudTrail's LookupEvents reaches. */
const LOOKUP_DAYS = 90;
/** A StopLogging call is looked for this far either side of the StopLoggingTime GetTrailStatus gives. */
const AROUND_MS = 15 * MINUTE_MS;
/**
 * The newest digest found is itself delivered a few minutes after its name's time; a digest delivered more
 * than this after it is a later one.
 */
const LATER_DIGEST_MS = HOUR_MS / 2;

/** GetTrailStatus, the fields that tell a stopped trail from deleted digests. */
export interface TrailStatus {
  isLogging: boolean;
  latestDeliveryTime?: Date;
  latestDigestDeliveryTime?: Date;
  latestDigestDeliveryError?: string;
  startLoggingTime?: Date;
  stopLoggingTime?: Date;
}

/** A StopLogging or DeleteTrail call on the trail, from LookupEvents. */
export interface TrailChange {
  eventName: string;
  time: Date;
  /** The caller's ARN, else its user name. */
  actor: string;
  sourceIp?: string;
}

export interface TrailStatusSource {
  /** The trail's status; undefined when CloudTrail has no such trail (deleted). */
  status(trailArn: string): Promise<TrailStatus | undefined>;
  /** StopLogging and DeleteTrail calls on this trail between two times, oldest first. */
  changes(trailArn: string, from: Date, to: Date): Promise<TrailChange[]>;
}

export type GapCauseKind =
  | 'unknown'
  | 'status-unavailable'
  | 'stopped'
  | 'restarted'
  | 'trail-deleted'
  | 'not-delivering'
  | 'digests-deleted';

export interface GapCause {
  kind: GapCauseKind;
  /**
   * CloudTrail says it delivered digests after the newest one in the bucket: they were deleted, the same
   * finding as a digest deleted inside the chain.
   */
  digestsDeleted: boolean;
  /** The end of the finding's line: what happened, as far as can be told. */
  reason: string;
  status?: TrailStatus;
  changes?: TrailChange[];
}

/** What the bucket alone says. */
export const UNKNOWN_CAUSE = 'the trail stopped delivering or its newest digests were deleted';

/** One line for a failed call: the SDK's name and message, or the network error's code. */
export function failureText(err: unknown): string {
  const e = (err ?? {}) as {
    name?: string;
    message?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
  };
  // An endpoint that is not CloudTrail (a proxy's error page, an emulator without the call) answers in
  // something else than JSON: its status says more than the parser's complaint.
  const status = e.$metadata?.httpStatusCode;
  if (status && (e.name === 'SyntaxError' || /Deserialization error/.test(e.message ?? ''))) {
    return `HTTP ${status} with an answer that is not CloudTrail's`;
  }
  const message = (e.message ?? '').split('\n')[0].trim();
  const name = e.name && e.name !== 'Error' && e.name !== 'AggregateError' ? e.name : '';
  const text = [name, message || e.code || String(err)].filter(Boolean).join(': ');
  return text.length > 240 ? `${text.slice(0, 237)}...` : text;
}

function who(change: TrailChange): string {
  return `by ${change.actor}${change.sourceIp ? ` from ${change.sourceIp}` : ''}`;
}

interface Found {
  text: string;
  change?: TrailChange;
}

/** Who made the call `eventName` nearest to `at` (within `from`..`to`), as the words that follow the time. */
async function whoMade(
  source: TrailStatusSource,
  trailArn: string,
  eventName: string,
  at: Date,
  window: { from: Date; to: Date },
  now: Date,
): Promise<Found> {
  const oldest = now.getTime() - LOOKUP_DAYS * 24 * HOUR_MS;
  if (window.to.getTime() < oldest) {
    return { text: ` (${eventName} is older than the ${LOOKUP_DAYS} days LookupEvents keeps)` };
  }
  let changes: TrailChange[];
  try {
    changes = await source.changes(trailArn, new Date(Math.max(window.from.getTime(), oldest)), window.to);
  } catch (err) {
    return {
      text: ` (who ${eventName === 'DeleteTrail' ? 'deleted' : 'stopped'} it: unavailable: ${failureText(err)})`,
    };
  }
  const matching = changes
    .filter((c) => c.eventName === eventName)
    .sort((a, b) => Math.abs(a.time.getTime() - at.getTime()) - Math.abs(b.time.getTime() - at.getTime()));
  if (matching.length === 0) return { text: ` (no ${eventName} call found in LookupEvents)` };
  return { text: ` ${who(matching[0])}`, change: matching[0] };
}

/**
 * Why no digest follows `gap.from` (the newest digest found) up to `gap.to` (the end of the range).
 * Without a source (a local copy of the bucket) the cause stays open; a failed call says so and the
 * finding stands on what the bucket shows.
 */
export async function explainGap(
  source: TrailStatusSource | undefined,
  trailArn: string,
  gap: { from: Date; to: Date },
  now: Date = new Date(),
): Promise<GapCause> {
  if (!source) return { kind: 'unknown', digestsDeleted: false, reason: UNKNOWN_CAUSE };
  let status: TrailStatus | undefined;
  try {
    status = await source.status(trailArn);
  } catch (err) {
    return {
      kind: 'status-unavailable',
      digestsDeleted: false,
      reason: `${UNKNOWN_CAUSE}; trail status unavailable: ${failureText(err)}`,
    };
  }
  const from = gap.from.getTime();
  const to = gap.to.getTime();
  if (!status) {
    const found = await whoMade(source, trailArn, 'DeleteTrail', now, { from: gap.from, to: now }, now);
    const when = found.change ? ` at ${displayDate(found.change.time)}` : '';
    return {
      kind: 'trail-deleted',
      digestsDeleted: false,
      reason: `the trail no longer exists: deleted${when}${found.text}`,
      ...(found.change ? { changes: [found.change] } : {}),
    };
  }
  const latest = status.latestDigestDeliveryTime?.getTime();
  const deliveredLater = latest !== undefined && latest > from + LATER_DIGEST_MS;
  const stop = status.stopLoggingTime;
  const stopper = async () =>
    stop
      ? whoMade(
          source,
          trailArn,
          'StopLogging',
          stop,
          { from: new Date(stop.getTime() - AROUND_MS), to: new Date(stop.getTime() + AROUND_MS) },
          now,
        )
      : { text: '' };
  const stoppedAt = (found: Found) =>
    stop ? `stopped logging at ${displayDate(stop)}${found.text}` : 'is not logging (no stop time recorded)';
  const withStatus = (cause: Omit<GapCause, 'status'>, found?: Found): GapCause => ({
    ...cause,
    status,
    ...(found?.change ? { changes: [found.change] } : {}),
  });

  if (status.isLogging) {
    if (!deliveredLater) {
      const last =
        latest === undefined ? 'no digest delivery recorded' : `latest at ${displayDate(new Date(latest))}`;
      const error = status.latestDigestDeliveryError ? `: ${status.latestDigestDeliveryError}` : '';
      return withStatus({
        kind: 'not-delivering',
        digestsDeleted: false,
        reason: `trail is logging but delivered no digest after ${displayDate(gap.from)} (${last}): log file validation is off or CloudTrail cannot write to the bucket${error}`,
      });
    }
    const start = status.startLoggingTime?.getTime();
    // Started again only after the gap's last hour: it may have been stopped for the whole gap.
    if (start !== undefined && start > to - HOUR_MS) {
      const found = await stopper();
      return withStatus(
        {
          kind: 'restarted',
          digestsDeleted: false,
          reason: `trail ${stoppedAt(found)} and started logging again at ${displayDate(new Date(start))}`,
        },
        found,
      );
    }
    return withStatus({
      kind: 'digests-deleted',
      digestsDeleted: true,
      reason: `trail is logging and delivered a digest at ${displayDate(new Date(latest))}: the newest digests were deleted`,
    });
  }
  const found = await stopper();
  if (deliveredLater) {
    return withStatus(
      {
        kind: 'digests-deleted',
        digestsDeleted: true,
        reason: `trail ${stoppedAt(found)}, after delivering a digest at ${displayDate(new Date(latest))}: the digests after ${displayDate(gap.from)} were deleted`,
      },
      found,
    );
  }
  return withStatus({ kind: 'stopped', digestsDeleted: false, reason: `trail ${stoppedAt(found)}` }, found);
}

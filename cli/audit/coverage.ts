/**
 * What the validation of one account-region says about a time range, hour by hour: which hours every log
 * file delivered in them is vouched for by a valid, chained digest, and every hole, named with its cause and
 * what it could hide. Pure: it reads the events `validateTrail` yields and the trail's own StopLogging and
 * StartLogging records, and decides nothing else.
 *
 * Time here is delivery time (log files are filed by when CloudTrail delivered them, digests cover windows
 * of delivery): the events of the range [start, end] lie in files delivered from `start` to `end` plus the
 * delivery lag, so the required span runs to `end + LATE_MS`.
 */
import type { DigestGapEvent, GapEvent, ValidationEvent } from '#cli/validate/validate-trail.ts';
import { HOUR_MS } from '#shared/digest/gaps.ts';
import { displayDate, type FileVerdict } from '#shared/digest/verdict.ts';
import { classifyKey } from '#shared/keys.ts';

/** How long after an event its log file may be delivered and still be required (CloudTrail: ~5-15 min). */
export const LATE_MS = 15 * 60_000;
/** A digest not yet due (its hour plus CloudTrail's delivery delay) is pending, not missing. */
export const DIGEST_DUE_MS = 2 * HOUR_MS;

export type HourState = 'verified' | 'missing' | 'failed' | 'pending';

export type HoleKind =
  | 'trail-stopped'
  | 'digest-missing'
  | 'digest-invalid'
  | 'chain-broken'
  | 'log-deleted'
  | 'log-altered'
  | 'log-unlisted'
  | 'digests-stopped'
  | 'no-digests'
  | 'not-yet-delivered';

/** Holes whose hours are shown as failed (a check failed) rather than missing (nothing to check). */
const FAILED_KINDS = new Set<HoleKind>([
  'digest-invalid',
  'chain-broken',
  'log-deleted',
  'log-altered',
  'log-unlisted',
]);

export interface Hole {
  account: string;
  region: string;
  kind: HoleKind;
  from: Date;
  to: Date;
  /** What happened, as far as the bucket and the records tell. */
  cause: string;
  /** What a query over these hours cannot rule out. */
  hides: string;
  /** The files concerned (log files, digests), when any. */
  files: string[];
}

export interface HourCell {
  start: Date;
  state: HourState;
}

export interface PlaceCoverage {
  account: string;
  region: string;
  /** Digests found for this place, valid or not. */
  digests: number;
  hours: HourCell[];
}

/** A StopLogging / StartLogging / DeleteTrail call on the trail, from the records read. */
export interface TrailCall {
  eventName: string;
  time: Date;
  actor: string;
  sourceIp?: string;
  userAgent?: string;
  eventId?: string;
}

export interface CoverageInput {
  account: string;
  region: string;
  /** The query's range. */
  start: Date;
  end: Date;
  now: Date;
  /** Validation events of this account, every region (filtered here). */
  events: readonly ValidationEvent[];
  /** The trail's StopLogging, StartLogging and DeleteTrail calls, oldest first. */
  trailCalls: readonly TrailCall[];
}

export interface CoverageResult {
  place: PlaceCoverage;
  holes: Hole[];
  /** Log files whose hash a valid, chained digest vouched for. */
  verifiedFiles: Set<string>;
}

type Span = [number, number];

function regionOf(key: string): string | undefined {
  const c = classifyKey(key);
  return c.kind === 'other' ? undefined : c.region;
}

function merge(spans: Span[]): Span[] {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out.at(-1);
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else out.push([s[0], s[1]]);
  }
  return out;
}

/** The parts of [from, to] no span covers. */
function subtract(from: number, to: number, covered: Span[]): Span[] {
  const out: Span[] = [];
  let at = from;
  for (const [a, b] of merge(covered)) {
    if (b <= at) continue;
    if (a >= to) break;
    if (a > at) out.push([at, a]);
    at = Math.max(at, b);
  }
  if (at < to) out.push([at, to]);
  return out;
}

const overlaps = (a: Span, b: Span) => a[0] < b[1] && b[0] < a[1];
const floorHour = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;

function callText(c: TrailCall): string {
  return `${c.eventName} by ${c.actor} at ${displayDate(c.time)}${c.sourceIp ? ` from ${c.sourceIp}` : ''}`;
}

const HIDES: Record<HoleKind, string> = {
  'trail-stopped': 'every API call made while the trail was stopped: CloudTrail recorded none of them',
  'digest-missing':
    'any change to the log files of those hours: without their digest, files deleted, altered or added leave no trace',
  'digest-invalid':
    'any change to the log files that digest lists: a forged or altered digest vouches for nothing',
  'chain-broken':
    'a replaced digest and any log files it lists: the chain no longer ties those hours to CloudTrail',
  'log-deleted': 'every event that file held (about 5-15 minutes of calls): matching events may be gone',
  'log-altered': 'the events of that file: records may have been removed, changed or forged',
  'log-unlisted': 'forged events: CloudTrail never vouched for that file, so its records prove nothing',
  'digests-stopped':
    'every event of those hours: the trail stopped delivering digests, or the newest digests were deleted',
  'no-digests': 'every event of those hours: no digest covers them (log file validation or logging was off)',
  'not-yet-delivered': 'events of the last hours: their digests are not due yet; audit again later',
};

function logHoleKind(v: FileVerdict): HoleKind {
  if (v.code === 'not-found') return 'log-deleted';
  if (v.code === 'unlisted') return 'log-unlisted';
  return 'log-altered';
}

function digestHoleKind(v: FileVerdict): HoleKind {
  if (v.code === 'not-found') return 'digest-missing';
  if (v.code === 'chain-hash-mismatch' || v.code === 'chain-signature-mismatch') return 'chain-broken';
  return 'digest-invalid';
}

/** The StopLogging (or DeleteTrail) call that explains a silence from `from` to `to`, and the restart. */
function stopIn(calls: readonly TrailCall[], from: number, to: number): string | undefined {
  const stop = calls.find(
    (c) =>
      (c.eventName === 'StopLogging' || c.eventName === 'DeleteTrail') &&
      c.time.getTime() >= from - HOUR_MS &&
      c.time.getTime() <= to,
  );
  if (!stop) return undefined;
  const restart = calls.find(
    (c) => c.eventName === 'StartLogging' && c.time.getTime() >= stop.time.getTime(),
  );
  const how = stop.eventName === 'DeleteTrail' ? 'trail deleted' : 'trail stopped';
  return `${how}: ${callText(stop)}${restart ? `; restarted: ${callText(restart)}` : '; not restarted in the records read'}`;
}

/** The coverage of one account-region over the range, and its holes. */
export function coverageOf(input: CoverageInput): CoverageResult {
  const { account, region } = input;
  const start = input.start.getTime();
  const required: Span = [start, input.end.getTime() + LATE_MS];
  const pendingFrom = input.now.getTime() - DIGEST_DUE_MS;
  const valid: Span[] = [];
  const holes: Hole[] = [];
  const verifiedFiles = new Set<string>();
  let digests = 0;
  const hole = (kind: HoleKind, span: Span, cause: string, files: string[] = []) => {
    if (span[1] <= required[0] || span[0] >= required[1]) return;
    holes.push({
      account,
      region,
      kind,
      from: new Date(span[0]),
      to: new Date(span[1]),
      cause,
      hides: HIDES[kind],
      files,
    });
  };
  const chainGaps: (GapEvent | DigestGapEvent)[] = [];

  for (const e of input.events) {
    if (e.type === 'digest' || e.type === 'log') {
      if (regionOf(e.key) !== region) continue;
      if (e.type === 'digest') {
        digests++;
        if (e.status === 'valid' && e.startTime && e.endTime) {
          valid.push([Date.parse(e.startTime), Date.parse(e.endTime)]);
        } else if (e.status === 'invalid') {
          const end = (classifyKey(e.key) as { time?: Date }).time?.getTime() ?? Number.NaN;
          if (Number.isNaN(end)) continue;
          const kind = digestHoleKind(e);
          const what = kind === 'digest-missing' ? 'digest missing' : `digest INVALID: ${e.reason}`;
          hole(kind, [end - HOUR_MS, end], `${what} (${e.key})`, [e.key]);
        }
      } else if (e.status === 'valid') {
        verifiedFiles.add(e.key);
      } else {
        const t = (classifyKey(e.key) as { time?: Date }).time?.getTime() ?? Number.NaN;
        if (Number.isNaN(t)) continue;
        const kind = logHoleKind(e);
        const what =
          kind === 'log-deleted'
            ? 'log file deleted'
            : kind === 'log-unlisted'
              ? 'log file unlisted: no digest lists it'
              : `log file altered: ${e.reason}`;
        hole(kind, [floorHour(t), floorHour(t) + HOUR_MS], `${what} (${e.key})`, [e.key]);
      }
    } else if ((e.type === 'gap' || e.type === 'digest-gap') && e.region === region) {
      chainGaps.push(e);
    }
  }

  for (const g of chainGaps) {
    const span: Span = [g.from.getTime(), g.to.getTime()];
    const stopped = stopIn(input.trailCalls, span[0], span[1]);
    if (stopped) hole('trail-stopped', span, stopped);
    else if (g.type === 'digest-gap')
      hole('digests-stopped', span, `no digest after ${displayDate(g.from)}: ${g.cause.reason}`);
    else
      hole(
        'no-digests',
        span,
        `a new digest chain starts at ${displayDate(g.to)}: logging or validation was off before it`,
      );
  }

  // Whatever no valid digest covers and no finding above explains.
  const explained: Span[] = holes.map((h) => [h.from.getTime(), h.to.getTime()]);
  for (const gap of subtract(required[0], required[1], valid)) {
    // Split where digests stop being due: before that they are missing, after it merely pending.
    const parts = subtract(gap[0], gap[1], explained).flatMap((p): Span[] =>
      p[0] < pendingFrom && p[1] > pendingFrom
        ? [
            [p[0], pendingFrom],
            [pendingFrom, p[1]],
          ]
        : [p],
    );
    for (const part of parts) {
      if (part[1] - part[0] < 60_000) continue;
      if (part[0] >= pendingFrom) {
        hole(
          'not-yet-delivered',
          part,
          `digests due after ${displayDate(new Date(part[0]))} not delivered yet`,
        );
      } else {
        const stopped = stopIn(input.trailCalls, part[0], part[1]);
        if (stopped) hole('trail-stopped', part, stopped);
        else
          hole(
            'no-digests',
            part,
            digests === 0
              ? `no digest for ${region} at all: log file validation off`
              : 'no digest covers these hours',
          );
      }
    }
  }
  holes.sort((a, b) => a.from.getTime() - b.from.getTime() || (a.kind < b.kind ? -1 : 1));

  const hours: HourCell[] = [];
  for (let h = floorHour(required[0]); h < required[1]; h += HOUR_MS) {
    const span: Span = [Math.max(h, required[0]), Math.min(h + HOUR_MS, required[1])];
    const here = holes.filter((x) => overlaps([x.from.getTime(), x.to.getTime()], span));
    let state: HourState = 'verified';
    if (here.some((x) => FAILED_KINDS.has(x.kind))) state = 'failed';
    else if (here.some((x) => x.kind !== 'not-yet-delivered')) state = 'missing';
    else if (here.length > 0) state = 'pending';
    hours.push({ start: new Date(h), state });
  }
  return { place: { account, region, digests, hours }, holes, verifiedFiles };
}

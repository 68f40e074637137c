/**
 * Types and tunables of Insights-style anomaly detection. The model behind the numbers is explained in
 * the README section "Anomaly detection: the model"; every default here is discussed there.
 */

import type { ParkTicket } from '#shared/insights/park-ticket.ts';

/** CloudTrail's two types, plus one of ours: read calls per minute (enumeration bursts). */
export type InsightType = 'ApiCallRateInsight' | 'ApiErrorRateInsight' | 'ApiReadRateInsight';

export const INSIGHT_TYPES: readonly InsightType[] = [
  'ApiCallRateInsight',
  'ApiErrorRateInsight',
  'ApiReadRateInsight',
];

export interface InsightsOptions {
  /** Which series to keep and watch. Default: all three. */
  types: InsightType[];
  /** Read series' count floors (`windows`, `minCount`, `continueMinCount`) are this many times the others'. */
  readFloorFactor: number;
  /** Length of the baseline, in days (CloudTrail: 7). */
  baselineDays: number;
  /** No Start before this much history exists for the account and region (only matters on a brand-new trail). */
  minHistoryMinutes: number;
  /**
   * Windows (in minutes, ending at a minute with calls) whose sums are tested, each with its count floor: an
   * insight starts when a window holds at least `minCount` calls (or errors), at least `minRatio` times the
   * expected number, with a tail probability below `alphaStart`. One minute catches sharp bursts; longer
   * windows catch moderate, sustained rises that no single minute proves.
   */
  windows: { minutes: number; minCount: number }[];
  /** Floor of the one-minute window (the first of `windows` unless given there). */
  minCount: number;
  minRatio: number;
  alphaStart: number;
  /** While an insight is open, a minute still counts as unusual with a tail probability below this. */
  alphaContinue: number;
  /** ... and at least this many calls and this multiple of the expected rate. */
  continueMinCount: number;
  continueRatio: number;
  /** Floor on the squared coefficient of variation (extra-Poisson spread), so big series are not held to Poisson. */
  minDispersion: number;
  /** Weight of the neighbouring hours of the same hour of day (absorbs jobs that drift by a few minutes). */
  neighbourWeight: number;
  /** Strength, in minutes of evidence, of the coarser level each seasonal level is shrunk towards. */
  priorMinutes: number;
  /** Offset of the organisation's local time from UTC, in minutes: decides what a weekend is. */
  utcOffsetMinutes: number;
  /** Minutes after which CloudTrail has delivered (nearly) all of a minute's events. */
  settleMinutes: number;
  /** An insight ends after this many settled, ordinary minutes. */
  endAfterQuietMinutes: number;
  /** How far before the triggering minute a Start may be stamped, when the minutes before were already unusual. */
  startLookbackMinutes: number;
  /** An insight still open after this long is ended, so that a lasting change becomes the new normal. */
  maxInsightMinutes: number;
  /** Per-minute counts are kept this long before they are folded into hourly buckets. */
  minuteRetentionMinutes: number;
  /**
   * Batched ingest parks the files that cannot start an insight (park-ticket.ts) instead of writing the state;
   * the scheduled detect folds them in every this many minutes. An insight only the sum of files parked
   * separately can prove starts at the next fold (stamped at its first unusual minute). At most
   * `minuteRetentionMinutes - 45`, so that the fold still holds the parked minutes one by one.
   */
  foldMinutes: number;
  /** Conditional-write retries. */
  maxAttempts: number;
  retryBaseMs: number;
  retryCapMs: number;
}

export const DEFAULT_OPTIONS: InsightsOptions = {
  types: ['ApiCallRateInsight', 'ApiErrorRateInsight', 'ApiReadRateInsight'],
  readFloorFactor: 4,
  baselineDays: 7,
  minHistoryMinutes: 1440,
  windows: [
    { minutes: 1, minCount: 5 },
    { minutes: 5, minCount: 10 },
    { minutes: 15, minCount: 20 },
  ],
  minCount: 5,
  minRatio: 3,
  alphaStart: 1e-6,
  alphaContinue: 1e-3,
  continueMinCount: 2,
  continueRatio: 1.5,
  minDispersion: 0.05,
  neighbourWeight: 0.5,
  priorMinutes: 120,
  utcOffsetMinutes: 0,
  settleMinutes: 15,
  endAfterQuietMinutes: 5,
  startLookbackMinutes: 10,
  maxInsightMinutes: 1440,
  minuteRetentionMinutes: 180,
  foldMinutes: 120,
  maxAttempts: 40,
  retryBaseMs: 10,
  retryCapMs: 400,
};

export function resolveOptions(partial?: Partial<InsightsOptions>): InsightsOptions {
  const o: InsightsOptions = { ...DEFAULT_OPTIONS, ...(partial ?? {}) };
  for (const t of o.types) {
    if (!INSIGHT_TYPES.includes(t))
      throw new InsightsError(`expected insight types among ${INSIGHT_TYPES.join(', ')}, found ${t}`);
  }
  const positive: (keyof InsightsOptions)[] = [
    'baselineDays',
    'minCount',
    'minRatio',
    'maxAttempts',
    'readFloorFactor',
  ];
  for (const k of positive) {
    if (!(typeof o[k] === 'number' && (o[k] as number) > 0)) {
      throw new InsightsError(`expected option ${k} to be a positive number, found ${String(o[k])}`);
    }
  }
  if (
    o.windows.length === 0 ||
    o.windows.some((w) => !(Number.isInteger(w.minutes) && w.minutes >= 1 && w.minCount >= 1))
  ) {
    throw new InsightsError(
      `expected windows of whole minutes >= 1 with minCount >= 1, found ${JSON.stringify(o.windows)}`,
    );
  }
  // A one-minute floor given on its own applies to the one-minute window.
  if (partial?.minCount !== undefined && !partial.windows) {
    o.windows = o.windows.map((w) => (w.minutes === 1 ? { ...w, minCount: o.minCount } : w));
  }
  if (!(o.foldMinutes >= 5 && o.foldMinutes <= o.minuteRetentionMinutes - 45)) {
    throw new InsightsError(
      `expected foldMinutes between 5 and minuteRetentionMinutes - 45 (${o.minuteRetentionMinutes - 45}), found ${o.foldMinutes}`,
    );
  }
  for (const k of ['alphaStart', 'alphaContinue'] as const) {
    if (!(o[k] > 0 && o[k] < 1)) throw new InsightsError(`expected option ${k} in (0, 1), found ${o[k]}`);
  }
  return o;
}

export class InsightsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A record or file that does not have the shape of a CloudTrail Insights event. */
export class InsightFormatError extends InsightsError {}

/** Conditional writes kept failing: too many concurrent writers for the retry budget. */
export class InsightsConflictError extends InsightsError {}

export interface AttributionValue {
  value: string;
  average: number;
}

export interface Attribution {
  attribute: 'userIdentityArn' | 'userAgent' | 'errorCode';
  insight: AttributionValue[];
  baseline: AttributionValue[];
}

export interface InsightDetails {
  state: 'Start' | 'End';
  eventSource: string;
  eventName: string;
  insightType: string;
  errorCode?: string;
  insightContext: {
    statistics: {
      baseline: { average: number };
      insight: { average: number };
      insightDuration: number;
      baselineDuration: number;
    };
    attributions?: Attribution[];
  };
}

/** One CloudTrail Insights event record, field names and order as CloudTrail writes them. */
export interface InsightRecord {
  eventVersion: string;
  eventTime: string;
  awsRegion: string;
  eventID: string;
  eventType: 'AwsCloudTrailInsight';
  recipientAccountId: string;
  sharedEventID: string;
  insightDetails: InsightDetails;
  eventCategory: 'Insight';
}

export interface Ranked {
  value: string;
  count: number;
}

/** What an on-call engineer needs from a Start or End, beyond the record itself. */
export interface InsightEvent {
  kind: 'start' | 'end';
  account: string;
  region: string;
  insightType: InsightType;
  eventSource: string;
  eventName: string;
  errorCode?: string;
  sharedEventID: string;
  /** First unusual minute (ISO). */
  start: string;
  /** First ordinary minute after the insight (ISO), End only. */
  end?: string;
  /** When the record was produced (the `now` of the detect call). */
  emittedAt: string;
  /** Mean per minute over the baseline window (CloudTrail's baseline.average). */
  baselineAverage: number;
  /** What the seasonal model expected per minute at the start (hour of day, weekday or weekend). */
  expectedPerMinute: number;
  /** Per minute: at the start (Start) or over the insight (End). */
  observedPerMinute: number;
  /** The smallest count per minute that would have started an insight at that hour. */
  thresholdPerMinute: number;
  durationMinutes: number;
  topPrincipals: AttributionValue[];
  topUserAgents: AttributionValue[];
  topErrorCodes: AttributionValue[];
  record: InsightRecord;
}

export interface DetectResult {
  records: InsightRecord[];
  events: InsightEvent[];
  /** Keys of the Insights files written (when an insight store was given). */
  written: string[];
  /** Insights still open for the account and region after this call. */
  open: number;
  /** Messages committed with the state and not yet published (this call's and any an earlier one left). */
  messages: { id: string; notification: unknown }[];
  /** Source keys of the summaries given that the state had already applied (re-deliveries). */
  duplicates?: string[];
  /** Whether the state needed the scheduled detect (an open insight, something to send) before and after. */
  wasActive?: boolean;
  /** The park ticket of the state as committed, when asked for (undefined: nothing may be parked). */
  ticket?: ParkTicket;
}

export interface ApplyResult {
  applied: number;
  duplicates: number;
  /** Summaries older than the baseline window: they cannot change anything. */
  stale: number;
  groups: { account: string; region: string }[];
}

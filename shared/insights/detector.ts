/**
 * Detection over one account+region state at time `now`: opens insights on unusual minutes, stamps them at
 * the first unusual minute, and ends them once enough settled minutes are ordinary again.
 *
 * Counts for a minute only grow as log files arrive, so a minute already unusual on partial counts can only
 * become more so: Starts are decided on whatever has arrived. Ends need settled minutes (older than
 * `settleMinutes`), since a minute that looks quiet may still be filling.
 */

import { buildRecord, stableUuid } from '#shared/insights/insight-records.ts';
import type {
  Attribution,
  AttributionValue,
  InsightEvent,
  InsightRecord,
  InsightsOptions,
} from '#shared/insights/insight-types.ts';
import type { RateModel } from '#shared/insights/model.ts';
import {
  DAY_HOURS,
  HOUR_MINUTES,
  MINUTE_MS,
  rateModel,
  tailThreshold,
  windowMoments,
} from '#shared/insights/model.ts';
import type {
  ClosedInsight,
  InsightsState,
  OpenInsight,
  SeriesState,
  Tally,
} from '#shared/insights/state.ts';
import {
  dayTally,
  foldState,
  hourSource,
  lowerBound,
  minuteCount,
  minuteIso,
  slotTally,
  TYPE_NAMES,
} from '#shared/insights/state.ts';

const TOP = 5;

/** Per-series models by hour, computed on first use and once per detect call. */
function modelsFor(
  state: InsightsState,
  series: SeriesState,
  o: InsightsOptions,
): (hour: number) => RateModel {
  let src: ReturnType<typeof hourSource> | undefined;
  const cache = new Map<number, RateModel>();
  return (hour) => {
    let m = cache.get(hour);
    if (!m) {
      src ??= hourSource(state, series);
      m = rateModel(src, hour, o);
      cache.set(hour, m);
    }
    return m;
  };
}

function count(series: SeriesState, minute: number): number {
  return minuteCount(series, minute);
}

function meanOver(series: SeriesState, from: number, to: number): number {
  if (to <= from) return 0;
  let sum = 0;
  for (let t = from; t < to; t++) sum += count(series, t);
  return sum / (to - from);
}

function ranked(
  tally: Record<string, number>,
  rate: number,
  values: Record<string, string>,
): AttributionValue[] {
  let total = 0;
  for (const c of Object.values(tally)) total += c;
  if (total <= 0) return [];
  return Object.entries(tally)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, TOP)
    .map(([id, c]) => ({ value: values[id] ?? id, average: (c / total) * rate }));
}

interface Shares {
  p: AttributionValue[];
  u: AttributionValue[];
  e: AttributionValue[];
}

function shares(t: Tally, rate: number, values: Record<string, string>): Shares {
  return { p: ranked(t.p, rate, values), u: ranked(t.u, rate, values), e: ranked(t.e, rate, values) };
}

function attributions(insight: Shares, baseline: Shares): Attribution[] {
  const out: Attribution[] = [];
  const pairs = [
    ['userIdentityArn', 'p'],
    ['userAgent', 'u'],
    ['errorCode', 'e'],
  ] as const;
  for (const [attribute, k] of pairs) {
    if (insight[k].length === 0 && baseline[k].length === 0) continue;
    out.push({ attribute, insight: insight[k], baseline: baseline[k] });
  }
  return out;
}

function baselineShares(
  state: InsightsState,
  series: SeriesState,
  open: OpenInsight,
  o: InsightsOptions,
): Shares {
  const day = Math.floor(open.start / (DAY_HOURS * HOUR_MINUTES));
  const tally = dayTally(state.apis[`${series.s}|${series.n}`], day - Math.ceil(o.baselineDays), day + 1);
  return shares(tally, open.baselineAverage, state.values);
}

export interface DetectOutput {
  records: InsightRecord[];
  events: InsightEvent[];
}

interface Trigger {
  /** Last minute of the window that proved the insight. */
  t: number;
  /** Its length. */
  w: number;
}

/**
 * The earliest window, ending at a minute at or after `from`, whose sum is unusual. Floors are checked
 * first, so quiet series never need their model.
 */
function findTrigger(
  series: SeriesState,
  from: number,
  lowest: number,
  nowMinute: number,
  model: (hour: number) => RateModel,
  o: InsightsOptions,
): Trigger | undefined {
  const thresholds = new Map<string, number>();
  const hourOf = (t: number) => Math.floor(t / HOUR_MINUTES);
  for (let i = lowerBound(series.m, 2, from); i < series.m.length; i += 2) {
    const t = series.m[i];
    if (t > nowMinute) break;
    for (const win of o.windows) {
      const first = Math.max(t - win.minutes + 1, lowest);
      let sum = 0;
      for (let x = first; x <= t; x++) sum += count(series, x);
      if (sum < win.minCount) continue;
      const models: RateModel[] = [];
      for (let x = first; x <= t; x++) models.push(model(hourOf(x)));
      const { mean, variance } = windowMoments(models);
      if (sum < o.minRatio * mean) continue;
      // Windows of the same length and hours share a threshold: key by length, first hour and split.
      const split = Math.min(t + 1, (hourOf(first) + 1) * HOUR_MINUTES) - first;
      const key = `${t - first + 1}:${hourOf(first)}:${split}`;
      let at = thresholds.get(key);
      if (at === undefined) {
        at = tailThreshold(mean, variance, o.alphaStart);
        thresholds.set(key, at);
      }
      if (sum >= at) return { t, w: t - first + 1 };
    }
  }
  return undefined;
}

/**
 * Where the unusual activity began: the earliest minute, scanning back from the trigger, of a run of
 * unusual minutes with gaps shorter than three minutes. The newest minutes may still be filling, so the
 * scan only starts counting gaps once it has met an unusual minute.
 */
function startOf(
  series: SeriesState,
  trig: Trigger,
  lowest: number,
  model: (hour: number) => RateModel,
  o: InsightsOptions,
): number {
  const windowStart = trig.t - trig.w + 1;
  const floor = Math.max(windowStart - o.startLookbackMinutes, lowest);
  let start: number | undefined;
  let gap = 0;
  for (let t = trig.t; t >= floor; t--) {
    if (count(series, t) >= model(Math.floor(t / HOUR_MINUTES)).continueAt) {
      start = t;
      gap = 0;
    } else if (start !== undefined && ++gap >= 3) break;
  }
  if (start !== undefined) return start;
  for (let t = Math.max(windowStart, lowest); t <= trig.t; t++) if (count(series, t) > 0) return t;
  return trig.t;
}

/**
 * Read series are the most numerous and the noisiest (dashboards, SDK retries, pagination), so their count
 * floors are `readFloorFactor` times those of writes and errors; an enumeration burst (tens of List calls a
 * minute on an API that usually sees a few an hour) still clears them at once.
 */
export function readSeriesOptions(o: InsightsOptions): InsightsOptions {
  const f = o.readFloorFactor;
  if (f === 1) return o;
  return {
    ...o,
    minCount: o.minCount * f,
    continueMinCount: o.continueMinCount * f,
    windows: o.windows.map((w) => ({ ...w, minCount: w.minCount * f })),
  };
}

/** Folds, then evaluates the watched series. Changes `state` (open insights, history); returns new records. */
export function detectInState(state: InsightsState, nowMinute: number, o: InsightsOptions): DetectOutput {
  foldState(state, nowMinute, o);
  const out: DetectOutput = { records: [], events: [] };
  if (!state.coverage) return out;
  const watched = new Set<string>(o.types);
  const warm = state.coverage[0] + o.minHistoryMinutes;
  const settled = nowMinute - o.settleMinutes;
  const hourOf = (t: number) => Math.floor(t / HOUR_MINUTES);
  for (const key of Object.keys(state.series).sort()) {
    const series = state.series[key];
    const dirty = series.d;
    delete series.d;
    if (!watched.has(TYPE_NAMES[series.t])) continue;
    const so = series.t === 'R' ? readSeriesOptions(o) : o;
    let open = state.open[key];
    if (!open && dirty === undefined) continue;
    const model = modelsFor(state, series, so);
    if (!open && dirty !== undefined) {
      const lowest = Math.max(series.after ?? Number.NEGATIVE_INFINITY, warm);
      const trig = findTrigger(series, Math.max(dirty, lowest), lowest, nowMinute, model, so);
      if (trig) {
        const start = startOf(series, trig, lowest, model, so);
        const m = model(hourOf(start));
        open = {
          sharedEventID: stableUuid(state.account, state.region, key, String(start)),
          series: key,
          start,
          trigger: trig.t,
          last: trig.t,
          baselineAverage: m.overall,
          baselineMinutes: m.baselineMinutes,
          expected: m.expected,
          startAt: m.startAt,
          emitted: nowMinute,
        };
        state.open[key] = open;
        emit(state, series, open, 'Start', nowMinute, so, out);
      }
    }
    if (!open) continue;
    for (let i = lowerBound(series.m, 2, open.last + 1); i < series.m.length; i += 2) {
      const t = series.m[i];
      if (series.m[i + 1] >= model(hourOf(t)).continueAt) open.last = t;
    }
    const quietUntil = open.last + o.endAfterQuietMinutes;
    if (quietUntil < settled || nowMinute - open.start >= o.maxInsightMinutes) {
      emit(state, series, open, 'End', nowMinute, so, out);
      const end = open.last + 1;
      series.after = end;
      const closed: ClosedInsight = {
        sharedEventID: open.sharedEventID,
        series: key,
        t: series.t,
        s: series.s,
        n: series.n,
        ...(series.e !== undefined ? { e: series.e } : {}),
        start: open.start,
        end,
        baselineAverage: open.baselineAverage,
        expected: open.expected,
        average: meanOver(series, open.start, end),
      };
      state.history.push(closed);
      delete state.open[key];
    }
  }
  return out;
}

function emit(
  state: InsightsState,
  series: SeriesState,
  open: OpenInsight,
  kind: 'Start' | 'End',
  nowMinute: number,
  o: InsightsOptions,
  out: DetectOutput,
): void {
  const end = kind === 'Start' ? open.trigger + 1 : open.last + 1;
  const average = meanOver(series, open.start, end);
  const api = state.apis[`${series.s}|${series.n}`];
  const insightShares = shares(slotTally(api, open.start, end), average, state.values);
  const baseShares = baselineShares(state, series, open, o);
  const insightType = TYPE_NAMES[series.t];
  const time = (kind === 'Start' ? open.start : end) * MINUTE_MS;
  const record = buildRecord({
    state: kind,
    account: state.account,
    region: state.region,
    time,
    sharedEventID: open.sharedEventID,
    eventSource: series.s,
    eventName: series.n,
    insightType,
    ...(series.e !== undefined ? { errorCode: series.e } : {}),
    baselineAverage: open.baselineAverage,
    insightAverage: average,
    insightDuration: end - open.start,
    baselineDuration: open.baselineMinutes,
    attributions: attributions(insightShares, baseShares),
  });
  out.records.push(record);
  out.events.push({
    kind: kind === 'Start' ? 'start' : 'end',
    account: state.account,
    region: state.region,
    insightType,
    eventSource: series.s,
    eventName: series.n,
    ...(series.e !== undefined ? { errorCode: series.e } : {}),
    sharedEventID: open.sharedEventID,
    start: minuteIso(open.start),
    ...(kind === 'End' ? { end: minuteIso(end) } : {}),
    emittedAt: minuteIso(nowMinute),
    baselineAverage: open.baselineAverage,
    expectedPerMinute: open.expected,
    observedPerMinute: average,
    thresholdPerMinute: open.startAt,
    durationMinutes: end - open.start,
    topPrincipals: insightShares.p,
    topUserAgents: insightShares.u,
    topErrorCodes: insightShares.e,
    record,
  });
}

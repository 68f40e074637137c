/**
 * The rate model: what count per minute to expect for one series at one hour, how widely it varies, and
 * from which count on a minute is unusual. Pure arithmetic over hourly aggregates; see the README, "Anomaly detection: the model".
 */
import type { InsightsOptions } from '#shared/insights/insight-types.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MINUTES = 60;
export const DAY_HOURS = 24;

/** Hourly aggregates of one series: the sum of its per-minute counts and the sum of their squares. */
export interface HourSource {
  /** `[sum, sumOfSquares]` of the counts of the hour's minutes, or undefined when it had none. */
  hour(h: number): readonly [number, number] | undefined;
  /** How many minutes of hour `h` were observed (the trail delivered around them), 0 to 60. */
  observed(h: number): number;
}

export interface RateModel {
  /** Expected count per minute at this hour (hour of day, weekday or weekend, shrunk towards coarser levels). */
  expected: number;
  /** Variance per minute used for the tail (at least Poisson, at least minDispersion * expected^2). */
  variance: number;
  /** The part of the variance beyond Poisson, taken as shared by neighbouring minutes (see windowTail). */
  excess: number;
  /** Mean per minute over the whole baseline window before the hour (CloudTrail's baseline average). */
  overall: number;
  /** Minutes of baseline behind `overall`. */
  baselineMinutes: number;
  /** Smallest count that starts an insight. */
  startAt: number;
  /** Smallest count that keeps an open insight going. */
  continueAt: number;
}

/** Saturday or Sunday in the organisation's local time. */
export function isWeekendHour(h: number, utcOffsetMinutes: number): boolean {
  const localMs = h * 3_600_000 + utcOffsetMinutes * MINUTE_MS;
  const day = new Date(localMs).getUTCDay();
  return day === 0 || day === 6;
}

interface Acc {
  w: number;
  s: number;
  q: number;
}

function add(acc: Acc, src: HourSource, h: number, weight: number): void {
  const n = src.observed(h);
  if (n <= 0) return;
  const a = src.hour(h);
  acc.w += weight * n;
  if (a) {
    acc.s += weight * a[0];
    acc.q += weight * a[1];
  }
}

/** Shrinks a level's mean and second moment towards the coarser level's, with `k` minutes of prior weight. */
function shrink(level: Acc, k: number, prior: { m: number; q: number }): { m: number; q: number } {
  return { m: (level.s + k * prior.m) / (level.w + k), q: (level.q + k * prior.q) / (level.w + k) };
}

/**
 * The model for minutes of hour `h`. Seasonal levels use earlier days only, so a burst in progress
 * never raises its own baseline; the overall level stops two hours before, for the same reason.
 */
export function rateModel(src: HourSource, h: number, o: InsightsOptions): RateModel {
  const windowHours = Math.round(o.baselineDays * DAY_HOURS);
  const from = h - windowHours;
  const overall: Acc = { w: 0, s: 0, q: 0 };
  for (let x = from; x < h - 1; x++) add(overall, src, x, 1);
  const sameClass: Acc = { w: 0, s: 0, q: 0 };
  const anyClass: Acc = { w: 0, s: 0, q: 0 };
  const weekend = isWeekendHour(h, o.utcOffsetMinutes);
  for (let d = 1; d * DAY_HOURS <= windowHours; d++) {
    const centre = h - d * DAY_HOURS;
    const same = isWeekendHour(centre, o.utcOffsetMinutes) === weekend;
    for (const [off, weight] of [
      [-1, o.neighbourWeight],
      [0, 1],
      [1, o.neighbourWeight],
    ] as const) {
      const x = centre + off;
      if (x < from || weight <= 0) continue;
      add(anyClass, src, x, weight);
      if (same) add(sameClass, src, x, weight);
    }
  }
  // A series never seen still gets half a call over the window, so one call is surprising but not infinitely so.
  const floor = 0.5 / Math.max(overall.w, HOUR_MINUTES);
  const top = overall.w > 0 ? { m: overall.s / overall.w, q: overall.q / overall.w } : { m: 0, q: 0 };
  const mid = shrink(anyClass, o.priorMinutes, top);
  const fine = shrink(sameClass, o.priorMinutes, mid);
  const expected = Math.max(fine.m, floor);
  const variance = Math.max(expected, fine.q - fine.m * fine.m) + o.minDispersion * expected * expected;
  const startTail = tailThreshold(expected, variance, o.alphaStart);
  const continueTail = tailThreshold(expected, variance, o.alphaContinue);
  return {
    expected,
    variance,
    excess: variance - expected,
    overall: top.m,
    baselineMinutes: Math.round(overall.w),
    startAt: Math.max(o.minCount, Math.ceil(o.minRatio * expected), startTail),
    continueAt: Math.max(o.continueMinCount, Math.ceil(o.continueRatio * expected), continueTail),
  };
}

/**
 * Mean and variance of the sum of consecutive minutes. The Poisson parts add; the extra spread is treated
 * as a rate multiplier shared by the whole window (a busy quarter-hour is busy throughout), so its standard
 * deviations add: V = sum(mean) + (sum(sqrt(excess)))^2. A steady series gains power from longer windows;
 * a bursty one (deploys) gains none, which keeps its usual bursts ordinary.
 */
export function windowMoments(models: RateModel[]): { mean: number; variance: number } {
  let mean = 0;
  let sd = 0;
  for (const m of models) {
    mean += m.expected;
    sd += Math.sqrt(Math.max(0, m.excess));
  }
  return { mean, variance: mean + sd * sd };
}

const LN_MIN = -745;

/**
 * Smallest k with P(X >= k) <= alpha, X negative binomial with this mean and variance (Poisson when the
 * variance does not exceed the mean). Summed in log space so large means do not underflow.
 */
export function tailThreshold(mean: number, variance: number, alpha: number): number {
  if (!(mean > 0)) return 1;
  const poisson = variance <= mean * (1 + 1e-9);
  const r = poisson ? Number.POSITIVE_INFINITY : (mean * mean) / (variance - mean);
  const q = poisson ? 0 : mean / (r + mean);
  let logP = poisson ? -mean : r * Math.log(r / (r + mean));
  let cdf = 0;
  const limit = Math.ceil(mean + 60 * Math.sqrt(Math.max(variance, 1)) + 100);
  for (let k = 0; k < limit; k++) {
    cdf += logP > LN_MIN ? Math.exp(logP) : 0;
    if (1 - cdf <= alpha) return k + 1;
    logP += poisson ? Math.log(mean / (k + 1)) : Math.log(((k + r) / (k + 1)) * q);
  }
  return limit;
}

/** P(X >= k) for the same distribution, for reports and tests. */
export function tailProbability(mean: number, variance: number, k: number): number {
  if (k <= 0) return 1;
  if (!(mean > 0)) return 0;
  const poisson = variance <= mean * (1 + 1e-9);
  const r = poisson ? Number.POSITIVE_INFINITY : (mean * mean) / (variance - mean);
  const q = poisson ? 0 : mean / (r + mean);
  let logP = poisson ? -mean : r * Math.log(r / (r + mean));
  let cdf = 0;
  for (let j = 0; j < k; j++) {
    cdf += logP > LN_MIN ? Math.exp(logP) : 0;
    logP += poisson ? Math.log(mean / (j + 1)) : Math.log(((j + r) / (j + 1)) * q);
  }
  return Math.max(0, 1 - cdf);
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveOptions } from '#shared/insights/insight-types.ts';
import type { HourSource } from '#shared/insights/model.ts';
import {
  isWeekendHour,
  rateModel,
  tailProbability,
  tailThreshold,
  windowMoments,
} from '#shared/insights/model.ts';

const o = resolveOptions({});
const HOUR = 3_600_000;
/** Monday 2026-03-09 00:00 UTC as an hour index. */
const MONDAY = Date.parse('2026-03-09T00:00:00Z') / HOUR;

/** Hours whose minutes all have `perMinute(h)` calls, observed from `from` on. */
function source(perMinute: (h: number) => number, from = MONDAY - 14 * 24): HourSource {
  return {
    hour(h) {
      const c = perMinute(h);
      return c > 0 ? [60 * c, 60 * c * c] : undefined;
    },
    observed: (h) => (h >= from ? 60 : 0),
  };
}

describe('tailThreshold', () => {
  it('is the smallest count whose upper tail is at most alpha (Poisson and negative binomial)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 200, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.constantFrom(1e-3, 1e-6),
        (mean, extra, alpha) => {
          // Prepare
          const variance = mean + extra * mean * mean;
          // Act
          const k = tailThreshold(mean, variance, alpha);
          // Assess
          expect(tailProbability(mean, variance, k)).toBeLessThanOrEqual(alpha * (1 + 1e-6));
          expect(tailProbability(mean, variance, k - 1)).toBeGreaterThan(alpha);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('does not underflow for large means', () => {
    // Act
    const k = tailThreshold(5000, 5000, 1e-6);
    // Assess: about 4.75 standard deviations above the mean
    expect(k).toBeGreaterThan(5000 + 4 * Math.sqrt(5000));
    expect(k).toBeLessThan(5000 + 6 * Math.sqrt(5000));
  });

  it('needs a larger count when the spread is larger', () => {
    expect(tailThreshold(2, 20, 1e-6)).toBeGreaterThan(tailThreshold(2, 2, 1e-6));
  });
});

describe('rateModel', () => {
  it('expects the weekday 10:00 burst at 10:00 on a weekday, not at other hours or on weekends', () => {
    // Prepare: 1 call per minute, 20 per minute at 10:00 on weekdays
    const src = source((h) => {
      const weekend = isWeekendHour(h, 0);
      return !weekend && (h % 24) - 10 === 0 ? 20 : 1;
    });
    const tuesday10 = MONDAY + 24 + 10;
    const saturday10 = MONDAY + 5 * 24 + 10;
    // Act
    const atBurst = rateModel(src, tuesday10, o);
    const afternoon = rateModel(src, tuesday10 + 4, o);
    const weekend = rateModel(src, saturday10, o);
    // Assess
    expect(atBurst.expected).toBeGreaterThan(10);
    expect(atBurst.startAt).toBeGreaterThan(20);
    expect(afternoon.expected).toBeLessThan(3);
    expect(weekend.expected).toBeLessThan(atBurst.expected / 3);
  });

  it('gives a never-seen series a tiny but non-zero expectation, so the count floor decides', () => {
    // Prepare
    const src = source(() => 0);
    // Act
    const m = rateModel(src, MONDAY + 24 * 8, o);
    // Assess
    expect(m.expected).toBeGreaterThan(0);
    expect(m.expected).toBeLessThan(1e-3);
    expect(m.startAt).toBe(o.minCount);
    expect(m.overall).toBe(0);
    expect(m.baselineMinutes).toBe(7 * 24 * 60 - 60);
  });

  it('reports the overall average over the window before the hour (CloudTrail baseline.average)', () => {
    // Prepare: 2 per minute, except 8 per minute in the hour just before (not part of the baseline)
    const at = MONDAY + 24 * 8 + 3;
    const src = source((h) => (h === at - 1 ? 8 : 2));
    // Act
    const m = rateModel(src, at, o);
    // Assess
    expect(m.overall).toBeCloseTo(2, 6);
  });

  it('follows the weekly rhythm: a quiet weekend hour expects far less than a busy weekday hour', () => {
    // Prepare: 10 per minute on weekdays, 1 on weekends
    const src = source((h) => (isWeekendHour(h, 0) ? 1 : 10));
    // Act
    const sunday = rateModel(src, MONDAY + 6 * 24 + 14, o);
    const monday = rateModel(src, MONDAY + 7 * 24 + 14, o);
    // Assess
    expect(sunday.expected).toBeLessThan(monday.expected / 2.5);
    expect(monday.expected).toBeGreaterThan(8);
  });

  it('moves the weekend with the organisation time zone', () => {
    // Friday 23:00 UTC is Saturday in UTC+2; Monday 02:00 UTC is still Sunday in UTC-5.
    const friday23 = MONDAY - 3 * 24 + 23;
    expect(isWeekendHour(friday23, 0)).toBe(false);
    expect(isWeekendHour(friday23, 120)).toBe(true);
    expect(isWeekendHour(MONDAY + 2, 0)).toBe(false);
    expect(isWeekendHour(MONDAY + 2, -300)).toBe(true);
  });
});

describe('windowMoments', () => {
  it('adds Poisson variance and treats extra spread as shared by the window', () => {
    // Prepare
    const steady = {
      expected: 2,
      variance: 2,
      excess: 0,
      overall: 2,
      baselineMinutes: 1,
      startAt: 9,
      continueAt: 5,
    };
    const bursty = { ...steady, variance: 6, excess: 4 };
    // Act
    const a = windowMoments(Array(5).fill(steady));
    const b = windowMoments(Array(5).fill(bursty));
    // Assess
    expect(a).toEqual({ mean: 10, variance: 10 });
    expect(b).toEqual({ mean: 10, variance: 10 + 25 * 4 });
  });
});

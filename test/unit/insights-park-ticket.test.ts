import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { detectInState } from '#shared/insights/detector.ts';
import { resolveOptions } from '#shared/insights/insight-types.ts';
import { MINUTE_MS } from '#shared/insights/model.ts';
import { mayPark, parkTicket, seriesCounts } from '#shared/insights/park-ticket.ts';
import {
  applySummaryToState,
  emptyState,
  foldState,
  type InsightsState,
  minuteIso,
} from '#shared/insights/state.ts';
import { type LogFileSummary, type MinuteRow, SUMMARY_SCHEMA } from '#shared/summary.ts';

const o = resolveOptions({});
const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
/** Tuesday 2026-03-10 14:00 UTC, as a minute index. */
const T0 = Date.parse('2026-03-10T14:00:00Z') / MINUTE_MS;

let serial = 0;

/** A summary holding exactly these minute rows, delivered at `deliveredMinute`. */
function summary(rows: MinuteRow[], deliveredMinute: number, unverified = false): LogFileSummary {
  const minutes = rows.map((r) => Date.parse(`${r.m}:00Z`));
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    schema: SUMMARY_SCHEMA,
    source: { bucket: 'trail', key: `AWSLogs/${ACCOUNT}/CloudTrail/${REGION}/f${serial++}.json.gz`, size: 1 },
    account: ACCOUNT,
    region: REGION,
    deliveredAt: iso(deliveredMinute * MINUTE_MS),
    records: 0,
    bytes: 0,
    oldestEventTime: rows.length ? iso(Math.min(...minutes)) : null,
    newestEventTime: rows.length ? iso(Math.max(...minutes)) : null,
    lagSeconds: null,
    badRecords: { invalid: 0, oversized: 0, missingFields: 0 },
    minutes: rows,
    apis: [],
    topPrincipals: [],
    topUserAgents: [],
    topSourceIps: [],
    topErrorCodes: [],
    ...(unverified ? { unverified: true as const } : {}),
  };
}

const APIS = [
  { s: 'ec2.amazonaws.com', n: 'CreateTags', kind: 'w' },
  { s: 's3.amazonaws.com', n: 'ListBuckets', kind: 'r' },
  { s: 'iam.amazonaws.com', n: 'GetRole', kind: 'e' },
  { s: 'sts.amazonaws.com', n: 'AssumeRole', kind: 'w' },
] as const;

function row(api: (typeof APIS)[number], minute: number, count: number): MinuteRow {
  const m = minuteIso(minute).slice(0, 16);
  if (api.kind === 'r') return { m, s: api.s, n: api.n, c: 'Management', r: count, w: 0 };
  if (api.kind === 'e')
    return { m, s: api.s, n: api.n, c: 'Management', r: 0, w: count, e: { AccessDenied: count } };
  return { m, s: api.s, n: api.n, c: 'Management', r: 0, w: count };
}

/** A deterministic, noisy count around `rate` (small pseudo-random generator, seeded). */
function noisy(seed: number) {
  let x = seed >>> 0 || 1;
  return (rate: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const u = x / 2 ** 32;
    return Math.max(0, Math.round(rate * (0.5 + u) + (u > 0.97 ? rate : 0)));
  };
}

/** A state with `hours` of history of the first `series` APIs at these rates, up to `now`, detected at `now`. */
function history(hours: number, rates: number[], seed: number, now: number): InsightsState {
  const state = emptyState(ACCOUNT, REGION);
  const next = noisy(seed);
  for (let h = hours; h > 0; h--) {
    const rows: MinuteRow[] = [];
    for (let m = 0; m < 60; m++) {
      const minute = now - h * 60 + m;
      rates.forEach((rate, i) => {
        const c = next(rate);
        if (c > 0) rows.push(row(APIS[i], minute, c));
      });
    }
    const delivered = now - h * 60 + 65;
    if (h % 24 === 0) foldState(state, delivered, o);
    applySummaryToState(state, summary(rows, Math.min(delivered, now)), o);
  }
  detectInState(state, now, o);
  return state;
}

describe('park tickets', () => {
  it('never let through counts that start an insight, whatever the state and the new minutes', () => {
    let checked = 0;
    let parkedHigh = 0;
    fc.assert(
      fc.property(
        fc.record({
          hours: fc.integer({ min: 2, max: 8 * 24 }),
          rates: fc.array(fc.constantFrom(0, 0.05, 0.3, 1, 4, 20), { minLength: 1, maxLength: 3 }),
          seed: fc.integer({ min: 1, max: 2 ** 30 }),
          ingestAfter: fc.integer({ min: 0, max: 110 }),
          foldAfter: fc.integer({ min: 0, max: o.foldMinutes + 10 }),
          added: fc.array(
            fc.record({
              api: fc.integer({ min: 0, max: APIS.length - 1 }),
              back: fc.integer({ min: 0, max: 44 }),
              count: fc.integer({ min: 1, max: 60 }),
            }),
            { minLength: 1, maxLength: 12 },
          ),
          unverified: fc.boolean(),
        }),
        (c) => {
          // Prepare: the state as ingest last wrote it, and its ticket
          const now = T0;
          const state = history(c.hours, c.rates, c.seed, now);
          fc.pre(Object.keys(state.open).length === 0);
          const ticket = parkTicket(state, now, o);
          expect(ticket).toBeDefined();
          const ingest = now + c.ingestAfter;
          // New minutes as a later batch brings them, halved until they may park (or given up on).
          let added = c.added;
          let file = summary(
            added.map((a) => row(APIS[a.api], ingest - a.back, a.count)),
            ingest,
            c.unverified,
          );
          for (let i = 0; i < 6 && !mayPark(ticket!, seriesCounts([file], o), ingest, o); i++) {
            added = added.map((a) => ({ ...a, count: Math.floor(a.count / 2) })).filter((a) => a.count > 0);
            file = summary(
              added.map((a) => row(APIS[a.api], ingest - a.back, a.count)),
              ingest,
              c.unverified,
            );
          }
          fc.pre(added.length > 0 && mayPark(ticket!, seriesCounts([file], o), ingest, o));
          // Act: the fold applies them and detects
          expect(applySummaryToState(state, file, o)).toBe('applied');
          const out = detectInState(state, ingest + c.foldAfter, o);
          // Assess
          expect(out.events.filter((e) => e.kind === 'start')).toEqual([]);
          checked++;
          if (added.some((a) => a.count >= 5)) parkedHigh++;
        },
      ),
      { numRuns: 60, seed: 1414 },
    );
    // Not vacuous: most runs reached detection, and some parked counts at or over the one-minute floor.
    expect(checked).toBeGreaterThan(30);
    expect(parkedHigh).toBeGreaterThan(5);
  });

  it('refuses a state with an open insight or something to send, and parks anything in a state not warm yet', () => {
    // Prepare
    const young = history(3, [1], 7, T0);
    const warm = history(30, [1], 7, T0);
    const open = structuredClone(warm);
    open.open['C|ec2.amazonaws.com|CreateTags'] = {
      sharedEventID: 'x',
      series: 'C|ec2.amazonaws.com|CreateTags',
      start: T0 - 5,
      trigger: T0 - 5,
      last: T0 - 5,
      baselineAverage: 1,
      baselineMinutes: 60,
      expected: 1,
      startAt: 5,
      emitted: T0,
    };
    const waiting = structuredClone(warm);
    waiting.messages = [{ id: 'x/start', notification: {} }];
    // Act
    const cold = parkTicket(young, T0, o);
    // Assess
    expect(parkTicket(open, T0, o)).toBeUndefined();
    expect(parkTicket(waiting, T0, o)).toBeUndefined();
    expect(parkTicket(waiting, T0, o, { ignorePending: true })).toBeDefined();
    expect(parkTicket(emptyState(ACCOUNT, REGION), T0, o)?.cold).toBe(true);
    expect(cold?.cold).toBe(true);
    const burst = summary([row(APIS[0], T0 + 1, 500)], T0 + 5);
    expect(mayPark(cold!, seriesCounts([burst], o), T0 + 5, o)).toBe(true);
  });

  it('parks an ordinary file of a warm state, and not a burst, a new API over its floor, late minutes or an expired ticket', () => {
    // Prepare: a day and a half of about one call a minute
    const state = history(36, [1], 11, T0);
    const ticket = parkTicket(state, T0, o)!;
    const at = T0 + 5;
    const ordinary = summary(
      [0, 1, 2, 3, 4].map((m) => row(APIS[0], T0 + m, 1)),
      at,
    );
    const burst = summary([row(APIS[0], T0 + 2, 40)], at);
    const newApi = summary([row(APIS[3], T0 + 2, 6)], at);
    const newApiQuiet = summary([row(APIS[3], T0 + 2, 2)], at);
    const late = summary([row(APIS[0], T0 - 70, 1)], at);
    // Act
    const park = (s: LogFileSummary, when = at) => mayPark(ticket, seriesCounts([s], o), when, o);
    // Assess
    expect(ticket.cold).toBeUndefined();
    expect(park(ordinary)).toBe(true);
    expect(park(burst)).toBe(false);
    expect(park(newApi)).toBe(false);
    expect(park(newApiQuiet)).toBe(true);
    expect(park(late)).toBe(false);
    expect(park(ordinary, ticket.until)).toBe(false);
    // Two files together are judged on their sums.
    const five = (from: number) =>
      summary(
        [2, 1, 2, 1, 2].map((n, m) => row(APIS[3], from + m, n)),
        at,
      );
    expect(mayPark(ticket, seriesCounts([five(T0), five(T0 + 5)], o), at + 5, o)).toBe(true);
    expect(mayPark(ticket, seriesCounts([five(T0), five(T0 + 5), five(T0 + 10)], o), at + 10, o)).toBe(false);
  });
});

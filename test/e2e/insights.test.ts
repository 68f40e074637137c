/**
 * Acceptance test of Insights-style detection on a generated nine-day trail with daily and weekly rhythm,
 * weekday deploy bursts and four injected anomalies on the last day, replayed delivery by delivery with
 * detection after each delivery (simulated time = delivery time).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore, MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import {
  type Delivery,
  generateTrail,
  type InjectedBurst,
  type TrailScenario,
} from '#cli/generator/index.ts';
import type { InsightEvent, InsightRecord } from '#shared/insights/index.ts';
import { applySummaries, detect, parseInsightRecords, readState } from '#shared/insights/index.ts';
import {
  DETAIL_FIELDS,
  ERROR_DETAIL_FIELDS,
  RECORD_FIELDS,
  STATISTICS_FIELDS,
} from '#shared/insights/insight-records.ts';
import { classifyKey } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { readAll } from '#shared/ports.ts';
import type { LogFileSummary } from '#shared/summary.ts';
import { summarizeDelivery } from '#test/e2e/insights-trail.ts';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const BUCKET = 'trailwatch-insights-e2e';
const MINUTE = 60_000;

const HIGH_VOLUME: InjectedBurst = {
  eventSource: 'ssm.amazonaws.com',
  eventName: 'UpdateInstanceInformation',
  start: '2026-03-10T14:20:00Z',
  minutes: 15,
  perMinute: 9,
};
const RARE: InjectedBurst = {
  eventSource: 'iam.amazonaws.com',
  eventName: 'CreateRole',
  start: '2026-03-10T03:10:00Z',
  minutes: 12,
  perMinute: 30,
  principalArn: 'arn:aws:sts::111122223333:assumed-role/web-app-instance-role/i-0f3a9c2d71b84e5a6',
};
const NEAR_ZERO: InjectedBurst = {
  eventSource: 's3.amazonaws.com',
  eventName: 'PutBucketPolicy',
  start: '2026-03-10T17:40:00Z',
  minutes: 4,
  perMinute: 6,
};
const DENIED: InjectedBurst = {
  eventSource: 'ssm.amazonaws.com',
  eventName: 'GetParameter',
  start: '2026-03-10T11:30:00Z',
  minutes: 10,
  perMinute: 15,
  errorCode: 'AccessDeniedException',
  errorMessage: 'User is not authorized to perform: ssm:GetParameter',
  readOnly: true,
};
const SINGLE_NEW_CALL: InjectedBurst = {
  eventSource: 'ec2.amazonaws.com',
  eventName: 'CreateKeyPair',
  start: '2026-03-10T20:05:00Z',
  minutes: 1,
  perMinute: 1,
};
const DEPLOY_APIS = [
  ['cloudformation.amazonaws.com', 'UpdateStack'],
  ['lambda.amazonaws.com', 'UpdateFunctionCode20150331v2'],
  ['ecs.amazonaws.com', 'UpdateService'],
];

/** Monday 2026-03-02 to Tuesday 2026-03-10: seven weekdays with deploys, one weekend. */
const scenario: TrailScenario = {
  seed: 20260302,
  start: '2026-03-02T00:00:00Z',
  hours: 9 * 24,
  accounts: [ACCOUNT],
  regions: [REGION],
  bucket: BUCKET,
  trailName: 'management-events',
  homeRegion: REGION,
  eventsPerMinute: 20,
  digests: false,
  recurringDeployBurst: true,
  bursts: [HIGH_VOLUME, RARE, NEAR_ZERO, DENIED, SINGLE_NEW_CALL],
  securityEvents: false,
};

interface Emitted {
  event: InsightEvent;
  /** Simulated time of emission: the delivery time being processed. */
  at: number;
  delivery: LogFileSummary;
}

let trail: MemoryObjectStore;
let deliveries: Delivery[];
let summaries: LogFileSummary[];
let emitted: Emitted[];
let written: string[];

const ms = (iso: string) => Date.parse(iso);
const burstStart = (b: InjectedBurst) => ms(b.start);
const burstEnd = (b: InjectedBurst) => ms(b.start) + b.minutes * MINUTE;

function rowsOf(s: LogFileSummary, source: string, name: string) {
  return s.minutes.filter((r) => r.s === source && r.n === name && r.c === 'Management');
}

beforeAll(async () => {
  trail = new MemoryObjectStore('trail');
  const generated = await generateTrail(scenario, trail);
  deliveries = generated.deliveries.filter((d) => d.kind === 'log');
  summaries = [];
  for (const d of deliveries) summaries.push(await summarizeDelivery(trail, BUCKET, d));

  const state = new MemoryObjectStore('state');
  emitted = [];
  written = [];
  for (const s of summaries) {
    const at = ms(s.deliveredAt);
    const r = await detect(state, {
      account: ACCOUNT,
      region: REGION,
      now: new Date(at),
      summaries: [s],
      insightStore: trail,
    });
    for (const event of r.events) emitted.push({ event, at, delivery: s });
    written.push(...r.written);
  }
}, 120_000);

function startsFor(b: InjectedBurst): Emitted[] {
  return emitted.filter(
    (e) =>
      e.event.kind === 'start' &&
      e.event.eventSource === b.eventSource &&
      e.event.eventName === b.eventName &&
      Math.abs(ms(e.event.start) - burstStart(b)) <= 60 * MINUTE,
  );
}

describe('Insights on a generated nine-day trail', () => {
  it('replays the whole trail (the scenario holds what the assertions rely on)', () => {
    // Assess: deploy bursts really are bursts (a flat baseline would flag them)
    expect(deliveries.length).toBeGreaterThan(2000);
    let deploy = 0;
    let sameWindowLater = 0;
    for (const s of summaries) {
      for (const [source, name] of DEPLOY_APIS) {
        for (const r of rowsOf(s, source, name)) {
          const minuteOfDay = (ms(`${r.m}:00Z`) / MINUTE) % 1440;
          if (minuteOfDay >= 600 && minuteOfDay < 615) deploy += r.w;
          if (minuteOfDay >= 840 && minuteOfDay < 855) sameWindowLater += r.w;
        }
      }
    }
    expect(deploy).toBeGreaterThan(8 * sameWindowLater);
    // ... and the high-volume burst is about ten times the API's usual rate at that hour on weekdays
    let usual = 0;
    let minutes = 0;
    for (let day = 2; day <= 9; day++) {
      if (day === 7 || day === 8) continue;
      const from = ms(`2026-03-0${day}T14:20:00Z`);
      minutes += 15;
      for (const s of summaries) {
        for (const r of rowsOf(s, HIGH_VOLUME.eventSource, HIGH_VOLUME.eventName)) {
          const t = ms(`${r.m}:00Z`);
          if (t >= from && t < from + 15 * MINUTE) usual += r.w;
        }
      }
    }
    const ratio = (usual / minutes + HIGH_VOLUME.perMinute) / (usual / minutes);
    expect(ratio).toBeGreaterThan(7);
    expect(ratio).toBeLessThan(15);
  });

  it.each([
    ['a high-volume write API at ten times its rate for 15 min', HIGH_VOLUME, 'ApiCallRateInsight'],
    ['a rare write API at 30/min for 12 min', RARE, 'ApiCallRateInsight'],
    ['a near-zero API at 6/min for 4 min', NEAR_ZERO, 'ApiCallRateInsight'],
    ['an AccessDenied burst on a read API for 10 min', DENIED, 'ApiErrorRateInsight'],
  ] as const)(
    'detects %s: Start within 5 min of its start, End within 15 min of its end',
    (_, burst, type) => {
      // Act
      const starts = startsFor(burst);
      // Assess
      expect(starts).toHaveLength(1);
      const start = starts[0];
      expect(start.event.insightType).toBe(type);
      if (burst.errorCode) expect(start.event.errorCode).toBe(burst.errorCode);
      expect(Math.abs(ms(start.event.start) - burstStart(burst))).toBeLessThanOrEqual(5 * MINUTE);
      const end = emitted.find(
        (e) => e.event.kind === 'end' && e.event.sharedEventID === start.event.sharedEventID,
      );
      expect(end).toBeDefined();
      expect(Math.abs(ms(end!.event.end!) - burstEnd(burst))).toBeLessThanOrEqual(15 * MINUTE);
      // Emitted while processing a delivery that holds the burst's first minutes, not after the fact
      const firstMinutes = rowsOf(start.delivery, burst.eventSource, burst.eventName).filter((r) => {
        const t = ms(`${r.m}:00Z`);
        return t >= burstStart(burst) && t < burstStart(burst) + 5 * MINUTE;
      });
      expect(firstMinutes.length).toBeGreaterThan(0);
      expect(start.at - burstStart(burst)).toBeLessThanOrEqual(20 * MINUTE);
      // Attributed to who made the calls
      if (burst.principalArn) expect(start.event.topPrincipals[0].value).toBe(burst.principalArn);
    },
  );

  it('stays quiet on the recurring deploy bursts and on a single call of a never-seen API', () => {
    // Act
    const deployStarts = emitted.filter(
      (e) =>
        e.event.kind === 'start' &&
        DEPLOY_APIS.some(([s, n]) => e.event.eventSource === s && e.event.eventName === n) &&
        ((ms(e.event.start) / MINUTE) % 1440) - 600 >= -30 &&
        ((ms(e.event.start) / MINUTE) % 1440) - 600 < 45,
    );
    const newApi = emitted.filter((e) => e.event.eventName === SINGLE_NEW_CALL.eventName);
    // Assess
    expect(deployStarts).toEqual([]);
    expect(newApi).toEqual([]);
  });

  it('starts at most one other insight per simulated day', () => {
    // Prepare
    const injected = [HIGH_VOLUME, RARE, NEAR_ZERO, DENIED].flatMap((b) =>
      startsFor(b).map((e) => e.event.sharedEventID),
    );
    // Act
    const others = emitted.filter(
      (e) => e.event.kind === 'start' && !injected.includes(e.event.sharedEventID),
    );
    const perDay = new Map<string, number>();
    for (const e of others)
      perDay.set(e.event.start.slice(0, 10), (perDay.get(e.event.start.slice(0, 10)) ?? 0) + 1);
    // Assess
    for (const n of perDay.values()) expect(n).toBeLessThanOrEqual(1);
  });

  it('writes Insights files whose records have exactly the fields of CloudTrail Insights events', async () => {
    // Prepare
    const records: InsightRecord[] = [];
    // Act
    for (const key of written) {
      expect(classifyKey(key)).toMatchObject({ kind: 'insight', account: ACCOUNT, region: REGION });
      records.push(...parseInsightRecords(await readAll(trail, key)));
    }
    // Assess
    expect(records.length).toBe(emitted.length);
    for (const r of records) {
      expect(Object.keys(r)).toEqual([...RECORD_FIELDS]);
      const d = r.insightDetails;
      expect(Object.keys(d)).toEqual([
        ...(d.insightType === 'ApiErrorRateInsight' ? ERROR_DETAIL_FIELDS : DETAIL_FIELDS),
      ]);
      expect(Object.keys(d.insightContext)).toEqual(['statistics', 'attributions']);
      expect(Object.keys(d.insightContext.statistics)).toEqual([...STATISTICS_FIELDS]);
      expect(Object.keys(d.insightContext.statistics.baseline)).toEqual(['average']);
      expect(Object.keys(d.insightContext.statistics.insight)).toEqual(['average']);
      for (const a of d.insightContext.attributions ?? []) {
        expect(Object.keys(a)).toEqual(['attribute', 'insight', 'baseline']);
        expect(a.insight.length).toBeLessThanOrEqual(5);
        for (const v of [...a.insight, ...a.baseline]) expect(Object.keys(v)).toEqual(['value', 'average']);
        const averages = a.insight.map((v) => v.average);
        expect(averages).toEqual([...averages].sort((x, y) => y - x));
      }
      expect(r.eventTime).toMatch(/:00Z$/);
    }
    const ids = new Set(records.map((r) => r.sharedEventID));
    for (const id of ids) {
      expect(records.filter((r) => r.sharedEventID === id).map((r) => r.insightDetails.state)).toEqual([
        'Start',
        'End',
      ]);
    }
  });

  describe('concurrent application', () => {
    let folder: string;
    beforeAll(async () => {
      folder = await mkdtemp(join(tmpdir(), 'trailwatch-insights-'));
    });
    afterAll(async () => {
      await rm(folder, { recursive: true, force: true });
    });

    async function concurrentMatchesSequential(make: (name: string) => ObjectStore) {
      // Prepare: 50 consecutive summaries from day 3, and 10 of them delivered twice
      const picked = summaries.slice(600, 650);
      const withDuplicates = [
        ...picked,
        ...picked.filter((_, i) => i % 5 === 0).map((s) => structuredClone(s)),
      ];
      const shuffled = shuffle(withDuplicates, 42);
      const sequential = make('sequential');
      const concurrent = make('concurrent');
      for (const s of picked) await applySummaries(sequential, [s]);
      // Act
      const results = await Promise.all(shuffled.map((s) => applySummaries(concurrent, [s])));
      // Assess
      const expected = await readState(sequential, ACCOUNT, REGION);
      const actual = await readState(concurrent, ACCOUNT, REGION);
      expect(results.reduce((n, r) => n + r.applied, 0)).toBe(50);
      expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(10);
      expect(canonical(actual)).toBe(canonical(expected));
      expect(Object.keys(expected?.series ?? {}).length).toBeGreaterThan(10);
    }

    it('gives the same baseline state as applying once in order (MemoryObjectStore)', async () => {
      await concurrentMatchesSequential((name) => new MemoryObjectStore(name));
    });

    it('gives the same baseline state as applying once in order (FsObjectStore)', async () => {
      await concurrentMatchesSequential((name) => new FsObjectStore(join(folder, name)));
    });
  });
});

function shuffle<T>(list: T[], seed: number): T[] {
  const out = [...list];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** JSON with object keys sorted at every depth. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import type { InsightRecord, InsightType } from '#shared/insights/index.ts';
import { detect, parseInsightRecords, readState, seedBaselines } from '#shared/insights/index.ts';
import {
  DETAIL_FIELDS,
  ERROR_DETAIL_FIELDS,
  RECORD_FIELDS,
  STATISTICS_FIELDS,
} from '#shared/insights/insight-records.ts';
import { minuteCount } from '#shared/insights/state.ts';
import { classifyKey } from '#shared/keys.ts';
import { type ObjectStore, PreconditionFailedError, readAll } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import type { LogFileSummary } from '#shared/summary.ts';
import {
  ACCOUNT,
  background,
  type Calls,
  calls,
  MINUTE,
  REGION,
  summaryOf,
} from '#test/fixtures/insights/synthetic.ts';

/** Monday 2026-03-02 00:00 UTC: eight days of history end on Tuesday 2026-03-10. */
const START = Date.parse('2026-03-02T00:00:00Z');
const DAY = 24 * 60 * MINUTE;
const T = START + 8 * DAY + 14 * 60 * MINUTE; // Tuesday 14:00
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

async function seeded(history: LogFileSummary[] = background(START, 8, 1)): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore('state');
  await seedBaselines(store, history, { now: new Date(START + 8 * DAY) });
  return store;
}

function at(minute: number, c: Omit<Calls, 'at'>): CloudTrailRecord[] {
  return calls({ ...c, at: T + minute * MINUTE });
}

const CREATE_ROLE = { source: 'iam.amazonaws.com', name: 'CreateRole' };

async function run(store: ObjectStore, nowMinute: number, records: CloudTrailRecord[] = [], options = {}) {
  const summaries = records.length > 0 ? [summaryOf(records, T + nowMinute * MINUTE)] : [];
  return detect(store, {
    account: ACCOUNT,
    region: REGION,
    now: new Date(T + nowMinute * MINUTE),
    summaries,
    options,
  });
}

function keysOf(o: object): string[] {
  return Object.keys(o);
}

describe('detect', () => {
  it('starts a near-zero API at 6/min for 4 min at its first minute, and ends it once quiet minutes settle', async () => {
    // Prepare
    const store = await seeded();
    // Act: the first file holds half of the first two minutes; the second the rest
    const first = await run(store, 6, [
      ...at(0, { ...CREATE_ROLE, count: 3 }),
      ...at(1, { ...CREATE_ROLE, count: 2 }),
    ]);
    const second = await run(store, 11, [
      ...at(0, { ...CREATE_ROLE, count: 3 }),
      ...at(1, { ...CREATE_ROLE, count: 4 }),
      ...at(2, { ...CREATE_ROLE, count: 6 }),
      ...at(3, { ...CREATE_ROLE, count: 6 }),
    ]);
    const early = await run(store, 20);
    const late = await run(store, 24);
    // Assess
    expect(first.records).toEqual([]);
    expect(second.records).toHaveLength(1);
    const start = second.records[0];
    expect(start.insightDetails.state).toBe('Start');
    expect(start.eventTime).toBe(iso(T));
    expect(start.insightDetails.insightType).toBe('ApiCallRateInsight');
    expect(start.insightDetails.eventName).toBe('CreateRole');
    expect(start.insightDetails.insightContext.statistics.insight.average).toBe(6);
    expect(early.records).toEqual([]);
    expect(late.records).toHaveLength(1);
    const end = late.records[0];
    expect(end.insightDetails.state).toBe('End');
    expect(end.eventTime).toBe(iso(T + 4 * MINUTE));
    expect(end.sharedEventID).toBe(start.sharedEventID);
    expect(end.eventID).not.toBe(start.eventID);
    expect(end.insightDetails.insightContext.statistics.insightDuration).toBe(4);
    expect(end.insightDetails.insightContext.statistics.insight.average).toBe(6);
    expect(end.insightDetails.insightContext.statistics.baseline.average).toBe(0);
    expect(late.events[0]).toMatchObject({
      kind: 'end',
      start: iso(T),
      end: iso(T + 4 * MINUTE),
      durationMinutes: 4,
    });
  });

  it('writes records with exactly the fields CloudTrail writes, in its order', async () => {
    // Prepare
    const store = await seeded();
    // Act
    const r = await run(store, 12, [
      ...at(0, { ...CREATE_ROLE, count: 9 }),
      ...at(0, {
        source: 'kms.amazonaws.com',
        name: 'Decrypt',
        readOnly: true,
        count: 12,
        errorCode: 'AccessDeniedException',
      }),
    ]);
    // Assess
    const [call, error] = [...r.records].sort((a, b) =>
      a.insightDetails.insightType < b.insightDetails.insightType ? -1 : 1,
    );
    for (const rec of [call, error]) {
      expect(keysOf(rec)).toEqual([...RECORD_FIELDS]);
      expect(keysOf(rec.insightDetails.insightContext.statistics)).toEqual([...STATISTICS_FIELDS]);
      expect(rec.eventType).toBe('AwsCloudTrailInsight');
      expect(rec.eventCategory).toBe('Insight');
      expect(rec.eventTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$/);
      expect(rec.recipientAccountId).toBe(ACCOUNT);
      expect(rec.awsRegion).toBe(REGION);
      expect(rec.eventID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(keysOf(call.insightDetails)).toEqual([...DETAIL_FIELDS]);
    expect(keysOf(error.insightDetails)).toEqual([...ERROR_DETAIL_FIELDS]);
    expect(error.insightDetails).toMatchObject({
      insightType: 'ApiErrorRateInsight',
      eventSource: 'kms.amazonaws.com',
      eventName: 'Decrypt',
      errorCode: 'AccessDeniedException',
    });
    const attrs = error.insightDetails.insightContext.attributions ?? [];
    expect(attrs.map((a) => a.attribute)).toEqual(['userIdentityArn', 'userAgent', 'errorCode']);
    expect(attrs[2].insight[0]).toEqual({ value: 'AccessDeniedException', average: 12 });
    expect(call.insightDetails.insightContext.attributions?.[2].insight[0].value).toBe('null');
  });

  it('ignores one call of a never-seen API', async () => {
    // Prepare
    const store = await seeded();
    // Act
    const r = await run(store, 8, at(0, { source: 'ec2.amazonaws.com', name: 'CreateKeyPair', count: 1 }));
    const later = await run(store, 40);
    // Assess
    expect(r.records).toEqual([]);
    expect(later.records).toEqual([]);
  });

  it('has no warm-up beyond the first day of history, and none after a seed', async () => {
    // Prepare: a trail with only twelve hours of history
    const young = new MemoryObjectStore('young');
    await seedBaselines(young, background(T - 12 * 60 * MINUTE, 0.5, 1), { now: new Date(T) });
    const seasoned = await seeded();
    const burst = at(0, { ...CREATE_ROLE, count: 30 });
    // Act
    const a = await run(young, 8, burst);
    const b = await run(seasoned, 8, burst);
    // Assess
    expect(a.records).toEqual([]);
    expect(b.records.map((x) => x.insightDetails.state)).toEqual(['Start']);
  });

  it('emits each Start once, however often detect runs', async () => {
    // Prepare
    const store = await seeded();
    const burst = at(0, { ...CREATE_ROLE, count: 30 });
    // Act
    const first = await run(store, 8, burst);
    const again = await run(store, 8);
    const redelivered = await detect(store, {
      account: ACCOUNT,
      region: REGION,
      now: new Date(T + 9 * MINUTE),
      summaries: [
        summaryOf(burst, T + 8 * MINUTE, 'the-same-key.json.gz'),
        summaryOf(burst, T + 8 * MINUTE, 'the-same-key.json.gz'),
      ],
    });
    // Assess
    expect(first.records).toHaveLength(1);
    expect(again.records).toEqual([]);
    expect(redelivered.records).toEqual([]);
    const state = await readState(store, ACCOUNT, REGION);
    expect(minuteCount(state!.series['C|iam.amazonaws.com|CreateRole'], T / MINUTE)).toBe(60);
  });

  it('keeps a daily burst at its usual hour ordinary, yet flags a smaller burst at a quiet hour', async () => {
    // Prepare: every weekday 10:00-10:15, CreateTags goes from 1 to 20 per minute
    const history = background(START, 8, 1);
    for (let d = 0; d < 8; d++) {
      const day = START + d * DAY;
      if ([0, 6].includes(new Date(day).getUTCDay())) continue;
      const records: CloudTrailRecord[] = [];
      for (let m = 0; m < 15; m++) {
        records.push(
          ...calls({
            at: day + (600 + m) * MINUTE,
            source: 'ec2.amazonaws.com',
            name: 'CreateTags',
            count: 19,
          }),
        );
      }
      history.push(summaryOf(records, day + 640 * MINUTE));
    }
    const usual = await seeded(history);
    const unusual = await seeded(history);
    const tenOClock = -4 * 60; // T is 14:00
    const burst = (offset: number, count: number) => {
      const r: CloudTrailRecord[] = [];
      for (let m = 0; m < 15; m++)
        r.push(...at(offset + m, { source: 'ec2.amazonaws.com', name: 'CreateTags', count }));
      return r;
    };
    // Act: the usual burst at 10:00; 8 per minute at 14:00, which a flat weekly average (inflated by the
    // bursts' spread) would let pass
    const atUsual = await run(usual, tenOClock + 17, burst(tenOClock, 20));
    const atUsualLater = await run(usual, tenOClock + 45);
    const atOther = await run(unusual, 17, burst(0, 8));
    // Assess
    expect([...atUsual.records, ...atUsualLater.records]).toEqual([]);
    expect(atOther.records.map((r) => [r.insightDetails.state, r.eventTime])).toEqual([['Start', iso(T)]]);
  });

  it('catches a moderate, sustained rise that no single minute proves', async () => {
    // Prepare: 2 per minute usually; 8 per minute for 15 minutes
    const store = await seeded(background(START, 8, 2));
    const records: CloudTrailRecord[] = [];
    for (let m = 0; m < 15; m++)
      records.push(...at(m, { source: 'ec2.amazonaws.com', name: 'CreateTags', count: 8 }));
    // Act
    const r = await run(store, 16, records);
    // Assess
    expect(r.records).toHaveLength(1);
    const rec = r.records[0];
    expect(Date.parse(rec.eventTime) - T).toBeLessThanOrEqual(2 * MINUTE);
    expect(r.events[0].thresholdPerMinute).toBeGreaterThan(8);
  });

  it('watches read calls per minute unless ApiReadRateInsight is switched off', async () => {
    // Prepare
    const types = {
      types: ['ApiCallRateInsight', 'ApiErrorRateInsight'] as InsightType[],
    };
    const on = await seeded();
    const off = new MemoryObjectStore('off');
    await seedBaselines(off, background(START, 8, 1), { now: new Date(START + 8 * DAY), ...types });
    const reads = at(0, {
      source: 'ec2.amazonaws.com',
      name: 'DescribeInstances',
      readOnly: true,
      count: 40,
    });
    // Act
    const a = await run(off, 8, reads, types);
    const b = await run(on, 8, reads);
    // Assess
    expect(a.records).toEqual([]);
    expect(b.records.map((r) => r.insightDetails.insightType)).toEqual(['ApiReadRateInsight']);
  });

  it('ends an insight that lasts longer than maxInsightMinutes', async () => {
    // Prepare
    const store = await seeded();
    const options = { maxInsightMinutes: 30 };
    const records: CloudTrailRecord[] = [];
    for (let m = 0; m < 40; m++) records.push(...at(m, { ...CREATE_ROLE, count: 10 }));
    // Act
    const first = await run(store, 8, records.slice(0, 80), options);
    const second = await run(store, 41, records.slice(80), options);
    // Assess
    expect(first.records.map((r) => r.insightDetails.state)).toEqual(['Start']);
    expect(second.records.map((r) => r.insightDetails.state)).toEqual(['End']);
    expect(second.records[0].insightDetails.insightContext.statistics.insightDuration).toBe(40);
  });

  it('writes the records as a CloudTrail Insights file, and again under the same key after a failed write', async () => {
    // Prepare
    const store = await seeded();
    const trail = new MemoryObjectStore('trail');
    const broken = new (class extends MemoryObjectStore {
      override async put(key: string): Promise<{ etag: string }> {
        throw new PreconditionFailedError('unavailable', key);
      }
    })('broken');
    const burst = at(0, { ...CREATE_ROLE, count: 30 });
    // Act
    const failed = detect(store, {
      account: ACCOUNT,
      region: REGION,
      now: new Date(T + 8 * MINUTE),
      summaries: [summaryOf(burst, T + 7 * MINUTE)],
      insightStore: broken,
    });
    await expect(failed).rejects.toThrow('unavailable');
    const retried = await detect(store, {
      account: ACCOUNT,
      region: REGION,
      now: new Date(T + 9 * MINUTE),
      insightStore: trail,
    });
    // Assess
    expect(retried.records).toEqual([]);
    expect(retried.written).toHaveLength(1);
    const key = retried.written[0];
    expect(classifyKey(key)).toMatchObject({ kind: 'insight', account: ACCOUNT, region: REGION });
    expect(key).toContain(
      `/CloudTrail-Insight/${REGION}/2026/03/10/${ACCOUNT}_CloudTrail-Insight_${REGION}_20260310T1408Z_`,
    );
    const body = await readAll(trail, key);
    const doc = JSON.parse(gunzipSync(body).toString('utf8')) as { Records: InsightRecord[] };
    expect(doc.Records.map((r) => r.insightDetails.state)).toEqual(['Start']);
    expect(parseInsightRecords(body)).toEqual(doc.Records);
    expect((await readState(store, ACCOUNT, REGION))?.outbox).toEqual([]);
  });
});

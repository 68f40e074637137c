import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { DEFAULT_OPTIONS, detect, seedBaselines } from '#shared/insights/index.ts';
import { insightNotifications } from '#shared/insights/insight-alerts.ts';
import { DETAIL_FIELDS, RECORD_FIELDS } from '#shared/insights/insight-records.ts';
import { succeededReads } from '#shared/insights/state.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import type { LogFileSummary } from '#shared/summary.ts';
import { ACCOUNT, background, calls, MINUTE, REGION, summaryOf } from '#test/fixtures/insights/synthetic.ts';

/** Monday 2026-03-02 00:00 UTC; detection runs on Tuesday 2026-03-10 at 14:00. */
const START = Date.parse('2026-03-02T00:00:00Z');
const DAY = 24 * 60 * MINUTE;
const T = START + 8 * DAY + 14 * 60 * MINUTE;
const ENUMERATOR = `arn:aws:sts::${ACCOUNT}:assumed-role/stolen/session`;
const LIST_SECRETS = { source: 'secretsmanager.amazonaws.com', name: 'ListSecrets' };
const DESCRIBE = { source: 'ec2.amazonaws.com', name: 'DescribeInstances' };

/**
 * A quiet week: a write API at 1/min, ListSecrets a few times an hour (a rotation job), and a busy read API
 * (DescribeInstances, a dashboard) at 30/min.
 */
function quietWeek(): LogFileSummary[] {
  const out = background(START, 8, 1);
  for (let h = 0; h < 8 * 24; h++) {
    const records: CloudTrailRecord[] = [];
    const hourStart = START + h * 60 * MINUTE;
    for (const m of [7, 37])
      records.push(...calls({ at: hourStart + m * MINUTE, ...LIST_SECRETS, count: 1, readOnly: true }));
    for (let m = 0; m < 60; m++)
      records.push(
        ...calls({ at: hourStart + m * MINUTE, ...DESCRIBE, count: 28 + ((h + m) % 5), readOnly: true }),
      );
    out.push(summaryOf(records, hourStart + 70 * MINUTE));
  }
  return out;
}

async function seeded(): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore('state');
  await seedBaselines(store, quietWeek(), { now: new Date(START + 8 * DAY) });
  return store;
}

/** `perMinute` calls of `api` per minute for `minutes` minutes from T + `from` minutes. */
function burst(api: { source: string; name: string }, from: number, minutes: number, perMinute: number) {
  const records: CloudTrailRecord[] = [];
  for (let m = from; m < from + minutes; m++)
    records.push(
      ...calls({ at: T + m * MINUTE, ...api, count: perMinute, readOnly: true, principal: ENUMERATOR }),
    );
  return records;
}

function detectAt(store: MemoryObjectStore, nowMinute: number, records: CloudTrailRecord[]) {
  return detect(store, {
    account: ACCOUNT,
    region: REGION,
    now: new Date(T + nowMinute * MINUTE),
    summaries: records.length > 0 ? [summaryOf(records, T + nowMinute * MINUTE)] : [],
  });
}

describe('read-call-rate insights (on by default)', () => {
  it('is one of the default types, with read floors above the write floors', () => {
    // Assess
    expect(DEFAULT_OPTIONS.types).toContain('ApiReadRateInsight');
    expect(DEFAULT_OPTIONS.readFloorFactor).toBeGreaterThan(1);
  });

  it('an enumeration burst (ListSecrets at 40/min) starts an insight within minutes, in CloudTrail Insights format, and pages', async () => {
    // Prepare
    const store = await seeded();

    // Act: the first five minutes of the burst are delivered
    const r = await detectAt(store, 6, burst(LIST_SECRETS, 0, 5, 40));
    const notes = insightNotifications(r.events, 'arn:aws:sns:us-east-1:111122223333:alerts');

    // Assess
    expect(r.records).toHaveLength(1);
    const rec = r.records[0];
    expect(Object.keys(rec)).toEqual(RECORD_FIELDS);
    expect(Object.keys(rec.insightDetails)).toEqual(DETAIL_FIELDS);
    expect(rec.insightDetails).toMatchObject({
      state: 'Start',
      eventSource: 'secretsmanager.amazonaws.com',
      eventName: 'ListSecrets',
      insightType: 'ApiReadRateInsight',
    });
    expect(Date.parse(rec.eventTime) - T).toBeLessThanOrEqual(2 * MINUTE);
    expect(r.events[0].observedPerMinute).toBeGreaterThanOrEqual(40);
    expect(r.events[0].baselineAverage).toBeLessThan(0.1);
    expect(r.events[0].topPrincipals[0].value).toBe(ENUMERATOR);
    expect(notes).toHaveLength(1);
    expect(notes[0].subject).toMatch(/^\[HIGH\] Unusual read call rate on secretsmanager:ListSecrets/);
    expect(notes[0].attributes).toMatchObject({ insightType: 'ApiReadRateInsight', state: 'Start' });
  });

  it('ends the insight once the enumeration stops, with an End record and message', async () => {
    // Prepare
    const store = await seeded();
    const first = await detectAt(store, 6, burst(LIST_SECRETS, 0, 5, 40));

    // Act: the rest of a 10-minute burst, then half an hour of silence
    await detectAt(store, 12, burst(LIST_SECRETS, 5, 5, 40));
    const later = await detectAt(store, 40, []);
    const notes = insightNotifications(later.events, 'arn:aws:sns:us-east-1:111122223333:alerts');

    // Assess
    expect(later.records.map((x) => x.insightDetails.state)).toEqual(['End']);
    expect(later.records[0].sharedEventID).toBe(first.records[0].sharedEventID);
    expect(later.events[0].end).toBe(new Date(T + 10 * MINUTE).toISOString().replace('.000Z', 'Z'));
    expect(notes[0].subject).toMatch(/Ended: unusual read call rate on secretsmanager:ListSecrets/);
  });

  it('stays quiet on a busy read API at its usual rate, and on a few extra reads of a quiet one', async () => {
    // Prepare
    const store = await seeded();
    const usual = [...burst(DESCRIBE, 0, 10, 32), ...burst(LIST_SECRETS, 0, 2, 6)];

    // Act
    const r = await detectAt(store, 12, usual);

    // Assess
    expect(r.records).toEqual([]);
  });

  it('the read floor is what keeps a small rise quiet: with the write floors it would start', async () => {
    // Prepare
    const small = burst(LIST_SECRETS, 0, 3, 8);

    // Act
    const withReadFloors = await detectAt(await seeded(), 4, small);
    const store = await seeded();
    const withWriteFloors = await detect(store, {
      account: ACCOUNT,
      region: REGION,
      now: new Date(T + 4 * MINUTE),
      summaries: [summaryOf(small, T + 4 * MINUTE)],
      options: { readFloorFactor: 1 },
    });

    // Assess
    expect(withReadFloors.records).toEqual([]);
    expect(withWriteFloors.records.map((x) => x.insightDetails.insightType)).toEqual(['ApiReadRateInsight']);
  });
});

describe('succeededReads', () => {
  it('leaves refused reads to the error-rate series', () => {
    // Act + Assess
    expect(succeededReads(40, 0)).toBe(40);
    expect(succeededReads(40, 0, { AccessDenied: 40 })).toBe(0);
    expect(succeededReads(40, 0, { AccessDenied: 10, ThrottlingException: 5 })).toBe(25);
    expect(succeededReads(40, 3, { AccessDenied: 5 })).toBe(38);
    expect(succeededReads(0, 3, { AccessDenied: 2 })).toBe(0);
  });
});

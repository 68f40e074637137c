import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import {
  buildRecord,
  checkInsightRecord,
  encodeInsightFile,
  insightFileKey,
  parseInsightRecords,
  RECORD_FIELDS,
  roundAverage,
  stableUuid,
  uniqueSuffix,
  writeInsightFile,
} from '#shared/insights/insight-records.ts';
import { InsightFormatError } from '#shared/insights/insight-types.ts';
import { classifyKey } from '#shared/keys.ts';
import { readAll } from '#shared/ports.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/insights/${name}`, import.meta.url), 'utf8');
const awsLookup = fixture('aws-lookup-events-insight.json');

describe('parseInsightRecords', () => {
  it("reads AWS's documented lookup-events example (a Start and its End) and round-trips it", () => {
    // Prepare
    const original = JSON.parse(awsLookup) as { Events: unknown[] };
    // Act
    const records = parseInsightRecords(awsLookup);
    const again = parseInsightRecords(gzipSync(JSON.stringify({ Records: records })));
    // Assess
    expect(records.map((r) => r.insightDetails.state)).toEqual(['Start', 'End']);
    expect(records[0].sharedEventID).toBe(records[1].sharedEventID);
    expect(records[0].insightDetails.insightContext.statistics.baseline.average).toBe(0.0000882145);
    expect(JSON.stringify(records)).toBe(JSON.stringify(original.Events));
    expect(again).toEqual(records);
  });

  it("accepts AWS's documented insightDetails block inside a record", () => {
    // Prepare
    const { insightDetails } = JSON.parse(fixture('aws-insight-details-block.json'));
    const record = {
      eventVersion: '1.07',
      eventTime: '2019-10-15T21:13:00Z',
      awsRegion: 'us-east-1',
      eventID: 'e',
      eventType: 'AwsCloudTrailInsight',
      recipientAccountId: '123456789012',
      sharedEventID: 's',
      insightDetails,
      eventCategory: 'Insight',
    };
    // Act
    const [r] = parseInsightRecords(record);
    // Assess
    expect(r.insightDetails.insightContext.attributions?.map((a) => a.attribute)).toEqual([
      'userIdentityArn',
      'userAgent',
      'errorCode',
    ]);
    expect(r.insightDetails.insightContext.attributions?.[2].insight).toEqual([
      { value: 'null', average: 0.6 },
    ]);
  });

  it('reads lookup-events output as the API returns it (CloudTrailEvent strings)', () => {
    // Prepare
    const events = (JSON.parse(awsLookup) as { Events: unknown[] }).Events.map((e) => ({
      EventId: 'x',
      CloudTrailEvent: JSON.stringify(e),
    }));
    // Act
    const records = parseInsightRecords({ Events: events });
    // Assess
    expect(records).toEqual(parseInsightRecords(awsLookup));
  });

  it.each([
    ['not JSON', '{"Records": [', 'unparsable'],
    ['a log file of API calls', { Records: [{ eventType: 'AwsApiCall' }] }, 'records[0].eventVersion'],
    [
      'a wrong state',
      mutate((r) => (r.insightDetails.state = 'Middle')),
      'insightDetails.state: expected "Start" or "End"',
    ],
    [
      'a missing average',
      mutate((r) => delete r.insightDetails.insightContext.statistics.insight.average),
      'insight.average',
    ],
    [
      'a bad attribute',
      mutate((r) => (r.insightDetails.insightContext.attributions[0].attribute = 'ip')),
      'attribute',
    ],
    ['something else', { hello: 'world' }, 'expected {"Records":[...]}'],
  ])('rejects %s with a message naming the field', (_, input, message) => {
    expect(() => parseInsightRecords(input)).toThrow(InsightFormatError);
    expect(() => parseInsightRecords(input)).toThrow(message);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: a test edits arbitrary fields of a parsed record
function mutate(change: (r: any) => void): unknown {
  const doc = JSON.parse(awsLookup);
  change(doc.Events[0]);
  return doc;
}

describe('buildRecord', () => {
  const input = {
    state: 'Start' as const,
    account: '111122223333',
    region: 'eu-west-1',
    time: Date.parse('2026-03-10T14:20:37Z'),
    sharedEventID: stableUuid('a', 'b'),
    eventSource: 'kms.amazonaws.com',
    eventName: 'Decrypt',
    insightType: 'ApiErrorRateInsight',
    errorCode: 'AccessDeniedException',
    baselineAverage: 0.000088214512,
    insightAverage: 15.33333333,
    insightDuration: 3,
    baselineDuration: 10080,
    attributions: [
      {
        attribute: 'errorCode' as const,
        insight: [{ value: 'AccessDeniedException', average: 15.33333333 }],
        baseline: [{ value: 'null', average: 1.23456789 }],
      },
    ],
  };

  it("has CloudTrail's shape: the same fields, in the same order, as AWS's example", () => {
    // Prepare
    const aws = parseInsightRecords(awsLookup)[0];
    // Act
    const r = buildRecord({ ...input, errorCode: undefined, insightType: 'ApiCallRateInsight' });
    // Assess
    expect(Object.keys(r)).toEqual(Object.keys(aws));
    expect(Object.keys(r)).toEqual([...RECORD_FIELDS]);
    expect(Object.keys(r.insightDetails)).toEqual(Object.keys(aws.insightDetails));
    expect(Object.keys(r.insightDetails.insightContext.statistics)).toEqual(
      Object.keys(aws.insightDetails.insightContext.statistics),
    );
    expect(checkInsightRecord(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });

  it('stamps the minute, rounds averages to six significant digits and derives stable ids', () => {
    // Act
    const r = buildRecord(input);
    const again = buildRecord(input);
    // Assess
    expect(r.eventTime).toBe('2026-03-10T14:20:00Z');
    expect(r.insightDetails.errorCode).toBe('AccessDeniedException');
    expect(r.insightDetails.insightContext.statistics.baseline.average).toBe(0.0000882145);
    expect(r.insightDetails.insightContext.statistics.insight.average).toBe(15.3333);
    expect(r.insightDetails.insightContext.attributions?.[0].baseline[0].average).toBe(1.23457);
    expect(again).toEqual(r);
    expect(buildRecord({ ...input, state: 'End' }).eventID).not.toBe(r.eventID);
    expect(roundAverage(0)).toBe(0);
  });
});

describe('Insights files', () => {
  it('are named like CloudTrail names them, from the records alone, and hold {"Records":[...]} gzip', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const records = parseInsightRecords(awsLookup);
    const p = {
      account: '123456789012',
      region: 'us-east-1',
      time: new Date('2019-10-15T21:31:10Z'),
      records,
    };
    // Act
    const key = await writeInsightFile(store, { ...p, prefix: 'trail/' });
    const rewritten = await writeInsightFile(store, { ...p, prefix: 'trail/' });
    const body = await readAll(store, key);
    // Assess
    expect(key).toBe(
      `trail/AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2019/10/15/123456789012_CloudTrail-Insight_us-east-1_20191015T2131Z_${uniqueSuffix(records)}.json.gz`,
    );
    expect(uniqueSuffix(records)).toMatch(/^[A-Za-z0-9]{16}$/);
    expect(rewritten).toBe(key);
    expect(classifyKey(key)).toMatchObject({ kind: 'insight', account: '123456789012', region: 'us-east-1' });
    expect(body.equals(encodeInsightFile(records))).toBe(true);
    expect(parseInsightRecords(body)).toEqual(records);
    expect(insightFileKey({ ...p, orgId: 'o-a1b2c3d4e5' })).toContain(
      'AWSLogs/o-a1b2c3d4e5/123456789012/CloudTrail-Insight/',
    );
  });
});

import { gzipSync } from 'node:zlib';
import type { S3Event } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { lambdaContext } from '#cli/replay/events.ts';
import { ingestHandler } from '#functions/handlers.ts';
import { decodeEventKey } from '#shared/keys.ts';
import {
  announced,
  loadEvent,
  logFile,
  metricTotal,
  record,
  snapshot,
  testPipeline,
} from '#test/support/logfiles.ts';

const context = lambdaContext('trailwatch-ingest');
const keyOf = (event: S3Event) => decodeEventKey(event.Records[0].s3.object.key);

describe('ingest handler', () => {
  it('ingests a delivered log file and writes its summary keyed by the file', async () => {
    // Prepare
    const p = testPipeline();
    const event = loadEvent('s3-log-delivered');
    const records = [
      record(),
      record({
        eventID: 'evt-2',
        eventName: 'DescribeInstances',
        readOnly: true,
        eventTime: '2026-11-20T10:02:10Z',
      }),
      record({ eventID: 'evt-3', errorCode: 'AccessDenied', eventTime: '2026-11-20T10:02:50Z' }),
    ];
    await p.source.put(keyOf(event), announced(event, logFile(records)));
    // Act
    const result = await ingestHandler(p.deps)(event, context);
    // Assess
    expect(result.outcomes).toHaveLength(1);
    expect(result.outcomes[0].status).toBe('ingested');
    const summaryKey = `summaries/acme-cloudtrail-logs/${keyOf(event).replace('.json.gz', '')}.summary.json`;
    const summary = JSON.parse(Buffer.from(p.state.objects.get(summaryKey)!.body).toString());
    expect(summary.records).toBe(3);
    expect(summary.account).toBe('111122223333');
    expect(summary.minutes).toEqual([
      { m: '2026-11-20T10:01', s: 'ec2.amazonaws.com', n: 'StopInstances', c: 'Management', r: 0, w: 1 },
      { m: '2026-11-20T10:02', s: 'ec2.amazonaws.com', n: 'DescribeInstances', c: 'Management', r: 1, w: 0 },
      {
        m: '2026-11-20T10:02',
        s: 'ec2.amazonaws.com',
        n: 'StopInstances',
        c: 'Management',
        r: 0,
        w: 1,
        e: { AccessDenied: 1 },
      },
    ]);
    expect(summary.topPrincipals).toEqual([{ value: 'arn:aws:iam::111122223333:user/alice', count: 3 }]);
    // delivery at 10:05, events at 10:01:30..10:02:50
    expect(summary.lagSeconds).toEqual({ min: 130, max: 210, mean: 170 });
    expect(metricTotal(p.emf, 'FilesIngested')).toBe(1);
    expect(metricTotal(p.emf, 'Records')).toBe(3);
  });

  it('leaves exactly the state of one delivery when the same event arrives three times', async () => {
    // Prepare
    const once = testPipeline();
    const thrice = testPipeline();
    const event = loadEvent('s3-log-delivered');
    const body = logFile([record(), record({ eventID: 'evt-2' })]);
    await once.source.put(keyOf(event), announced(event, body));
    await thrice.source.put(keyOf(event), body);
    // Act
    await ingestHandler(once.deps)(event, context);
    const handler = ingestHandler(thrice.deps);
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await handler(event, context));
    // Assess
    expect(snapshot(thrice.state)).toEqual(snapshot(once.state));
    expect(results.map((r) => r.outcomes[0].status)).toEqual(['ingested', 'duplicate', 'duplicate']);
    expect(metricTotal(thrice.emf, 'Records')).toBe(2);
    expect(metricTotal(thrice.emf, 'DuplicateDeliveries')).toBe(2);
  });

  it('hands a delivered digest to verify without reading it', async () => {
    const p = testPipeline();
    const event = loadEvent('s3-digest-delivered');
    const result = await ingestHandler(p.deps)(event, context);
    expect(result.outcomes).toEqual([{ key: keyOf(event), status: 'dispatched' }]);
    expect(p.dispatched).toEqual([keyOf(event)]);
    expect(p.state.objects.size).toBe(0);
  });

  it('skips a zero-byte folder object without reading it', async () => {
    const p = testPipeline();
    const result = await ingestHandler(p.deps)(loadEvent('s3-zero-byte-folder'), context);
    expect(result.outcomes[0]).toMatchObject({ status: 'ignored', reason: 'zero-byte object' });
    expect(metricTotal(p.emf, 'IgnoredObjects')).toBe(1);
  });

  it('decodes keys with spaces and non-ASCII characters under an organization prefix', async () => {
    // Prepare
    const p = testPipeline();
    const event = loadEvent('s3-key-with-spaces-unicode');
    const key = keyOf(event);
    expect(
      key.startsWith('security team/träil über/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/eu-west-1/'),
    ).toBe(true);
    await p.source.put(key, announced(event, logFile([record({ awsRegion: 'eu-west-1' })])));
    // Act
    const result = await ingestHandler(p.deps)(event, context);
    // Assess
    expect(result.outcomes[0].status).toBe('ingested');
    const summary = JSON.parse(Buffer.from([...p.state.objects.values()][0].body).toString());
    expect(summary).toMatchObject({ orgId: 'o-a1b2c3d4e5', account: '111122223333', region: 'eu-west-1' });
  });

  it('ignores and counts an object that is not CloudTrail output', async () => {
    const p = testPipeline();
    const result = await ingestHandler(p.deps)(loadEvent('s3-non-cloudtrail-object'), context);
    expect(result.outcomes[0]).toMatchObject({ status: 'ignored', reason: 'outside AWSLogs/' });
    expect(p.logs.some((l) => l.message === 'object ignored' && l.reason === 'outside AWSLogs/')).toBe(true);
  });

  it('reports an event that is not an S3 notification and returns normally', async () => {
    const p = testPipeline();
    const result = await ingestHandler(p.deps)({ Records: [{ foo: 1 }] } as unknown as S3Event, context);
    expect(result.outcomes).toEqual([]);
    expect(metricTotal(p.emf, 'InvalidEvents')).toBe(1);
  });

  it('ingests the same file uncompressed under a .json name, keeping its summary apart from the .json.gz one', async () => {
    // Prepare: CloudTrail's key with .json, plain {"Records": [...]}, next to the gzip'd file of the same stem
    const p = testPipeline();
    const gzEvent = loadEvent('s3-log-delivered');
    const gzKey = keyOf(gzEvent);
    const jsonKey = gzKey.replace(/\.json\.gz$/, '.json');
    const jsonEvent = structuredClone(gzEvent);
    jsonEvent.Records[0].s3.object.key = jsonEvent.Records[0].s3.object.key.replace(/\.json\.gz$/, '.json');
    await p.source.put(gzKey, announced(gzEvent, logFile([record()])));
    await p.source.put(
      jsonKey,
      announced(jsonEvent, JSON.stringify({ Records: [record(), record({ eventID: 'evt-2' })] })),
    );
    // Act
    const gz = await ingestHandler(p.deps)(gzEvent, context);
    const json = await ingestHandler(p.deps)(jsonEvent, context);
    // Assess
    expect(gz.outcomes.map((o) => o.status)).toEqual(['ingested']);
    expect(json.outcomes.map((o) => o.status)).toEqual(['ingested']);
    const stem = gzKey.slice(0, -'.json.gz'.length);
    const summaries = [...p.state.objects.keys()].filter((k) => k.startsWith('summaries/')).sort();
    expect(summaries).toEqual([
      `summaries/acme-cloudtrail-logs/${stem}.summary.json`,
      `summaries/acme-cloudtrail-logs/${stem}.uncompressed.summary.json`,
    ]);
    const jsonSummary = JSON.parse(Buffer.from(p.state.objects.get(summaries[1])!.body).toString());
    expect(jsonSummary.records).toBe(2);
    expect(jsonSummary.source.key).toBe(jsonKey);
  });

  const bigRecord = () => record({ requestParameters: { blob: 'x'.repeat(50 * 1024 * 1024) } });
  it.each([
    ['truncated gzip', () => logFile([record(), record()]).subarray(0, 40), /truncated gzip stream/],
    ['bytes neither gzip nor JSON', () => Buffer.from('this is not gzip'), /neither gzip nor JSON/],
    ['invalid JSON', () => gzipSync('{"Records": [ {"a": 1} '), /truncated JSON document/],
    ['Records missing', () => gzipSync('{"records": []}'), /no "Records" key/],
    ['Records not an array', () => gzipSync('{"Records": {"a": 1}}'), /"Records" to be an array/],
  ])('rejects a file with %s: clear log line, metric, verdict, no summary', async (_name, body, reason) => {
    // Prepare
    const p = testPipeline();
    const event = loadEvent('s3-log-delivered');
    await p.source.put(keyOf(event), announced(event, body()));
    // Act
    const result = await ingestHandler(p.deps)(event, context);
    // Assess
    expect(result.outcomes[0].status).toBe('rejected');
    expect(metricTotal(p.emf, 'RejectedFiles')).toBe(1);
    const line = p.logs.find((l) => l.message === 'log file rejected');
    expect(String(line?.reason)).toMatch(reason);
    const keys = [...p.state.objects.keys()];
    expect(keys.filter((k) => k.startsWith('summaries/'))).toEqual([]);
    expect(keys.filter((k) => k.startsWith('rejected/'))).toHaveLength(1);
  });

  it('skips a single 50 MB record over the cap and keeps the rest of the file', async () => {
    // Prepare
    const p = testPipeline({ TRAILWATCH_MAX_RECORD_BYTES: String(8 * 1024 * 1024) });
    const event = loadEvent('s3-log-delivered');
    await p.source.put(
      keyOf(event),
      announced(event, logFile([record(), bigRecord(), record({ eventID: 'evt-3' })])),
    );
    // Act
    const result = await ingestHandler(p.deps)(event, context);
    // Assess
    expect(result.outcomes[0].status).toBe('ingested');
    const outcome = result.outcomes[0] as { summary: { records: number; badRecords: { oversized: number } } };
    expect(outcome.summary.records).toBe(2);
    expect(outcome.summary.badRecords.oversized).toBe(1);
    expect(metricTotal(p.emf, 'BadRecords')).toBe(1);
  });

  it('throws for a retry when the source fails, after trying every object, and writes nothing', async () => {
    // Prepare
    const p = testPipeline();
    const event = loadEvent('s3-log-delivered');
    p.deps.sourceStore = () =>
      ({
        ...p.source,
        location: 'broken',
        head: async () => undefined,
        get: async () => {
          throw new Error('connection reset');
        },
      }) as never;
    // Act / Assess
    await expect(ingestHandler(p.deps)(event, context)).rejects.toThrow(/1 of 1 objects failed/);
    expect(p.state.objects.size).toBe(0);
    expect(metricTotal(p.emf, 'ProcessingFailures')).toBe(1);
  });
});

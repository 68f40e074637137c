import { gunzipSync } from 'node:zlib';
import { S3Schema } from '@aws-lambda-powertools/parser/schemas/s3';
import { describe, expect, it } from 'vitest';
import { lambdaContext } from '#cli/replay/events.ts';
import { ingestQueueHandler } from '#functions/handlers.ts';
import { readState } from '#shared/insights/index.ts';
import { digestFileKey, logFileKey } from '#shared/keys.ts';
import { parseFileIndex } from '#shared/logfile/file-index.ts';
import { sweepParked } from '#shared/pipeline/sweep-parked.ts';
import { InstrumentedStore } from '#test/support/instrumented-store.ts';
import { logFile, metricTotal, record, testPipeline } from '#test/support/logfiles.ts';
import {
  cloudTrailSnsBody,
  eventBridgeBody,
  s3NotificationBody,
  sqsBatch,
} from '#test/support/queue-events.ts';

const context = lambdaContext('trailwatch-ingest');
const BUCKET = 'acme-cloudtrail-logs';
const ORG = 'o-a1b2c3d4e5';

/** A log file of `count` calls in one minute, for one account and region of an organization trail. */
function orgLogFile(account: string, region: string, minute: string, unique: string, count = 3) {
  const time = new Date(`${minute}:00Z`);
  const key = logFileKey({
    orgId: ORG,
    account,
    region,
    time: new Date(time.getTime() + 5 * 60_000),
    unique,
  });
  const records = Array.from({ length: count }, (_, i) =>
    record({
      eventID: `${unique}-${i}`,
      eventTime: `${minute}:${String(10 + i).padStart(2, '0')}Z`,
      awsRegion: region,
      recipientAccountId: account,
    }),
  );
  return { key, body: logFile(records) };
}

describe('ingest from an SQS batch', () => {
  it('ingests good files, reports the unreadable one and the deleted one, counts a duplicate once, writes each state once', async () => {
    // Prepare
    const p = testPipeline();
    const state = new InstrumentedStore(p.state);
    const handler = ingestQueueHandler({ ...p.deps, state });
    const a = orgLogFile('444455556666', 'eu-west-1', '2026-11-20T10:01', 'Aaaaaaaaaaaaaaa1');
    const b = orgLogFile('444455556666', 'eu-west-1', '2026-11-20T10:06', 'Bbbbbbbbbbbbbbb2', 5);
    const c = orgLogFile('777788889999', 'us-east-1', '2026-11-20T10:02', 'Ccccccccccccccc3');
    const missing = orgLogFile('444455556666', 'eu-west-1', '2026-11-20T10:07', 'Mmmmmmmmmmmmmmm4');
    for (const f of [a, b, c]) await p.source.put(f.key, f.body);
    const event = sqsBatch([
      { messageId: 'm-a', body: s3NotificationBody(BUCKET, a.key, a.body) },
      { messageId: 'm-b', body: eventBridgeBody(BUCKET, b.key, b.body) },
      { messageId: 'm-c', body: cloudTrailSnsBody(BUCKET, [c.key]) },
      { messageId: 'm-a-again', body: s3NotificationBody(BUCKET, a.key, a.body) },
      { messageId: 'm-missing', body: s3NotificationBody(BUCKET, missing.key) },
      { messageId: 'm-junk', body: '{"hello":"world"}' },
    ]);
    // Act
    const response = await handler(event, context);
    // Assess
    // A file announced and gone when read was deleted: CRITICAL at once, nothing a retry could read.
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m-junk']);
    expect(response.result?.outcomes.find((o) => o.messageId === 'm-missing')).toMatchObject({
      status: 'tampered',
      tamper: 'removed',
    });
    expect(
      p.notifier.sent.filter((n) => n.attributes.check === 'log-deleted').map((n) => n.attributes.severity),
    ).toEqual(['CRITICAL']);
    expect(metricTotal(p.emf, 'FilesIngested')).toBe(3);
    expect(metricTotal(p.emf, 'Records')).toBe(3 + 5 + 3);
    expect(metricTotal(p.emf, 'DuplicateDeliveries')).toBe(1);
    expect(metricTotal(p.emf, 'InvalidEvents')).toBe(1);
    // Two account-regions in the batch: two state writes, not one per file.
    expect(state.count('PUT', 'state')).toBe(2);
    const eu = await readState(p.state, '444455556666', 'eu-west-1');
    expect(eu?.orgId).toBe(ORG);
    expect(Object.values(eu?.applied ?? {}).flat()).toHaveLength(2);
    // One summaries object for the batch, holding the three files.
    const batches = [...p.state.objects.keys()].filter((k) => k.startsWith('summaries/batches/'));
    expect(batches).toHaveLength(1);
    const saved = JSON.parse(gunzipSync(p.state.objects.get(batches[0])!.body).toString());
    expect(saved.summaries.map((s: { source: { key: string } }) => s.source.key).sort()).toEqual(
      [a.key, b.key, c.key].sort(),
    );
    // Each file's index rides in its summary, checked against the object it describes.
    for (const s of saved.summaries) {
      const index = parseFileIndex(s.index);
      expect(index.source).toEqual(s.source);
    }
  });

  it('defers a throttled alert to the sweep: two files of a batch leave one, sent once, and a later batch in the window adds none', async () => {
    // Prepare: two files of one account-region, each with an IAM policy change (CloudWatch.4, throttled hourly)
    const p = testPipeline({ ALERT_THROTTLE: '{"CloudWatch.4": 60}' });
    const deps = { ...p.deps, now: () => new Date('2026-11-20T10:16:00Z') };
    const state = new InstrumentedStore(p.state);
    const policyChange = (id: string, minute: string) =>
      record({
        eventID: id,
        eventSource: 'iam.amazonaws.com',
        eventName: 'PutUserPolicy',
        eventTime: `${minute}:30Z`,
      });
    const key = (unique: string, minute: number) =>
      logFileKey({
        orgId: ORG,
        account: '444455556666',
        region: 'us-east-1',
        time: new Date(Date.UTC(2026, 10, 20, 10, minute)),
        unique,
      });
    const a = { key: key('Rulea00000000001', 5), body: logFile([policyChange('p1', '2026-11-20T10:01')]) };
    const b = { key: key('Ruleb00000000002', 10), body: logFile([policyChange('p2', '2026-11-20T10:06')]) };
    const c = { key: key('Rulec00000000003', 15), body: logFile([policyChange('p3', '2026-11-20T10:11')]) };
    for (const f of [a, b, c]) await p.source.put(f.key, f.body);
    const sent = () => p.notifier.sent.filter((n) => n.attributes.rule === 'CloudWatch.4');
    // Act
    const response = await ingestQueueHandler({ ...deps, state })(
      sqsBatch([
        { messageId: 'm-a', body: s3NotificationBody(BUCKET, a.key) },
        { messageId: 'm-b', body: s3NotificationBody(BUCKET, b.key) },
      ]),
      context,
    );
    // Assess: no claim object per file, nothing sent yet; the second file's alert is throttled by the first
    expect(response.batchItemFailures).toEqual([]);
    expect(state.count('PUT', 'claims') + state.count('GET', 'claims')).toBe(0);
    expect(sent()).toHaveLength(0);
    expect(metricTotal(p.emf, 'RuleAlertsThrottled')).toBe(1);
    // Act: the scheduled sweep
    const first = await sweepParked(deps);
    // Assess: one message, about the first file
    expect(first).toMatchObject({ objects: 1, sent: 1, throttled: 0 });
    expect(sent()).toHaveLength(1);
    expect(sent()[0].message).toContain(a.key);
    // Act: a later file of the window, in another container (another store wrapper), then the sweep again
    await ingestQueueHandler({ ...deps, state: new InstrumentedStore(p.state) })(
      sqsBatch([{ messageId: 'm-c', body: s3NotificationBody(BUCKET, c.key) }]),
      context,
    );
    const second = await sweepParked(deps);
    // Assess: that container deferred it (it could not know), the sweep knew the window was spent
    expect(second).toMatchObject({ objects: 1, sent: 0, throttled: 1 });
    expect(sent()).toHaveLength(1);
  });

  it('recognises every file of a retried batch as already applied, and changes no state', async () => {
    // Prepare
    const p = testPipeline();
    const handler = ingestQueueHandler(p.deps);
    const a = orgLogFile('444455556666', 'eu-west-1', '2026-11-20T10:01', 'Aaaaaaaaaaaaaaa1');
    await p.source.put(a.key, a.body);
    const event = sqsBatch([{ messageId: 'm-a', body: s3NotificationBody(BUCKET, a.key) }]);
    await handler(event, context);
    const before = p.state.objects.get('insights/state/444455556666/eu-west-1.json')!.etag;
    // Act
    const again = await handler(event, context);
    // Assess
    expect(again.batchItemFailures).toEqual([]);
    expect(again.result?.outcomes.map((o) => o.status)).toEqual(['duplicate']);
    expect(metricTotal(p.emf, 'FilesIngested')).toBe(1);
    expect(p.state.objects.get('insights/state/444455556666/eu-west-1.json')!.etag).toBe(before);
  });

  it('rejects a corrupt file with a verdict and acknowledges it: a retry could not fix it', async () => {
    // Prepare
    const p = testPipeline();
    const a = orgLogFile('444455556666', 'eu-west-1', '2026-11-20T10:01', 'Aaaaaaaaaaaaaaa1');
    await p.source.put(a.key, Buffer.from('not gzip, not json'));
    // Act
    const response = await ingestQueueHandler(p.deps)(
      sqsBatch([{ messageId: 'm-a', body: s3NotificationBody(BUCKET, a.key, 18) }]),
      context,
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(response.result?.outcomes[0].status).toBe('rejected');
    expect(metricTotal(p.emf, 'RejectedFiles')).toBe(1);
  });

  it('hands a digest announced by EventBridge to verify as a well-formed S3 notification record', async () => {
    // Prepare
    const p = testPipeline();
    const sent: unknown[] = [];
    const key = digestFileKey({
      orgId: ORG,
      account: '444455556666',
      region: 'eu-west-1',
      trailName: 'org-trail',
      homeRegion: 'us-east-1',
      endTime: new Date('2026-11-20T10:15:02Z'),
    });
    // Act
    const response = await ingestQueueHandler({
      ...p.deps,
      async dispatchDigest(d) {
        sent.push(d.notification);
      },
    })(sqsBatch([{ messageId: 'm-d', body: eventBridgeBody(BUCKET, key) }]), context);
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const parsed = S3Schema.safeParse({ Records: sent });
    expect(parsed.success).toBe(true);
    expect(parsed.data?.Records[0].s3.object.key).toBe(key);
  });

  it('acknowledges an S3 test event; a deleted log file through the queue is a CRITICAL tamper alert', async () => {
    // Prepare
    const p = testPipeline();
    const a = orgLogFile('444455556666', 'eu-west-1', '2026-11-20T10:01', 'Aaaaaaaaaaaaaaa1');
    const deleted = JSON.parse(eventBridgeBody(BUCKET, a.key));
    deleted['detail-type'] = 'Object Deleted';
    const b = orgLogFile('444455556666', 'eu-west-1', '2026-11-20T10:02', 'Bbbbbbbbbbbbbbb1');
    const s3Deleted = JSON.parse(s3NotificationBody(BUCKET, b.key));
    s3Deleted.Records[0].eventName = 'ObjectRemoved:Delete';
    // Act
    const response = await ingestQueueHandler(p.deps)(
      sqsBatch([
        { messageId: 'm-test', body: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }) },
        { messageId: 'm-del', body: JSON.stringify(deleted) },
        { messageId: 'm-del-s3', body: JSON.stringify(s3Deleted) },
      ]),
      context,
    );
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(response.result?.outcomes.map((o) => [o.messageId, o.status])).toEqual([
      ['m-del', 'tampered'],
      ['m-del-s3', 'tampered'],
    ]);
    const docs = p.notifier.sent.map((n) => JSON.parse(JSON.parse(n.message).sqs));
    expect(docs).toHaveLength(2);
    expect(docs.map((d) => [d.severity, d.tamper.subtype, d.tamper.object.key]).sort()).toEqual(
      [
        ['CRITICAL', 'log-deleted', a.key],
        ['CRITICAL', 'log-deleted', b.key],
      ].sort(),
    );
  });
});

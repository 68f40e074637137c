/**
 * Nothing is lost when AWS misbehaves: S3 reads failing mid-stream, SNS failing, a crash before the commit,
 * deliveries out of order and repeated, and 100 deliveries at once against the same state, all through the
 * real SDK clients against moto_server.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import type { S3Event } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { s3Event } from '#cli/replay/events.ts';
import { ingestHandler } from '#functions/handlers.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { SnsNotifier } from '#shared/adapters/sns-notifier.ts';
import { logFileKey } from '#shared/keys.ts';
import { readAll } from '#shared/ports.ts';
import { motoEndpoint, snsSentMessages } from '#test/setup/moto-client.ts';
import { FlakyNotifier, failingReads, failingWrites, invokeAsync } from '#test/support/faults.ts';
import { logFile, metricTotal, record, testPipeline } from '#test/support/logfiles.ts';

let s3: S3Client;
let sns: SNSClient;
let trail: S3ObjectStore;
let state: S3ObjectStore;
let topicArn: string;

let run = 0;

// Each test gets its own buckets and topic: moto is shared by every test file running at the same time, so
// nothing here may reset it.
beforeEach(async () => {
  run++;
  const suffix = `${process.pid}-${run}`;
  s3 = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
  sns = new SNSClient({ endpoint: motoEndpoint(), region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: `trail-${suffix}` }));
  await s3.send(new CreateBucketCommand({ Bucket: `state-${suffix}` }));
  topicArn = (await sns.send(new CreateTopicCommand({ Name: `alerts-${suffix}` }))).TopicArn!;
  trail = new S3ObjectStore(s3, `trail-${suffix}`);
  state = new S3ObjectStore(s3, `state-${suffix}`);
});

function pipeline() {
  const p = testPipeline({ ALERT_TOPIC_ARN: topicArn });
  p.deps.sourceStore = () => trail;
  p.deps.state = state;
  p.deps.notifier = new SnsNotifier(sns);
  return p;
}

const keyAt = (minute: number, n: number) =>
  logFileKey({
    account: '111122223333',
    region: 'us-east-1',
    time: new Date(Date.UTC(2026, 10, 20, 10, 0) + minute * 60_000),
    unique: `F${String(n).padStart(15, '0')}`,
  });

async function deliver(key: string, records: unknown[]): Promise<S3Event> {
  const body = logFile(records);
  await trail.put(key, body);
  return s3Event(trail.bucket, key, body.length, new Date());
}

async function keysUnder(store: S3ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

async function stateSnapshot(exclude: string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const o of state.list('')) {
    if (exclude.some((p) => o.key.startsWith(p))) continue;
    out[o.key] = (await readAll(state, o.key)).toString('utf8');
  }
  return out;
}

async function alertsFor(rule: string): Promise<unknown[]> {
  const sent = (await snsSentMessages())[topicArn] ?? [];
  return sent.filter((m) => JSON.stringify(m).includes(`"${rule}"`));
}

const stopLogging = (id: string) =>
  record({
    eventID: id,
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'StopLogging',
    requestParameters: { name: 'main' },
  });

describe('fault tolerance against moto_server', () => {
  it('retries a file whose S3 read fails mid-stream and processes it once the read succeeds', async () => {
    // Prepare
    const p = pipeline();
    const records = Array.from({ length: 2000 }, (_, i) =>
      record({ eventID: `e${i}`, requestID: 'x'.repeat(200) }),
    );
    const event = await deliver(keyAt(5, 1), records);
    const flaky = failingReads(trail, 2, 4000);
    p.deps.sourceStore = () => flaky;
    const dead: S3Event[] = [];
    // Act
    const result = await invokeAsync(ingestHandler(p.deps), event, dead);
    // Assess
    expect(result).toBe('ok');
    expect(flaky.failures).toBe(2);
    expect(await keysUnder(state, 'summaries/')).toHaveLength(1);
    expect(metricTotal(p.emf, 'Records')).toBe(2000);
    expect(metricTotal(p.emf, 'ProcessingFailures')).toBe(2);
  });

  it('keeps the event in the dead letters when SNS keeps failing, and sends the alert when redriven', async () => {
    // Prepare
    const p = pipeline();
    p.deps.notifier = new FlakyNotifier(new SnsNotifier(sns), 3);
    const event = await deliver(keyAt(5, 2), [stopLogging('s1')]);
    const dead: S3Event[] = [];
    const handler = ingestHandler(p.deps);
    // Act
    const first = await invokeAsync(handler, event, dead);
    const summariesWhileDead = await keysUnder(state, 'summaries/');
    const redriven = await invokeAsync(handler, dead[0], []);
    // Assess
    expect(first).toBe('dead-lettered');
    expect(dead).toHaveLength(1);
    expect(summariesWhileDead).toEqual([]);
    expect(redriven).toBe('ok');
    expect(await alertsFor('CloudWatch.5')).toHaveLength(1);
    expect(await keysUnder(state, 'summaries/')).toHaveLength(1);
  });

  it('produces one result when a run crashes just before its commit and is run again', async () => {
    // Prepare
    const p = pipeline();
    p.deps.state = failingWrites(state, 'summaries/', 1);
    const event = await deliver(keyAt(5, 3), [stopLogging('s2'), record({ eventID: 'r2' })]);
    // Act
    const result = await invokeAsync(ingestHandler(p.deps), event, []);
    // Assess: one summary; the alert went out on the first run and again on the retry (at least once, never lost)
    expect(result).toBe('ok');
    const summaries = await keysUnder(state, 'summaries/');
    expect(summaries).toHaveLength(1);
    expect(JSON.parse((await readAll(state, summaries[0])).toString()).records).toBe(2);
    expect((await alertsFor('CloudWatch.5')).length).toBeGreaterThanOrEqual(1);
    expect(metricTotal(p.emf, 'Records')).toBe(2);
  });

  it('reaches the same state whatever the order of deliveries and however often each is repeated', async () => {
    // Prepare
    const files = Array.from({ length: 12 }, (_, i) => ({
      key: keyAt(5 * (i + 1), 100 + i),
      records: [
        record({ eventID: `a${i}`, eventTime: `2026-11-20T10:${String(i * 4).padStart(2, '0')}:00Z` }),
        record({ eventID: `b${i}`, errorCode: 'AccessDenied' }),
      ],
    }));
    const events: S3Event[] = [];
    for (const f of files) events.push(await deliver(f.key, f.records));
    const inOrder = pipeline();
    for (const e of events) await ingestHandler(inOrder.deps)(e, {} as never);
    const ordered = await stateSnapshot(['alert-windows/']);
    const orderedWindows = (await keysUnder(state, 'alert-windows/')).length;
    // Act: start over, deliver shuffled with every file twice or three times
    for (const k of await keysUnder(state, '')) await state.delete(k);
    const shuffled = [...events, ...events, ...events.slice(0, 5)].sort((a, b) =>
      a.Records[0].s3.object.key.slice(-12) < b.Records[0].s3.object.key.slice(-12) ? 1 : -1,
    );
    const p = pipeline();
    const handler = ingestHandler(p.deps);
    for (const e of shuffled) await handler(e, {} as never);
    // Assess
    expect(await stateSnapshot(['alert-windows/'])).toEqual(ordered);
    expect((await keysUnder(state, 'alert-windows/')).length).toBe(orderedWindows);
    expect(metricTotal(p.emf, 'Records')).toBe(24);
    expect(metricTotal(p.emf, 'DuplicateDeliveries')).toBe(shuffled.length - events.length);
  });

  it('loses no update when 100 deliveries are processed at once against the same state', async () => {
    // Prepare: every file has a denied call (throttled rule: one page a day) and a StopLogging (pages every file)
    const events: S3Event[] = [];
    for (let i = 0; i < 100; i++) {
      events.push(
        await deliver(keyAt(i, 1000 + i), [
          record({ eventID: `d${i}`, errorCode: 'AccessDenied' }),
          stopLogging(`s${i}`),
        ]),
      );
    }
    const p = pipeline();
    const handler = ingestHandler(p.deps);
    // Act
    const results = await Promise.allSettled(events.map((e) => handler(e, {} as never)));
    // Assess
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect(await keysUnder(state, 'summaries/')).toHaveLength(100);
    expect(metricTotal(p.emf, 'Records')).toBe(200);
    expect(await alertsFor('CloudWatch.2')).toHaveLength(1);
    expect(await alertsFor('CloudWatch.5')).toHaveLength(100);
    // A hundred writers contending for one state object retry many times: on a loaded machine this takes
    // minutes, not seconds, and the outcome is what is asserted.
  }, 300_000);
});

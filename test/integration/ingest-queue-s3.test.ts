import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext } from '#cli/replay/events.ts';
import { ingestQueueHandler } from '#functions/handlers.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { readState } from '#shared/insights/index.ts';
import { logFileKey } from '#shared/keys.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';
import { logFile, metricTotal, record, testPipeline } from '#test/support/logfiles.ts';
import { s3NotificationBody } from '#test/support/queue-events.ts';

const run = Date.now();
const trailBucket = `queue-trail-${run}`;
const stateBucket = `queue-state-${run}`;
let client: S3Client;
let queueUrl: string;

/** SQS's JSON protocol, spoken to moto_server directly (the project has no SQS client dependency). */
async function sqs<T>(action: string, body: Record<string, unknown>): Promise<T> {
  const res = await fetch(motoEndpoint(), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      authorization:
        'AWS4-HMAC-SHA256 Credential=testing/20261120/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x',
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`SQS ${action}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return (text ? JSON.parse(text) : {}) as T;
}

interface SqsMessage {
  MessageId: string;
  ReceiptHandle: string;
  Body: string;
  MD5OfBody: string;
  Attributes?: Record<string, string>;
}

/** What Lambda's event source mapping hands the function for the messages it received. */
function asLambdaEvent(messages: SqsMessage[]): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId,
      receiptHandle: m.ReceiptHandle,
      body: m.Body,
      attributes: {
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
        SenderId: m.Attributes?.SenderId ?? 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? '0',
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:trail-deliveries-${run}`,
      awsRegion: 'us-east-1',
    })),
  };
}

async function receiveAll(): Promise<SqsMessage[]> {
  const out: SqsMessage[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await sqs<{ Messages?: SqsMessage[] }>('ReceiveMessage', {
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      AttributeNames: ['All'],
      VisibilityTimeout: 1,
    });
    if (!r.Messages?.length) break;
    out.push(...r.Messages);
  }
  return out;
}

beforeAll(async () => {
  client = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
  await client.send(new CreateBucketCommand({ Bucket: trailBucket }));
  await client.send(new CreateBucketCommand({ Bucket: stateBucket }));
  ({ QueueUrl: queueUrl } = await sqs<{ QueueUrl: string }>('CreateQueue', {
    QueueName: `trail-deliveries-${run}`,
  }));
});

describe('batched ingest from an SQS queue, against moto_server', () => {
  it('commits the good files, alerts the one deleted before it was read, counts the duplicate once', async () => {
    // Prepare: two good files, one announced twice, one announced but never written
    const trail = new S3ObjectStore(client, trailBucket);
    const state = new S3ObjectStore(client, stateBucket);
    const key = (unique: string, minute: number) =>
      logFileKey({
        orgId: 'o-a1b2c3d4e5',
        account: '444455556666',
        region: 'eu-west-1',
        time: new Date(Date.UTC(2026, 10, 20, 10, minute)),
        unique,
      });
    const good1 = key('Good1aaaaaaaaaaa', 5);
    const good2 = key('Good2bbbbbbbbbbb', 10);
    const bad = key('Missingccccccccc', 15);
    const bodies = new Map([
      [good1, logFile([record({ eventID: 'g1-1' }), record({ eventID: 'g1-2' })])],
      [good2, logFile([record({ eventID: 'g2-1', eventTime: '2026-11-20T10:06:10Z' })])],
    ]);
    for (const [k, body] of bodies) await trail.put(k, body);
    // The good files' events name their ETags: ingest reads them with If-Match, as S3 checks it.
    for (const k of [good1, good2, good1, bad]) {
      const body = s3NotificationBody(trailBucket, k, bodies.get(k) ?? 2741);
      await sqs('SendMessage', { QueueUrl: queueUrl, MessageBody: body });
    }
    const p = testPipeline();
    const handler = ingestQueueHandler({ ...p.deps, sourceStore: () => trail, state });
    const messages = await receiveAll();
    expect(messages).toHaveLength(4);
    const badMessage = messages.find((m) => m.Body.includes('Missingccccccccc'))!;
    // Act
    const response = await handler(asLambdaEvent(messages), lambdaContext('trailwatch-ingest'));
    // The event source mapping deletes what the function did not report.
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    for (const m of messages.filter((m) => !failed.has(m.MessageId))) {
      await sqs('DeleteMessage', { QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle });
    }
    await new Promise((r) => setTimeout(r, 1500));
    const redelivered = await receiveAll();
    // Assess
    // CloudTrail never deletes a file: one announced and gone is CRITICAL at once, and nothing to retry.
    expect([...failed]).toEqual([]);
    expect(redelivered).toEqual([]);
    expect(response.result?.outcomes.find((o) => o.messageId === badMessage.MessageId)).toMatchObject({
      status: 'tampered',
      tamper: 'removed',
    });
    const deleted = p.notifier.sent.filter((n) => n.attributes.check === 'log-deleted');
    expect(deleted.map((n) => [n.attributes.severity, n.message.includes(bad)])).toEqual([
      ['CRITICAL', true],
    ]);
    expect(metricTotal(p.emf, 'FilesIngested')).toBe(2);
    expect(metricTotal(p.emf, 'Records')).toBe(3);
    expect(metricTotal(p.emf, 'DuplicateDeliveries')).toBe(1);
    const saved = await readState(state, '444455556666', 'eu-west-1');
    expect(Object.values(saved?.applied ?? {}).flat()).toHaveLength(2);
    const written: string[] = [];
    for await (const o of state.list('summaries/batches/')) written.push(o.key);
    expect(written).toHaveLength(1);
  });
});

/** SQS batches as Lambda receives them, around the message bodies of each trigger. */

import { createHash } from 'node:crypto';
import type { SQSEvent } from 'aws-lambda';
import { announced, loadEvent } from '#test/support/logfiles.ts';

export interface QueueMessage {
  messageId: string;
  body: string;
}

export function sqsBatch(messages: QueueMessage[], queue = 'trailwatch-ingest'): SQSEvent {
  return {
    Records: messages.map((m, i) => ({
      messageId: m.messageId,
      receiptHandle: `handle-${m.messageId}`,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(1_795_000_000_000 + i),
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: String(1_795_000_000_000 + i),
      },
      messageAttributes: {},
      md5OfBody: '0'.repeat(32),
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:us-east-1:111122223333:${queue}`,
      awsRegion: 'us-east-1',
    })),
  };
}

/**
 * The body S3 sends a queue for one object: the documented notification, with its key and size replaced.
 * Given the object's body, it names that object's ETag (ingest reads only the object the event names);
 * given a size or nothing, it names no ETag.
 */
export function s3NotificationBody(
  bucket: string,
  key: string,
  sizeOrBody: number | Buffer | string = 2741,
): string {
  const event = loadEvent('s3-log-delivered');
  const record = event.Records[0];
  record.s3.bucket.name = bucket;
  record.s3.bucket.arn = `arn:aws:s3:::${bucket}`;
  record.s3.object.key = encodeURIComponent(key).replace(/%2F/g, '/');
  if (typeof sizeOrBody === 'number') {
    record.s3.object.size = sizeOrBody;
    delete (record.s3.object as { eTag?: string }).eTag;
  } else {
    record.s3.object.size = Buffer.byteLength(sizeOrBody);
    announced(event, sizeOrBody);
  }
  return JSON.stringify(event);
}

/** EventBridge's S3 Object Created event (AWS's documented example) for one object; ETag as for S3's. */
export function eventBridgeBody(
  bucket: string,
  key: string,
  sizeOrBody: number | Buffer | string = 2741,
): string {
  const event = loadEvent('eventbridge-object-created') as unknown as {
    detail: {
      bucket: { name: string };
      object: { key: string; size: number; etag?: string; 'version-id'?: string };
    };
  };
  event.detail.bucket.name = bucket;
  event.detail.object.key = key;
  delete event.detail.object['version-id'];
  if (typeof sizeOrBody === 'number') {
    event.detail.object.size = sizeOrBody;
    delete event.detail.object.etag;
  } else {
    event.detail.object.size = Buffer.byteLength(sizeOrBody);
    event.detail.object.etag = createHash('md5').update(sizeOrBody).digest('hex');
  }
  return JSON.stringify(event);
}

/** CloudTrail's SNS notification, as delivered through an SNS subscription without raw delivery. */
export function cloudTrailSnsBody(bucket: string, keys: string[]): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
    TopicArn: 'arn:aws:sns:us-east-1:111122223333:org-trail-topic',
    Message: JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys }),
    Timestamp: '2026-11-20T10:05:20.000Z',
  });
}

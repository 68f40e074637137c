/**
 * Turns an SQS batch into the deliveries of batched ingest. A message body may be:
 *   - an S3 event notification (the bucket's notification configuration targets the queue, or an SNS topic
 *     that does, with raw message delivery), possibly holding several records;
 *   - an EventBridge S3 event (`source: aws.s3`, Object Created / Object Deleted), from the stack's rule;
 *   - a CloudTrail SNS notification `{"s3Bucket": ..., "s3ObjectKey": [...]}` (the trail's own topic);
 *   - either of those wrapped in an SNS envelope (`Type: Notification`, subscription without raw delivery);
 *   - an `s3:TestEvent` (sent once when a notification configuration is saved): acknowledged.
 * Keys are URL-encoded in S3 notifications and EventBridge events, plain in CloudTrail's: CloudTrail's are
 * encoded here so every delivery carries the encoded form the router decodes.
 *
 * A message that fits none of these is logged and counted (`InvalidEvents`) and reported as failed, so that
 * after the queue's receive count it waits in the dead-letter queue rather than vanishing.
 */
import { S3EventNotificationEventBridgeSchema, S3Schema } from '@aws-lambda-powertools/parser/schemas/s3';
import { SqsSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import { z } from 'zod';
import { METRIC } from '#shared/metric-names.cjs';
import type { QueuedDelivery } from '#shared/pipeline/ingest-batch.ts';
import type { Log, MetricsSink } from '#shared/ports.ts';

/** What CloudTrail publishes to the trail's SNS topic after each log file delivery. */
export const CloudTrailSnsNotificationSchema = z.object({
  s3Bucket: z.string().min(3),
  s3ObjectKey: z.array(z.string().min(1)).min(1),
});

const SnsEnvelopeSchema = z.object({ Type: z.literal('Notification'), Message: z.string() });
const S3TestEventSchema = z.object({ Event: z.literal('s3:TestEvent') });

export interface ParsedBatch {
  /** Objects created and removed: a removed log file or digest is tampering, alerted by batched ingest. */
  deliveries: QueuedDelivery[];
  /** Messages that announced no object (test events). */
  acknowledged: string[];
  /** Messages that are not a known notification. */
  invalid: string[];
}

/** CloudTrail's keys are plain; the router expects S3's URL-encoded form. */
function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/');
}

interface FileRef {
  bucket: string;
  key: string;
  size?: number;
  event?: 'created' | 'removed';
  eventName?: string;
  versionId?: string;
  etag?: string;
  notification: unknown;
}

type Body = { kind: 'files'; files: FileRef[] } | { kind: 'test' } | { kind: 'invalid'; why: string };

function parseBody(value: unknown, depth = 0): Body {
  const s3 = S3Schema.safeParse(value);
  if (s3.success) {
    const files: FileRef[] = s3.data.Records.map((r) => ({
      bucket: r.s3.bucket.name,
      key: r.s3.object.key,
      ...(r.s3.object.size !== undefined ? { size: r.s3.object.size } : {}),
      event: r.eventName.startsWith('ObjectRemoved') ? 'removed' : 'created',
      eventName: r.eventName,
      ...(r.s3.object.versionId ? { versionId: r.s3.object.versionId } : {}),
      ...(r.s3.object.eTag ? { etag: r.s3.object.eTag } : {}),
      notification: r,
    }));
    return { kind: 'files', files };
  }
  const eb = S3EventNotificationEventBridgeSchema.safeParse(value);
  if (eb.success && eb.data.source === 'aws.s3') {
    const { object } = eb.data.detail;
    const ref = {
      bucket: eb.data.detail.bucket.name,
      key: object.key,
      ...(object['version-id'] ? { versionId: object['version-id'] } : {}),
      ...(object.etag ? { etag: object.etag } : {}),
    };
    if (eb.data['detail-type'] === 'Object Deleted')
      return {
        kind: 'files',
        files: [{ ...ref, event: 'removed', eventName: 'ObjectRemoved:Delete', notification: eb.data }],
      };
    if (eb.data['detail-type'] !== 'Object Created')
      return { kind: 'invalid', why: `EventBridge detail-type ${eb.data['detail-type']}` };
    const size = object.size;
    const file = { ...ref, ...(size !== undefined ? { size } : {}) };
    return {
      kind: 'files',
      files: [{ ...file, event: 'created', notification: s3Record(file, eb.data.region, eb.data.time) }],
    };
  }
  const ct = CloudTrailSnsNotificationSchema.safeParse(value);
  if (ct.success) {
    return {
      kind: 'files',
      files: ct.data.s3ObjectKey.map((k) => {
        const file = { bucket: ct.data.s3Bucket, key: encodeKey(k) };
        return { ...file, notification: s3Record(file, 'unknown', new Date().toISOString()) };
      }),
    };
  }
  if (S3TestEventSchema.safeParse(value).success) return { kind: 'test' };
  const sns = SnsEnvelopeSchema.safeParse(value);
  if (sns.success && depth === 0) {
    try {
      return parseBody(JSON.parse(sns.data.Message), depth + 1);
    } catch {
      return { kind: 'invalid', why: 'SNS message is not JSON' };
    }
  }
  return { kind: 'invalid', why: 'not an S3 notification, EventBridge S3 event or CloudTrail notification' };
}

/** The deliveries of an SQS event; throws only when the event itself is not an SQS batch. */
export function parseQueuedDeliveries(
  event: unknown,
  tools: { logger: Log; metrics: MetricsSink },
): ParsedBatch {
  const batch = SqsSchema.safeParse(event);
  if (!batch.success) throw new TypeError('event is not an SQS batch');
  const out: ParsedBatch = { deliveries: [], acknowledged: [], invalid: [] };
  for (const record of batch.data.Records) {
    let body: Body;
    try {
      body = parseBody(JSON.parse(record.body));
    } catch {
      body = { kind: 'invalid', why: 'body is not JSON' };
    }
    if (body.kind === 'invalid') {
      tools.logger.error('queue message is not a delivery notification', {
        messageId: record.messageId,
        reason: body.why,
        body: record.body.slice(0, 200),
      });
      tools.metrics.addMetric(METRIC.InvalidEvents, 'Count', 1);
      out.invalid.push(record.messageId);
      continue;
    }
    if (body.kind === 'test' || body.files.length === 0) out.acknowledged.push(record.messageId);
    if (body.kind === 'test') continue;
    for (const f of body.files) out.deliveries.push({ messageId: record.messageId, ...f });
  }
  return out;
}

/**
 * Digests go on to verify as an S3 notification record, whatever carried them here: verify reads the bucket,
 * key and size, and checks the record's shape, so the fields it does not read get neutral values.
 */
function s3Record(f: { bucket: string; key: string; size?: number }, region: string, time: string) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: region,
    eventTime: time,
    eventName: 'ObjectCreated:Put',
    userIdentity: { principalId: 'trailwatch' },
    requestParameters: { sourceIPAddress: 's3.amazonaws.com' },
    responseElements: { 'x-amz-request-id': 'trailwatch', 'x-amz-id-2': 'trailwatch' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'trailwatch-queue',
      bucket: {
        name: f.bucket,
        ownerIdentity: { principalId: 'trailwatch' },
        arn: `arn:aws:s3:::${f.bucket}`,
      },
      object: { key: f.key, ...(f.size !== undefined ? { size: f.size } : {}) },
    },
  };
}

/** Whether an event is an SQS batch (its records come from `aws:sqs`), as opposed to an S3 notification. */
export function isQueueBatch(event: unknown): boolean {
  const records = (event as { Records?: { eventSource?: unknown }[] } | null)?.Records;
  return Array.isArray(records) && records.length > 0 && records[0]?.eventSource === 'aws:sqs';
}

/** Builders for log files and handler dependencies used across test tiers. */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Event } from 'aws-lambda';
import { CapturingMetrics } from '#cli/adapters/emf-file-metrics.ts';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import type { IngestDeps } from '#functions/handlers.ts';
import { ingestConfig } from '#shared/config.ts';
import { decodeEventKey } from '#shared/keys.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { defaultRules } from '#shared/rules/load.ts';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const stratusDir = resolve(repoRoot, 'test/fixtures/stratus');

export function stratusRecords(technique: string): CloudTrailRecord[] {
  return JSON.parse(readFileSync(resolve(stratusDir, `${technique}.json`), 'utf8')) as CloudTrailRecord[];
}

export function loadEvent(name: string): S3Event {
  return JSON.parse(readFileSync(resolve(repoRoot, 'events', `${name}.json`), 'utf8')) as S3Event;
}

/**
 * Makes a sample event announce `body`: S3 names the ETag (MD5 of a single-part upload) of the object it
 * announces, and ingest reads only that object.
 */
export function announced<T extends Buffer | string>(event: S3Event, body: T): T {
  event.Records[0].s3.object.eTag = createHash('md5').update(body).digest('hex');
  return body;
}

export function logFile(records: unknown[]): Buffer {
  return gzipSync(JSON.stringify({ Records: records }));
}

export function record(overrides: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  return {
    eventVersion: '1.11',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLE',
      arn: 'arn:aws:iam::111122223333:user/alice',
      accountId: '111122223333',
      accessKeyId: 'AKIAEXAMPLE',
      userName: 'alice',
    },
    eventTime: '2026-11-20T10:01:30Z',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'StopInstances',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.10',
    userAgent: 'aws-cli/2.15.0',
    requestParameters: { instancesSet: { items: [{ instanceId: 'i-0123456789abcdef0' }] } },
    responseElements: null,
    requestID: 'req-1',
    eventID: 'evt-1',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '111122223333',
    eventCategory: 'Management',
    ...overrides,
  };
}

export interface TestPipeline {
  deps: IngestDeps;
  source: MemoryObjectStore;
  state: MemoryObjectStore;
  notifier: OutboxNotifier;
  emf: Record<string, unknown>[];
  logs: Record<string, unknown>[];
  dispatched: string[];
}

/** Ingest dependencies on memory stores, capturing EMF documents and log lines. */
export function testPipeline(env: Record<string, string> = {}): TestPipeline {
  const source = new MemoryObjectStore('trail');
  const state = new MemoryObjectStore('state');
  const notifier = new OutboxNotifier();
  const emf: Record<string, unknown>[] = [];
  const logs: Record<string, unknown>[] = [];
  const dispatched: string[] = [];
  const metrics = new CapturingMetrics(
    { namespace: 'Trailwatch', serviceName: 'trailwatch' },
    {
      append: (doc) => emf.push(doc as Record<string, unknown>),
    },
  );
  const logger = new Logger({ serviceName: 'trailwatch', logLevel: 'INFO' });
  // Log lines are data the operator relies on: capture them to assert on them.
  for (const level of ['info', 'warn', 'error'] as const) {
    const original = logger[level].bind(logger);
    logger[level] = ((message: string, ...extra: unknown[]) => {
      logs.push({ level, message, ...Object.assign({}, ...extra.filter((e) => typeof e === 'object')) });
      void original;
    }) as typeof logger.info;
  }
  const deps: IngestDeps = {
    config: ingestConfig({
      STATE_BUCKET: 'state',
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
      ...env,
    }),
    rules: defaultRules(),
    now: () => new Date('2026-11-20T12:00:00Z'),
    sourceStore: () => source,
    state,
    notifier,
    logger,
    metrics,
    async dispatchDigest(delivery) {
      dispatched.push(decodeEventKey(delivery.key));
    },
  };
  return { deps, source, state, notifier, emf, logs, dispatched };
}

/** Sum of one metric over captured EMF documents. */
export function metricTotal(emf: Record<string, unknown>[], name: string): number {
  let total = 0;
  for (const doc of emf) {
    const v = doc[name];
    if (typeof v === 'number') total += v;
    else if (Array.isArray(v)) total += v.reduce((a: number, b: number) => a + b, 0);
  }
  return total;
}

export function snapshot(store: MemoryObjectStore): Record<string, string> {
  return Object.fromEntries([...store.objects].map(([k, v]) => [k, Buffer.from(v.body).toString('base64')]));
}

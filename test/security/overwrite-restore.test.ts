/**
 * Attack: a log file is rewritten without its Root records before ingest reads it, then put back. Ingest must
 * read the version the event named (or refuse a replaced object), and the rewrite itself is CRITICAL.
 * Real S3 semantics (versions, If-Match on GetObject) come from moto_server.
 */
import {
  CreateBucketCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { lambdaContext } from '#cli/replay/events.ts';
import { ingestHandler } from '#functions/handlers.ts';
import { S3ObjectStore, s3BucketProtection } from '#shared/adapters/s3-object-store.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';
import { logFile, record, testPipeline } from '#test/support/logfiles.ts';
import { createdEvent, logKey, rootRecord, ruleAlerts, tamperAlerts } from '#test/support/security.ts';

const context = lambdaContext('trailwatch-ingest');
let s3: S3Client;
let bucket: string;
let run = 0;

beforeEach(async () => {
  run++;
  bucket = `trail-overwrite-${process.pid}-${run}`;
  s3 = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});

async function put(key: string, body: Buffer): Promise<string | undefined> {
  return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).VersionId;
}

const at = new Date('2026-11-20T10:05:00Z');
const key = logKey(at);
const genuine = logFile([record({ eventID: 'e1' }), rootRecord()]);
const altered = logFile([record({ eventID: 'e1' })]);

describe('attack: overwrite a log file, then restore it', () => {
  it('on a versioned bucket: ingest reads the version CloudTrail wrote (Root alert) and the rewrite is CRITICAL', async () => {
    // Prepare: CloudTrail's write, the altered copy, the restore; all before ingest runs
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const v1 = await put(key, genuine);
    const v2 = await put(key, altered);
    const v3 = await put(key, genuine);
    const p = testPipeline();
    p.deps.sourceStore = () => new S3ObjectStore(s3, bucket);
    const handler = ingestHandler(p.deps);
    // Act: the three events, in order
    const first = await handler(createdEvent(bucket, key, genuine, at, v1), context);
    const second = await handler(createdEvent(bucket, key, altered, at, v2), context);
    const third = await handler(createdEvent(bucket, key, genuine, at, v3), context);
    // Assess
    expect(first.outcomes[0].status).toBe('ingested');
    expect(ruleAlerts(p.notifier.sent, 'CloudWatch.1')).toHaveLength(1);
    expect(second.outcomes[0]).toMatchObject({ status: 'tampered', tamper: 'overwritten' });
    const rewrite = tamperAlerts(p.notifier.sent, 'log-overwritten');
    expect(rewrite).toHaveLength(1);
    expect(rewrite[0].subject).toMatch(/^\[CRITICAL\] CloudTrail log file overwritten/);
    expect(rewrite[0].message).toContain(key);
    // the restore has the content ingest already read: a duplicate, not a second alert
    expect(third.outcomes[0].status).toBe('duplicate');
  });

  it('on a bucket without versions: the replaced object is not read in place of the original, and that is CRITICAL', async () => {
    // Prepare: the altered copy is in place when the first event is handled
    await put(key, genuine);
    await put(key, altered);
    const p = testPipeline();
    p.deps.sourceStore = () => new S3ObjectStore(s3, bucket);
    // Act
    const result = await ingestHandler(p.deps)(createdEvent(bucket, key, genuine, at), context);
    // Assess: nothing of the altered copy was taken for CloudTrail's file
    expect(result.outcomes[0]).toMatchObject({ status: 'tampered', tamper: 'replaced-before-read' });
    const replaced = tamperAlerts(p.notifier.sent, 'log-overwritten');
    expect(replaced).toHaveLength(1);
    expect(replaced[0].message).toContain('replaced before trailwatch could read it');
    expect(p.notifier.sent[0].subject).toMatch(/^\[CRITICAL\]/);
    expect([...p.state.objects.keys()].filter((k) => k.startsWith('summaries/'))).toEqual([]);
  });

  it('the watchdog reads whether the trail bucket keeps versions and has Object Lock', async () => {
    // Prepare: one bucket as created, one with versioning turned on, one created with Object Lock
    const locked = `${bucket}-locked`;
    await s3.send(new CreateBucketCommand({ Bucket: locked, ObjectLockEnabledForBucket: true }));
    const versioned = `${bucket}-versioned`;
    await s3.send(new CreateBucketCommand({ Bucket: versioned }));
    await s3.send(
      new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    // Act
    const plain = await s3BucketProtection(bucket, s3);
    const withVersions = await s3BucketProtection(versioned, s3);
    const withLock = await s3BucketProtection(locked, s3);
    // Assess
    expect(plain).toEqual({ versioning: 'Disabled', objectLock: false });
    expect(withVersions).toEqual({ versioning: 'Enabled', objectLock: false });
    expect(withLock).toEqual({ versioning: 'Enabled', objectLock: true });
  });
});

/** `lookup` over a bucket through S3ObjectStore and the real S3 client, against moto_server. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { lookup } from '#cli/lookup/scan.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import type { StoredObject } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { trailFiles } from '#test/fixtures/lookup/trail.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';
import { repoRoot, stratusRecords } from '#test/support/logfiles.ts';

const bucket = `lookup-${Date.now()}`;
const prefix = 'org/trail/';
let client: S3Client;

const records: CloudTrailRecord[] = [
  ...stratusRecords('aws.defense-evasion.cloudtrail-stop'),
  ...stratusRecords('aws.credential-access.secretsmanager-batch-retrieve-secrets'),
  ...stratusRecords('aws.persistence.sts-federation-token'),
  ...stratusRecords('aws.persistence.iam-create-admin-user'),
];
const files = trailFiles(records, { prefix });

const byTimeThenId = (a: CloudTrailRecord, b: CloudTrailRecord) =>
  Date.parse(a.eventTime!) - Date.parse(b.eventTime!) || (a.eventID! < b.eventID! ? -1 : 1);
const expectedIds = (keep: (r: CloudTrailRecord) => boolean) =>
  records
    .filter(keep)
    .sort(byTimeThenId)
    .map((r) => r.eventID);

beforeAll(async () => {
  client = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  for (const f of files)
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: f.key, Body: f.body }));
  // Another trail in the same bucket, outside the prefix looked up.
  const other = trailFiles(stratusRecords('aws.defense-evasion.cloudtrail-delete'), { prefix: 'other/' });
  for (const f of other)
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: f.key, Body: f.body }));
});

describe('lookup against S3', () => {
  it('finds the matching events of the files under a prefix', async () => {
    // Prepare
    const store = new S3ObjectStore(client, bucket);
    // Act
    const writes = await lookup({ store, prefix, filter: { readOnly: false } });
    const everything = await lookup({ store, prefix, filter: {} });
    // Assess
    expect(writes.events.map((e) => e.record.eventID)).toEqual(expectedIds((r) => r.readOnly === false));
    expect(everything.events).toHaveLength(records.length);
    expect(everything.stats.filesRead).toBe(files.length);
    expect(everything.events.every((e) => e.file.key.startsWith(prefix))).toBe(true);
  });

  it('fetches only the files of the days in range', async () => {
    // Prepare
    const inner = new S3ObjectStore(client, bucket);
    const fetched: string[] = [];
    const store = Object.assign(Object.create(inner) as S3ObjectStore, {
      get: (key: string): Promise<StoredObject> => {
        fetched.push(key);
        return inner.get(key);
      },
    });
    const [from, to] = ['2024-11-30T00:00:00Z', '2024-11-30T23:59:59Z'];
    const inDays = files.filter((f) => /\/2024\/(11\/30|12\/01)\//.test(f.key)).map((f) => f.key);
    // Act
    const result = await lookup({
      store,
      prefix,
      filter: { startTime: new Date(from), endTime: new Date(to) },
    });
    // Assess
    expect(result.events.map((e) => e.record.eventID)).toEqual(
      expectedIds(
        (r) => Date.parse(r.eventTime!) >= Date.parse(from) && Date.parse(r.eventTime!) <= Date.parse(to),
      ),
    );
    expect(result.events.length).toBeGreaterThan(0);
    expect(fetched.sort()).toEqual(inDays.sort());
    expect(fetched.length).toBeLessThan(files.length);
  });

  it('runs from the command line with --source s3://bucket/prefix', async () => {
    // Act
    const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        join(repoRoot, 'node_modules/.bin/node'),
        [
          'cli/trailwatch.ts',
          'lookup',
          '--source',
          `s3://${bucket}/${prefix}`,
          '--event-name',
          'StopLogging',
          '--output',
          'json',
        ],
        {
          cwd: repoRoot,
          env: { ...process.env, AWS_ENDPOINT_URL_S3: motoEndpoint(), AWS_S3_FORCE_PATH_STYLE: 'true' },
        },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      );
    });
    // Assess
    expect(run.stderr).toMatch(/^1 event matched/m);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).eventID).toBe(expectedIds((r) => r.eventName === 'StopLogging')[0]);
  });
});

/** Replay straight from an S3 bucket (moto_server here), with the AWS adapters chosen by `s3://`. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { demoScenario, generateTrail } from '#cli/generator/index.ts';
import { replay } from '#cli/replay/local-pipeline.ts';
import { keysFor, openSource } from '#cli/source.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';

const bucket = `replay-s3-${Date.now()}`;
const out = mkdtempSync(join(tmpdir(), 'trailwatch-replay-s3-'));
const scenario = {
  ...demoScenario,
  seed: 9,
  bucket,
  prefix: 'org/',
  start: '2026-03-05T09:00:00Z',
  hours: 3,
  regions: ['us-east-1'],
  eventsPerMinute: 5,
  bursts: [],
};
let logFiles = 0;
let digests = 0;

beforeAll(async () => {
  // The command builds its S3 client from the SDK's environment, as against AWS.
  process.env.AWS_ENDPOINT_URL_S3 = motoEndpoint();
  process.env.AWS_S3_FORCE_PATH_STYLE = 'true';
  const client = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const memory = new MemoryObjectStore(bucket);
  const trail = await generateTrail(scenario, memory);
  logFiles = trail.deliveries.filter((d) => d.kind === 'log').length;
  digests = trail.deliveries.filter((d) => d.kind === 'digest').length;
  const s3 = new S3ObjectStore(client, bucket);
  const keys = [...memory.objects.keys()];
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(
      keys.slice(i, i + 16).map((k) => {
        const o = memory.objects.get(k)!;
        return s3.put(k, o.body, o.metadata ? { metadata: o.metadata } : {});
      }),
    );
  }
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('replay --source s3://bucket/prefix', () => {
  it('reads the deliveries under the prefix through the S3 client, verifies digests and writes locally', async () => {
    // Prepare
    const source = await openSource(`s3://${bucket}/org`);
    const publicKeys = join(out, 'keys.json');
    const { writeFileSync } = await import('node:fs');
    const local = new MemoryObjectStore();
    await generateTrail(scenario, local);
    writeFileSync(publicKeys, local.objects.get('public-keys.json')!.body);
    // Act
    const report = await replay({
      source: source.store,
      sourceBucket: source.bucket,
      prefix: source.prefix,
      out,
      keys: await keysFor(source, publicKeys),
    });
    // Assess
    expect(source.prefix).toBe('org/');
    expect(report.logFiles.ingested).toBe(logFiles);
    expect(report.digestVerdicts).toMatchObject({ valid: digests, invalid: 0 });
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(metrics.length).toBeGreaterThan(0);
  });
});

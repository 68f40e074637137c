/** Runs the validate command in this process and keeps what it printed; puts generated trails into S3. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { runValidate, type ValidateOptions } from '#cli/commands/validate.ts';
import { generateTrail, type TrailScenario } from '#cli/generator/index.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';

export async function validateCaptured(options: ValidateOptions) {
  let stdout = '';
  let stderr = '';
  const code = await runValidate(options, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr, invalidLines: stderr.split('\n').filter((l) => l.includes('\tINVALID: ')) };
}

/**
 * Copies a generated trail's CloudTrail files (what sits under `AWSLogs/`, after any prefix) into a
 * bucket, each digest with its signature as S3 user metadata, as CloudTrail writes them.
 */
export async function uploadTrail(from: MemoryObjectStore, to: ObjectStore): Promise<number> {
  const keys = [...from.objects.keys()].filter((k) => /^(?:.*\/)?AWSLogs\//.test(k));
  for (let i = 0; i < keys.length; i += 16) {
    await Promise.all(
      keys.slice(i, i + 16).map((k) => {
        const o = from.objects.get(k)!;
        return to.put(k, o.body, o.metadata ? { metadata: o.metadata } : {});
      }),
    );
  }
  return keys.length;
}

/**
 * A new bucket in moto_server holding a generated trail, and a temporary folder with the trail's
 * `public-keys.json` (for `--public-keys`). The commands build their own S3 and CloudTrail clients from the
 * SDK's environment, as against AWS, so the endpoint is set there too.
 */
export async function trailInMoto(scenario: TrailScenario & { bucket: string }) {
  process.env.AWS_ENDPOINT_URL_S3 = motoEndpoint();
  process.env.AWS_ENDPOINT_URL_CLOUDTRAIL = motoEndpoint();
  const client = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
  await client.send(new CreateBucketCommand({ Bucket: scenario.bucket }));
  const store = new S3ObjectStore(client, scenario.bucket);
  const dir = await mkdtemp(join(tmpdir(), `trailwatch-${scenario.bucket}-`));
  const memory = new MemoryObjectStore(scenario.bucket);
  const trail = await generateTrail(scenario, memory);
  await uploadTrail(memory, store);
  const publicKeys = join(dir, 'public-keys.json');
  await writeFile(publicKeys, memory.objects.get(trail.publicKeysKey)!.body);
  return { client, store, dir, publicKeys, memory, trail };
}

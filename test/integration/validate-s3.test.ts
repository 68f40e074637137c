/**
 * `trailwatch validate` through the real S3 client against moto_server: a generated trail uploaded with
 * each digest's signature as S3 user metadata, validated untouched, past its last digest with the trail
 * stopped in CloudTrail (moto's GetTrailStatus), then after tampering in the bucket.
 */

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CloudTrailClient,
  CreateTrailCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { publicKeysFromStore, type StaticPublicKeySource } from '#shared/digest/public-keys.ts';
import { displayDate } from '#shared/digest/verdict.ts';
import { verifyDigest } from '#shared/digest/verify-digest.ts';
import { classifyKey, digestFileKey } from '#shared/keys.ts';
import {
  appendGzipMember,
  copyObject,
  deleteObject,
  integrityScenario,
  modifyLogFile,
} from '#test/e2e/tamper.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';
import { trailInMoto, validateCaptured } from '#test/support/validate.ts';

const BUCKET = `validate-s3-${Date.now()}`;
/** moto_server's account: its CloudTrail knows trails under that account only. */
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const TRAIL = `validate-s3-${Date.now()}`;
const ARN = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${TRAIL}`;
const START = '2026-02-09T00:00:00Z';

let client: S3Client;
let store: S3ObjectStore;
let dir: string;
let digests: string[];
let logsByDigest: Map<string, string[]>;
let logCount: number;
let end: string;
let keys: StaticPublicKeySource;
let lastDigest: Date;

const timeOf = (key: string) => (classifyKey(key) as { time: Date }).time.getTime();

function validate(endTime = end) {
  return validateCaptured({
    trailArn: ARN,
    startTime: START,
    endTime,
    s3Bucket: BUCKET,
    publicKeys: join(dir, 'public-keys.json'),
  });
}

beforeAll(async () => {
  const moto = await trailInMoto(
    integrityScenario({
      seed: 11,
      eventsPerMinute: 0.3,
      start: START,
      accounts: [ACCOUNT],
      regions: [REGION],
      homeRegion: REGION,
      bucket: BUCKET,
      trailName: TRAIL,
    }),
  );
  ({ client, store, dir } = moto);
  const { memory, trail } = moto;
  keys = await publicKeysFromStore(memory, trail.publicKeysKey);
  digests = trail.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key);
  logCount = trail.deliveries.filter((d) => d.kind === 'log').length;
  logsByDigest = new Map();
  for (const d of digests) {
    const { gunzipSync } = await import('node:zlib');
    const json = JSON.parse(gunzipSync(memory.objects.get(d)!.body).toString('utf8'));
    logsByDigest.set(
      d,
      json.logFiles.map((l: { s3Object: string }) => l.s3Object),
    );
  }
  lastDigest = new Date(timeOf(digests.at(-1)!));
  end = displayDate(new Date(lastDigest.getTime() + 30 * 60_000));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trailwatch validate against S3 (moto_server)', () => {
  it('finds the signatures in S3 user metadata and validates the untouched trail', async () => {
    // Prepare
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: digests[0] }));

    // Act
    const r = await validate();

    // Assess
    expect(head.Metadata?.signature).toMatch(/^[0-9a-f]{512}$/);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`\n${digests.length}/${digests.length} digest files valid`);
    expect(r.stdout).toContain(`\n${logCount}/${logCount} log files valid\n`);
  });

  it('verifies one delivered digest the way a triggered function would', async () => {
    // Act
    const report = await verifyDigest(store, digests[10], keys);

    // Assess
    expect(report.digest).toMatchObject({ bucket: BUCKET, key: digests[10], status: 'valid' });
    expect(report.previous).toMatchObject({ key: digests[9], status: 'valid' });
    expect(report.logs.map((l) => l.status)).toEqual(logsByDigest.get(digests[10])!.map(() => 'valid'));
  });

  it('says the trail stopped logging, from CloudTrail, when its digests stop before the end', async () => {
    // Prepare: the trail in CloudTrail (moto), started and stopped; the range runs two months past its digests
    const cloudtrail = new CloudTrailClient({ endpoint: motoEndpoint(), region: REGION });
    await cloudtrail.send(new CreateTrailCommand({ Name: TRAIL, S3BucketName: BUCKET }));
    await cloudtrail.send(new StartLoggingCommand({ Name: TRAIL }));
    await cloudtrail.send(new StopLoggingCommand({ Name: TRAIL }));
    const stopped = (await cloudtrail.send(new GetTrailStatusCommand({ Name: ARN }))).StopLoggingTime;
    const twoMonthsLater = new Date(lastDigest);
    twoMonthsLater.setUTCMonth(twoMonthsLater.getUTCMonth() + 2);

    // Act
    const r = await validate(displayDate(twoMonthsLater));

    // Assess: moto has no LookupEvents, so who stopped it cannot be named, and the line says so
    expect(stopped).toBeInstanceOf(Date);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^Digest gap: no digest after ${displayDate(lastDigest)} \\(through ${displayDate(twoMonthsLater)}\\) in ${REGION}: ` +
          `trail stopped logging at ${displayDate(stopped!)} \\(who stopped it: unavailable: .+\\)$`,
      ),
    );
    expect(r.stdout).toContain(`\nDigest gap in ${REGION}: `);
    expect(r.stdout).toContain(' (trail stopped logging)\n');
    expect(r.code).toBe(0);
  });

  it('reports each tampering in the bucket against the file touched', async () => {
    // Prepare
    const appended = logsByDigest.get(digests[30])![0];
    const modified = logsByDigest.get(digests[10])![0];
    const copy = digestFileKey({
      account: ACCOUNT,
      region: REGION,
      trailName: TRAIL,
      homeRegion: REGION,
      endTime: new Date(timeOf(digests[25]) + 20 * 60_000),
    });
    await appendGzipMember(store, appended);
    await deleteObject(store, digests[20]);
    await modifyLogFile(store, modified);
    await copyObject(store, digests[25], copy);

    // Act
    const r = await validate();

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([
      `Log file\ts3://${BUCKET}/${appended}\tINVALID: unexpected data after end of compressed stream`,
      `Digest file\ts3://${BUCKET}/${digests[20]}\tINVALID: not found`,
      `Log file\ts3://${BUCKET}/${modified}\tINVALID: hash value doesn't match`,
      `Digest file\ts3://${BUCKET}/${copy}\tINVALID: has been moved from its original location`,
    ]);
  });
});

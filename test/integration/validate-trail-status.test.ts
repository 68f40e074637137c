/**
 * `trailwatch validate` on a bucket in moto_server whose trail's digests stop before the end of the range,
 * with CloudTrail's answers about the trail mocked (GetTrailStatus, LookupEvents): each answer turns the
 * one digest-gap finding into what happened, and sets the exit code.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudTrailClient, GetTrailStatusCommand, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { generateTrail } from '#cli/generator/index.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { displayDate } from '#shared/digest/verdict.ts';
import { classifyKey } from '#shared/keys.ts';
import { deleteObject, INTEGRITY_TRAIL, integrityScenario } from '#test/e2e/tamper.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';
import { uploadTrail, validateCaptured } from '#test/support/validate.ts';

const REGION = INTEGRITY_TRAIL.region;
const ARN = `arn:aws:cloudtrail:${REGION}:${INTEGRITY_TRAIL.account}:trail/${INTEGRITY_TRAIL.trailName}`;
const START = '2026-03-08T00:00:00Z';
const HOUR_MS = 3_600_000;

const cloudtrail = mockClient(CloudTrailClient);
let client: S3Client;
let dir: string;
let cases = 0;

const timeOf = (key: string) => (classifyKey(key) as { time: Date }).time;

/** Four hours of a generated trail in a bucket of its own (digests record the bucket they are in). */
async function bucketWithTrail(
  start = START,
): Promise<{ bucket: string; store: S3ObjectStore; digests: string[] }> {
  const bucket = `validate-status-${Date.now()}-${++cases}`;
  const memory = new MemoryObjectStore(bucket);
  const trail = await generateTrail(integrityScenario({ seed: 9, hours: 4, start, bucket }), memory);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const store = new S3ObjectStore(client, bucket);
  await uploadTrail(memory, store);
  // The sample trail's signing key is the same for every trail generated.
  await writeFile(join(dir, 'public-keys.json'), memory.objects.get(trail.publicKeysKey)!.body);
  return { bucket, store, digests: trail.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key) };
}

function validate(bucket: string, endTime: Date, extra: { json?: boolean; startTime?: string } = {}) {
  return validateCaptured({
    trailArn: ARN,
    startTime: START,
    endTime: displayDate(endTime),
    s3Bucket: bucket,
    publicKeys: join(dir, 'public-keys.json'),
    ...extra,
  });
}

beforeAll(async () => {
  process.env.AWS_ENDPOINT_URL_S3 = motoEndpoint();
  client = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: REGION });
  dir = await mkdtemp(join(tmpdir(), 'trailwatch-validate-status-'));
});

afterEach(() => {
  cloudtrail.reset();
});

afterAll(async () => {
  cloudtrail.restore();
  await rm(dir, { recursive: true, force: true });
});

describe('trailwatch validate asks CloudTrail why digests stop', () => {
  it('a logging trail that delivered the digests the bucket lacks: they were deleted, exit 1', async () => {
    // Prepare: the two newest digests deleted; CloudTrail delivered the newest of them
    const { bucket, store, digests } = await bucketWithTrail();
    await deleteObject(store, digests.at(-1)!);
    await deleteObject(store, digests.at(-2)!);
    const survivor = timeOf(digests.at(-3)!);
    const delivered = new Date(timeOf(digests.at(-1)!).getTime() + 4 * 60_000);
    cloudtrail.on(GetTrailStatusCommand).resolves({
      IsLogging: true,
      StartLoggingTime: new Date('2026-01-01T00:00:00Z'),
      LatestDigestDeliveryTime: delivered,
    });
    const end = new Date(timeOf(digests.at(-1)!).getTime() + 3 * HOUR_MS);

    // Act
    const r = await validate(bucket, end);
    const json = await validate(bucket, end, { json: true });

    // Assess
    expect(r.stderr).toBe(
      `Digest gap: no digest after ${displayDate(survivor)} (through ${displayDate(end)}) in ${REGION}: ` +
        `trail is logging and delivered a digest at ${displayDate(delivered)}: the newest digests were deleted\n\n`,
    );
    expect(r.stdout).toContain(
      `\nDigest gap in ${REGION}: 4 hourly digests missing after ${displayDate(survivor)} (digests DELETED)\n`,
    );
    expect(r.code).toBe(1);
    const objects = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(objects.filter((o) => o.type === 'digest-gap')).toEqual([
      expect.objectContaining({
        from: displayDate(survivor),
        cause: 'digests-deleted',
        digestsDeleted: true,
        trailStatus: expect.objectContaining({
          isLogging: true,
          latestDigestDeliveryTime: displayDate(delivered),
        }),
      }),
    ]);
    expect(objects.at(-1)).toMatchObject({ type: 'summary', valid: false, digestGaps: 1 });
    expect(json.code).toBe(1);
    expect(cloudtrail.commandCalls(GetTrailStatusCommand).map((c) => c.args[0].input)).toEqual([
      { Name: ARN },
      { Name: ARN },
    ]);
  });

  it('a stopped trail: who stopped it, when and from where, exit 0', async () => {
    // Prepare: stopped within the 90 days LookupEvents keeps, so the trail is a recent one
    const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
    const start = displayDate(new Date(hour - 8 * HOUR_MS));
    const { bucket, digests } = await bucketWithTrail(start);
    const last = timeOf(digests.at(-1)!);
    const stop = new Date(last.getTime() + 20 * 60_000);
    cloudtrail
      .on(GetTrailStatusCommand)
      .resolves({ IsLogging: false, StopLoggingTime: stop, LatestDigestDeliveryTime: last });
    cloudtrail.on(LookupEventsCommand).resolves({ Events: [] });
    cloudtrail
      .on(LookupEventsCommand, {
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'StopLogging' }],
      })
      .resolves({
        Events: [
          {
            EventName: 'StopLogging',
            EventTime: new Date(stop.getTime() + 1000),
            Username: 'mallory',
            CloudTrailEvent: JSON.stringify({
              userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/mallory' },
              sourceIPAddress: '203.0.113.9',
              requestParameters: { name: ARN },
            }),
          },
        ],
      });
    const end = new Date(hour);

    // Act
    const r = await validate(bucket, end, { startTime: start });

    // Assess
    expect(r.stderr).toBe(
      `Digest gap: no digest after ${displayDate(last)} (through ${displayDate(end)}) in ${REGION}: ` +
        `trail stopped logging at ${displayDate(stop)} by arn:aws:iam::111122223333:user/mallory from 203.0.113.9\n\n`,
    );
    expect(r.stdout).toMatch(
      /\nDigest gap in us-east-1: [\d,]+ hourly digests missing after \S+ \(trail stopped logging\)\n$/,
    );
    expect(r.code).toBe(0);
  });

  it('a status CloudTrail refuses: said in the finding, which stands, exit 0', async () => {
    // Prepare
    const { bucket, digests } = await bucketWithTrail();
    const last = timeOf(digests.at(-1)!);
    cloudtrail.on(GetTrailStatusCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: cloudtrail:GetTrailStatus'), {
        name: 'AccessDeniedException',
      }),
    );
    const end = new Date(last.getTime() + 5 * HOUR_MS);

    // Act
    const r = await validate(bucket, end);

    // Assess
    expect(r.stderr).toBe(
      `Digest gap: no digest after ${displayDate(last)} (through ${displayDate(end)}) in ${REGION}: ` +
        'the trail stopped delivering or its newest digests were deleted; trail status unavailable: ' +
        'AccessDeniedException: User is not authorized to perform: cloudtrail:GetTrailStatus\n\n',
    );
    expect(r.code).toBe(0);
  });
});

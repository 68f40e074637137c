/**
 * The "Check:" commands alerts print run as printed. A generated trail (with a key prefix) is tampered
 * with, the verify use case alerts on it, the trail goes into a moto_server bucket, and the trailwatch
 * command each alert prints is run as a child process against that bucket: it must find the same
 * tampering. The watchdog's get-trail-status command must name a trail CloudTrail knows.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { generateTrail } from '#cli/generator/index.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { KeyRing, publicKeysFromStore } from '#shared/digest/public-keys.ts';
import { classifyKey, type TrailKey } from '#shared/keys.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import { verifyOneDigest } from '#shared/pipeline/verify-digests.ts';
import { type Notification, noMetrics, readAll } from '#shared/ports.ts';
import { runWatchdog } from '#shared/watchdog/delivery-gaps.ts';
import { watchdogAlerts } from '#shared/watchdog/gap-alerts.ts';
import { deleteObject, integrityScenario, modifyLogFile } from '#test/e2e/tamper.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';
import { uploadTrail } from '#test/support/validate.ts';

const ROOT = join(import.meta.dirname, '../..');
const BUCKET = `validate-check-${Date.now()}`;
/** moto_server's account: CloudTrail there only knows trails under it. */
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const TRAIL = `check-trail-${Date.now()}`;
const PREFIX = 'audit/';
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:trailwatch-alerts';

let dir: string;
let memory: MemoryObjectStore;
let digests: string[];
let modifiedLog: string;
let alerts: Notification[];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      join(ROOT, 'node_modules/.bin/node'),
      args,
      { cwd: ROOT, env: { ...process.env, CI: 'true', ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
  });
}

const textOf = (n: Notification) => (JSON.parse(n.message) as { email: string }).email;
/** The alert a digest's check raised (its structured data names the digest). */
const alertBy = (digestKey: string) => {
  const own = alerts.filter(
    (a) => (alertData(a.message) as { digest?: { key?: string } } | undefined)?.digest?.key === digestKey,
  );
  if (own.length !== 1) throw new Error(`expected one alert by ${digestKey}, found ${own.length}`);
  return own[0];
};

/** The trailwatch command an alert prints, as words (the alert quotes none it does not need to). */
function printedCommand(alert: Notification): string[] {
  const m = /^Check: trailwatch validate (.+)$/m.exec(textOf(alert));
  if (!m) throw new Error(`expected a 'Check: trailwatch validate' line, found:\n${textOf(alert)}`);
  expect(m[1]).not.toMatch(/['"\\]/);
  return m[1].split(' ');
}

beforeAll(async () => {
  // Prepare: a trail under a prefix; a log file of hour 2 modified; the digests of hours 6 and 7 deleted
  dir = await mkdtemp(join(tmpdir(), 'trailwatch-check-command-'));
  memory = new MemoryObjectStore(BUCKET);
  const trail = await generateTrail(
    integrityScenario({
      seed: 5,
      hours: 10,
      start: '2026-03-02T00:00:00Z',
      prefix: PREFIX,
      accounts: [ACCOUNT],
      bucket: BUCKET,
      trailName: TRAIL,
    }),
    memory,
  );
  digests = trail.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key);
  const listed = JSON.parse(gunzipSync(await readAll(memory, digests[2])).toString('utf8')) as {
    logFiles: { s3Object: string }[];
  };
  modifiedLog = listed.logFiles[0].s3Object;
  await modifyLogFile(memory, modifiedLog);
  await deleteObject(memory, digests[6]);
  await deleteObject(memory, digests[7]);
  await writeFile(join(dir, 'public-keys.json'), memory.objects.get(trail.publicKeysKey)!.body);

  // The verify function's own use case alerts on the digests that uncover the tampering.
  alerts = [];
  const ports = {
    config: { alertTopicArn: TOPIC },
    sourceStore: () => memory,
    state: new MemoryObjectStore('state'),
    keys: new KeyRing(await publicKeysFromStore(memory, trail.publicKeysKey)),
    notifier: { publish: async (n: Notification) => void alerts.push(n) },
    logger: { info() {}, warn() {}, error() {} },
    metrics: noMetrics,
  };
  for (const key of [digests[2], digests[8]]) {
    await verifyOneDigest(ports, BUCKET, classifyKey(key) as TrailKey);
  }

  const client = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: REGION });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await uploadTrail(memory, new S3ObjectStore(client, BUCKET));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs an alert's command against moto_server. */
function runPrinted(alert: Notification): Promise<Run> {
  // moto_server has no ListPublicKeys: the sample trail's key is given as a file, the one flag added.
  return run(
    [
      'cli/trailwatch.ts',
      'validate',
      ...printedCommand(alert),
      '--public-keys',
      join(dir, 'public-keys.json'),
    ],
    { AWS_ENDPOINT_URL: motoEndpoint(), AWS_REGION: REGION },
  );
}

describe('the digest tamper alert prints a command that finds the tampering when run', () => {
  it('a modified log file', async () => {
    // Prepare
    const alert = alertBy(digests[2]);

    // Act
    const r = await runPrinted(alert);

    // Assess
    expect(printedCommand(alert).slice(0, 6)).toEqual([
      '--trail-arn',
      `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${TRAIL}`,
      '--s3-bucket',
      BUCKET,
      '--s3-prefix',
      'audit',
    ]);
    expect(textOf(alert)).toMatch(/^ {3}or: aws cloudtrail validate-logs --trail-arn /m);
    expect(r.stderr.split('\n').filter((l) => l.includes('INVALID'))).toEqual([
      `Log file\ts3://${BUCKET}/${modifiedLog}\tINVALID: hash value doesn't match`,
    ]);
    expect(r.code, `expected exit 1, found ${r.code}; stderr:\n${r.stderr}`).toBe(1);
  });

  it('two digests deleted in a row: both, the one the chain names and the one before it', async () => {
    // Prepare
    const alert = alertBy(digests[8]);

    // Act
    const r = await runPrinted(alert);

    // Assess
    expect(r.stderr.split('\n').filter((l) => l.includes('INVALID'))).toEqual([
      `Digest file\ts3://${BUCKET}/${digests[7]}\tINVALID: not found`,
      `Digest file\ts3://${BUCKET}/${digests[6]}\tINVALID: not found`,
    ]);
    expect(r.code, `expected exit 1, found ${r.code}; stderr:\n${r.stderr}`).toBe(1);
  });
});

describe("the watchdog's missing-digest alert names the trail as CloudTrail knows it", () => {
  it('get-trail-status with the printed name and region finds the trail', async () => {
    // Prepare: the trail exists in CloudTrail (moto); its digests stop after the newest one
    const cloudtrail = new CloudTrailClient({ endpoint: motoEndpoint(), region: REGION });
    await cloudtrail.send(
      new CreateTrailCommand({ Name: TRAIL, S3BucketName: BUCKET, S3KeyPrefix: 'audit' }),
    );
    await cloudtrail.send(new StartLoggingCommand({ Name: TRAIL }));
    const newest = classifyKey(digests.at(-1)!) as TrailKey;
    const threeHoursLater = new Date(newest.time.getTime() + 3 * 3_600_000);
    const result = await runWatchdog(memory, new MemoryObjectStore('watchdog'), threeHoursLater, [PREFIX]);
    const alert = watchdogAlerts(TOPIC, result).find((a) => a.attributes.check === 'digest-missing');
    if (!alert) throw new Error(`expected a digest-missing alert, found ${JSON.stringify(result.opened)}`);

    // Act
    const m = /^Check: aws cloudtrail get-trail-status --name (\S+) --region (\S+)$/m.exec(textOf(alert));
    const status = m
      ? await new CloudTrailClient({ endpoint: motoEndpoint(), region: m[2] }).send(
          new GetTrailStatusCommand({ Name: m[1] }),
        )
      : undefined;
    await cloudtrail.send(new DeleteTrailCommand({ Name: TRAIL }));

    // Assess
    expect(m?.[1]).toBe(`arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${TRAIL}`);
    expect(status?.IsLogging).toBe(true);
  });
});

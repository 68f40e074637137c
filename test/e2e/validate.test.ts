/**
 * `trailwatch validate` against a generated two-day trail, untouched and after each way of tampering with
 * it, including those `aws cloudtrail validate-logs` misses. Each tampering must be reported against the
 * file it touched, and nothing else.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import type { ValidateOptions } from '#cli/commands/validate.ts';
import { type GeneratedTrail, generateTrail, sampleSigningKey } from '#cli/generator/index.ts';
import { displayDate } from '#shared/digest/verdict.ts';
import { classifyKey, digestFileKey } from '#shared/keys.ts';
import { validateCaptured } from '#test/support/validate.ts';
import {
  addUnlistedLogFile,
  appendGzipMember,
  attackerKey,
  copyObject,
  deleteObject,
  editDigest,
  INTEGRITY_TRAIL,
  integrityScenario,
  modifyLogFile,
  resignDigest,
} from './tamper.ts';

const execFileAsync = promisify(execFile);

const BUCKET = INTEGRITY_TRAIL.bucket;
const ACCOUNT = INTEGRITY_TRAIL.account;
const REGION = INTEGRITY_TRAIL.region;
const TRAIL = INTEGRITY_TRAIL.trailName;
const ARN = `arn:aws:cloudtrail:${REGION}:${ACCOUNT}:trail/${TRAIL}`;
const START = INTEGRITY_TRAIL.start;
const HOUR_MS = 3_600_000;

let root: string;
let pristine: string;
let trail: GeneratedTrail;
let digests: string[];
let logs: string[];
let settledEnd: string;
let caseNo = 0;

const timeOf = (key: string) => {
  const c = classifyKey(key);
  if (c.kind !== 'digest') throw new Error(`expected a digest key, found ${key}`);
  return c.time.getTime();
};
const digestLine = (key: string, reason: string) => `Digest file\ts3://${BUCKET}/${key}\tINVALID: ${reason}`;
const logLine = (key: string, reason: string) => `Log file\ts3://${BUCKET}/${key}\tINVALID: ${reason}`;

/** A fresh copy of the generated trail to tamper with. */
async function copyOfTrail(): Promise<{ dir: string; store: FsObjectStore }> {
  const dir = join(root, `case-${++caseNo}`);
  await cp(pristine, dir, { recursive: true });
  return { dir, store: new FsObjectStore(dir) };
}

function validate(dir: string, extra: Partial<ValidateOptions> = {}) {
  return validateCaptured({
    trailArn: ARN,
    startTime: START,
    endTime: settledEnd,
    source: dir,
    publicKeys: join(dir, 'public-keys.json'),
    ...extra,
  });
}

/** The log files a digest lists, read from the pristine trail. */
async function logsOf(digestKey: string): Promise<string[]> {
  const { gunzipSync } = await import('node:zlib');
  const { readAll } = await import('#shared/ports.ts');
  const d = JSON.parse(gunzipSync(await readAll(new FsObjectStore(pristine), digestKey)).toString('utf8'));
  return d.logFiles.map((l: { s3Object: string }) => l.s3Object);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trailwatch-validate-'));
  pristine = join(root, 'pristine');
  trail = await generateTrail(
    integrityScenario({ seed: 7, eventsPerMinute: 0.5 }),
    new FsObjectStore(pristine),
  );
  digests = trail.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key);
  logs = trail.deliveries.filter((d) => d.kind === 'log').map((d) => d.key);
  // Half an hour after the newest digest's end: within its delivery delay, nothing is overdue.
  settledEnd = displayDate(new Date(timeOf(digests.at(-1)!) + HOUR_MS / 2));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('trailwatch validate on an untouched trail', () => {
  it('reports every digest and log file valid and exits 0', async () => {
    // Prepare
    const { dir } = await copyOfTrail();

    // Act
    const r = await validate(dir);

    // Assess
    expect(digests.length).toBeGreaterThanOrEqual(48);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(
      `Validating log files for trail ${ARN} between ${START} and ${settledEnd}\n\n`,
    );
    expect(r.stdout).toContain(`Results requested for ${START} to ${settledEnd}\n`);
    expect(r.stdout).toContain(`\n${digests.length}/${digests.length} digest files valid`);
    expect(r.stdout).toContain(`\n${logs.length}/${logs.length} log files valid\n`);
  });

  it('prints each valid file with --verbose, in the AWS CLI form', async () => {
    // Prepare
    const { dir } = await copyOfTrail();

    // Act
    const r = await validate(dir, { verbose: true });

    // Assess
    const lines = r.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('Digest file\t'))).toHaveLength(digests.length);
    expect(lines.filter((l) => l.startsWith('Log file\t'))).toHaveLength(logs.length);
    // Newest first, like the AWS CLI's walk.
    expect(lines.find((l) => l.startsWith('Digest file\t'))).toBe(
      `Digest file\ts3://${BUCKET}/${digests.at(-1)}\tvalid`,
    );
  });

  it('writes one JSON object per file and a summary with --json', async () => {
    // Prepare
    const { dir } = await copyOfTrail();

    // Act
    const r = await validate(dir, { json: true });

    // Assess
    const objects = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const files = objects.filter((o) => o.type === 'digest' || o.type === 'log');
    expect(files).toHaveLength(digests.length + logs.length);
    expect(files.every((f) => f.status === 'valid' && f.bucket === BUCKET && f.reason === null)).toBe(true);
    expect(objects.at(-1)).toMatchObject({
      type: 'summary',
      valid: true,
      digestFiles: { valid: digests.length, invalid: 0 },
      logFiles: { valid: logs.length, invalid: 0 },
    });
  });
});

describe('trailwatch validate reports each tampering against the file touched', () => {
  it('a modified log file', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const target = (await logsOf(digests[10]))[0];
    await modifyLogFile(store, target);

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([logLine(target, "hash value doesn't match")]);
    expect(r.stdout).toContain(
      `${logs.length - 1}/${logs.length} log files valid, 1/${logs.length} log files INVALID`,
    );
  });

  it('a deleted log file', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const target = (await logsOf(digests[12])).at(-1)!;
    await deleteObject(store, target);

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([logLine(target, 'not found')]);
  });

  it('a gzip member appended to a log file', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const target = (await logsOf(digests[14]))[0];
    await appendGzipMember(store, target);

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([logLine(target, 'unexpected data after end of compressed stream')]);
  });

  it('a digest deleted in the middle of the chain', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    await deleteObject(store, digests[20]);

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([digestLine(digests[20], 'not found')]);
    expect(r.stdout).toContain(
      `${digests.length - 1}/${digests.length} digest files valid, 1/${digests.length} digest files INVALID`,
    );
  });

  it('two consecutive digests deleted: both reported', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    await deleteObject(store, digests[20]);
    await deleteObject(store, digests[21]);

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([
      digestLine(digests[21], 'not found'),
      digestLine(digests[20], 'not found'),
    ]);
  });

  it('a digest re-signed with another key', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    await resignDigest(store, digests[15], attackerKey());

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([digestLine(digests[15], 'signature verification failed')]);
  });

  it("a digest re-signed with another key that names it: the key is not CloudTrail's", async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const key = attackerKey();
    const { createHash, createPublicKey } = await import('node:crypto');
    const fingerprint = createHash('md5')
      .update(createPublicKey(key).export({ type: 'pkcs1', format: 'der' }))
      .digest('hex');
    await editDigest(store, digests[16], (d) => (d.digestPublicKeyFingerprint = fingerprint), {
      resignWith: key,
    });

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([
      digestLine(digests[16], `public key not found in region ${REGION} for fingerprint ${fingerprint}`),
    ]);
  });

  it('a digest edited after signing', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    await editDigest(store, digests[30], (d) => d.logFiles.pop());

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([digestLine(digests[30], 'signature verification failed')]);
  });

  it('a digest edited and re-signed with a valid key: its successor recorded another hash', async () => {
    // Prepare: whoever holds a valid key (here the public sample key) can re-sign, but not rewrite the next digest.
    const { dir, store } = await copyOfTrail();
    await editDigest(store, digests[31], (d) => d.logFiles.pop(), {
      resignWith: sampleSigningKey().privateKey,
    });

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([
      digestLine(digests[31], "hash value doesn't match the next digest's previousDigestHashValue"),
    ]);
  });

  it('the newest digest deleted: one digest gap once its delivery is overdue, not before', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const newest = digests.at(-1)!;
    const survivor = digests.at(-2)!;
    await deleteObject(store, newest);
    const overdue = displayDate(new Date(timeOf(newest) + HOUR_MS + 60_000));
    const notYetDue = displayDate(new Date(timeOf(newest) + HOUR_MS / 2));

    // Act
    const late = await validate(dir, { endTime: overdue });
    const lateJson = await validate(dir, { endTime: overdue, json: true });
    const early = await validate(dir, { endTime: notYetDue });

    // Assess: the AWS CLI reports nothing here and exits 0; trailwatch says no digest follows the survivor
    expect(late.invalidLines).toEqual([]);
    expect(late.stderr).toBe(
      `Digest gap: no digest after ${displayDate(new Date(timeOf(survivor)))} (through ${overdue}) in ${REGION}: ` +
        'the trail stopped delivering or its newest digests were deleted\n\n',
    );
    expect(late.stdout).toContain(
      `\nDigest gap in ${REGION}: 1 hourly digest missing after ${displayDate(new Date(timeOf(survivor)))}`,
    );
    expect(late.code).toBe(0);
    const gaps = lateJson.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((o) => o.type === 'digest-gap');
    expect(gaps).toEqual([
      expect.objectContaining({
        from: displayDate(new Date(timeOf(survivor))),
        missingDigests: 1,
        firstMissingKey: newest,
      }),
    ]);
    expect(early.code).toBe(0);
    expect(early.stderr).toBe('');
  });

  it('a digest copied to another key', async () => {
    // Prepare: under the name of a digest half an hour later, in the same folder
    const { dir, store } = await copyOfTrail();
    const source = digests[25];
    const copy = digestFileKey({
      account: ACCOUNT,
      region: REGION,
      trailName: TRAIL,
      homeRegion: REGION,
      endTime: new Date(timeOf(source) + HOUR_MS / 2),
    });
    await copyObject(store, source, copy);

    // Act
    const r = await validate(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([digestLine(copy, 'has been moved from its original location')]);
  });

  it('a log file added that no digest lists: INVALID unlisted, in text and --json', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const planted = await addUnlistedLogFile(store, (await logsOf(digests[18]))[0]);

    // Act
    const r = await validate(dir);
    const json = await validate(dir, { json: true });

    // Assess
    expect(r.code).toBe(1);
    expect(r.invalidLines).toEqual([logLine(planted, 'unlisted: no digest lists this log file')]);
    expect(r.stdout).toContain(
      `${logs.length}/${logs.length + 1} log files valid, 1/${logs.length + 1} log files INVALID`,
    );
    const invalid = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((o) => o.status === 'invalid');
    expect(json.code).toBe(1);
    expect(invalid).toEqual([
      {
        type: 'log',
        bucket: BUCKET,
        key: planted,
        status: 'invalid',
        reason: 'unlisted: no digest lists this log file',
      },
    ]);
  });

  it('reports the tampered file in --json output too', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    await deleteObject(store, digests[40]);

    // Act
    const r = await validate(dir, { json: true });

    // Assess
    const invalid = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((o) => o.status === 'invalid');
    expect(r.code).toBe(1);
    expect(invalid).toEqual([
      { type: 'digest', bucket: BUCKET, key: digests[40], status: 'invalid', reason: 'not found' },
    ]);
  });
});

describe('trailwatch validate as a command', () => {
  it('runs through cli/trailwatch.ts with the exit codes of the AWS CLI', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const args = [
      'cli/trailwatch.ts',
      'validate',
      '--trail-arn',
      ARN,
      '--start-time',
      START,
      '--end-time',
      settledEnd,
      '--source',
      dir,
      '--public-keys',
      join(dir, 'public-keys.json'),
    ];
    const run = (extra: string[] = []) =>
      execFileAsync('node_modules/.bin/node', [...args, ...extra]).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => ({
          code: e.code,
          stdout: e.stdout,
          stderr: e.stderr,
        }),
      );

    // Act
    const clean = await run();
    await deleteObject(store, digests[5]);
    const tampered = await run();
    const noBucket = await execFileAsync('node_modules/.bin/node', args.slice(0, 8)).catch(
      (e: { code: number; stderr: string }) => e,
    );

    // Assess
    expect(clean.code).toBe(0);
    expect(clean.stdout.split('\n')[0]).toBe(
      `Validating log files for trail ${ARN} between ${START} and ${settledEnd}`,
    );
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toBe(`${digestLine(digests[5], 'not found')}\n\n`);
    expect((noBucket as { code: number }).code).toBe(2);
    expect((noBucket as { stderr: string }).stderr).toMatch(/^trailwatch: expected --s3-bucket BUCKET .*\n$/);
  });
});

describe('trailwatch validate on a trail that stopped delivering', () => {
  it('reports the two months after the last digest as one digest gap, in text and in --json, exit 0', async () => {
    // Prepare: four hours of one region, validated to two months after its last digest
    const dir = join(root, 'stopped');
    const small = await generateTrail(
      integrityScenario({ seed: 3, hours: 4, start: '2026-03-08T00:00:00Z' }),
      new FsObjectStore(dir),
    );
    const smallDigests = small.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key);
    const smallLogs = small.deliveries.filter((d) => d.kind === 'log').length;
    const last = new Date(timeOf(smallDigests.at(-1)!));
    const twoMonthsLater = new Date(last);
    twoMonthsLater.setUTCMonth(twoMonthsLater.getUTCMonth() + 2);
    const end = displayDate(twoMonthsLater);
    // Every hour after the last digest whose hour of delivery delay is over by the end.
    const overdue = Math.floor((twoMonthsLater.getTime() - last.getTime()) / HOUR_MS) - 1;
    const args = [
      'cli/trailwatch.ts',
      'validate',
      '--trail-arn',
      ARN,
      '--start-time',
      '2026-03-08T00:00:00Z',
      '--end-time',
      end,
      '--source',
      dir,
      '--public-keys',
      join(dir, 'public-keys.json'),
    ];
    const run = (extra: string[] = []) =>
      execFileAsync('node_modules/.bin/node', [...args, ...extra], { maxBuffer: 16 * 1024 * 1024 }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );

    // Act
    const text = await run();
    const json = await run(['--json']);

    // Assess: one line on stderr, however many hours
    const gapLine =
      `Digest gap: no digest after ${displayDate(last)} (through ${end}) in ${REGION}: ` +
      'the trail stopped delivering or its newest digests were deleted';
    expect(overdue).toBeGreaterThan(1400);
    expect(text.stderr.split('\n').filter((l) => l !== '')).toEqual([gapLine]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`\n${smallDigests.length}/${smallDigests.length} digest files valid\n`);
    expect(text.stdout).toContain(`\n${smallLogs}/${smallLogs} log files valid\n`);
    expect(
      text.stdout.endsWith(
        `\nDigest gap in ${REGION}: ${overdue.toLocaleString('en-US')} hourly digests missing after ${displayDate(last)} ` +
          '(stopped, or the newest digests deleted)\n',
      ),
    ).toBe(true);
    // Assess: one JSON object for the gap, and the summary counting it
    const objects = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(json.code).toBe(0);
    expect(objects.filter((o) => o.type === 'digest-gap')).toEqual([
      {
        type: 'digest-gap',
        region: REGION,
        bucket: BUCKET,
        from: displayDate(last),
        to: end,
        missingDigests: overdue,
        firstMissingKey: digestFileKey({
          account: ACCOUNT,
          region: REGION,
          trailName: TRAIL,
          homeRegion: REGION,
          endTime: new Date(last.getTime() + HOUR_MS),
        }),
        cause: 'unknown',
        reason: 'the trail stopped delivering or its newest digests were deleted',
        digestsDeleted: false,
      },
    ]);
    expect(objects.filter((o) => o.status === 'invalid')).toEqual([]);
    expect(objects.at(-1)).toMatchObject({ type: 'summary', digestGaps: 1, valid: true });
  });
});

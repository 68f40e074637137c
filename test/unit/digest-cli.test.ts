import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { parseCliTime, runValidate, type ValidateOptions } from '#cli/commands/validate.ts';
import { DigestError } from '#shared/digest/errors.ts';
import { ARN, BUCKET, HOUR_MS, keysDocument, putChain, testKey } from '#test/fixtures/digest/build.ts';

const T0 = new Date('2026-04-03T05:12:13Z');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'trailwatch-validate-cli-'));
  await writeFile(join(dir, 'keys.json'), JSON.stringify(keysDocument([{ key: testKey(0) }])));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs the command, keeping stdout, stderr and their interleaving. */
async function run(extra: Partial<ValidateOptions>) {
  const both: string[] = [];
  let stdout = '';
  let stderr = '';
  const code = await runValidate(
    {
      trailArn: ARN,
      startTime: '2026-04-03T04:00:00Z',
      endTime: '2026-04-03T08:00:00Z',
      source: dir,
      s3Bucket: BUCKET,
      publicKeys: join(dir, 'keys.json'),
      ...extra,
    },
    {
      stdout: (t) => {
        stdout += t;
        both.push(`out:${t}`);
      },
      stderr: (t) => {
        stderr += t;
        both.push(`err:${t}`);
      },
    },
  );
  return { code, stdout, stderr, both };
}

describe('parseCliTime', () => {
  it.each([
    ['2026-03-05T10:00:00Z', '2026-03-05T10:00:00.000Z'],
    ['2026-03-05T10:00:00', '2026-03-05T10:00:00.000Z'],
    ['2026-03-05 10:00', '2026-03-05T10:00:00.000Z'],
    ['2026-03-05', '2026-03-05T00:00:00.000Z'],
    ['2026-03-05T12:00:00+02:00', '2026-03-05T10:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    // Act
    const d = parseCliTime(text, '--start-time');

    // Assess
    expect(d.toISOString()).toBe(iso);
  });

  it('refuses what is not a time', () => {
    // Act
    const attempt = () => parseCliTime('last tuesday', '--start-time');

    // Assess
    expect(attempt).toThrow(DigestError);
    expect(attempt).toThrow('Unable to parse date value: last tuesday');
  });
});

describe('trailwatch validate output', () => {
  it('prints the AWS CLI lines, blank lines and summary exactly', async () => {
    // Prepare: three hourly digests (ending 05:12:13, 06:12:13, 07:12:13), the middle one deleted
    const store = new FsObjectStore(dir);
    const chain = await putChain(store, T0, 3);
    await store.delete(chain[1].key);
    const digestLine = (i: number) => `Digest file\ts3://${BUCKET}/${chain[i].key}\tvalid\n`;
    const logLine = (i: number) =>
      `Log file\ts3://${BUCKET}/${chain[i].digest.logFiles[0].s3Object}\tvalid\n`;

    // Act
    const r = await run({ verbose: true });

    // Assess
    expect(r.code).toBe(1);
    expect(r.both).toEqual([
      `out:Validating log files for trail ${ARN} between 2026-04-03T04:00:00Z and 2026-04-03T08:00:00Z\n\n`,
      `out:${digestLine(2)}`,
      `out:${logLine(2)}`,
      `err:\nDigest file\ts3://${BUCKET}/${chain[1].key}\tINVALID: not found\n\n`,
      `out:${digestLine(0)}`,
      `out:${logLine(0)}`,
      'out:\n',
      'out:Results requested for 2026-04-03T04:00:00Z to 2026-04-03T08:00:00Z\n',
      'out:Results found for 2026-04-03T04:12:13Z to 2026-04-03T07:12:13Z:\n',
      'out:\n2/3 digest files valid',
      'out:, 1/3 digest files INVALID',
      'out:\n2/2 log files valid',
      'out:\n',
    ]);
  });

  it('prints only errors and the summary without --verbose', async () => {
    // Prepare
    const store = new FsObjectStore(dir);
    const chain = await putChain(store, T0, 3);
    await store.delete(chain[0].digest.logFiles[0].s3Object);

    // Act
    const r = await run({});

    // Assess
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `Log file\ts3://${BUCKET}/${chain[0].digest.logFiles[0].s3Object}\tINVALID: not found\n\n`,
    );
    expect(r.stdout).toBe(
      `Validating log files for trail ${ARN} between 2026-04-03T04:00:00Z and 2026-04-03T08:00:00Z\n\n` +
        'Results requested for 2026-04-03T04:00:00Z to 2026-04-03T08:00:00Z\n' +
        'Results found for 2026-04-03T04:12:13Z to 2026-04-03T07:12:13Z:\n' +
        '\n3/3 digest files valid\n2/3 log files valid, 1/3 log files INVALID\n',
    );
  });

  it('says no digests were found in an empty range, exit 0', async () => {
    // Act
    const r = await run({});

    // Assess
    expect(r.code).toBe(0);
    expect(
      r.stdout.endsWith(
        'Results requested for 2026-04-03T04:00:00Z to 2026-04-03T08:00:00Z\nNo digests found\n',
      ),
    ).toBe(true);
  });

  it('exits 255 with a clear message when it cannot validate', async () => {
    // Act
    const noTarget = await run({ source: undefined, s3Bucket: undefined });
    const badKeys = await run({ publicKeys: join(dir, 'missing.json') });
    const badRange = await run({ startTime: '2026-04-04T00:00:00Z' });

    // Assess
    expect(noTarget.code).toBe(255);
    expect(noTarget.stderr).toContain('expected --s3-bucket BUCKET (or --source DIR');
    expect(badKeys.code).toBe(255);
    expect(badKeys.stderr).toContain('expected a ListPublicKeys JSON file at');
    expect(badRange.code).toBe(255);
    expect(badRange.stderr).toContain('Invalid time range specified');
  });

  it('writes JSON lines with the summary last', async () => {
    // Prepare
    const store = new FsObjectStore(dir);
    await putChain(store, T0, 2);

    // Act
    const r = await run({ json: true, endTime: new Date(T0.getTime() + 1.5 * HOUR_MS).toISOString() });

    // Assess
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(r.code).toBe(0);
    expect(lines.map((l) => l.type)).toEqual(['digest', 'log', 'digest', 'log', 'summary']);
    expect(lines.at(-1)).toEqual({
      type: 'summary',
      trailArn: ARN,
      requestedStart: '2026-04-03T04:00:00Z',
      requestedEnd: '2026-04-03T06:42:13Z',
      foundStart: '2026-04-03T04:12:13Z',
      foundEnd: '2026-04-03T06:12:13Z',
      digestFiles: { valid: 2, invalid: 0 },
      backfillDigestFiles: { valid: 0, invalid: 0 },
      logFiles: { valid: 2, invalid: 0 },
      valid: true,
    });
  });
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { runValidate, type ValidateOptions } from '#cli/commands/validate.ts';
import { CliError, EXIT } from '#cli/errors.ts';
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

/** A trail folder whose only digests are two days before the range the tests ask for. */
async function earlierTrail(): Promise<void> {
  await putChain(new FsObjectStore(dir), new Date(T0.getTime() - 48 * HOUR_MS), 2);
}

/** The start of the range as the first line of the output prints it. */
async function startPrinted(startTime: string, endTime = '2026-04-03T08:00:00Z'): Promise<string> {
  await earlierTrail();
  const r = await run({ startTime, endTime });
  const m = /between (\S+) and /.exec(r.stdout);
  if (!m) throw new Error(`expected a 'Validating ... between' line, found:\n${r.stdout}`);
  return m[1];
}

/** What a run that cannot validate throws. */
async function failure(extra: Partial<ValidateOptions>): Promise<CliError> {
  await earlierTrail();
  const err = await run(extra).then(
    (r) => new Error(`expected a CliError, the run ended with exit ${r.code}:\n${r.stderr}`),
    (e: unknown) => e,
  );
  if (!(err instanceof CliError)) throw err;
  return err;
}

describe('trailwatch validate times', () => {
  it.each([
    ['2026-04-03T04:00:00Z', '2026-04-03T04:00:00Z'],
    ['2026-04-03T04:00:00', '2026-04-03T04:00:00Z'],
    ['2026-04-03 04:00', '2026-04-03T04:00:00Z'],
    ['2026-04-03', '2026-04-03T00:00:00Z'],
    ['2026-04-03T06:00:00+02:00', '2026-04-03T04:00:00Z'],
    [String(Date.UTC(2026, 3, 3, 4) / 1000), '2026-04-03T04:00:00Z'],
  ])('reads --start-time %s as %s, as every command does', async (text, shown) => {
    // Act
    const printed = await startPrinted(text);

    // Assess
    expect(printed).toBe(shown);
  });

  it('reads relative times and now, and runs to now without --end-time', async () => {
    // Prepare
    await earlierTrail();
    const before = Date.now();

    // Act
    const r = await run({ startTime: '-2h', endTime: undefined });
    const after = Date.now();

    // Assess
    const m = /between (\S+) and (\S+)\n/.exec(r.stdout);
    expect(m, `expected a 'Validating ... between' line, found:\n${r.stdout}`).not.toBeNull();
    const [start, end] = [Date.parse(m![1]), Date.parse(m![2])];
    // Printed to the second, so up to a second below the clock readings.
    expect(start).toBeGreaterThanOrEqual(before - 2 * HOUR_MS - 1000);
    expect(start).toBeLessThanOrEqual(after - 2 * HOUR_MS);
    expect(end).toBeGreaterThanOrEqual(before - 1000);
    expect(end).toBeLessThanOrEqual(after);
  });
});

describe('trailwatch validate refuses what it cannot use, with one line naming what to fix (exit 2)', () => {
  it.each<[string, Partial<ValidateOptions>, RegExp]>([
    [
      'no bucket and no folder',
      { source: undefined, s3Bucket: undefined },
      /^expected --s3-bucket BUCKET \(or --source DIR/,
    ],
    [
      'a key file that is not there',
      { publicKeys: '/nonexistent/keys.json' },
      /^--public-keys \/nonexistent\/keys\.json: no such file; expected a ListPublicKeys JSON file$/,
    ],
    [
      'a start after the end',
      { startTime: '2026-04-04T00:00:00Z' },
      /^--start-time 2026-04-04T00:00:00\.000Z is after --end-time 2026-04-03T08:00:00\.000Z: expected the start at or before the end$/,
    ],
    [
      'a start in the future without an end',
      { startTime: '2999-01-01', endTime: undefined },
      /^--start-time 2999-01-01T00:00:00\.000Z is after now \(the default --end-time\): expected a start in the past$/,
    ],
    [
      'a time that is no time',
      { endTime: 'last tuesday' },
      /^--end-time: expected an ISO 8601 time .* found 'last tuesday'$/,
    ],
    [
      'a trail ARN that is not one',
      { trailArn: 'arn:aws:s3:::bucket' },
      /^--trail-arn arn:aws:s3:::bucket: expected arn:aws:cloudtrail:REGION:ACCOUNT:trail\/NAME$/,
    ],
    [
      'a concurrency that is no number',
      { concurrency: 'many' },
      /^--concurrency: expected a number of 0 or more, found 'many'$/,
    ],
  ])('%s', async (_what, extra, says) => {
    // Act
    const err = await failure(extra);

    // Assess
    expect(err.exitCode).toBe(EXIT.usage);
    expect(err.message).toMatch(says);
    expect(err.message).not.toContain('\n');
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

  it('reports the hours after the newest digest as one digest gap, stated again in the summary, exit 0', async () => {
    // Prepare: digests ending 05:12:13, 06:12:13, 07:12:13; the range runs two months past them
    const store = new FsObjectStore(dir);
    await putChain(store, T0, 3);

    // Act
    const r = await run({ endTime: '2026-06-03T08:00:00Z' });

    // Assess: digests were due hourly from 2026-04-03T08:12:13Z to 2026-06-03T06:12:13Z, the last whose hour
    // of delivery delay is over at 08:00: 61 days of 24, less one
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(
      'Digest gap: no digest after 2026-04-03T07:12:13Z (through 2026-06-03T08:00:00Z) in eu-central-1: ' +
        'the trail stopped delivering or its newest digests were deleted\n\n',
    );
    expect(r.stdout).toBe(
      `Validating log files for trail ${ARN} between 2026-04-03T04:00:00Z and 2026-06-03T08:00:00Z\n\n` +
        'Results requested for 2026-04-03T04:00:00Z to 2026-06-03T08:00:00Z\n' +
        'Results found for 2026-04-03T04:12:13Z to 2026-04-03T07:12:13Z:\n' +
        '\n3/3 digest files valid\n3/3 log files valid\n' +
        '\nDigest gap in eu-central-1: 1,463 hourly digests missing after 2026-04-03T07:12:13Z (stopped, or the newest digests deleted)\n',
    );
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
    // Prepare
    await earlierTrail();

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
      digestGaps: 0,
      valid: true,
    });
  });
});

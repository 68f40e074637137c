import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestFileKey, logFileKey } from '#shared/keys.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { stratusDir, stratusRecords } from '#test/support/logfiles.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const fixtures = resolve(repoRoot, 'test/fixtures/rules');
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function trailwatch(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [resolve(repoRoot, 'cli/trailwatch.ts'), ...args],
      { cwd: repoRoot },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A folder laid out like a trail bucket: two log files, a digest to skip, one corrupt file. */
let bucket: string;
const ACCOUNT = '111122223333';

beforeAll(async () => {
  bucket = await mkdtemp(join(tmpdir(), 'trailwatch-rules-cli-'));
  const put = async (key: string, body: Buffer) => {
    await mkdir(dirname(join(bucket, key)), { recursive: true });
    await writeFile(join(bucket, key), body);
  };
  const first = [
    ...stratusRecords('aws.defense-evasion.cloudtrail-stop'),
    ...stratusRecords('aws.persistence.iam-create-admin-user'),
  ];
  const second = stratusRecords('aws.exfiltration.ec2-security-group-open-port-22-ingress');
  const at = (iso: string) => ({
    account: ACCOUNT,
    region: 'us-east-1',
    time: new Date(iso),
    unique: 'AbCdEfGh12345678',
  });
  await put(logFileKey(at('2024-08-01T13:40:00Z')), gzipSync(JSON.stringify({ Records: first })));
  await put(logFileKey(at('2024-08-01T12:30:00Z')), gzipSync(JSON.stringify({ Records: second })));
  await put(
    logFileKey({ ...at('2024-08-01T14:00:00Z'), unique: 'Corrupt000000000' }),
    Buffer.from('not gzip at all'),
  );
  await put(
    digestFileKey({
      account: ACCOUNT,
      region: 'us-east-1',
      trailName: 't',
      homeRegion: 'us-east-1',
      endTime: new Date('2024-08-01T14:00:00Z'),
    }),
    gzipSync(JSON.stringify({ awsAccountId: ACCOUNT, logFiles: [] })),
  );
});

/** The CLI runs start together once the folder exists (each process takes seconds to start here). */
const runs: Record<string, Promise<Result>> = {};
function started(name: string): Promise<Result> {
  const r = runs[name];
  if (!r) throw new Error(`no run named ${name}`);
  return r;
}

beforeAll(() => {
  const cmds: Record<string, string[]> = {
    list: ['rules', 'list', '--json'],
    listCustom: ['rules', 'list', '--rules', resolve(fixtures, 'custom-rules.json')],
    listBad: ['rules', 'list', '--rules', resolve(fixtures, 'bad-pattern.json')],
    testJson: [
      'rules',
      'test',
      '--pattern',
      '{ $.eventSource = iam.amazonaws.com || $.eventName = StopLogging }',
      '--source',
      bucket,
      '--output',
      'json',
    ],
    testWindow: [
      'rules',
      'test',
      '--rule',
      'CloudWatch.4',
      '--source',
      bucket,
      '--start-time',
      '2024-08-01T13:00:00Z',
      '--end-time',
      '2024-08-01T14:00:00Z',
    ],
    testStratus: ['rules', 'test', '--rule', 'CloudWatch.3', '--source', stratusDir, '--output', 'json'],
    testBad: [
      'rules',
      'test',
      '--pattern',
      '{ $.eventName = StopLogging && $.x[y] = 1 }',
      '--source',
      bucket,
    ],
    listBadExceptions: [
      'rules',
      'list',
      '--exceptions',
      resolve(repoRoot, 'test/fixtures/exceptions/no-reason.json'),
    ],
    testSuppressed: [
      'rules',
      'test',
      '--rule',
      'TW.3',
      '--exceptions',
      resolve(repoRoot, 'test/fixtures/exceptions/example.json'),
      '--source',
      stratusDir,
    ],
  };
  for (const [name, args] of Object.entries(cmds)) runs[name] = trailwatch(...args);
});

afterAll(async () => {
  await Promise.allSettled(Object.values(runs));
  await rm(bucket, { recursive: true, force: true });
});

describe('trailwatch rules', () => {
  it('list --json prints the catalog and the pack with metric names', async () => {
    // Act
    const r = await started('list');

    // Assess
    expect(r.code).toBe(0);
    const rules = JSON.parse(r.stdout) as { id: string; metricName: string; severity: string }[];
    expect(rules.filter((x) => x.id.startsWith('TW.')).length).toBeGreaterThanOrEqual(15);
    expect(rules.filter((x) => !x.id.startsWith('TW.'))).toHaveLength(16);
    expect(rules[2]).toMatchObject({
      id: 'CloudWatch.3',
      metricName: 'ConsoleSignInWithoutMfa',
      severity: 'HIGH',
    });
  });

  it('list --rules adds a custom rules file and rejects a broken one with file, rule and column', async () => {
    // Act
    const ok = await started('listCustom');
    const bad = await started('listBad');

    // Assess
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^custom\.ssh-open-to-world\s+CRITICAL\s+SshOpenToWorld\s+SSH opened to the internet$/m,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      `${resolve(fixtures, 'bad-pattern.json')}: rule "custom.typo": invalid pattern at column 18`,
    );
  });

  it('test prints the matching events of .json.gz files like TestMetricFilter, skipping digests and bad files', async () => {
    // Act
    const r = await started('testJson');

    // Assess
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      filesScanned: number;
      recordsScanned: number;
      unreadableFiles: { file: string; error: string }[];
      matches: { eventNumber: number; file: string; eventMessage: string; extractedValues: object }[];
    };
    expect(report.filesScanned).toBe(3);
    expect(report.recordsScanned).toBe(5);
    expect(report.unreadableFiles).toEqual([
      { file: expect.stringContaining('Corrupt000000000'), error: expect.stringMatching(/gzip/) },
    ]);
    expect(
      report.matches.map((m) => [m.eventNumber, (JSON.parse(m.eventMessage) as CloudTrailRecord).eventName]),
    ).toEqual([
      [2, 'StopLogging'],
      [3, 'AttachUserPolicy'],
      [4, 'CreateAccessKey'],
      [5, 'CreateUser'],
    ]);
    expect(report.matches[0].file).toMatch(
      /^AWSLogs\/111122223333\/CloudTrail\/us-east-1\/2024\/08\/01\/.*_20240801T1340Z_/,
    );
    expect(report.matches[0].extractedValues).toEqual({});
  });

  it('test --rule with a time window prints a table naming the principal', async () => {
    // Act
    const r = await started('testWindow');

    // Assess
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^#\s+EVENT TIME\s+EVENT\s+PRINCIPAL\s+SOURCE IP\s+FILE$/);
    expect(lines[1]).toMatch(
      /^3\s+2024-08-01T13:33:28Z\s+iam\.amazonaws\.com AttachUserPolicy\s+arn:aws:iam::229654561268:user\/christophe\s+075\.050\.255\.67\s+AWSLogs\//,
    );
    expect(r.stdout).toContain('1 of 3 events matched in 3 files (2 outside the time window)');
  });

  it('test on the raw detonation records finds the real ConsoleLogin without MFA', async () => {
    // Act
    const r = await started('testStratus');

    // Assess
    const report = JSON.parse(r.stdout) as {
      filesScanned: number;
      matches: { file: string; eventMessage: string }[];
    };
    expect(report.filesScanned).toBe(35);
    expect(report.matches.map((m) => m.file)).toEqual(['aws.initial-access.console-login-without-mfa.json']);
    expect(JSON.parse(report.matches[0].eventMessage).userIdentity.userName).toBe(
      'stratus-red-team-nmfalu-jfzdtsvchl',
    );
  });

  it('test rejects a malformed pattern in one line naming its column and the pattern, exit code 2', async () => {
    // Act
    const r = await started('testBad');

    // Assess
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    // The wording after the reason, and the program's prefix before it, are the CLI's to choose.
    expect(lines[0]).toContain(
      "invalid filter pattern at column 36: expected an array index (digits) or '*' after '['",
    );
    expect(lines[0]).toContain("'{ $.eventName = StopLogging && $.x[y] = 1 }'");
  });

  it('rules list (what npm run deploy runs first) refuses a bad exceptions file in one line naming it and the entry', async () => {
    // Act
    const r = await started('listBadExceptions');

    // Assess
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/no-reason\.json: exception "break-glass": "reason" is required/);
  });

  it('rules test --rule with --exceptions lists what an exception silenced, naming it and its reason', async () => {
    // Act
    const r = await started('testSuppressed');

    // Assess: both CreateAccessKey records for other users match TW.3; the example's ci-iam silences them.
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('0 of ');
    expect(r.stdout).toContain('2 more matched but were suppressed by exceptions (no alert):');
    const ids = [
      ...stratusRecords('aws.persistence.iam-backdoor-user'),
      ...stratusRecords('aws.persistence.iam-create-admin-user'),
    ]
      .filter((x) => x.eventName === 'CreateAccessKey')
      .map((x) => x.eventID as string);
    for (const id of ids)
      expect(r.stdout).toMatch(new RegExp(`${id}\\s+ci-iam\\s+the red-team account provisions`));
  });
});

/** The replay command end to end: a generated trail in a folder, the real CLI, the outputs a user reads. */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { demoScenario, generateTrail } from '#cli/generator/index.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import { trailFiles } from '#test/fixtures/lookup/trail.ts';
import { repoRoot, stratusRecords } from '#test/support/logfiles.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'trailwatch-replay-'));
const trailDir = join(dir, 'trail');
const out = join(dir, 'out');
const keysFile = join(dir, 'keys.json');
let stdout = '';
let logFiles = 0;
let digests = 0;

beforeAll(async () => {
  const trail = await generateTrail(
    {
      ...demoScenario,
      seed: 3,
      start: '2026-03-05T08:00:00Z',
      hours: 6,
      regions: ['us-east-1'],
      eventsPerMinute: 6,
      bursts: [],
    },
    new FsObjectStore(trailDir),
  );
  logFiles = trail.deliveries.filter((d) => d.kind === 'log').length;
  digests = trail.deliveries.filter((d) => d.kind === 'digest').length;
  // Replay trusts no key found inside its source: the trail's keys are handed over from outside it.
  copyFileSync(join(trailDir, 'public-keys.json'), keysFile);
  ({ stdout } = await run(
    join(repoRoot, 'node_modules/.bin/node'),
    [
      join(repoRoot, 'cli/trailwatch.ts'),
      'replay',
      '--source',
      trailDir,
      '--out',
      out,
      '--public-keys',
      keysFile,
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, CI: 'true' },
    },
  ));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trailwatch replay', () => {
  it('prints a summary with every log file ingested and every digest verified', () => {
    expect(stdout).toContain(`${logFiles} ingested · 0 already seen · 0 rejected`);
    expect(stdout).toContain(`${digests} delivered · ${digests} valid · 0 INVALID`);
  });

  it('writes one summary per log file and one verdict per digest, laid out by key', () => {
    const summaries = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const ingested = summaries.reduce(
      (n, d) => n + (typeof d.FilesIngested === 'number' ? d.FilesIngested : 0),
      0,
    );
    expect(ingested).toBe(logFiles);
    expect(summaries.every((d) => d._aws?.CloudWatchMetrics?.[0]?.Namespace === 'Trailwatch')).toBe(true);
    expect(existsSync(join(out, 'summaries', demoScenario.bucket, 'AWSLogs'))).toBe(true);
    expect(existsSync(join(out, 'verdicts', demoScenario.bucket, 'AWSLogs'))).toBe(true);
  });

  it('writes one SNS message per line that names who did what', () => {
    const lines = readFileSync(join(out, 'notifications.jsonl'), 'utf8').trim().split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const n = JSON.parse(line);
      expect(n.subject.length).toBeLessThan(100);
      expect(n.attributes).toMatchObject({ severity: expect.any(String), kind: expect.any(String) });
      const data = alertData(n.message);
      expect(data?.account).toBe(demoScenario.accounts[0]);
    }
    expect(stdout).toMatch(/Notifications\s+\d+ → /);
  });

  it('finds nothing new on a second run into the same folder', async () => {
    const again = await run(
      join(repoRoot, 'node_modules/.bin/node'),
      [
        join(repoRoot, 'cli/trailwatch.ts'),
        'replay',
        '--source',
        trailDir,
        '--out',
        out,
        '--json',
        '--public-keys',
        keysFile,
      ],
      {
        cwd: repoRoot,
      },
    );
    const report = JSON.parse(again.stdout);
    expect(report.logFiles).toEqual({ ingested: 0, duplicate: logFiles, rejected: 0, skipped: 0 });
    expect(report.notifications).toBe(0);
  });
});

describe('trailwatch replay of a 56-minute trail of .json files', () => {
  const shortDir = join(dir, 'short');
  // Real records of one detonation, one a minute from 10:00 to 10:55: 56 minutes of history.
  const records = stratusRecords('aws.execution.ssm-send-command').map((r, i) => ({
    ...r,
    eventTime: new Date(Date.parse('2024-08-01T10:00:00Z') + i * 60_000 + 7_000)
      .toISOString()
      .replace('.000Z', 'Z'),
  }));
  const files = trailFiles(records);
  let report: { logFiles: { ingested: number; rejected: number }; records: number; warmUp: unknown[] };
  let text = '';

  beforeAll(async () => {
    const store = new FsObjectStore(shortDir);
    for (const f of files) {
      await store.put(f.key.replace(/\.json\.gz$/, '.json'), JSON.stringify({ Records: f.records }));
    }
    const node = join(repoRoot, 'node_modules/.bin/node');
    const cli = join(repoRoot, 'cli/trailwatch.ts');
    const env = { ...process.env, CI: 'true' };
    ({ stdout: text } = await run(
      node,
      [cli, 'replay', '--source', shortDir, '--out', join(dir, 'short-out')],
      { cwd: repoRoot, env },
    ));
    const json = await run(
      node,
      [cli, 'replay', '--source', shortDir, '--out', join(dir, 'short-json'), '--json'],
      {
        cwd: repoRoot,
        env,
      },
    );
    report = JSON.parse(json.stdout);
  }, 120_000);

  it('ingests every uncompressed .json log file and every record in it', () => {
    expect(records).toHaveLength(56);
    expect(report.logFiles).toMatchObject({ ingested: files.length, rejected: 0 });
    expect(report.records).toBe(56);
    expect(text).toContain(`${files.length} ingested · 0 already seen · 0 rejected`);
  });

  it('says why no insight started: the history needed and the history this trail has', () => {
    expect(text).toMatch(
      /^ {2}Insights {6}0 started: baselines need 24 h of history per account and region, this trail has 56 min \(sagov-westsouth-1r\)$/m,
    );
    expect(report.warmUp).toEqual([
      expect.objectContaining({
        region: 'sagov-westsouth-1r',
        historyMinutes: 56,
        neededMinutes: 1440,
        ready: false,
      }),
    ]);
  });
});

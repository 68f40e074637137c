/**
 * Every command that reads a source ends the same way when the source or an option cannot work: exit 2 and
 * exactly one line on stderr naming what to fix, no stack trace, nothing on stdout. Each case runs the CLI
 * as a child process, the way a user meets it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logFileKey } from '#shared/keys.ts';
import { closedPort, type Env, escapeRegExp, type Run, runCli } from '#test/support/cli-run.ts';
import { record } from '#test/support/logfiles.ts';

function trailwatch(args: string[], env: Env = {}): Promise<Run> {
  return runCli(args, env);
}

const esc = escapeRegExp;

const dir = mkdtempSync(join(tmpdir(), 'trailwatch-cli-errors-'));
const missing = join(dir, 'missing');
const empty = join(dir, 'empty');
const junk = join(dir, 'junk');
const out = join(dir, 'out');
const aFile = join(dir, 'a-file');
const trail = join(dir, 'trail');
const BUCKET = 's3://trailwatch-cli-errors/trail';
let port = 0;

beforeAll(async () => {
  mkdirSync(empty);
  mkdirSync(join(junk, 'exports'), { recursive: true });
  writeFileSync(join(junk, 'notes.txt'), 'not a log');
  writeFileSync(join(junk, 'exports', 'inventory.json'), JSON.stringify({ items: [1, 2] }));
  writeFileSync(aFile, 'a file');
  const key = logFileKey({
    account: '111122223333',
    region: 'us-east-1',
    time: new Date('2024-07-31T13:10:00Z'),
    unique: 'AbCdEfGh12345678',
  });
  mkdirSync(dirname(join(trail, key)), { recursive: true });
  writeFileSync(join(trail, key), JSON.stringify({ Records: [record()] }));
  port = await closedPort();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment of a user whose endpoint answers nothing. */
const unreachable = (): Env => ({
  AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
  AWS_ENDPOINT_URL_S3: undefined,
  AWS_S3_FORCE_PATH_STYLE: 'true',
});
/** The environment of a user with no region anywhere (no variable, no config file). */
const noRegion: Env = {
  AWS_REGION: undefined,
  AWS_DEFAULT_REGION: undefined,
  AWS_CONFIG_FILE: join(tmpdir(), 'trailwatch-no-such-aws-config'),
  AWS_ENDPOINT_URL: undefined,
  AWS_ENDPOINT_URL_S3: undefined,
};

interface Case {
  command: string;
  what: string;
  args: () => string[];
  env?: () => Env;
  /** What the one line must say: the path or bucket and what to fix. */
  says: () => RegExp;
}

const notFolder = () => new RegExp(`--source ${esc(missing)}: no such folder; expected a folder`);
const emptyFolder = () => new RegExp(`--source ${esc(empty)}: the folder is empty; expected CloudTrail`);
const notTrail = () =>
  new RegExp(
    `--source ${esc(junk)}: none of its 2 files is a CloudTrail log or digest file \\(e\\.g\\. exports/inventory\\.json: outside AWSLogs/\\); expected names like .*AWSLogs/ACCOUNT/CloudTrail/REGION/`,
  );
const cannotReach =
  (fix = '--region') =>
  () =>
    new RegExp(
      `cannot reach http://127\\.0\\.0\\.1:${port} for s3://trailwatch-cli-errors \\(ECONNREFUSED\\): check the network, AWS_ENDPOINT_URL or ${fix}$`,
    );
const regionMissing =
  (fix = 'AWS_REGION or --region') =>
  () =>
    new RegExp(`no AWS region for s3://trailwatch-cli-errors: set ${fix}$`);
const badTime = (flag: string) => () =>
  new RegExp(`${flag}: expected an ISO 8601 time .* or Unix seconds, found 'yesterday'$`);
const backwards = () =>
  /--start-time 2024-08-02T00:00:00\.000Z is after --end-time 2024-08-01T23:59:59\.999Z: expected the start at or before the end$/;

const lookup = (...a: string[]) => ['lookup', ...a];
const replay = (...a: string[]) => ['replay', ...a, '--out', out];
const rulesTest = (...a: string[]) => ['rules', 'test', '--pattern', '{ $.eventName = "StopLogging" }', ...a];
const report = (...a: string[]) => ['insights', 'report', ...a, '--out', join(dir, 'report.html')];
const seed = (...a: string[]) => ['insights', 'seed', ...a, '--state', join(dir, 'state')];
const backwardsTimes = ['--start-time', '2024-08-02', '--end-time', '2024-08-01'];

const cases: Case[] = [
  // lookup
  { command: 'lookup', what: 'a missing folder', args: () => lookup('--source', missing), says: notFolder },
  { command: 'lookup', what: 'an empty folder', args: () => lookup('--source', empty), says: emptyFolder },
  {
    command: 'lookup',
    what: 'a folder of other files',
    args: () => lookup('--source', junk),
    says: notTrail,
  },
  {
    command: 'lookup',
    what: 'an unreachable S3 endpoint',
    args: () => lookup('--source', BUCKET),
    env: unreachable,
    says: cannotReach(),
  },
  {
    command: 'lookup',
    what: 'no region',
    args: () => lookup('--source', BUCKET),
    env: () => noRegion,
    says: regionMissing(),
  },
  {
    command: 'lookup',
    what: 'a bad time',
    args: () => lookup('--source', empty, '--start-time', 'yesterday'),
    says: badTime('--start-time'),
  },
  {
    command: 'lookup',
    what: 'an end before the start',
    args: () => lookup('--source', empty, ...backwardsTimes),
    says: backwards,
  },
  // replay
  { command: 'replay', what: 'a missing folder', args: () => replay('--source', missing), says: notFolder },
  { command: 'replay', what: 'an empty folder', args: () => replay('--source', empty), says: emptyFolder },
  {
    command: 'replay',
    what: 'a folder of other files',
    args: () => replay('--source', junk),
    says: notTrail,
  },
  {
    command: 'replay',
    what: 'an unreachable S3 endpoint',
    args: () => replay('--source', BUCKET),
    env: unreachable,
    says: cannotReach(),
  },
  {
    command: 'replay',
    what: 'no region',
    args: () => replay('--source', BUCKET),
    env: () => noRegion,
    says: regionMissing(),
  },
  {
    command: 'replay',
    what: 'a file as --out',
    args: () => ['replay', '--source', trail, '--out', aFile],
    says: () => new RegExp(`--out ${esc(aFile)}: is a file; expected a folder to write into`),
  },
  // rules test
  {
    command: 'rules test',
    what: 'a missing folder',
    args: () => rulesTest('--source', missing),
    says: notFolder,
  },
  {
    command: 'rules test',
    what: 'an empty folder',
    args: () => rulesTest('--source', empty),
    says: () => new RegExp(`--source ${esc(empty)}: the folder is empty; expected CloudTrail log files`),
  },
  {
    command: 'rules test',
    what: 'a folder of other files',
    args: () => rulesTest('--source', junk),
    says: () =>
      new RegExp(
        `--source ${esc(junk)}: its only \\.json file holds no CloudTrail records \\(exports/inventory\\.json: not CloudTrail records: expected \\{"Records": \\[\\.\\.\\.\\]\\} or an array of records\\)$`,
      ),
  },
  {
    command: 'rules test',
    what: 'an unreachable S3 endpoint',
    args: () => rulesTest('--source', BUCKET),
    env: unreachable,
    says: cannotReach(),
  },
  {
    command: 'rules test',
    what: 'no region',
    args: () => rulesTest('--source', BUCKET),
    env: () => noRegion,
    says: regionMissing(),
  },
  {
    command: 'rules test',
    what: 'a bad time',
    args: () => rulesTest('--source', empty, '--end-time', 'yesterday'),
    says: badTime('--end-time'),
  },
  {
    command: 'rules test',
    what: 'an end before the start',
    args: () => rulesTest('--source', empty, ...backwardsTimes),
    says: backwards,
  },
  // insights report
  {
    command: 'insights report',
    what: 'a missing folder',
    args: () => report('--source', missing),
    says: notFolder,
  },
  ...[
    ['an empty folder', empty],
    ['a folder of other files', junk],
  ].map(
    ([what, folder]): Case => ({
      command: 'insights report',
      what,
      args: () => report('--source', folder),
      says: () =>
        new RegExp(
          `--source ${esc(folder)}: no Insights files, log-file summaries .* or detection state .*; expected the --out folder of trailwatch replay`,
        ),
    }),
  ),
  {
    command: 'insights report',
    what: 'an unreachable S3 endpoint',
    args: () => report('--source', BUCKET),
    env: unreachable,
    // Its --region filters the report: the bucket's region comes from the environment.
    says: cannotReach('AWS_REGION'),
  },
  {
    command: 'insights report',
    what: 'no region',
    args: () => report('--source', BUCKET),
    env: () => noRegion,
    says: regionMissing('AWS_REGION'),
  },
  {
    command: 'insights report',
    what: 'a bad time',
    args: () => report('--source', empty, '--now', 'yesterday'),
    says: badTime('--now'),
  },
  // insights seed
  {
    command: 'insights seed',
    what: 'a missing folder',
    args: () => seed('--source', missing),
    says: notFolder,
  },
  {
    command: 'insights seed',
    what: 'an empty folder',
    args: () => seed('--source', empty),
    says: emptyFolder,
  },
  {
    command: 'insights seed',
    what: 'a folder of other files',
    args: () => seed('--source', junk),
    says: notTrail,
  },
  {
    command: 'insights seed',
    what: 'an unreachable S3 endpoint',
    args: () => seed('--source', BUCKET),
    env: unreachable,
    says: cannotReach(),
  },
  {
    command: 'insights seed',
    what: 'no region',
    args: () => seed('--source', BUCKET),
    env: () => noRegion,
    says: regionMissing(),
  },
  {
    command: 'insights seed',
    what: 'a bad time',
    args: () => seed('--source', empty, '--now', 'yesterday'),
    says: badTime('--now'),
  },
  {
    command: 'insights seed',
    what: 'a trail older than its days of history',
    args: () => seed('--source', trail, '--now', '2026-03-01'),
    says: () =>
      new RegExp(
        `--source ${esc(trail)}: no log file delivered in the 7 days before 2026-03-01T23:59:59\\.999Z; give --now \\(the end of the trail\\) or more --days$`,
      ),
  },
  // audit and changes: their --region narrows the query, the bucket's region comes from the environment
  ...(
    [
      ['audit', (...a: string[]) => ['audit', '--start-time', '2024-07-31', ...a]],
      ['changes', (...a: string[]) => ['changes', '--at', '2024-07-31T13:00:00Z', ...a]],
    ] as const
  ).flatMap(([command, run]): Case[] => [
    { command, what: 'a missing folder', args: () => run('--source', missing), says: notFolder },
    {
      command,
      what: 'an empty folder',
      args: () => run('--source', empty),
      says: () => new RegExp(`--source ${esc(empty)}: the folder is empty; expected CloudTrail`),
    },
    {
      command,
      what: 'an unreachable S3 endpoint',
      args: () => run('--source', BUCKET),
      env: unreachable,
      says: cannotReach('AWS_REGION'),
    },
    {
      command,
      what: 'no region',
      args: () => run('--source', BUCKET),
      env: () => noRegion,
      says: regionMissing('AWS_REGION'),
    },
  ]),
  {
    command: 'audit',
    what: 'a folder of other files',
    args: () => ['audit', '--start-time', '2024-07-31', '--source', junk],
    says: notTrail,
  },
  {
    command: 'audit',
    what: 'a bad time',
    args: () => ['audit', '--source', trail, '--start-time', 'yesterday'],
    says: badTime('--start-time'),
  },
  {
    command: 'changes',
    what: 'a folder of other files',
    args: () => ['changes', '--at', '2024-07-31T13:00:00Z', '--source', junk],
    says: () =>
      new RegExp(
        `--source ${esc(junk)}: its only \\.json file holds no CloudTrail records \\(exports/inventory\\.json: not CloudTrail records`,
      ),
  },
  {
    command: 'changes',
    what: 'a bad time',
    args: () => ['changes', '--source', trail, '--at', 'yesterday'],
    says: badTime('--at'),
  },
  // generate and demo write rather than read: their inputs are a time, a bursts file and a folder
  {
    command: 'generate',
    what: 'a bad time',
    args: () => ['generate', '--out', join(dir, 'generated'), '--start', 'yesterday'],
    says: badTime('--start'),
  },
  {
    command: 'generate',
    what: 'a missing bursts file',
    args: () => ['generate', '--out', join(dir, 'generated'), '--bursts', join(missing, 'bursts.json')],
    says: () =>
      new RegExp(
        `--bursts ${esc(join(missing, 'bursts.json'))}: no such file; expected a JSON array of bursts$`,
      ),
  },
  {
    command: 'generate',
    what: 'a file as --out',
    args: () => ['generate', '--out', aFile, '--hours', '1'],
    says: () => new RegExp(`--out ${esc(aFile)}: is a file; expected a folder to write into`),
  },
  {
    command: 'demo',
    what: 'a file as --dir',
    args: () => ['demo', '--dir', aFile],
    says: () => new RegExp(`--dir ${esc(aFile)}: is a file; expected a folder to write into`),
  },
];

describe('every command ends a failure with exit 2 and one line naming what to fix', () => {
  it.each(cases.map((c) => [c.command, c.what, c] as const))('%s on %s', async (_command, _what, c) => {
    // Prepare
    const env = c.env?.() ?? {};

    // Act
    const r = await trailwatch(c.args(), env);

    // Assess
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines, `expected one line on stderr, found:\n${r.stderr}`).toHaveLength(1);
    expect(lines[0]).toMatch(/^trailwatch: \S/);
    expect(lines[0]).toMatch(c.says());
    expect(r.stderr).not.toMatch(/^\s+at /m);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
  });
});

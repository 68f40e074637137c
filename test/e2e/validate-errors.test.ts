/**
 * `trailwatch validate` ends every failure to validate the same way as the other commands: exit 2 and
 * exactly one line on stderr naming what to fix, no stack trace, nothing on stdout. Each case runs the CLI
 * as a child process, the way a user meets it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, type Env, escapeRegExp, type Run, runCli } from '#test/support/cli-run.ts';

const ARN = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events';
const BUCKET = 'trailwatch-validate-errors';

function validate(args: string[], env: Env = {}): Promise<Run> {
  return runCli(['validate', '--trail-arn', ARN, ...args], env);
}

const esc = escapeRegExp;

const dir = mkdtempSync(join(tmpdir(), 'trailwatch-validate-errors-'));
const missing = join(dir, 'missing');
const empty = join(dir, 'empty');
const junk = join(dir, 'junk');
let port = 0;

beforeAll(async () => {
  mkdirSync(empty);
  mkdirSync(join(junk, 'exports'), { recursive: true });
  writeFileSync(join(junk, 'notes.txt'), 'not a trail');
  writeFileSync(join(junk, 'exports', 'inventory.json'), JSON.stringify({ items: [1, 2] }));
  port = await closedPort();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const range = ['--start-time', '2026-03-02T00:00:00Z', '--end-time', '2026-03-03T00:00:00Z'];

interface Case {
  what: string;
  args: () => string[];
  env?: () => Env;
  /** The one line: the path, bucket or option, and what to fix. */
  says: () => RegExp;
}

const cases: Case[] = [
  {
    what: 'a --source folder that does not exist',
    args: () => [...range, '--source', missing],
    says: () =>
      new RegExp(
        `^trailwatch: --source ${esc(missing)}: no such folder; expected a folder laid out like the trail bucket`,
      ),
  },
  {
    what: 'an empty --source folder',
    args: () => [...range, '--source', empty],
    says: () =>
      new RegExp(
        `^trailwatch: --source ${esc(empty)}: the folder is empty; expected CloudTrail log or digest files named like `,
      ),
  },
  {
    what: 'a --source folder of files that are not CloudTrail’s',
    args: () => [...range, '--source', junk],
    says: () =>
      new RegExp(
        `^trailwatch: --source ${esc(junk)}: none of its 2 files is a CloudTrail log or digest file \\(e\\.g\\. exports/inventory\\.json: outside AWSLogs/\\); expected names like .*AWSLogs/ACCOUNT/CloudTrail/REGION/`,
      ),
  },
  {
    what: 'an S3 endpoint that cannot be reached',
    args: () => [...range, '--s3-bucket', BUCKET],
    env: () => ({
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_ENDPOINT_URL_S3: undefined,
      AWS_S3_FORCE_PATH_STYLE: 'true',
    }),
    says: () =>
      new RegExp(
        `^trailwatch: cannot reach http://127\\.0\\.0\\.1:${port} for s3://${BUCKET} \\(ECONNREFUSED\\): check the network, AWS_ENDPOINT_URL or --region$`,
      ),
  },
  {
    what: 'no AWS region for the bucket',
    args: () => [...range, '--s3-bucket', BUCKET],
    env: () => ({
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      AWS_CONFIG_FILE: join(dir, 'no-such-aws-config'),
      AWS_ENDPOINT_URL: undefined,
      AWS_ENDPOINT_URL_S3: undefined,
    }),
    says: () => new RegExp(`^trailwatch: no AWS region for s3://${BUCKET}: set AWS_REGION or --region$`),
  },
  {
    what: 'a time that is no time',
    args: () => ['--start-time', 'yesterday', '--source', empty],
    says: () => /^trailwatch: --start-time: expected an ISO 8601 time .* or Unix seconds, found 'yesterday'$/,
  },
  {
    what: 'an end before the start',
    args: () => ['--start-time', '2026-03-02', '--end-time', '2026-03-01', '--source', empty],
    says: () =>
      /^trailwatch: --start-time 2026-03-02T00:00:00\.000Z is after --end-time 2026-03-01T23:59:59\.999Z: expected the start at or before the end$/,
  },
  {
    what: 'a required option left out (a usage error)',
    args: () => ['--source', empty],
    says: () => /^trailwatch: required option '--start-time <time>' not specified$/,
  },
];

describe('trailwatch validate ends a failure with exit 2 and one line naming what to fix', () => {
  it.each(cases.map((c) => [c.what, c] as const))('%s', async (_what, c) => {
    // Prepare
    const env = c.env?.() ?? {};

    // Act
    const r = await validate(c.args(), env);

    // Assess
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines, `expected one line on stderr, found:\n${r.stderr}`).toHaveLength(1);
    expect(lines[0]).toMatch(c.says());
    expect(r.stderr, 'expected no stack trace').not.toMatch(/^\s+at /m);
    expect(r.stdout).toBe('');
    expect(r.code, `expected exit 2, found ${r.code}; stderr:\n${r.stderr}`).toBe(2);
  });
});

/**
 * `--source s3://bucket[/prefix]` for the commands that read logs besides lookup and replay (rules test,
 * insights seed and report), and the one line an S3 source that cannot work ends in, against moto_server.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trailFiles } from '#test/fixtures/lookup/trail.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';
import { repoRoot, stratusRecords } from '#test/support/logfiles.ts';

const stamp = Date.now();
const bucket = `source-s3-${stamp}`;
const stateBucket = `source-s3-state-${stamp}`;
const dir = mkdtempSync(join(tmpdir(), 'trailwatch-source-s3-'));
const records = stratusRecords('aws.execution.ssm-send-command');
// Every other delivery uncompressed under a .json name, as exported trails hold them.
const files = trailFiles(records, { prefix: 'org/' }).map((f, i) =>
  i % 2 === 0
    ? f
    : {
        ...f,
        key: f.key.replace(/\.json\.gz$/, '.json'),
        body: Buffer.from(JSON.stringify({ Records: f.records })),
      },
);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function trailwatch(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      join(repoRoot, 'node_modules/.bin/node'),
      ['cli/trailwatch.ts', ...args],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          CI: 'true',
          AWS_ENDPOINT_URL_S3: motoEndpoint(),
          AWS_S3_FORCE_PATH_STYLE: 'true',
        },
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  const client = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  await client.send(new CreateBucketCommand({ Bucket: stateBucket }));
  for (const f of files)
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: f.key, Body: f.body }));
  for (const key of ['exports/readme.txt', 'exports/inventory.json']) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: '{"items": []}' }));
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('S3 sources', () => {
  it('rules test reads the .json and .json.gz files under a prefix', async () => {
    // Act
    const r = await trailwatch(
      ...['rules', 'test', '--source', `s3://${bucket}/org`, '--pattern', '{ $.eventName = "SendCommand" }'],
      ...['--output', 'json'],
    );
    // Assess
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      filesScanned: number;
      recordsScanned: number;
      matches: unknown[];
    };
    expect(report.filesScanned).toBe(files.length);
    expect(report.recordsScanned).toBe(records.length);
    expect(report.matches).toHaveLength(records.filter((x) => x.eventName === 'SendCommand').length);
    expect(report.matches.length).toBeGreaterThan(0);
  });

  it('insights seed builds baselines from the bucket into a state bucket, and report charts that state', async () => {
    // Prepare
    const last = Math.max(...files.map((f) => f.delivered.getTime()));
    const now = new Date(last + 3_600_000).toISOString();
    const html = join(dir, 'report.html');
    // Act
    const seeded = await trailwatch(
      ...['insights', 'seed', '--source', `s3://${bucket}/org`, '--state', `s3://${stateBucket}`],
      ...['--now', now, '--days', '2'],
    );
    const report = await trailwatch('insights', 'report', '--source', `s3://${stateBucket}`, '--out', html);
    // Assess
    expect(seeded.stderr).toBe('');
    expect(seeded.code).toBe(0);
    expect(seeded.stdout).toContain(
      `seeded 1 account/region baselines from ${files.length} of ${files.length} log files`,
    );
    expect(report.code).toBe(0);
    expect(report.stdout).toMatch(
      /0 insights, 0 charts\. No insight was possible yet: baselines need 24 h of history per account and region, this trail has \d+ min \(sagov-westsouth-1r\)\./,
    );
    expect(readFileSync(html, 'utf8')).toContain('<p class="warmup">No insight was possible yet');
  });

  it('names a bucket that does not exist, in one line', async () => {
    // Act
    const r = await trailwatch('lookup', '--source', `s3://no-such-bucket-${stamp}/org`);
    // Assess
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `trailwatch: no bucket s3://no-such-bucket-${stamp} (NoSuchBucket): check the name, AWS_ENDPOINT_URL or --region\n`,
    );
  });

  it('names a prefix that holds no CloudTrail file, in one line', async () => {
    // Act
    const r = await trailwatch('replay', '--source', `s3://${bucket}/exports`, '--out', join(dir, 'out'));
    // Assess
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `trailwatch: --source s3://${bucket}/exports: none of its 2 files is a CloudTrail log or digest file (e.g. inventory.json: outside AWSLogs/); expected names like [prefix/]AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHMMZ_ID.json.gz (or .json); trailwatch rules test reads .json files under any name\n`,
    );
  });
});

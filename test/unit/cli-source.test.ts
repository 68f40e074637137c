/** The one line each S3 failure a user can fix comes down to, and the survey of a local source. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { CliError } from '#cli/errors.ts';
import { cliErrorIn, openSource, SourceError, s3Failure } from '#cli/source.ts';
import { digestFileKey, logFileKey } from '#shared/keys.ts';
import { RetryableIngestError } from '#shared/pipeline/ingest-log-files.ts';
import { StoreError } from '#shared/ports.ts';

const s3Error = (name: string, status: number) =>
  new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });

describe('S3 failures', () => {
  const bucket = 'acme-trail';
  const list = (err: unknown, regionOption = true) =>
    s3Failure(err, bucket, 's3:ListBucket', `arn:aws:s3:::${bucket}`, regionOption)?.message;

  it('names the bucket and the permission missing when access is denied, also under a wrapping error', () => {
    // Prepare
    const wrapped = new StoreError('HeadObject failed', 'k', { cause: s3Error('Forbidden', 403) });
    // Act
    const denied = list(s3Error('AccessDenied', 403));
    const head = s3Failure(wrapped, bucket, 's3:GetObject', `arn:aws:s3:::${bucket}/*`)?.message;
    // Assess
    expect(denied).toBe(
      'access denied to s3://acme-trail: the credentials need s3:ListBucket on arn:aws:s3:::acme-trail',
    );
    expect(head).toBe(
      'access denied to s3://acme-trail: the credentials need s3:GetObject on arn:aws:s3:::acme-trail/*',
    );
  });

  it('says which setting to fix for a region, credentials, a bucket elsewhere or a missing bucket', () => {
    // Prepare
    const noRegion = new Error('Region is missing');
    const noCredentials = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    // Act
    const messages = [
      list(noRegion),
      list(noRegion, false),
      list(noCredentials),
      list(s3Error('InvalidAccessKeyId', 403)),
      list(s3Error('PermanentRedirect', 301)),
      list(s3Error('NoSuchBucket', 404)),
    ];
    // Assess
    expect(messages[0]).toBe('no AWS region for s3://acme-trail: set AWS_REGION or --region');
    expect(messages[1]).toBe('no AWS region for s3://acme-trail: set AWS_REGION');
    expect(messages[2]).toMatch(/^no AWS credentials for s3:\/\/acme-trail: set AWS_PROFILE/);
    expect(messages[3]).toMatch(/^S3 refused the credentials for s3:\/\/acme-trail \(InvalidAccessKeyId\)/);
    expect(messages[4]).toMatch(/^s3:\/\/acme-trail is not in .*: set --region to the bucket's region$/);
    expect(messages[5]).toMatch(/^no bucket s3:\/\/acme-trail \(NoSuchBucket\)/);
  });

  it('leaves alone what the caller handles, such as a missing key', () => {
    expect(list(s3Error('NoSuchKey', 404))).toBeUndefined();
    expect(list(new Error('socket hang up'))).toBeUndefined();
  });

  it('finds the line a use case wrapped in a retry error', () => {
    // Prepare
    const line = new SourceError('cannot reach x for s3://acme-trail (ECONNREFUSED): check the network');
    // Act
    const found = cliErrorIn(new RetryableIngestError('1 of 1 objects failed', { cause: line }));
    // Assess
    expect(found).toBe(line);
    expect(found).toBeInstanceOf(CliError);
    expect(cliErrorIn(new Error('other'))).toBeUndefined();
  });
});

describe('local sources', () => {
  const root = mkdtempSync(join(tmpdir(), 'trailwatch-source-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('accepts a folder holding a CloudTrail log named .json, deep in its layout', async () => {
    // Prepare
    const dir = join(root, 'trail');
    const key = logFileKey({
      account: '111122223333',
      region: 'us-east-1',
      time: new Date(),
      unique: 'AbCdEfGh12345678',
    });
    mkdirSync(join(dir, 'exports'), { recursive: true });
    writeFileSync(join(dir, 'exports', 'a.txt'), 'x');
    const json = join(dir, 'security', key.replace(/\.json\.gz$/, '.json'));
    mkdirSync(join(json, '..'), { recursive: true });
    writeFileSync(json, '{"Records":[]}');
    // Act
    const source = await openSource(dir, { bucket: 'acme-trail' });
    // Assess
    expect(source).toMatchObject({ bucket: 'acme-trail', prefix: '', description: dir, s3: false });
  });

  it('names a copied folder by the trail bucket its digests record, not by the folder', async () => {
    // Prepare: a copy of a trail bucket, without a generator manifest, in a folder named otherwise
    const dir = join(root, 'downloaded-logs');
    const at = new Date('2026-03-05T10:00:00Z');
    const log = logFileKey({
      account: '111122223333',
      region: 'eu-west-1',
      time: at,
      unique: 'AbCdEfGh12345678',
    });
    const digest = digestFileKey({
      account: '111122223333',
      region: 'eu-west-1',
      trailName: 'org-trail',
      homeRegion: 'us-east-1',
      endTime: new Date('2026-03-05T11:23:45Z'),
    });
    for (const [key, body] of [
      [log, gzipSync('{"Records":[]}')],
      [digest, gzipSync(JSON.stringify({ digestS3Bucket: 'acme-cloudtrail-logs', digestS3Object: digest }))],
    ] as const) {
      mkdirSync(join(dir, key, '..'), { recursive: true });
      writeFileSync(join(dir, key), body);
    }

    // Act
    const source = await openSource(dir);
    const given = await openSource(dir, { bucket: 'chosen' });

    // Assess
    expect(source.bucket).toBe('acme-cloudtrail-logs');
    expect(given.bucket).toBe('chosen');
  });

  it("names a generated folder by its manifest's bucket, read from the scenario at its head or from the whole", async () => {
    // Prepare: the generator's layout (scenario first, a long delivery list after it), the scenario last, a
    // manifest that is not JSON, and one whose scenario holds braces and quotes inside its strings.
    const make = (name: string, manifest: string) => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'trailwatch-manifest.json'), manifest);
      return dir;
    };
    const deliveries = Array.from({ length: 2000 }, (_, i) => ({ key: `AWSLogs/${i}.json.gz`, records: i }));
    const generated = make(
      'generated',
      `${JSON.stringify({ scenario: { bucket: 'gen-bucket', hours: 72 }, deliveries }, null, 2)}\n`,
    );
    const lastKey = make(
      'scenario-last',
      JSON.stringify({ deliveries, scenario: { bucket: 'last-bucket' } }),
    );
    const broken = make('broken', '{"scenario": {"bucket": "never"');
    const tricky = make(
      'tricky',
      JSON.stringify({ scenario: { note: 'a } and a \\" and {', bucket: 'tricky-bucket' }, deliveries: [] }),
    );
    // Act
    const buckets = [];
    for (const dir of [generated, lastKey, broken, tricky])
      buckets.push((await openSource(dir, { expect: 'folder' })).bucket);
    // Assess: a manifest that does not parse names no bucket: the folder's name stands in.
    expect(buckets).toEqual(['gen-bucket', 'last-bucket', 'broken', 'tricky-bucket']);
  });

  it('refuses a file given as a folder, and a folder of one other file, naming them', async () => {
    // Prepare
    const file = join(root, 'file.txt');
    writeFileSync(file, 'x');
    const one = join(root, 'one');
    mkdirSync(one);
    writeFileSync(join(one, 'flaws_cloudtrail00.json'), '{"Records":[]}');
    // Act
    const errors = await Promise.all(
      [openSource(file), openSource(one), openSource(one, { expect: 'json' })].map((p) =>
        p.then(
          () => undefined,
          (err: Error) => err,
        ),
      ),
    );
    // Assess
    expect(errors[0]).toBeInstanceOf(SourceError);
    expect(errors[0]?.message).toBe(
      `--source ${file}: is a file; expected a folder laid out like the trail bucket, or s3://bucket[/prefix]`,
    );
    expect(errors[1]?.message).toMatch(
      new RegExp(
        `^--source ${one}: its only file is not a CloudTrail log or digest file \\(flaws_cloudtrail00\\.json: outside AWSLogs/\\); expected names like .*; trailwatch rules test reads \\.json files under any name$`,
      ),
    );
    expect(errors[2]).toBeUndefined();
  });
});

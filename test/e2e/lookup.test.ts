/**
 * `trailwatch lookup` run as a user runs it, on the real detonation records laid out as a trail delivers
 * them (organization trail under a prefix, one file per account, region and 5 minutes), compared with
 * filters written plainly over the raw records.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { commandOptions, type RawOptions, runLookup } from '#cli/commands/lookup.ts';
import { ROW_FIELDS } from '#cli/lookup/row.ts';
import { logFileKey } from '#shared/keys.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { allStratusRecords, trailFiles, writeTrail } from '#test/fixtures/lookup/trail.ts';
import { parseCsv } from '#test/support/csv.ts';
import { repoRoot, stratusRecords } from '#test/support/logfiles.ts';

const records = allStratusRecords();
let dir: string;
let corruptKey: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env, COLUMNS: '100', ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    execFile(
      join(repoRoot, 'node_modules/.bin/node'),
      ['cli/trailwatch.ts', 'lookup', ...args],
      { cwd: repoRoot, env: childEnv as NodeJS.ProcessEnv, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const lookup = (...args: string[]) => cli(['--source', dir, ...args]);

/** The command's own function, in this process: the same path as the CLI after commander's parsing. */
async function inProcess(options: Partial<RawOptions>): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const raw: RawOptions = { source: dir, output: 'json', concurrency: 4, ...options };
  const code = await runLookup(commandOptions(raw), io);
  return { code, stdout, stderr };
}

const byTimeThenId = (a: CloudTrailRecord, b: CloudTrailRecord) =>
  Date.parse(a.eventTime!) - Date.parse(b.eventTime!) ||
  (a.eventID! < b.eventID! ? -1 : a.eventID! > b.eventID! ? 1 : 0);

/** Event IDs of the raw records a plainly written filter keeps, in the order lookup promises. */
const expectedIds = (keep: (r: CloudTrailRecord) => boolean) =>
  records
    .filter(keep)
    .sort(byTimeThenId)
    .map((r) => r.eventID);

function jsonIds(run: Run): (string | undefined)[] {
  return run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { eventID: string }).eventID);
}

const inRange = (r: CloudTrailRecord, from: string, to: string) =>
  Date.parse(r.eventTime!) >= Date.parse(from) && Date.parse(r.eventTime!) <= Date.parse(to);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookup-e2e-'));
  const store = new FsObjectStore(dir);
  await writeTrail(store, records, { prefix: 'security/', orgId: 'o-a1b2c3d4e5' });
  corruptKey = logFileKey({
    prefix: 'security/',
    orgId: 'o-a1b2c3d4e5',
    account: '309303190113',
    region: 'ca-northsouth-2r',
    time: new Date('2024-08-01T12:10:00Z'),
    unique: 'corruptcorruptxx',
  });
  await store.put(corruptKey, gzipSync('{"Records":[{"eventID":"cut-short"'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trailwatch lookup on a trail folder', () => {
  it('finds exactly the events of one API, as one JSON object per line carrying the record', async () => {
    // Prepare
    const expected = expectedIds((r) => r.eventName === 'GetPasswordData');
    // Act
    const run = await lookup('--event-name', 'GetPasswordData', '--output', 'json');
    // Assess
    expect(run.code).toBe(0);
    expect(expected.length).toBeGreaterThan(10);
    expect(jsonIds(run)).toEqual(expected);
    const first = JSON.parse(run.stdout.split('\n')[0]) as Record<string, unknown>;
    expect(first.record).toEqual(records.find((r) => r.eventID === first.eventID));
    expect(first.username).toBe('stratus-red-team-ec2-get-password-data-role/aws-go-sdk-1722375070115152000');
  });

  it('finds a user by user name, and an assumed role by session name', async () => {
    // Prepare
    const user = expectedIds((r) => r.userIdentity?.userName === 'christophe');
    const session = 'aws-go-sdk-1722455550269043000';
    const bySession = expectedIds((r) => r.userIdentity?.arn?.endsWith(`/${session}`) === true);
    // Act
    const userRun = await inProcess({ username: 'christophe' });
    const sessionRun = await inProcess({ username: session });
    // Assess
    expect(jsonIds(userRun)).toEqual(user);
    expect(user.length).toBeGreaterThan(200);
    expect(jsonIds(sessionRun)).toEqual(bySession);
    expect(bySession.length).toBeGreaterThan(0);
  });

  /**
   * One resource per service of the detonation logs, found by name (and type), against a plain text search
   * of the request, response and resources[] of the raw records; `seen` is one event that must be among them.
   * Organizations and sign-in records name no resource (a denied LeaveOrganization, a ConsoleLogin).
   */
  const RESOURCE_CASES: { service: string; name: string; type: string; seen: string }[] = [
    {
      service: 'ec2',
      name: 'i-DDd6c7B0e18F0E35f',
      type: 'AWS::EC2::Instance',
      seen: 'd373b5dd-6a82-439d-bdcf-4e6c7c7a9292',
    },
    {
      service: 'ec2-instance-connect',
      name: 'i-fDb357cB7e99ad973',
      type: 'AWS::EC2::Instance',
      seen: '0968cbec-f8df-43f3-94ba-b451aad083ed',
    },
    {
      service: 'iam',
      name: 'malicious-iam-user',
      type: 'AWS::IAM::User',
      seen: '083dc4ad-e264-46bc-a407-d0dd31b58bdc',
    },
    {
      service: 'sts',
      name: 'stratus-red-team-ec2-get-password-data-role',
      type: 'AWS::IAM::Role',
      seen: 'd769ddfd-2cda-4cfa-b33f-05d3b886921d',
    },
    {
      service: 'cloudtrail',
      name: 'stratus-red-team-ct-stop-trail-buykxbqejv',
      type: 'AWS::CloudTrail::Trail',
      seen: '10163ed2-2253-469d-a5ee-cbc6651f8934',
    },
    {
      service: 'lambda',
      name: 'stratus-red-team-backdoor-f-func',
      type: 'AWS::Lambda::Function',
      seen: 'b67a9bba-d9da-4980-bf74-baed881b117d',
    },
    {
      service: 'rds',
      name: 'exfiltration',
      type: 'AWS::RDS::DBSnapshot',
      seen: 'fef2bf02-bbea-4d0f-a91c-e6ccfe3fba46',
    },
    {
      service: 'rolesanywhere',
      name: 'malicious-rolesanywhere-trust-anchor',
      type: 'AWS::RolesAnywhere::TrustAnchor',
      seen: '66e5f252-e092-4ad0-9a33-a03595e05aca',
    },
    {
      service: 'secretsmanager',
      name: 'stratus-red-team-retrieve-secret-18-4Rzn83',
      type: 'AWS::SecretsManager::Secret',
      seen: 'b9c3d881-1e77-426c-abd3-5ca20d903380',
    },
    {
      service: 'ssm',
      name: '/credentials/stratus-red-team/credentials-15',
      type: 'AWS::SSM::Parameter',
      seen: 'a4663305-e887-42ac-94e6-d04685e59899',
    },
    {
      service: 'route53resolver',
      name: 'rqlc-4473f20ca554c07',
      type: 'AWS::Route53Resolver::ResolverQueryLoggingConfig',
      seen: 'ba4609ca-b420-4cb6-bdff-307729b3b7db',
    },
    {
      service: 'bedrock',
      name: 'anthropic.claude-3-sonnet-20240229-v1:0',
      type: 'AWS::Bedrock::FoundationModel',
      seen: '51d580ea-04f5-421c-b733-b5e4ec485a6e',
    },
  ];

  it.each(RESOURCE_CASES)(
    'finds the events naming a resource of $service, by name and by name and type',
    async (c) => {
      // Prepare: the records whose request, response or resources[] hold the name as a whole value
      const quoted = new RegExp(`"([^"]*[/:])?${c.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`);
      const expected = expectedIds((r) =>
        quoted.test(
          JSON.stringify([r.requestParameters ?? null, r.responseElements ?? null, r.resources ?? null]),
        ),
      );
      // Act
      const byName = await inProcess({ resourceName: c.name });
      const byBoth = await inProcess({ resourceName: c.name, resourceType: c.type });
      const wrongType = await inProcess({ resourceName: c.name, resourceType: 'AWS::S3::Bucket' });
      // Assess
      expect(expected).toContain(c.seen);
      expect(jsonIds(byName)).toEqual(expected);
      expect(jsonIds(byBoth)).toEqual(expected);
      expect(jsonIds(wrongType)).toEqual([]);
      for (const line of byName.stdout.split('\n').filter(Boolean)) {
        const { resources } = JSON.parse(line) as { resources: { type: string; name: string }[] };
        expect(
          resources.some((x) => x.type === c.type && (x.name === c.name || x.name.endsWith(c.name))),
        ).toBe(true);
      }
    },
  );

  it('finds every event naming a resource type, where CloudTrail listed none', async () => {
    // Prepare: the trail calls name their trail in `name` or `trailName`; CloudTrail writes no resources[]
    const trails = expectedIds(
      (r) =>
        r.eventSource === 'cloudtrail.amazonaws.com' &&
        typeof (r.requestParameters?.name ?? r.requestParameters?.trailName) === 'string',
    );
    const roles = expectedIds(
      (r) =>
        r.resources?.some((e) => e.type === 'AWS::IAM::Role') === true ||
        ['roleName', 'roleArn', 'roleArns'].some((k) => r.requestParameters?.[k] !== undefined),
    );
    // Act
    const trailRun = await inProcess({ resourceType: 'AWS::CloudTrail::Trail' });
    const roleRun = await inProcess({ resourceType: 'AWS::IAM::Role' });
    // Assess
    expect(trails).toHaveLength(3);
    expect(records.filter((r) => r.eventSource === 'cloudtrail.amazonaws.com' && r.resources)).toEqual([]);
    expect(jsonIds(trailRun)).toEqual(trails);
    expect(jsonIds(roleRun)).toEqual(roles);
    expect(roles.length).toBeGreaterThan(
      records.filter((r) => r.resources?.some((e) => e.type === 'AWS::IAM::Role')).length,
    );
  });

  it('finds the events of a time range, and write events only, alone and combined', async () => {
    // Prepare
    const [from, to] = ['2024-07-31T12:40:00Z', '2024-08-01T12:20:00Z'];
    const range = expectedIds((r) => inRange(r, from, to));
    const writes = expectedIds((r) => r.readOnly === false);
    const combined = expectedIds(
      (r) =>
        r.eventSource === 'ec2.amazonaws.com' &&
        r.readOnly === false &&
        inRange(r, '2024-08-01T00:00:00Z', '2024-08-01T23:59:59.999Z'),
    );
    // Act
    const rangeRun = await inProcess({ startTime: from, endTime: to });
    const writeRun = await inProcess({ readOnly: false });
    const combinedRun = await inProcess({
      eventSource: 'ec2.amazonaws.com',
      readOnly: false,
      startTime: '2024-08-01',
      endTime: '2024-08-01',
    });
    // Assess
    expect(jsonIds(rangeRun)).toEqual(range);
    expect(range.length).toBeGreaterThan(0);
    expect(range.length).toBeLessThan(records.length / 2);
    expect(jsonIds(writeRun)).toEqual(writes);
    expect(jsonIds(combinedRun)).toEqual(combined);
    expect(combined.length).toBeGreaterThan(0);
    expect(combined.length).toBeLessThan(writes.length);
  });

  it('writes CSV that parses back to the same events, and an aligned table within the terminal width', async () => {
    // Prepare
    const writes = records.filter((r) => r.readOnly === false).sort(byTimeThenId);
    // Act
    const [csvRun, tableRun] = await Promise.all([
      lookup('--read-only', 'false', '--output', 'csv'),
      lookup('--read-only', 'false'),
    ]);
    // Assess
    const rows = parseCsv(csvRun.stdout);
    expect(rows[0]).toEqual([...ROW_FIELDS]);
    expect(rows.slice(1).map((row) => row[ROW_FIELDS.indexOf('eventID')])).toEqual(
      writes.map((r) => r.eventID),
    );
    const ua = rows.slice(1).map((row) => row[ROW_FIELDS.indexOf('userAgent')]);
    expect(ua).toEqual(writes.map((r) => r.userAgent));
    const lines = tableRun.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+.*USER\s+EVENT\s+.*SOURCE IP/);
    // Write calls name their resources (the instance stopped, the trail deleted...): RESOURCES shows.
    expect(lines[0]).toContain('RESOURCES');
    const resources = rows.slice(1).map((row) => row[ROW_FIELDS.indexOf('resources')]);
    expect(resources[writes.findIndex((r) => r.eventName === 'StopLogging')]).toBe(
      'AWS::CloudTrail::Trail stratus-red-team-ct-stop-trail-buykxbqejv',
    );
    expect(lines).toHaveLength(writes.length + 1);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(100);
    expect(lines[1].startsWith(writes[0].eventTime!)).toBe(true);
  });

  it('reports an unreadable file with its key and reason, goes on, and ends with a count on stderr', async () => {
    // Act
    const run = await lookup('--event-name', 'StopLogging');
    // Assess
    expect(run.code).toBe(0);
    expect(run.stderr).toContain(`cannot read ${corruptKey}: truncated JSON document`);
    expect(run.stderr.trimEnd().split('\n').pop()).toMatch(
      /^1 event matched; read 310 records from \d+ log files \(1 unreadable\)/,
    );
    expect(run.stdout).toContain('cloudtrail:StopLogging');
  });

  it('shows the session name and role of an assumed role uncut when piped, whatever their length', async () => {
    // Prepare
    const session = 'aws-go-sdk-1722375070115152000';
    const role = 'stratus-red-team-ec2-get-password-data-role';
    // Act
    const piped = await cli(['--source', dir, '--username', session], { COLUMNS: undefined });
    // Assess
    expect(piped.code).toBe(0);
    const lines = piped.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines.slice(1)) expect(line).toContain(`${session} (${role})`);
    expect(piped.stdout).not.toContain('…');
  });

  it('exits 0 with no match and 2 with one line for bad arguments', async () => {
    // Act
    const [none, badBool, backwards, noSource] = await Promise.all([
      lookup('--event-name', 'NoSuchCall', '--output', 'json'),
      lookup('--read-only', 'maybe'),
      lookup('--start-time', '2024-08-02', '--end-time', 'yesterday'),
      cli(['--event-name', 'StopLogging']),
    ]);
    // Assess
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr).toMatch(/^0 events matched/m);
    expect(badBool.code).toBe(2);
    expect(badBool.stderr).toMatch(/--read-only.*expected true or false/);
    expect(backwards.code).toBe(2);
    expect(backwards.stderr).toMatch(
      /^trailwatch: --end-time: expected an ISO 8601 time.*found 'yesterday'\n$/,
    );
    expect(() =>
      commandOptions({
        source: dir,
        output: 'json',
        concurrency: 1,
        startTime: '2024-08-02',
        endTime: '2024-08-01',
      }),
    ).toThrow(/--start-time .* is after --end-time/);
    expect(noSource.code).toBe(2);
    expect(noSource.stderr).toMatch(/required option '--source/);
  });
});

describe('trailwatch lookup on .json log files', () => {
  let plain: string;
  const stop = stratusRecords('aws.defense-evasion.cloudtrail-stop');
  const remove = stratusRecords('aws.defense-evasion.cloudtrail-delete');

  beforeAll(async () => {
    // One technique as CloudTrail delivers it, the other uncompressed under the same kind of name.
    plain = await mkdtemp(join(tmpdir(), 'lookup-json-'));
    const store = new FsObjectStore(plain);
    for (const f of trailFiles(stop)) await store.put(f.key, f.body);
    for (const f of trailFiles(remove)) {
      await store.put(f.key.replace(/\.json\.gz$/, '.json'), JSON.stringify({ Records: f.records }));
    }
  });
  afterAll(async () => {
    await rm(plain, { recursive: true, force: true });
  });

  it('reads .json and .json.gz files alike', async () => {
    // Prepare
    const expected = [...stop, ...remove]
      .filter((r) => r.eventSource === 'cloudtrail.amazonaws.com')
      .sort(byTimeThenId)
      .map((r) => r.eventID);
    // Act
    const run = await cli(['--source', plain, '--event-source', 'cloudtrail', '--output', 'json']);
    // Assess
    expect(run.code).toBe(0);
    expect(jsonIds(run)).toEqual(expected);
    const names = new Set(
      jsonIds(run).map((id) => [...stop, ...remove].find((r) => r.eventID === id)?.eventName),
    );
    expect(names).toEqual(new Set(['StopLogging', 'DeleteTrail']));
    expect(run.stderr).not.toContain('cannot read');
  });
});

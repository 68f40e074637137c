/**
 * The SQL lookup against lookup itself: the real detonation records laid out as an organization trail, each
 * filter run by `lookup` over the files and by the SQL builder's query in DuckDB (read_json over the same
 * gz files, in a view with the Athena table's columns). Same events, same order, same rows printed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { eventFromRow } from '#cli/athena/result-record.ts';
import { buildQuery, DIALECTS, QueryBuildError, resourcePredicate } from '#cli/athena/sql.ts';
import type { LookupFilter } from '#cli/lookup/filter.ts';
import { toRow } from '#cli/lookup/row.ts';
import { lookup } from '#cli/lookup/scan.ts';
import { logFileKey } from '#shared/keys.ts';
import { allStratusRecords, writeTrail } from '#test/fixtures/lookup/trail.ts';
import { duckdbTrail } from '#test/support/duckdb-trail.ts';

const records = allStratusRecords();
let dir: string;
let duck: Awaited<ReturnType<typeof duckdbTrail>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookup-sql-'));
  const store = new FsObjectStore(dir);
  await writeTrail(store, records, { prefix: 'org/', orgId: 'o-a1b2c3d4e5' });
  // A record with an eventTime no engine can read, as anyone who can write to the bucket could add.
  const key = logFileKey({
    prefix: 'org/',
    orgId: 'o-a1b2c3d4e5',
    account: '309303190113',
    region: 'ca-northsouth-2r',
    time: new Date('2024-08-01T12:10:00Z'),
    unique: 'oddtimeoddtime00',
  });
  const odd = {
    ...records.find((r) => r.eventName === 'GetPasswordData')!,
    eventTime: 'yesterday',
    eventID: 'odd-time',
  };
  await store.put(key, gzipSync(JSON.stringify({ Records: [odd] })));
  duck = await duckdbTrail(dir);
}, 60_000);

afterAll(async () => {
  duck?.close();
  await rm(dir, { recursive: true, force: true });
});

async function both(filter: LookupFilter) {
  const local = await lookup({ store: new FsObjectStore(dir), filter });
  const sql = buildQuery(filter, { dialect: 'duckdb', table: 'cloudtrail_logs' });
  const rows = (await duck.query(sql)).map(eventFromRow);
  return { local: local.events, sql: rows };
}

const ids = (events: { record: { eventID?: string } }[]) => events.map((e) => e.record.eventID);

const FILTERS: [string, LookupFilter][] = [
  ['an event name', { eventName: 'GetPasswordData' }],
  ['an event source given as its prefix', { eventSource: 'iam' }],
  ['an IAM user', { username: 'christophe' }],
  ['a role session', { username: 'aws-go-sdk-1722375070115152000' }],
  ['the role behind sessions', { username: 'stratus-red-team-ec2-get-password-data-role' }],
  ['an access key', { accessKeyId: 'ASIANQQHHS551LWULIWD' }],
  ['an event id', { eventId: 'd373b5dd-6a82-439d-bdcf-4e6c7c7a9292' }],
  ['write events', { readOnly: false }],
  [
    'read events in a time range',
    {
      readOnly: true,
      startTime: new Date('2024-07-31T12:40:00Z'),
      endTime: new Date('2024-08-01T12:20:00Z'),
    },
  ],
  ['an instance by id', { resourceName: 'i-DDd6c7B0e18F0E35f' }],
  [
    'a trail by name and type',
    { resourceName: 'stratus-red-team-ct-stop-trail-buykxbqejv', resourceType: 'AWS::CloudTrail::Trail' },
  ],
  ['a user by name and type', { resourceName: 'malicious-iam-user', resourceType: 'AWS::IAM::User' }],
  ['a role by name', { resourceName: 'stratus-red-team-ec2-get-password-data-role' }],
  ['an SSM parameter by its path', { resourceName: '/credentials/stratus-red-team/credentials-15' }],
  ['a secret by its name', { resourceName: 'stratus-red-team-retrieve-secret-18-4Rzn83' }],
  ['a Lambda function', { resourceName: 'stratus-red-team-backdoor-f-func' }],
  ['an RDS snapshot', { resourceName: 'exfiltration', resourceType: 'AWS::RDS::DBSnapshot' }],
  ['a trust anchor', { resourceName: 'malicious-rolesanywhere-trust-anchor' }],
  ['a bucket behind a DNS log config', { resourceName: 'stratus-red-team-dns-delete-bucket-bxxclslsdp' }],
  ['a session key handed out', { resourceName: 'ASIANQQHHS551LWULIWD', resourceType: 'AWS::IAM::AccessKey' }],
  ['every instance', { resourceType: 'AWS::EC2::Instance' }],
  ['every IAM role', { resourceType: 'AWS::IAM::Role' }],
  ['every SSM parameter (resources[] without a type)', { resourceType: 'AWS::SSM::Parameter' }],
  ['a part of a name finds nothing', { resourceName: 'credentials-' }],
  [
    'writes by a user on EC2 in a day',
    {
      username: 'christophe',
      eventSource: 'ec2.amazonaws.com',
      readOnly: false,
      startTime: new Date('2024-08-01T00:00:00Z'),
      endTime: new Date('2024-08-01T23:59:59Z'),
    },
  ],
];

describe('the SQL lookup in DuckDB against lookup over the same files', () => {
  it.each(FILTERS)('%s: the same events in the same order', async (_what, filter) => {
    // Act
    const { local, sql } = await both(filter);
    // Assess
    expect(ids(sql)).toEqual(ids(local));
    if (filter.resourceName !== 'credentials-') expect(local.length).toBeGreaterThan(0);
  });

  it('keeps a record whose eventTime cannot be read: last without a time bound, out with one', async () => {
    // Act
    const all = await both({ eventName: 'GetPasswordData' });
    const bounded = await both({ eventName: 'GetPasswordData', startTime: new Date('2024-01-01T00:00:00Z') });
    // Assess
    expect(ids(all.sql)).toEqual(ids(all.local));
    expect(ids(all.sql).at(-1)).toBe('odd-time');
    expect(ids(bounded.sql)).toEqual(ids(bounded.local));
    expect(ids(bounded.sql)).not.toContain('odd-time');
  });

  it('prints the same rows: the record comes back whole from the table columns', async () => {
    // Act
    const { local, sql } = await both({ readOnly: false });
    // Assess: every field lookup prints, resources and credentials included
    expect(sql.map(toRow)).toEqual(local.map(toRow));
  });

  it('keeps the first rows in order with a limit, newest first', async () => {
    // Act
    const local = await lookup({
      store: new FsObjectStore(dir),
      filter: { eventSource: 'ssm' },
      maxResults: 5,
      order: 'newest-first',
    });
    const sql = (
      await duck.query(
        buildQuery(
          { eventSource: 'ssm' },
          { dialect: 'duckdb', table: 'cloudtrail_logs', maxResults: 5, order: 'newest-first' },
        ),
      )
    ).map(eventFromRow);
    // Assess
    expect(ids(sql)).toEqual(ids(local.events));
    expect(sql).toHaveLength(5);
  });
});

describe('the Athena dialect', () => {
  it('reads only the partitions of the accounts, regions and days asked, and quotes values', () => {
    // Act
    const sql = buildQuery(
      {
        eventName: "O'Brien",
        startTime: new Date('2024-08-01T10:00:00Z'),
        endTime: new Date('2024-08-02T10:00:00Z'),
      },
      {
        dialect: 'athena',
        table: '"trailwatch"."cloudtrail_logs"',
        accounts: ['111122223333'],
        regions: ['us-east-1', 'eu-west-1'],
      },
    );
    // Assess
    expect(sql).toContain(`"timestamp" >= '2024/08/01'`);
    expect(sql).toContain(`"timestamp" <= '2024/08/03'`);
    expect(sql).toContain(`account IN ('111122223333')`);
    expect(sql).toContain(`region IN ('us-east-1', 'eu-west-1')`);
    expect(sql).toContain(`eventname = 'O''Brien'`);
    expect(sql).toContain('try(from_iso8601_timestamp(eventtime)) >= from_iso8601_timestamp(');
  });

  it('writes the resource tables as JSON path lookups in lax mode over the request and response text', () => {
    // Act
    const sql = resourcePredicate(DIALECTS.athena, { name: 'i-1', type: 'AWS::EC2::Instance' });
    // Assess
    expect(sql).toContain(
      "json_query(requestparameters, 'lax $.instancesSet[*].items[*].instanceId[*]' WITH ARRAY WRAPPER)",
    );
    expect(sql).toContain("eventsource = 'ec2.amazonaws.com'");
    expect(sql).toContain('any_match(resources, x ->');
    expect(sql).not.toContain('AWS::IAM::Role');
  });

  it('names the option of a filter SQL cannot express', () => {
    // Prepare: a table rule with a pattern only JavaScript reads
    const lookaround = { type: 'AWS::EC2::Instance', paths: ['requestParameters.x'], match: /^(?!i-)/ };
    // Act / Assess
    expect(() =>
      resourcePredicate(DIALECTS.athena, { type: 'AWS::EC2::Instance' }, [
        { eventSource: 'ec2.amazonaws.com', rules: [lookaround] },
      ]),
    ).toThrow(QueryBuildError);
    expect(() =>
      resourcePredicate(DIALECTS.athena, { type: 'AWS::EC2::Instance' }, [
        { eventSource: 'ec2.amazonaws.com', rules: [lookaround] },
      ]),
    ).toThrow(/^--resource-type: the pattern \/\^\(\?!i-\)\/ cannot run in SQL/);
  });
});

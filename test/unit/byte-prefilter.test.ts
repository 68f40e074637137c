/**
 * The byte prefilter never drops a record the lookup filter would keep: a file read with it gives exactly the
 * matches of the same file read with every record parsed, whatever the records, the filter, the way JSON
 * escapes the strings, and where the chunks split the bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type LookupFilter, prefilterGroups } from '#cli/lookup/filter.ts';
import { matchFile } from '#cli/lookup/match-file.ts';
import { BytePrefilter } from '#shared/logfile/prefilter.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { extractResources, nameMatches } from '#shared/resources/index.ts';

const NAMES = [
  'StopLogging',
  'ConsoleLogin',
  'GetObject',
  'DeleteTrail',
  'Événement',
  'CreateUser',
  'GetParameter',
];
const SOURCES = [
  'cloudtrail.amazonaws.com',
  'iam.amazonaws.com',
  's3.amazonaws.com',
  'ssm.amazonaws.com',
  'evil\\source',
];
const USERS = ['alice', 'bob', 'root', 'Root', 'AWS service', 'unknown', 'ci/deploy', 'a"quote', 'zoë'];
const KEYS = ['AKIAEXAMPLE1', 'ASIAEXAMPLE2', 'AKIA/SLASH'];
const IDS = ['1b2c', '3d4e', 'ffff-0000'];
const ARNS = [
  'arn:aws:iam::111122223333:user/alice',
  'arn:aws:sts::111122223333:assumed-role/admin/bob',
  'arn:aws:s3:::my-bucket/logs/a.txt',
  'arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events',
  'arn:aws:lambda:us-east-1:111122223333:function:f1',
];
const TYPES = ['AWS::IAM::User', 'AWS::S3::Object', 'AWS::CloudTrail::Trail'];
/** Request parameters the resource tables read (shared/resources/services/): IAM, S3 and SSM names. */
const PARAMS = {
  bucketName: ['my-bucket', 'logs/bucket'],
  key: ['logs/a.txt', 'a.txt'],
  userName: ['alice', 'ci/deploy', 'zoë'],
  roleName: ['admin'],
  policyArn: ['arn:aws:iam::aws:policy/AdministratorAccess'],
  name: ['/app/db', 'app:db'],
};
const TIMES = ['2026-03-05T00:00:00Z', '2026-03-05T12:30:00Z', '2026-03-06T00:00:00Z', 'not a time'];
const IDENTITY_TYPES = ['IAMUser', 'AssumedRole', 'Root', 'AWSService', 'FederatedUser'];

const pick = (values: string[]) => fc.constantFrom(...values);
/** Mostly values from the pools, so that filters hit; sometimes anything. */
const text = (values: string[]) =>
  fc.oneof({ weight: 6, arbitrary: pick(values) }, { weight: 1, arbitrary: fc.string() });

const identity = fc.record(
  {
    type: pick(IDENTITY_TYPES),
    userName: text(USERS),
    arn: text(ARNS),
    principalId: fc.oneof(
      text(USERS),
      pick(USERS).map((u) => `AROAEXAMPLE:${u}`),
    ),
    accessKeyId: text(KEYS),
    invokedBy: text(['cloudtrail.amazonaws.com', 'AWS Internal']),
    sessionContext: fc.record({ sessionIssuer: fc.record({ userName: text(USERS) }, { requiredKeys: [] }) }),
  },
  { requiredKeys: [] },
);

const recordArb: fc.Arbitrary<CloudTrailRecord> = fc.record(
  {
    eventTime: pick(TIMES),
    eventName: text(NAMES),
    eventSource: text(SOURCES),
    eventID: text(IDS),
    readOnly: fc.boolean(),
    userIdentity: identity,
    resources: fc.array(fc.record({ ARN: text(ARNS), type: pick(TYPES) }, { requiredKeys: [] }), {
      maxLength: 3,
    }),
    requestParameters: fc.option(
      fc.record(
        Object.fromEntries(Object.entries(PARAMS).map(([k, values]) => [k, text(values)])) as Record<
          keyof typeof PARAMS,
          fc.Arbitrary<string>
        >,
        { requiredKeys: [] },
      ),
      { nil: null },
    ),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<CloudTrailRecord>;

/** Every name `--resource-name` finds a resource of the pools by: the extractor's names and their ends. */
const RESOURCE_NAMES = (() => {
  const names = new Set<string>();
  const samples: unknown[] = ARNS.map((ARN) => ({ resources: [{ ARN }] }));
  for (const eventSource of SOURCES)
    for (const eventName of NAMES)
      for (const [k, values] of Object.entries(PARAMS))
        for (const v of values) samples.push({ eventSource, eventName, requestParameters: { [k]: v } });
  for (const r of samples) {
    for (const { name } of extractResources(r)) {
      for (let i = 0; i < name.length; i++) if (nameMatches(name, name.slice(i))) names.add(name.slice(i));
    }
  }
  return [...names];
})();

const attributeArbs = {
  eventName: text(NAMES),
  eventSource: fc.oneof(text(SOURCES), pick(['iam', 's3', 'cloudtrail'])),
  eventId: text(IDS),
  accessKeyId: text(KEYS),
  username: text(USERS),
  resourceName: text(RESOURCE_NAMES),
  resourceType: pick(TYPES),
  readOnly: fc.boolean(),
  startTime: pick(TIMES.slice(0, 3)).map((t) => new Date(t)),
};
type Attribute = keyof typeof attributeArbs;

/** One or two attributes, as people query: with more, hardly any record would match and little be checked. */
const filterArb: fc.Arbitrary<LookupFilter> = fc
  .uniqueArray(fc.constantFrom(...(Object.keys(attributeArbs) as Attribute[])), {
    minLength: 1,
    maxLength: 2,
  })
  .chain((names) => fc.record(Object.fromEntries(names.map((n) => [n, attributeArbs[n]]))))
  .filter((f) => !Object.values(f).some((v) => v === '')) as fc.Arbitrary<LookupFilter>;

/** How strings are written: as JSON.stringify does, or with escapes a hostile writer may choose. */
type Escaping = 'none' | 'slashes' | 'unicode-first' | 'unicode-all';

function writeString(s: string, how: Escaping): string {
  const plain = JSON.stringify(s);
  if (how === 'none' || s === '') return plain;
  if (how === 'slashes') return plain.replaceAll('/', '\\/');
  const u = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  if (how === 'unicode-first') return `"${u(s[0])}${JSON.stringify(s.slice(1)).slice(1)}`;
  return `"${Array.from(s.split(''), u).join('')}"`;
}

function writeJson(v: unknown, how: Escaping): string {
  if (typeof v === 'string') return writeString(v, how);
  if (Array.isArray(v)) return `[${v.map((e) => writeJson(e, how)).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.entries(v)
      .filter(([, e]) => e !== undefined)
      .map(([k, e]) => `${writeString(k, how)}:${writeJson(e, how)}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function matches(bytes: Buffer, chunk: number, filter: LookupFilter, noPrefilter: boolean) {
  const read = await matchFile(chunked(bytes, chunk), filter, { noPrefilter });
  return { records: read.matches.map((m) => m.record), scan: read.scan };
}

describe('the byte prefilter', () => {
  it('keeps every record the filter matches, for any records, filter, escaping and chunking', async () => {
    let runsWithMatches = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            recordArb,
            fc.constantFrom<Escaping>('none', 'none', 'slashes', 'unicode-first', 'unicode-all'),
          ),
          { maxLength: 12 },
        ),
        filterArb,
        fc.oneof(fc.integer({ min: 7, max: 400 }), fc.constant(1 << 16)),
        async (written, filter, chunk) => {
          // Prepare
          const doc = `{"Records":[${written.map(([r, how]) => writeJson(r, how)).join(',')}]}`;
          const bytes = Buffer.from(doc, 'utf8');

          // Act
          const all = await matches(bytes, chunk, filter, true);
          const filtered = await matches(bytes, chunk, filter, false);

          // Assess
          expect(filtered.records).toEqual(all.records);
          expect(filtered.scan.records).toBe(all.scan.records);
          if (all.records.length > 0) runsWithMatches++;
        },
      ),
      { numRuns: 600 },
    );
    // Enough runs must have matches to compare, or the property would hold for a filter that drops
    // everything; about a third of random filters match a record (200 of 600 seen at the low end).
    expect(runsWithMatches).toBeGreaterThan(100);
  });

  it('skips the records that cannot match, unparsed, and counts them', async () => {
    // Prepare
    const records = IDS.map((eventID) => ({ eventID, eventName: 'GetObject' }));
    const bytes = Buffer.from(JSON.stringify({ Records: records }));

    // Act
    const read = await matchFile(chunked(bytes, 1 << 20), { eventId: '3d4e' });

    // Assess
    expect(read.matches.map((m) => m.record?.eventID)).toEqual(['3d4e']);
    expect(read.scan).toMatchObject({ records: 3, filteredRecords: 2 });
  });

  it('finds a value written with \\u escapes, and with \\/ for a slash', async () => {
    // Prepare
    const doc =
      '{"Records":[{"eventName":"\\u0053topLogging"},{"eventName":"GetObject","userIdentity":{"userName":"ci\\/deploy"}}]}';

    // Act
    const byName = await matchFile(chunked(Buffer.from(doc), 16), { eventName: 'StopLogging' });
    const byUser = await matchFile(chunked(Buffer.from(doc), 16), { username: 'ci/deploy' });

    // Assess
    expect(byName.matches).toHaveLength(1);
    expect(byUser.matches).toHaveLength(1);
  });

  it('filters nothing for a value only escapes can write, nor for made-up user names', () => {
    expect(BytePrefilter.of(prefilterGroups({ username: 'a"quote' }))).toBeUndefined();
    expect(BytePrefilter.of(prefilterGroups({ eventName: 'tab\there' }))).toBeUndefined();
    expect(BytePrefilter.of(prefilterGroups({ username: 'AWS service' }))).toBeUndefined();
    expect(BytePrefilter.of(prefilterGroups({ resourceType: 'AWS::IAM::Role' }))).toBeUndefined();
    expect(prefilterGroups({ username: 'root' })).toEqual([['root', 'Root']]);
  });
});

/**
 * The resource tables on real records: every service in the Stratus detonation logs has, beside its table,
 * an examples file naming real records (by event ID) and the resources they name; each is checked here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '#shared/record.ts';
import { MAX_ELEMENTS, MAX_NAME_CHARS } from '#shared/resources/extract.ts';
import {
  extractResources,
  nameMatches,
  namesResource,
  parsePath,
  type ResourceRef,
  TABLES,
  valuesAt,
} from '#shared/resources/index.ts';
import { record, repoRoot, stratusDir } from '#test/support/logfiles.ts';

interface Example {
  fixture: string;
  eventID: string;
  eventName: string;
  resources: ResourceRef[];
}

const examplesDir = resolve(repoRoot, 'shared/resources/examples');
const examples = new Map<string, Example[]>(
  readdirSync(examplesDir).map((f) => [
    f.replace(/\.json$/, ''),
    JSON.parse(readFileSync(resolve(examplesDir, f), 'utf8')) as Example[],
  ]),
);
const fixtureRecords = readdirSync(stratusDir)
  .filter((f) => f.startsWith('aws.') && f.endsWith('.json'))
  .flatMap((f) =>
    (JSON.parse(readFileSync(resolve(stratusDir, f), 'utf8')) as CloudTrailRecord[]).map((r) => ({ f, r })),
  );
const service = (source: string) => source.replace(/\.amazonaws\.com$/, '');

describe('resource tables on real records', () => {
  it('have examples for every service and every event name the detonation logs hold', () => {
    // Prepare
    const inFixtures = new Set(fixtureRecords.map(({ r }) => `${service(r.eventSource!)} ${r.eventName}`));
    const inExamples = new Set(
      [...examples].flatMap(([svc, list]) => list.map((e) => `${svc} ${e.eventName}`)),
    );
    // Assess
    expect([...inFixtures].filter((k) => !inExamples.has(k))).toEqual([]);
    expect(examples.size).toBe(new Set(fixtureRecords.map(({ r }) => r.eventSource)).size);
  });

  it.each([...examples])('%s: each example record names exactly its resources', (_svc, list) => {
    for (const ex of list) {
      // Prepare
      const found = fixtureRecords.filter(({ f, r }) => f === ex.fixture && r.eventID === ex.eventID);
      // Act
      const resources = extractResources(found[0]?.r);
      // Assess
      expect(found, `${ex.fixture} ${ex.eventID}`).toHaveLength(1);
      expect(resources, `${ex.eventName} ${ex.eventID}`).toEqual(ex.resources);
    }
  });

  it('name a resource in most records of the services that have some: the gap Event history fills', () => {
    // Act
    const named = fixtureRecords.filter(({ r }) => extractResources(r).length > 0);
    const listed = fixtureRecords.filter(({ r }) => Array.isArray(r.resources));
    // Assess: CloudTrail's own resources[] covers a few records; the tables cover many more.
    expect(named.length).toBeGreaterThan(listed.length * 3);
  });
});

describe('tables', () => {
  it('cover the services an investigation asks about', () => {
    const sources = new Set(TABLES.map((t) => t.eventSource));
    for (const s of [
      'iam',
      'sts',
      'ec2',
      's3',
      'cloudtrail',
      'kms',
      'secretsmanager',
      'ssm',
      'lambda',
      'rds',
      'organizations',
      'guardduty',
      'config',
      'logs',
      'sns',
      'sqs',
      'dynamodb',
      'ecs',
      'eks',
      'rolesanywhere',
    ]) {
      expect(sources.has(`${s}.amazonaws.com`), s).toBe(true);
    }
  });

  it('use CloudFormation-style type names and patterns every engine reads (no lookaround)', () => {
    for (const t of TABLES) {
      for (const rule of t.rules) {
        expect(rule.type).toMatch(/^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$/);
        for (const p of [rule.events, rule.match]) {
          if (p instanceof RegExp) expect(p.source).not.toMatch(/\(\?[=!<]/);
        }
        for (const path of rule.paths)
          expect(path).toMatch(/^(requestParameters|responseElements)(\.[A-Za-z0-9_]+(\[\])?)+$/);
      }
    }
  });
});

describe('extractResources', () => {
  it('reads resources[] (typing an entry without a type from its ARN) before the request', () => {
    // Prepare
    const r = record({
      eventSource: 'kms.amazonaws.com',
      eventName: 'Decrypt',
      requestParameters: { keyId: 'alias/orders' },
      resources: [{ ARN: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }],
    });
    // Act / Assess
    expect(extractResources(r)).toEqual([
      {
        type: 'AWS::KMS::Key',
        name: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      },
      { type: 'AWS::KMS::Alias', name: 'alias/orders' },
    ]);
  });

  it('keeps an ARN and drops the bare name it already says, per type', () => {
    // Prepare
    const r = record({
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateUser',
      requestParameters: { userName: 'eve' },
      responseElements: { user: { userName: 'eve', arn: 'arn:aws:iam::111122223333:user/eve' } },
    });
    // Assess
    expect(extractResources(r)).toEqual([
      { type: 'AWS::IAM::User', name: 'arn:aws:iam::111122223333:user/eve' },
    ]);
  });

  it('types EC2 ids of any kind by prefix, and reads an object where an array was expected', () => {
    // Prepare
    const tags = record({
      eventSource: 'ec2.amazonaws.com',
      eventName: 'CreateTags',
      requestParameters: {
        resourcesSet: {
          items: [{ resourceId: 'vol-0abc' }, { resourceId: 'i-0abc' }, { resourceId: 'x-1' }],
        },
      },
    });
    const flowLogs = record({
      eventSource: 'ec2.amazonaws.com',
      eventName: 'DeleteFlowLogs',
      requestParameters: { DeleteFlowLogsRequest: { FlowLogId: [{ content: 'fl-1' }, { content: 'fl-2' }] } },
    });
    // Assess
    expect(extractResources(tags)).toEqual([
      { type: 'AWS::EC2::Instance', name: 'i-0abc' },
      { type: 'AWS::EC2::Volume', name: 'vol-0abc' },
    ]);
    expect(extractResources(flowLogs).map((x) => x.name)).toEqual(['fl-1', 'fl-2']);
  });

  it('names S3 buckets and objects of data events, the object by its ARN', () => {
    // Prepare: an S3 data event as CloudTrail writes it (AWS's documented GetObject example's shape).
    const r = record({
      eventSource: 's3.amazonaws.com',
      eventName: 'GetObject',
      requestParameters: { bucketName: 'reports', key: 'q1/summary.csv', Host: 'reports.s3.amazonaws.com' },
      resources: [
        { type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::reports/q1/summary.csv' },
        { accountId: '111122223333', type: 'AWS::S3::Bucket', ARN: 'arn:aws:s3:::reports' },
      ],
    });
    // Act
    const found = extractResources(r);
    // Assess
    expect(found).toEqual([
      { type: 'AWS::S3::Object', name: 'arn:aws:s3:::reports/q1/summary.csv' },
      { type: 'AWS::S3::Bucket', name: 'arn:aws:s3:::reports' },
    ]);
    expect(namesResource(r, { name: 'reports', type: 'AWS::S3::Bucket' })).toBe(true);
    expect(namesResource(r, { name: 'summary.csv', type: 'AWS::S3::Object' })).toBe(true);
    expect(namesResource(r, { name: 'reports', type: 'AWS::S3::Object' })).toBe(false);
  });

  it('is total and bounded on hostile records', () => {
    // Prepare
    const many = Array.from({ length: 5000 }, (_, i) => ({ instanceId: `i-${i}` }));
    const hostile = [
      null,
      42,
      'x',
      { eventSource: 'ec2.amazonaws.com', requestParameters: { instancesSet: { items: many } } },
      {
        eventSource: 'iam.amazonaws.com',
        requestParameters: { userName: { toString: 1 } },
        resources: [null, 5, { ARN: 7 }],
      },
      { eventSource: 'iam.amazonaws.com', requestParameters: { userName: 'x'.repeat(5000) } },
      {
        eventSource: 'constructor',
        eventName: 'toString',
        requestParameters: { __proto__: { userName: 'y' } },
      },
    ];
    // Act
    const out = hostile.map((h) => extractResources(h));
    // Assess
    expect(out[3].length).toBeLessThanOrEqual(200);
    expect(out.filter((_, i) => i !== 3).every((o) => o.length === 0)).toBe(true);
  });
});

describe('nameMatches', () => {
  it('matches the whole value or its end after / or :, exactly and case-sensitively', () => {
    const arn = 'arn:aws:ssm:us-east-1:111122223333:parameter/app/db/password';
    expect(nameMatches(arn, arn)).toBe(true);
    expect(nameMatches(arn, 'password')).toBe(true);
    expect(nameMatches(arn, 'db/password')).toBe(true);
    expect(nameMatches(arn, '/app/db/password')).toBe(true);
    expect(nameMatches(arn, 'parameter/app/db/password')).toBe(true);
    expect(nameMatches(arn, 'word')).toBe(false);
    expect(nameMatches(arn, 'Password')).toBe(false);
    expect(nameMatches('i-123', 'i-12')).toBe(false);
  });

  it('walks paths with [] over arrays and single objects', () => {
    expect(valuesAt({ a: [{ b: 'x' }, { b: 'y' }] }, parsePath('a[].b'))).toEqual(['x', 'y']);
    expect(valuesAt({ a: { b: 'x' } }, parsePath('a[].b'))).toEqual(['x']);
    expect(valuesAt({ a: { b: ['x', 3, 'y'] } }, parsePath('a.b'))).toEqual(['x', 'y']);
  });

  it('finds along any path what a walk keeping every value of each step finds', () => {
    // The plain walk, one list of values per step: the definition the single-value fast path must keep.
    const reference = (root: unknown, path: string): string[] => {
      let level: unknown[] = [root];
      for (const step of parsePath(path)) {
        const next: unknown[] = [];
        for (const v of level) {
          if (typeof v !== 'object' || v === null || Array.isArray(v) || !Object.hasOwn(v, step.key))
            continue;
          const child = (v as Record<string, unknown>)[step.key];
          if (step.each && Array.isArray(child)) next.push(...child.slice(0, MAX_ELEMENTS));
          else next.push(child);
        }
        level = next;
      }
      const out: string[] = [];
      for (const v of level) {
        if (Array.isArray(v)) {
          for (const e of v.slice(0, MAX_ELEMENTS)) if (typeof e === 'string') out.push(e);
        } else if (typeof v === 'string') out.push(v);
      }
      return out.filter((x) => x !== '' && x.length <= MAX_NAME_CHARS);
    };
    const key = fc.constantFrom('a', 'b', 'c');
    const leaf = fc.oneof(fc.constantFrom('', 'x', 'y'), fc.integer(), fc.constant(null));
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(key, tie('value'), { maxKeys: 3 }),
      ),
    }));
    const path = fc
      .array(fc.tuple(key, fc.boolean()), { minLength: 1, maxLength: 4 })
      .map((steps) => steps.map(([k, each]) => (each ? `${k}[]` : k)).join('.'));

    fc.assert(
      fc.property(value, path, (root, p) => {
        expect(valuesAt(root, parsePath(p))).toEqual(reference(root, p));
      }),
      { numRuns: 2000 },
    );
  });
});

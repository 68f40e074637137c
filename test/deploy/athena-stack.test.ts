/**
 * `osls package` with the Athena parameters: the Glue database and table come from the stack parameters
 * (the default stack, without athenaTable, has none: test/deploy/package.test.ts).
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageStack, resourcesOfType, type Template } from '#test/support/template.ts';

let template: Template;
let dir: string;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  ({ template, dir } = await packageStack({
    trailBucket: 'acme-trail',
    trailPrefix: 'org/',
    athenaTable: 'true',
    orgId: 'o-a1b2c3d4e5',
    athenaAccounts: '111122223333,444455556666',
    athenaRegions: 'us-east-1,eu-west-1',
  }));
}, 180_000);

describe('osls package with athenaTable=true', () => {
  it('creates the Glue table over the organization trail with partition projection on account, region and day', () => {
    // Assess
    expect(resourcesOfType(template, 'AWS::Glue::Database')).toHaveLength(1);
    const [[, table]] = resourcesOfType(template, 'AWS::Glue::Table');
    const input = table.Properties.TableInput;
    expect(input.Name).toBe('cloudtrail_logs');
    expect(table.Properties.DatabaseName).toBe('trailwatch');
    expect(input.StorageDescriptor.Location).toBe('s3://acme-trail/org/AWSLogs/o-a1b2c3d4e5/');
    expect(input.Parameters['projection.account.values']).toBe('111122223333,444455556666');
    expect(input.Parameters['projection.region.values']).toBe('us-east-1,eu-west-1');
    expect(input.PartitionKeys.map((k: { Name: string }) => k.Name)).toEqual([
      'account',
      'region',
      'timestamp',
    ]);
  });
});

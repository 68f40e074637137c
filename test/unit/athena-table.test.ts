/**
 * The Athena table: one definition (deploy/athena-table.cjs) for the stack's Glue table and for
 * `trailwatch athena ddl`, following AWS's documented CloudTrail table with partition projection.
 */
import { describe, expect, it } from 'vitest';
import { ddl } from '#cli/commands/athena.ts';
import { CliError } from '#cli/errors.ts';
import { COLUMNS, createTableDdl, glueResources, resources } from '#deploy/athena-table.cjs';

/** Athena's `${name}` projection placeholder. */
const $ = (name: string) => `$\{${name}}`;
const ORG = { bucket: 'acme-trail', prefix: 'org/', orgId: 'o-a1b2c3d4e5', regions: 'us-east-1,eu-west-1' };

describe('athena table', () => {
  it('projects account, region and day over the organization trail layout', () => {
    // Act
    // biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
    const { AthenaTable } = glueResources({ ...ORG, accounts: '111122223333,444455556666' }) as any;
    const input = AthenaTable.Properties.TableInput;
    // Assess
    expect(input.PartitionKeys.map((k: { Name: string }) => k.Name)).toEqual([
      'account',
      'region',
      'timestamp',
    ]);
    expect(input.StorageDescriptor.Location).toBe('s3://acme-trail/org/AWSLogs/o-a1b2c3d4e5/');
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.account.type': 'enum',
      'projection.account.values': '111122223333,444455556666',
      'projection.region.values': 'us-east-1,eu-west-1',
      'projection.timestamp.format': 'yyyy/MM/dd',
      'storage.location.template': `s3://acme-trail/org/AWSLogs/o-a1b2c3d4e5/${$('account')}/CloudTrail/${$('region')}/${$('timestamp')}`,
    });
    expect(input.StorageDescriptor.InputFormat).toBe('com.amazon.emr.cloudtrail.CloudTrailInputFormat');
    expect(
      input.StorageDescriptor.Columns.find((c: { Name: string }) => c.Name === 'requestparameters').Type,
    ).toBe('string');
  });

  it('injects the account partition when no account list is given', () => {
    expect(createTableDdl(ORG)).toContain("'projection.account.type'='injected'");
  });

  it('prints the same table as DDL: every column, partition and property', () => {
    // Act
    const text = ddl({ ...ORG, accounts: '111122223333' });
    // Assess
    for (const [name, type] of COLUMNS) expect(text).toContain(`\`${name}\` ${type}`);
    expect(text).toContain('PARTITIONED BY (`account` string, `region` string, `timestamp` string)');
    expect(text).toContain("LOCATION 's3://acme-trail/org/AWSLogs/o-a1b2c3d4e5/'");
    expect(text.trimEnd().endsWith(');')).toBe(true);
  });

  it('names the option of a bad value in one line', () => {
    expect(() => ddl({ ...ORG, accounts: '12' })).toThrow(CliError);
    expect(() => ddl({ ...ORG, accounts: '12' })).toThrow(
      /^--accounts: expected 12-digit account IDs, found '12'$/,
    );
    expect(() => ddl({ ...ORG, orgId: 'org' })).toThrow(/^--org-id must look like o-/);
    expect(() => ddl({ ...ORG, prefix: 'org' })).toThrow(/^--prefix must end with/);
  });

  it('adds nothing to the stack unless athenaTable is true', async () => {
    // Prepare: what osls hands a ${file(...)} function
    const args = (enabled: string) => ({
      resolveConfigurationProperty: async () => ({ trailwatch: { athena: { ...ORG, enabled } } }),
    });
    // Act / Assess
    expect(await resources(args('false'))).toEqual({});
    expect(Object.keys(await resources(args('true')))).toEqual(['AthenaDatabase', 'AthenaTable']);
  });
});

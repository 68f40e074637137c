import { describe, expect, it } from 'vitest';
import {
  checkFilter,
  LookupError,
  type LookupFilter,
  matchesFilter,
  resourceId,
  userNames,
} from '#cli/lookup/filter.ts';
import { toRow } from '#cli/lookup/row.ts';
import type { TrailKey } from '#shared/keys.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { record, stratusRecords } from '#test/support/logfiles.ts';

const passwordData = stratusRecords('aws.credential-access.ec2-get-password-data');
const ssmParameters = stratusRecords('aws.credential-access.ssm-retrieve-securestring-parameters');
const federation = stratusRecords('aws.persistence.sts-federation-token');

const matching = (records: CloudTrailRecord[], f: LookupFilter) => records.filter((r) => matchesFilter(r, f));

describe('username', () => {
  it('finds an IAM user by user name and nothing by a different case or a part of it', () => {
    // Prepare
    const users = passwordData.filter((r) => r.userIdentity?.type === 'IAMUser');
    // Act
    const exact = matching(passwordData, { username: 'christophe' });
    const upper = matching(passwordData, { username: 'Christophe' });
    const part = matching(passwordData, { username: 'christ' });
    // Assess
    expect(users.length).toBeGreaterThan(0);
    expect(exact).toEqual(users);
    expect(upper).toEqual([]);
    expect(part).toEqual([]);
  });

  it('finds an assumed role by its session name and by the role name, as Event history does', () => {
    // Prepare
    const assumed = passwordData.filter((r) => r.userIdentity?.type === 'AssumedRole');
    const session = assumed[0].userIdentity!.arn!.split('/').pop()!;
    // Act
    const bySession = matching(passwordData, { username: session });
    const byRole = matching(passwordData, { username: 'stratus-red-team-ec2-get-password-data-role' });
    // Assess
    expect(assumed.length).toBeGreaterThan(0);
    expect(bySession).toEqual(assumed);
    expect(byRole).toEqual(assumed);
  });

  it('finds a federated user by its federated name and the root user as root', () => {
    // Prepare
    const root = record({
      userIdentity: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' },
    });
    const federated = federation.filter((r) => r.userIdentity?.type === 'FederatedUser');
    // Act
    const byName = matching(federation, { username: 'stratus_red_team' });
    // Assess
    expect(federated).toHaveLength(1);
    expect(byName).toEqual(federated);
    expect(userNames(root)).toContain('root');
    expect(matchesFilter(root, { username: 'root' })).toBe(true);
  });

  it('finds a service by the name in invokedBy', () => {
    const r = record({ userIdentity: { type: 'AWSService', invokedBy: 'config.amazonaws.com' } });
    expect(matchesFilter(r, { username: 'config.amazonaws.com' })).toBe(true);
    expect(matchesFilter(r, { username: 'config' })).toBe(false);
  });
});

describe('resources', () => {
  it('shows an ARN by the id after its resource type', () => {
    expect(resourceId('arn:aws:s3:::my-bucket')).toBe('my-bucket');
    expect(resourceId('arn:aws:iam::111122223333:role/admin')).toBe('admin');
    expect(resourceId('arn:aws:lambda:us-east-1:111122223333:function:f1')).toBe('f1');
  });

  it('finds the one GetParameters call that read a given parameter, by name or by ARN', () => {
    // Prepare
    const arn = 'arn:aws:ssm:cn-west-3r:933175858973:parameter/credentials/stratus-red-team/credentials-15';
    const expected = ssmParameters.filter((r) => r.resources?.some((e) => e.ARN === arn));
    // Act
    const byName = matching(ssmParameters, { resourceName: 'credentials-15' });
    const byArn = matching(ssmParameters, { resourceName: arn });
    const byPath = matching(ssmParameters, { resourceName: 'credentials/stratus-red-team/credentials-15' });
    const byPartOfName = matching(ssmParameters, { resourceName: 'credentials-' });
    const byParameterName = matching(ssmParameters, {
      resourceName: '/credentials/stratus-red-team/credentials-15',
    });
    // Assess
    expect(expected).toHaveLength(1);
    expect(byName).toEqual(expected);
    expect(byArn).toEqual(expected);
    expect(byPath).toEqual(expected);
    expect(byPartOfName).toEqual([]);
    expect(byParameterName).toEqual(expected);
  });

  it('finds resources CloudTrail does not list, from the request and the response', () => {
    // Prepare: real records without resources[]
    const stop = stratusRecords('aws.defense-evasion.cloudtrail-stop').find(
      (r) => r.eventName === 'StopLogging',
    )!;
    // Act / Assess
    expect(stop.resources).toBeUndefined();
    expect(matchesFilter(stop, { resourceName: 'stratus-red-team-ct-stop-trail-buykxbqejv' })).toBe(true);
    expect(matchesFilter(stop, { resourceType: 'AWS::CloudTrail::Trail' })).toBe(true);
    expect(matchesFilter(stop, { resourceType: 'AWS::CloudTrail::Trail', resourceName: 'other-trail' })).toBe(
      false,
    );
  });

  it('matches the resource type of an entry, and name and type on the same entry', () => {
    // Prepare
    const r = record({
      resources: [
        { ARN: 'arn:aws:iam::111122223333:role/admin', type: 'AWS::IAM::Role' },
        { ARN: 'arn:aws:s3:::reports', type: 'AWS::S3::Bucket' },
      ],
    });
    // Act / Assess
    expect(matchesFilter(r, { resourceType: 'AWS::S3::Bucket' })).toBe(true);
    expect(matchesFilter(r, { resourceType: 'AWS::S3::Object' })).toBe(false);
    expect(matchesFilter(r, { resourceType: 'AWS::IAM::Role', resourceName: 'admin' })).toBe(true);
    expect(matchesFilter(r, { resourceType: 'AWS::IAM::Role', resourceName: 'reports' })).toBe(false);
    expect(matchesFilter(record({}), { resourceName: 'admin' })).toBe(false);
  });
});

describe('time range, flags and ids', () => {
  it('includes both ends of the time range and leaves out records without a time', () => {
    // Prepare
    const at = (t: string) => record({ eventTime: t });
    const f: LookupFilter = {
      startTime: new Date('2026-11-20T10:00:00Z'),
      endTime: new Date('2026-11-20T11:00:00Z'),
    };
    // Act / Assess
    expect(matchesFilter(at('2026-11-20T10:00:00Z'), f)).toBe(true);
    expect(matchesFilter(at('2026-11-20T11:00:00Z'), f)).toBe(true);
    expect(matchesFilter(at('2026-11-20T09:59:59Z'), f)).toBe(false);
    expect(matchesFilter(at('2026-11-20T11:00:01Z'), f)).toBe(false);
    expect(matchesFilter(record({ eventTime: undefined }), f)).toBe(false);
    expect(matchesFilter(record({ eventTime: undefined }), {})).toBe(true);
  });

  it('filters on the readOnly flag, and on the verb when a record lacks it', () => {
    // Prepare
    const writes = passwordData.filter((r) => r.readOnly === false);
    const noFlag = record({ readOnly: undefined, eventName: 'DescribeInstances' });
    // Act / Assess
    expect(matching(passwordData, { readOnly: false })).toEqual(writes);
    expect(matching(passwordData, { readOnly: true })).toHaveLength(passwordData.length - writes.length);
    expect(matchesFilter(noFlag, { readOnly: true })).toBe(true);
  });

  it('takes an event source by its endpoint or its service prefix', () => {
    // Prepare
    const ec2 = passwordData.filter((r) => r.eventSource === 'ec2.amazonaws.com');
    // Act / Assess
    expect(ec2.length).toBeGreaterThan(0);
    expect(matching(passwordData, { eventSource: 'ec2.amazonaws.com' })).toEqual(ec2);
    expect(matching(passwordData, { eventSource: 'ec2' })).toEqual(ec2);
    expect(matching(passwordData, { eventSource: 'ec' })).toEqual([]);
  });

  it('finds one event by ID and the calls signed by one access key, all attributes combined with AND', () => {
    // Prepare
    const one = passwordData[7];
    const key = one.userIdentity!.accessKeyId!;
    const signed = passwordData.filter((r) => r.userIdentity?.accessKeyId === key);
    // Act / Assess
    expect(matching(passwordData, { eventId: one.eventID! })).toEqual([one]);
    expect(matching(passwordData, { accessKeyId: key })).toEqual(signed);
    expect(
      matching(passwordData, { accessKeyId: key, eventName: one.eventName!, eventId: one.eventID! }),
    ).toEqual([one]);
    expect(matching(passwordData, { accessKeyId: key, eventName: 'NoSuchCall' })).toEqual([]);
  });

  it('rejects a start after the end and empty values', () => {
    expect(() => checkFilter({ startTime: new Date('2026-01-02'), endTime: new Date('2026-01-01') })).toThrow(
      LookupError,
    );
    expect(() => checkFilter({ eventName: '' })).toThrow(/eventName must not be empty/);
    expect(() =>
      checkFilter({ startTime: new Date('2026-01-01'), endTime: new Date('2026-01-01') }),
    ).not.toThrow();
  });

  it('does not throw on records whose fields have unexpected types', () => {
    // Prepare
    const odd = {
      userIdentity: { arn: 42, userName: 7 },
      resources: [null, 'x', { ARN: 5 }],
      eventTime: 12,
    } as unknown as CloudTrailRecord;
    // Act / Assess
    expect(
      matchesFilter(odd, { username: 'x', resourceName: 'x', resourceType: 'x', startTime: new Date(0) }),
    ).toBe(false);
    expect(matchesFilter(odd, {})).toBe(true);
  });
});

describe('row', () => {
  it('says who did what, when, on which resource and from where', () => {
    // Prepare
    const r = ssmParameters.find((x) => Array.isArray(x.resources))!;
    const file = {
      kind: 'log',
      key: 'k',
      prefix: '',
      account: '999999999999',
      region: 'xx-1',
      day: '',
      time: new Date(),
    } as TrailKey;
    // Act
    const row = toRow({ record: r, file });
    // Assess
    expect(row).toMatchObject({
      eventTime: r.eventTime,
      account: r.recipientAccountId,
      region: r.awsRegion,
      eventName: r.eventName,
      username: 'christophe',
      principalArn: r.userIdentity!.arn,
      accessKeyId: r.userIdentity!.accessKeyId,
      sourceIPAddress: r.sourceIPAddress,
      userAgent: r.userAgent,
      readOnly: r.readOnly,
      errorCode: null,
      eventID: r.eventID,
    });
    expect(row.resources.map((x) => x.name)).toEqual(r.resources!.map((e) => e.ARN));
    expect(row.resources.every((x) => x.type === 'AWS::SSM::Parameter')).toBe(true);
  });
});

/** The resources `trailwatch changes` groups calls by, read from real records. */
import { describe, expect, it } from 'vitest';
import { changeOf, groupChanges } from '#cli/changes/find-changes.ts';
import { resourcesOf } from '#cli/changes/resources.ts';
import { record, stratusRecords } from '#test/support/logfiles.ts';

const first = (technique: string, eventName: string) => {
  const r = stratusRecords(technique).find((x) => x.eventName === eventName);
  if (!r) throw new Error(`expected a ${eventName} record in ${technique}`);
  return r;
};

describe('resourcesOf', () => {
  it('names the security group, the instances, the user and the role of real calls', () => {
    expect(
      resourcesOf(
        first('aws.exfiltration.ec2-security-group-open-port-22-ingress', 'AuthorizeSecurityGroupIngress'),
      ),
    ).toEqual(['sg-003dc7f1f1c686164']);
    expect(resourcesOf(first('aws.execution.ec2-user-data', 'StopInstances'))).toEqual([
      'i-DDd6c7B0e18F0E35f',
    ]);
    expect(resourcesOf(first('aws.persistence.iam-create-admin-user', 'CreateUser'))).toContain(
      'malicious-iam-user',
    );
    expect(resourcesOf(first('aws.persistence.iam-backdoor-role', 'UpdateAssumeRolePolicy'))).toEqual([
      'stratus-red-team-backdoor-r-role',
    ]);
  });

  it('takes the resource id of resources[] ARNs and ignores fields of other types', () => {
    expect(
      resourcesOf(
        record({
          resources: [{ ARN: 'arn:aws:s3:::orders-data', type: 'AWS::S3::Bucket' }],
          requestParameters: { bucketName: 'orders-data', groupId: 7 },
        }),
      ),
    ).toEqual(['orders-data']);
    expect(resourcesOf(record({ requestParameters: null, resources: undefined }))).toEqual([]);
  });
});

describe('groupChanges', () => {
  it('orders each group newest first and groups by their newest change', () => {
    const at = (t: string, id: string, groupId: string) =>
      changeOf(
        record({
          eventTime: t,
          eventID: id,
          eventName: 'AuthorizeSecurityGroupIngress',
          requestParameters: { groupId },
        }),
      );
    const groups = groupChanges([
      at('2026-01-01T10:00:00Z', 'a', 'sg-1'),
      at('2026-01-01T10:20:00Z', 'b', 'sg-2'),
      at('2026-01-01T10:10:00Z', 'c', 'sg-1'),
    ]);
    expect(groups.map((g) => [g.resource, g.changes.map((c) => c.eventId)])).toEqual([
      ['sg-2', ['b']],
      ['sg-1', ['c', 'a']],
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { alertData, SNS_MAX_BYTES, utf8Bytes } from '#shared/notify/alert-message.ts';
import { summarizeEvent } from '#shared/notify/describe.ts';
import { buildRuleNotifications } from '#shared/notify/rule-alerts.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { RuleEvaluator } from '#shared/rules/evaluate.ts';
import { defaultRules } from '#shared/rules/load.ts';
import { stratusRecords } from '#test/support/logfiles.ts';

const TOPIC = 'arn:aws:sns:us-east-1:111122223333:trailwatch-alerts';
const SOURCE = {
  bucket: 'org-trail',
  key: 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/08/01/111122223333_CloudTrail_us-east-1_20240801T1235Z_abc.json.gz',
};

function notify(records: CloudTrailRecord[], options: { account?: string; region?: string } = {}) {
  const evaluator = new RuleEvaluator(defaultRules());
  for (const r of records) evaluator.onRecord(r);
  return buildRuleNotifications(evaluator.results(), { topic: TOPIC, source: SOURCE, ...options });
}

const deniedRecord = (i: number, role: string, errorCode = 'AccessDenied'): CloudTrailRecord => ({
  eventVersion: '1.09',
  userIdentity: {
    type: 'AssumedRole',
    arn: `arn:aws:sts::111122223333:assumed-role/${role}/i-0abc`,
    accountId: '111122223333',
    accessKeyId: 'ASIAEXAMPLE',
    sessionContext: {
      sessionIssuer: { type: 'Role', arn: `arn:aws:iam::111122223333:role/${role}`, userName: role },
    },
  },
  eventTime: `2024-08-01T12:3${i % 5}:00Z`,
  eventSource: i % 3 ? 's3.amazonaws.com' : 'kms.amazonaws.com',
  eventName: i % 3 ? 'GetObject' : 'Decrypt',
  awsRegion: 'us-east-1',
  sourceIPAddress: '10.1.2.3',
  userAgent: 'aws-sdk-java/1.12',
  errorCode,
  errorMessage: 'Access Denied',
  requestParameters: { bucketName: 'payroll', key: `exports/${i}.csv` },
  eventID: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
  recipientAccountId: '111122223333',
});

describe('rule notifications', () => {
  it('say who did what, when, where, to which resource, with event id and log file', () => {
    // Prepare
    const record: CloudTrailRecord = {
      eventVersion: '1.09',
      userIdentity: {
        type: 'IAMUser',
        principalId: 'AIDAEXAMPLE',
        arn: 'arn:aws:iam::111122223333:user/alice',
        accountId: '111122223333',
        accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
        userName: 'alice',
      },
      eventTime: '2024-08-01T12:34:56Z',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'AuthorizeSecurityGroupIngress',
      awsRegion: 'eu-west-1',
      sourceIPAddress: '203.0.113.9',
      userAgent: 'aws-cli/2.15.30',
      requestParameters: {
        groupId: 'sg-0123456789abcdef0',
        ipProtocol: 'tcp',
        fromPort: 22,
        toPort: 22,
        cidrIp: '0.0.0.0/0',
      },
      responseElements: {
        _return: true,
        securityGroupRuleSet: { items: [{ securityGroupRuleId: 'sgr-0abc' }] },
      },
      eventID: 'e1a2b3c4-0000-4000-8000-000000000001',
      recipientAccountId: '111122223333',
    };

    // Act
    const [n, ...rest] = notify([record]);
    const email = (JSON.parse(n.message) as { email: string }).email;
    const data = alertData(n.message) as Record<string, unknown>;

    // Assess
    expect(rest).toEqual([]);
    expect(n.subject).toBe('[MEDIUM] Security group changed by alice (111122223333, eu-west-1)');
    expect(email).toContain(
      'Who:       arn:aws:iam::111122223333:user/alice (IAMUser, access key AKIAIOSFODNN7EXAMPLE)',
    );
    expect(email).toContain('Agent:     aws-cli/2.15.30');
    expect(email).toContain('What:      ec2.amazonaws.com AuthorizeSecurityGroupIngress');
    expect(email).toContain('When:      2024-08-01T12:34:56Z');
    expect(email).toContain('Where:     eu-west-1, account 111122223333, from 203.0.113.9');
    expect(email).toContain(
      'Resources: AWS::EC2::SecurityGroup sg-0123456789abcdef0, securityGroupRuleId=sgr-0abc',
    );
    expect(email).toContain(
      'Request:   groupId=sg-0123456789abcdef0, ipProtocol=tcp, fromPort=22, toPort=22, cidrIp=0.0.0.0/0',
    );
    expect(email).toContain('Event ID:  e1a2b3c4-0000-4000-8000-000000000001');
    expect(email).toContain(`Log file: s3://${SOURCE.bucket}/${SOURCE.key}`);
    expect(email).toContain('Rule: CloudWatch.10');
    expect(email).toContain('Metric: Trailwatch/SecurityGroupChanges');
    expect(data).toMatchObject({
      kind: 'rule',
      severity: 'MEDIUM',
      count: 1,
      rule: { id: 'CloudWatch.10', metricName: 'SecurityGroupChanges' },
      logFile: SOURCE,
      eventIds: ['e1a2b3c4-0000-4000-8000-000000000001'],
    });
  });

  it('summarize a storm in one message per rule: counts per principal, API and error code, few examples', () => {
    // Prepare
    const records = [
      ...Array.from({ length: 10_000 }, (_, i) => deniedRecord(i, 'etl-job')),
      ...Array.from({ length: 30 }, (_, i) => deniedRecord(i, 'reporting', 'Client.UnauthorizedOperation')),
    ];

    // Act
    const notes = notify(records);
    const cw2 = notes.find((n) => n.attributes.rule === 'CloudWatch.2')!;
    const email = (JSON.parse(cw2.message) as { email: string }).email;
    const data = alertData(cw2.message) as {
      count: number;
      events: unknown[];
      principals: { value: string; count: number }[];
    };

    // Assess
    expect(notes.map((n) => n.attributes.rule).sort()).toEqual(['CIS.4.1', 'CloudWatch.2']);
    expect(cw2.subject).toBe('[MEDIUM] Unauthorized API calls: 10,030 events (111122223333, us-east-1)');
    expect(email).toContain('10,030 matching events from 2 principals');
    expect(email).toMatch(
      /Principals:\n\s+10,000 {2}arn:aws:sts::111122223333:assumed-role\/etl-job\/i-0abc\n\s+30 {2}arn:aws:sts::111122223333:assumed-role\/reporting\/i-0abc/,
    );
    expect(email).toMatch(
      /APIs:\n\s+6,686 {2}s3\.amazonaws\.com GetObject\n\s+3,344 {2}kms\.amazonaws\.com Decrypt/,
    );
    expect(email).toMatch(/Error codes:\n\s+10,000 {2}AccessDenied\n\s+30 {2}Client\.UnauthorizedOperation/);
    expect(email.match(/^Example \d+$/gm)).toEqual(['Example 1', 'Example 2', 'Example 3']);
    expect(email).toContain('assumed-role/reporting/i-0abc (AssumedRole');
    expect(email.split('\n').length).toBeLessThan(120);
    expect(utf8Bytes(cw2.message)).toBeLessThan(64 * 1024);
    expect(data.count).toBe(10_030);
    expect(data.events.length).toBeLessThanOrEqual(5);
  });

  it('stay bounded for a record with huge, deep or odd request parameters', () => {
    // Prepare
    let deep: unknown = 'end';
    for (let i = 0; i < 10_000; i++) deep = { next: deep };
    const record = {
      ...deniedRecord(1, 'bulk'),
      requestParameters: {
        policy: 'P'.repeat(2_000_000),
        items: Array.from({ length: 100_000 }, (_, i) => ({ instanceId: `i-${i}` })),
        deep,
        ...Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i])),
      },
      resources: Array.from({ length: 1000 }, (_, i) => ({ ARN: `arn:aws:s3:::b${i}` })),
    } as CloudTrailRecord;

    // Act
    const notes = notify([record]);
    const summary = summarizeEvent(record);

    // Assess
    expect(notes).toHaveLength(2);
    for (const n of notes) expect(utf8Bytes(n.message)).toBeLessThan(32 * 1024);
    expect(summary.requestParameters!.policy.length).toBeLessThanOrEqual(200);
    expect(summary.requestParameters!['...']).toBe('493 more');
    expect(summary.resources).toHaveLength(10);
  });

  it('come most severe first and carry rule, severity, account, region and kind attributes', () => {
    // Prepare
    const stop: CloudTrailRecord = {
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'StopLogging',
      userIdentity: { type: 'Root', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' },
      eventType: 'AwsApiCall',
      awsRegion: 'us-east-1',
      recipientAccountId: '111122223333',
    };

    // Act
    const notes = notify([deniedRecord(1, 'x'), stop], { account: '111122223333', region: 'us-east-1' });

    // Assess
    expect(notes.map((n) => [n.attributes.rule, n.attributes.severity])).toEqual([
      ['CloudWatch.1', 'CRITICAL'],
      ['CloudWatch.5', 'CRITICAL'],
      ['CIS.4.1', 'MEDIUM'],
      ['CloudWatch.2', 'MEDIUM'],
    ]);
    expect(notes[1].subject).toBe(
      '[CRITICAL] CloudTrail configuration changed by root (111122223333, us-east-1)',
    );
    for (const n of notes) {
      expect(n.topic).toBe(TOPIC);
      expect(n.attributes).toMatchObject({ kind: 'rule', account: '111122223333', region: 'us-east-1' });
      expect(publishSize(n)).toBeLessThanOrEqual(SNS_MAX_BYTES);
    }
  });

  it('name what is missing instead of failing on sparse records', () => {
    // Act
    const [n] = notify([{ eventName: 'DeleteTrail' }]);
    const email = (JSON.parse(n.message) as { email: string }).email;

    // Assess
    expect(n.subject).toBe('[CRITICAL] CloudTrail configuration changed');
    expect(email).toContain('in account unknown, region unknown, at an unrecorded time');
    expect(email).toContain('What:      unknown service DeleteTrail');
    expect(email).toContain('Where:     unknown region, source IP not recorded');
    expect(email).toContain('Event ID:  missing');
    expect(n.attributes).toMatchObject({ account: 'unknown', region: 'unknown' });
  });
});

function publishSize(n: { message: string; subject: string; attributes: Record<string, string> }): number {
  return (
    utf8Bytes(n.message) +
    utf8Bytes(n.subject) +
    Object.entries(n.attributes).reduce((s, [k, v]) => s + utf8Bytes(k + v) + 6, 0)
  );
}

describe('rule notifications on real records', () => {
  const evaluate = (records: CloudTrailRecord[]) => {
    const evaluator = new RuleEvaluator(defaultRules());
    for (const r of records) evaluator.onRecord(r);
    return buildRuleNotifications(evaluator.results(), {
      topic: 'alerts',
      account: '111122223333',
      region: 'us-east-1',
    });
  };
  const [stop] = stratusRecords('aws.defense-evasion.cloudtrail-stop').filter(
    (r) => r.eventName === 'StopLogging',
  );

  it('say a change that AWS refused was attempted and refused, not that it happened', () => {
    // Prepare: the real StopLogging, as CloudTrail records it when the call fails
    const refused: CloudTrailRecord = {
      ...stop,
      errorCode: 'TrailNotFoundException',
      errorMessage: 'Unknown trail: stratus-red-team-ct-stop-trail for the user: 111122223333',
      responseElements: null,
    };

    // Act
    const [failed] = evaluate([refused]).filter((n) => n.attributes.rule === 'CloudWatch.5');
    const [succeeded] = evaluate([stop]).filter((n) => n.attributes.rule === 'CloudWatch.5');

    // Assess
    expect(failed.subject).toMatch(/^\[CRITICAL\] StopLogging refused: TrailNotFoundException/);
    expect(alertData(failed.message)).toMatchObject({ count: 1, rule: { id: 'CloudWatch.5' } });
    expect(failed.message).toContain('took no effect');
    expect(succeeded.subject).toMatch(/^\[CRITICAL\] CloudTrail configuration changed/);
  });

  it('list the events of one alert in time order, whatever their order in the file', () => {
    // Prepare: the real DeleteTrail and StopLogging, the later one first in the file
    const [del] = stratusRecords('aws.defense-evasion.cloudtrail-delete').filter(
      (r) => r.eventName === 'DeleteTrail',
    );
    const later = { ...stop, eventTime: '2024-07-31T13:06:24Z' };
    const earlier = { ...del, eventTime: '2024-07-31T12:46:41Z' };

    // Act
    const [n] = evaluate([later, earlier]).filter((x) => x.attributes.rule === 'CloudWatch.5');

    // Assess
    const events = alertData(n.message)?.events as { eventName: string }[];
    expect(events.map((e) => e.eventName)).toEqual(['DeleteTrail', 'StopLogging']);
    const text = JSON.parse(n.message).default as string;
    expect(text.indexOf('DeleteTrail')).toBeLessThan(text.indexOf('StopLogging'));
  });

  it('do not count tags as resources', () => {
    // Prepare: the real CreateUser with a tag {key: StratusRedTeam, value: true}
    const [create] = stratusRecords('aws.persistence.iam-create-admin-user').filter(
      (r) => r.eventName === 'CreateUser',
    );

    // Act
    const summary = summarizeEvent(create);

    // Assess
    expect(summary.resources).toContain('arn:aws:iam::229654561268:user/malicious-iam-user');
    // The user is named once, by its ARN, not again by its name.
    expect(summary.resources.join(' ')).not.toMatch(/userName=/);
    expect(summary.resources.join(' ')).not.toMatch(/StratusRedTeam/);
  });
});

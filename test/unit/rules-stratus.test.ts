import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { alertData } from '#shared/notify/alert-message.ts';
import { buildRuleNotifications } from '#shared/notify/rule-alerts.ts';
import { RuleEvaluator } from '#shared/rules/evaluate.ts';
import { catalogRules } from '#shared/rules/load.ts';
import { stratusDir, stratusRecords } from '#test/support/logfiles.ts';

function evaluate(technique: string) {
  const evaluator = new RuleEvaluator(catalogRules());
  for (const r of stratusRecords(technique)) evaluator.onRecord(r);
  return evaluator.results();
}

/**
 * What each detonation's records should trip, read from the records themselves:
 * - AccessDenied / *UnauthorizedOperation calls trip CloudWatch.2 and the strict CIS 4.1 (none of them come
 *   from log delivery or HeadBucket);
 * - StopLogging and DeleteTrail are CloudTrail changes (PutEventSelectors is not in the CIS list);
 * - LeaveOrganization trips CIS 4.15 although it was denied (the pattern ignores the outcome);
 * - AttachUserPolicy / AttachRolePolicy are IAM policy changes (CreateUser, CreateAccessKey,
 *   UpdateAssumeRolePolicy, login profiles are not);
 * - the console login is an IAM user's successful sign-in with MFAUsed "No": CloudWatch.3;
 * - AuthorizeSecurityGroupIngress (port 22) is a security group change; DeleteFlowLogs is not a VPC change.
 */
const EXPECTED: Record<string, Record<string, number>> = {
  'aws.credential-access.ec2-get-password-data': { 'CloudWatch.2': 32, 'CIS.4.1': 32 },
  'aws.defense-evasion.cloudtrail-delete': { 'CloudWatch.5': 1 },
  'aws.defense-evasion.cloudtrail-stop': { 'CloudWatch.5': 1 },
  'aws.defense-evasion.organizations-leave': { 'CloudWatch.2': 1, 'CIS.4.15': 1, 'CIS.4.1': 1 },
  'aws.discovery.ec2-download-user-data': { 'CloudWatch.2': 17, 'CIS.4.1': 17 },
  'aws.execution.ec2-launch-unusual-instances': { 'CloudWatch.2': 1, 'CIS.4.1': 1 },
  'aws.exfiltration.ec2-security-group-open-port-22-ingress': { 'CloudWatch.10': 1 },
  'aws.initial-access.console-login-without-mfa': { 'CloudWatch.3': 1 },
  'aws.persistence.iam-create-admin-user': { 'CloudWatch.4': 1 },
  'aws.persistence.iam-create-backdoor-role': { 'CloudWatch.4': 1 },
};

describe('catalog rules on real detonation records', () => {
  const techniques = readdirSync(stratusDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''));

  it('reads all 35 techniques', () => {
    // Assess
    expect(techniques).toHaveLength(35);
  });

  it.each(techniques)('%s trips exactly the expected rules', (technique) => {
    // Act
    const fired = Object.fromEntries(evaluate(technique).map((m) => [m.rule.id, m.count]));

    // Assess
    expect(fired).toEqual(EXPECTED[technique] ?? {});
  });

  it.each([
    ['aws.defense-evasion.cloudtrail-stop', 'CloudWatch.5', 'StopLogging'],
    ['aws.defense-evasion.organizations-leave', 'CIS.4.15', 'LeaveOrganization'],
    [
      'aws.exfiltration.ec2-security-group-open-port-22-ingress',
      'CloudWatch.10',
      'AuthorizeSecurityGroupIngress',
    ],
    ['aws.persistence.iam-create-admin-user', 'CloudWatch.4', 'AttachUserPolicy'],
    ['aws.initial-access.console-login-without-mfa', 'CloudWatch.3', 'ConsoleLogin'],
  ])('%s: the %s alert names the principal, the action and the log file', (technique, ruleId, eventName) => {
    // Prepare
    const record = stratusRecords(technique).find((r) => r.eventName === eventName)!;
    const key = `AWSLogs/${record.recipientAccountId}/CloudTrail/${record.awsRegion}/2024/08/01/x.json.gz`;

    // Act
    const notes = buildRuleNotifications(evaluate(technique), {
      topic: 'arn:aws:sns:us-east-1:111122223333:alerts',
      source: { bucket: 'trail', key },
    });
    const note = notes.find((n) => n.attributes.rule === ruleId)!;
    const variants = JSON.parse(note.message) as Record<string, string>;
    const data = alertData(note.message) as { events: { principal: { arn: string }; eventID: string }[] };

    // Assess
    const who = record.userIdentity!;
    expect(note.subject).toContain(who.userName ?? who.sessionContext!.sessionIssuer!.userName!.slice(0, 10));
    // The account always; the region when the subject has room for it after the caller (SNS: 100 characters).
    expect(note.subject).toMatch(new RegExp(`\\(${record.recipientAccountId}(, ${record.awsRegion})?\\)$`));
    expect(note.subject.length).toBeLessThanOrEqual(100);
    expect(variants.email).toContain(`Who:       ${who.arn}`);
    expect(variants.email).toContain(`${record.eventSource} ${eventName}`);
    expect(variants.email).toContain(`When:      ${record.eventTime}`);
    expect(variants.email).toContain(`from ${record.sourceIPAddress}`);
    expect(variants.email).toContain(record.eventID!);
    expect(variants.email).toContain(`Log file: s3://trail/${key}`);
    expect(data.events[0].principal.arn).toBe(who.arn);
    expect(data.events[0].eventID).toBe(record.eventID);
    expect(note.attributes).toEqual({
      rule: ruleId,
      severity: expect.stringMatching(/^(CRITICAL|HIGH|MEDIUM|LOW)$/),
      kind: 'rule',
      account: record.recipientAccountId,
      region: record.awsRegion,
      incident: expect.stringMatching(new RegExp(`^rule:${ruleId}:${record.recipientAccountId}:`)),
    });
  });
});

import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lambdaContext, s3Event } from '#cli/replay/events.ts';
import { ingestHandler } from '#functions/handlers.ts';
import { logFileKey } from '#shared/keys.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { defaultRules } from '#shared/rules/load.ts';
import { ruleMatcher } from '#shared/rules/rule-matcher.ts';
import { logFile, stratusDir, stratusRecords, testPipeline } from '#test/support/logfiles.ts';

const COUNT_RULE = 'count rule: covered in the Sigma correlation suite';

/**
 * Every Stratus Red Team technique in test/fixtures/stratus/, the rules that alert on its attacker calls and
 * how many of those calls each rule's alert counts. Mass retrieval is many ordinary reads, each harmless
 * alone: no single-record rule can tell it from normal use, so those techniques are left to count rules.
 */
const COVERAGE: Record<string, Record<string, number> | typeof COUNT_RULE> = {
  'aws.credential-access.ec2-get-password-data': { 'CloudWatch.2': 32, 'CIS.4.1': 32 },
  'aws.credential-access.ec2-steal-instance-credentials': { 'TW.9': 1 },
  'aws.credential-access.secretsmanager-batch-retrieve-secrets': COUNT_RULE,
  'aws.credential-access.secretsmanager-retrieve-secrets': COUNT_RULE,
  'aws.credential-access.ssm-retrieve-securestring-parameters': COUNT_RULE,
  'aws.defense-evasion.cloudtrail-delete': { 'CloudWatch.5': 1 },
  'aws.defense-evasion.cloudtrail-event-selectors': { 'TW.1': 1 },
  'aws.defense-evasion.cloudtrail-stop': { 'CloudWatch.5': 1 },
  'aws.defense-evasion.dns-delete-logs': { 'TW.12': 1 },
  'aws.defense-evasion.organizations-leave': { 'CIS.4.15': 1, 'CloudWatch.2': 1, 'CIS.4.1': 1 },
  'aws.defense-evasion.vpc-remove-flow-logs': { 'TW.12': 1 },
  'aws.discovery.ec2-download-user-data': { 'CloudWatch.2': 17, 'CIS.4.1': 17 },
  'aws.execution.ec2-launch-unusual-instances': { 'CloudWatch.2': 1, 'CIS.4.1': 1 },
  'aws.execution.ec2-user-data': { 'TW.14': 1 },
  'aws.execution.ssm-send-command': { 'TW.9': 1 },
  'aws.execution.ssm-start-session': { 'TW.9': 3 },
  'aws.exfiltration.ec2-security-group-open-port-22-ingress': { 'CloudWatch.10': 1 },
  'aws.exfiltration.ec2-share-ami': { 'TW.5': 1 },
  'aws.exfiltration.ec2-share-ebs-snapshot': { 'TW.5': 1 },
  'aws.exfiltration.rds-share-snapshot': { 'TW.5': 1 },
  'aws.impact.bedrock-invoke-model': { 'TW.16': 3 },
  'aws.initial-access.console-login-without-mfa': { 'CloudWatch.3': 1 },
  'aws.lateral-movement.ec2-instance-connect': { 'TW.15': 3 },
  'aws.lateral-movement.ec2-serial-console-send-ssh-public-key': { 'TW.15': 4 },
  'aws.persistence.iam-backdoor-role': { 'TW.2': 1 },
  'aws.persistence.iam-backdoor-user': { 'TW.3': 1 },
  'aws.persistence.iam-create-admin-user': { 'CloudWatch.4': 1, 'TW.3': 1 },
  'aws.persistence.iam-create-backdoor-role': { 'CloudWatch.4': 1 },
  'aws.persistence.iam-create-user-login-profile': { 'TW.4': 1 },
  'aws.persistence.lambda-backdoor-function': { 'TW.6': 1 },
  'aws.persistence.lambda-layer-extension': { 'TW.7': 1 },
  'aws.persistence.lambda-overwrite-code': { 'TW.7': 1 },
  'aws.persistence.rolesanywhere-create-trust-anchor': { 'TW.8': 1 },
  'aws.persistence.sts-federation-token': { 'TW.10': 1 },
  'aws.privilege-escalation.iam-update-user-login-profile': { 'TW.4': 1 },
};

/**
 * The attacker's calls: Stratus sets its user agent on every call it makes, except where the technique uses
 * credentials it just created through another SDK client (the federation token is requested by the new user).
 */
function attackerCalls(technique: string): CloudTrailRecord[] {
  const records = stratusRecords(technique);
  if (technique === 'aws.persistence.sts-federation-token')
    return records.filter((r) => r.eventName === 'GetFederationToken');
  return records.filter((r) => String(r.userAgent ?? '').includes('stratus-red-team'));
}

const context = lambdaContext('trailwatch-ingest');
const rulesById = new Map(defaultRules().map((r) => [r.id, r]));

/** The technique's records as one delivered log file, through the real ingest handler. */
async function replay(technique: string) {
  const p = testPipeline();
  const records = stratusRecords(technique);
  const key = logFileKey({
    account: '111122223333',
    region: 'us-east-1',
    time: new Date('2026-11-20T11:55:00Z'),
    unique: 'StratusCoverage1',
  });
  await p.source.put(key, logFile(records));
  await ingestHandler(p.deps)(s3Event('trail', key, 100, new Date()), context);
  return p.notifier.sent.map((n) => ({
    rule: n.attributes.rule,
    data: alertData(n.message) as { count: number; eventIds: string[] },
  }));
}

describe('every Stratus technique alerts on its attacker calls', () => {
  it('covers the 35 techniques of the fixtures, at most 3 of them left to count rules', () => {
    // Prepare
    const techniques = readdirSync(stratusDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));

    // Assess
    expect(Object.keys(COVERAGE).sort()).toEqual(techniques.sort());
    expect(techniques).toHaveLength(35);
    expect(Object.values(COVERAGE).filter((c) => c === COUNT_RULE)).toHaveLength(3);
  });

  const covered = Object.entries(COVERAGE).filter(
    (e): e is [string, Record<string, number>] => e[1] !== COUNT_RULE,
  );

  it.each(covered)('%s', async (technique, expected) => {
    // Prepare
    const attacker = attackerCalls(technique);
    const attackerIds = new Set(attacker.map((r) => r.eventID));

    // Act
    const alerts = await replay(technique);

    // Assess
    expect(attacker.length).toBeGreaterThan(0);
    for (const [ruleId, count] of Object.entries(expected)) {
      const alert = alerts.find((a) => a.rule === ruleId);
      expect(alert, `${technique}: no ${ruleId} alert`).toBeDefined();
      expect(alert?.data.count).toBe(count);
      // Every event the alert lists is an attacker call...
      for (const id of alert?.data.eventIds ?? []) expect(attackerIds).toContain(id);
      // ...and when the alert lists them all (up to its examples), they are exactly the calls the rule sees.
      const rule = rulesById.get(ruleId);
      if (!rule) throw new Error(`no rule ${ruleId}`);
      const test = ruleMatcher(rule);
      const seen = attacker.filter((r) => test(r)).map((r) => r.eventID);
      expect(seen).toHaveLength(count);
      if (count <= 5) expect([...(alert?.data.eventIds ?? [])].sort()).toEqual([...seen].sort());
      else expect(alert?.data.eventIds).toHaveLength(5);
    }
  });

  it.each(Object.entries(COVERAGE).filter(([, c]) => c === COUNT_RULE))(
    '%s: %s (no single record is an alert of its own)',
    async (technique) => {
      // Act
      const alerts = await replay(technique);

      // Assess: honest about the gap: none of the single-record rules fires on these reads.
      expect(alerts.filter((a) => a.rule !== undefined)).toEqual([]);
      expect(attackerCalls(technique).every((r) => r.readOnly === true)).toBe(true);
    },
  );
});

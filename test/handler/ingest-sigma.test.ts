import { describe, expect, it } from 'vitest';
import { lambdaContext, s3Event } from '#cli/replay/events.ts';
import { ingestHandler } from '#functions/handlers.ts';
import { logFileKey } from '#shared/keys.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { readCountState } from '#shared/rules/count-windows.ts';
import { logFile, metricTotal, stratusRecords, testPipeline } from '#test/support/logfiles.ts';

const context = lambdaContext('trailwatch-ingest');
const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const keyAt = (iso: string, unique: string) =>
  logFileKey({ account: ACCOUNT, region: REGION, time: new Date(iso), unique });

const MASS_SECRETS = '8298d02e-02cb-4c76-a195-714f106c256e';
const MASS_BATCH = '8b3ca373-75fa-4296-8c42-b37c5a4c1f4b';
const MASS_PARAMETERS = '81b883cf-5d0c-4175-aa4d-9fd2d3880920';

const byTime = (rs: CloudTrailRecord[]) =>
  [...rs].sort((a, b) => String(a.eventTime).localeCompare(String(b.eventTime)));

/** Removes a file's commit marker, as a crash after publishing and before the commit would leave it. */
function forgetSummary(p: ReturnType<typeof testPipeline>, unique: string): void {
  for (const k of [...p.state.objects.keys()])
    if (k.startsWith('summaries/') && k.includes(unique)) p.state.objects.delete(k);
}

describe('ingest handler: Sigma rules', () => {
  it('alerts on a real UpdateLoginProfile with the SigmaHQ rule, naming its author, id, level and references', async () => {
    // Prepare
    const p = testPipeline();
    const records = stratusRecords('aws.privilege-escalation.iam-update-user-login-profile');
    const key = keyAt('2024-08-01T13:10:00Z', 'LoginProf0000001');
    await p.source.put(key, logFile(records));
    const attacker = records.find((r) => r.eventName === 'UpdateLoginProfile')!;

    // Act
    await ingestHandler(p.deps)(s3Event('trail', key, 100, new Date()), context);

    // Assess
    const alert = p.notifier.sent.find((n) => n.attributes.rule === '055fb148-60f8-462d-ad16-26926ce050f1');
    expect(alert?.subject).toMatch(/^\[HIGH\] AWS User Login Profile Was Modified/);
    const email = JSON.parse(alert!.message).email as string;
    expect(email).toContain(
      'Sigma rule: AWS User Login Profile Was Modified (055fb148-60f8-462d-ad16-26926ce050f1), level high, author: toffeebr33k',
    );
    expect(email).toContain('References: https://github.com/RhinoSecurityLabs/AWS-IAM-Privilege-Escalation');
    expect(email).toContain('License: DRL 1.1');
    expect(email).toContain(attacker.eventID);
    const data = alertData(alert!.message) as { rule: Record<string, unknown>; eventIds: string[] };
    expect(data.rule).toMatchObject({
      id: '055fb148-60f8-462d-ad16-26926ce050f1',
      severity: 'HIGH',
      author: 'toffeebr33k',
      metricName: 'Sigma_aws_update_login_profile',
      sigma: {
        level: 'high',
        author: 'toffeebr33k',
        file: 'shared/rules/sigma/sigmahq/aws_update_login_profile.yml',
        license: 'DRL 1.1',
      },
    });
    expect(data.eventIds).toContain(attacker.eventID);
    expect(metricTotal(p.emf, 'Sigma_aws_update_login_profile')).toBe(1);
  });

  it('a catalog rule alert carries no author', async () => {
    // Prepare
    const p = testPipeline();
    const key = keyAt('2024-07-31T13:10:00Z', 'StopLog000000001');
    await p.source.put(key, logFile(stratusRecords('aws.defense-evasion.cloudtrail-stop')));

    // Act
    await ingestHandler(p.deps)(s3Event('trail', key, 100, new Date()), context);

    // Assess
    const alert = p.notifier.sent.find((n) => n.attributes.rule === 'CloudWatch.5');
    const rule = (alertData(alert!.message) as { rule: Record<string, unknown> }).rule;
    expect(rule.id).toBe('CloudWatch.5');
    expect(rule).not.toHaveProperty('author');
    expect(rule).not.toHaveProperty('sigma');
    expect(JSON.parse(alert!.message).email).toContain('Pattern: ');
  });

  it('mass secret retrieval across two log files alerts on the file that completes the burst', async () => {
    // Prepare
    const p = testPipeline();
    const handler = ingestHandler(p.deps);
    const records = byTime(stratusRecords('aws.credential-access.secretsmanager-retrieve-secrets'));
    const gets = records.filter((r) => r.eventName === 'GetSecretValue');
    const first = keyAt('2024-07-31T12:35:00Z', 'Secrets000000001');
    const second = keyAt('2024-07-31T12:40:00Z', 'Secrets000000002');
    await p.source.put(first, logFile(records.slice(0, 8)));
    await p.source.put(second, logFile(records.slice(8)));
    const firstGets = records.slice(0, 8).filter((r) => r.eventName === 'GetSecretValue').length;

    // Act
    await handler(s3Event('trail', first, 100, new Date()), context);
    const afterFirst = p.notifier.sent.filter((n) => n.attributes.rule === MASS_SECRETS).length;
    await handler(s3Event('trail', second, 100, new Date()), context);

    // Assess
    expect(firstGets).toBeLessThan(10);
    expect(afterFirst).toBe(0);
    const alerts = p.notifier.sent.filter((n) => n.attributes.rule === MASS_SECRETS);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].subject).toMatch(/^\[HIGH\] Mass secret retrieval: \d+ events by christophe/);
    const data = alertData(alerts[0].message) as {
      rule: Record<string, unknown>;
      countRule: Record<string, unknown>;
      eventIds: string[];
    };
    expect(data.countRule).toMatchObject({
      groupBy: 'userIdentity.arn',
      groupValue: gets[0].userIdentity!.arn,
      field: 'requestParameters.secretId',
      count: 20,
      threshold: 10,
      windowMinutes: 5,
      logFiles: 2,
    });
    expect(data.rule).toMatchObject({
      author: 'trailwatch',
      sigma: { correlation: { type: 'value_count' } },
    });
    const email = JSON.parse(alerts[0].message).email as string;
    expect(email).toContain(
      `Count rule: 20 distinct requestParameters.secretId values by userIdentity.arn ${gets[0].userIdentity!.arn} within 5 min (threshold 10)`,
    );
    for (const id of data.eventIds) expect(records.slice(8).map((r) => r.eventID)).toContain(id);
  });

  it('counts a retried file once: the same file twice never crosses a threshold its events alone do not', async () => {
    // Prepare: 2 BatchGetSecretValue calls (the rule needs 3 within 5 minutes)
    const p = testPipeline();
    const handler = ingestHandler(p.deps);
    const batch = byTime(stratusRecords('aws.credential-access.secretsmanager-batch-retrieve-secrets'));
    const key = keyAt('2024-07-31T12:30:00Z', 'BatchSec00000001');
    await p.source.put(key, logFile(batch.slice(0, 2)));
    const rest = keyAt('2024-07-31T12:35:00Z', 'BatchSec00000002');
    await p.source.put(rest, logFile(batch.slice(2)));

    // Act
    await handler(s3Event('trail', key, 100, new Date()), context);
    forgetSummary(p, 'BatchSec00000001');
    await handler(s3Event('trail', key, 100, new Date()), context);
    const afterRetry = p.notifier.sent.filter((n) => n.attributes.rule === MASS_BATCH).length;
    const state = await readCountState(p.state, MASS_BATCH, ACCOUNT, REGION);
    await handler(s3Event('trail', rest, 100, new Date()), context);

    // Assess
    expect(afterRetry).toBe(0);
    expect(Object.keys(state)).toHaveLength(1);
    expect(Object.values(Object.values(state)[0].groups)[0]).toHaveLength(2);
    const alerts = p.notifier.sent.filter((n) => n.attributes.rule === MASS_BATCH);
    expect(alerts).toHaveLength(1);
    expect((alertData(alerts[0].message) as { countRule: { count: number } }).countRule.count).toBe(
      batch.length,
    );
  });

  it('mass SecureString parameter retrieval alerts from one file of real records', async () => {
    // Prepare
    const p = testPipeline();
    const records = stratusRecords('aws.credential-access.ssm-retrieve-securestring-parameters');
    const key = keyAt('2024-08-01T15:30:00Z', 'Params0000000001');
    await p.source.put(key, logFile(records));
    const names = new Set(
      records.flatMap((r) => ((r.requestParameters as { names?: string[] } | null)?.names ?? []) as string[]),
    );

    // Act
    await ingestHandler(p.deps)(s3Event('trail', key, 100, new Date()), context);

    // Assess
    const alerts = p.notifier.sent.filter((n) => n.attributes.rule === MASS_PARAMETERS);
    expect(alerts).toHaveLength(1);
    expect((alertData(alerts[0].message) as { countRule: { count: number } }).countRule.count).toBe(
      names.size,
    );
    expect(names.size).toBeGreaterThanOrEqual(20);
  });
});

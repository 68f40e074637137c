import { describe, expect, it } from 'vitest';
import { lambdaContext, s3Event } from '#cli/replay/events.ts';
import { ingestHandler } from '#functions/handlers.ts';
import { logFileKey } from '#shared/keys.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import { logFile, metricTotal, record, stratusRecords, testPipeline } from '#test/support/logfiles.ts';

const context = lambdaContext('trailwatch-ingest');
const keyAt = (iso: string, unique: string) =>
  logFileKey({ account: '111122223333', region: 'us-east-1', time: new Date(iso), unique });

describe('ingest handler: rules', () => {
  it('alerts on a real StopLogging record, naming the principal, the action and the file', async () => {
    // Prepare
    const p = testPipeline();
    const records = stratusRecords('aws.defense-evasion.cloudtrail-stop');
    const key = keyAt('2024-07-31T13:10:00Z', 'StopLog000000001');
    await p.source.put(key, logFile(records));
    // Act
    await ingestHandler(p.deps)(s3Event('trail', key, 100, new Date()), context);
    // Assess
    const alert = p.notifier.sent.find((n) => n.attributes.rule === 'CloudWatch.5');
    expect(alert?.subject).toMatch(/^\[CRITICAL\] CloudTrail configuration changed/);
    expect(alert?.attributes).toMatchObject({ severity: 'CRITICAL', kind: 'rule', account: '111122223333' });
    const email = JSON.parse(alert!.message).email as string;
    expect(email).toContain(records[0].userIdentity!.arn!);
    expect(email).toContain('StopLogging');
    expect(email).toContain(key);
    expect(alertData(alert!.message)).toMatchObject({ kind: 'rule', severity: 'CRITICAL' });
    expect(metricTotal(p.emf, 'CloudTrailChanges')).toBe(1);
  });

  it('links every rule alert to the runbook template of RUNBOOK_URL, and keys one incident per rule, principal and window', async () => {
    // Prepare
    const p = testPipeline({ RUNBOOK_URL: 'https://wiki.example.com/trailwatch/{ruleId}?region={region}' });
    const handler = ingestHandler(p.deps);
    const records = stratusRecords('aws.defense-evasion.cloudtrail-stop');
    const first = keyAt('2024-07-31T13:10:00Z', 'StopLog000000011');
    const second = keyAt('2024-07-31T13:40:00Z', 'StopLog000000012');
    await p.source.put(first, logFile(records));
    await p.source.put(second, logFile(records));
    // Act
    await handler(s3Event('trail', first, 100, new Date()), context);
    await handler(s3Event('trail', second, 100, new Date()), context);
    // Assess
    const alerts = p.notifier.sent.filter((n) => n.attributes.rule === 'CloudWatch.5');
    expect(alerts).toHaveLength(2);
    const docs = alerts.map((a) => alertData(a.message) as { runbookUrl: string; incidentKey: string });
    expect(docs[0].runbookUrl).toBe('https://wiki.example.com/trailwatch/CloudWatch.5?region=us-east-1');
    expect(JSON.parse(alerts[0].message).email).toContain(`Runbook: ${docs[0].runbookUrl}`);
    expect(docs[1].incidentKey).toBe(docs[0].incidentKey);
    expect(JSON.parse(alerts[0].chat!).content.nextSteps[0]).toContain(docs[0].runbookUrl);
  });

  it('counts every denied call but pages once a day per rule, account and region; a retry of the paging file pages again', async () => {
    // Prepare
    const p = testPipeline();
    const handler = ingestHandler(p.deps);
    const denied = (id: string) =>
      record({ eventID: id, errorCode: 'AccessDenied', errorMessage: 'not authorized' });
    const first = keyAt('2026-11-20T10:05:00Z', 'Denied0000000001');
    const second = keyAt('2026-11-20T11:05:00Z', 'Denied0000000002');
    await p.source.put(first, logFile([denied('a'), denied('b')]));
    await p.source.put(second, logFile([denied('c')]));
    // Act
    await handler(s3Event('trail', first, 100, new Date()), context);
    await handler(s3Event('trail', second, 100, new Date()), context);
    const afterTwoFiles = p.notifier.sent.filter((n) => n.attributes.rule === 'CloudWatch.2').length;
    // the first file's summary is lost (a crash after publishing): its retry must page again
    for (const k of [...p.state.objects.keys()])
      if (k.startsWith('summaries/') && k.includes('Denied0000000001')) p.state.objects.delete(k);
    await handler(s3Event('trail', first, 100, new Date()), context);
    // Assess
    expect(afterTwoFiles).toBe(1);
    expect(p.notifier.sent.filter((n) => n.attributes.rule === 'CloudWatch.2')).toHaveLength(2);
    expect(metricTotal(p.emf, 'UnauthorizedApiCalls')).toBe(5);
    expect(metricTotal(p.emf, 'RuleAlertsThrottled')).toBeGreaterThanOrEqual(1);
  });

  it('pages for every file with a HIGH or CRITICAL match', async () => {
    const p = testPipeline();
    const handler = ingestHandler(p.deps);
    const keys = [
      keyAt('2026-11-20T10:05:00Z', 'Policy0000000001'),
      keyAt('2026-11-20T10:10:00Z', 'Policy0000000002'),
    ];
    for (const [i, k] of keys.entries()) {
      await p.source.put(
        k,
        logFile([record({ eventID: `p${i}`, eventSource: 'iam.amazonaws.com', eventName: 'PutUserPolicy' })]),
      );
      await handler(s3Event('trail', k, 100, new Date()), context);
    }
    expect(p.notifier.sent.filter((n) => n.attributes.rule === 'CloudWatch.4')).toHaveLength(2);
  });
});

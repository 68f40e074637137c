import { describe, expect, it } from 'vitest';
import { lambdaContext, s3Event } from '#cli/replay/events.ts';
import { ingestHandler } from '#functions/handlers.ts';
import { logFileKey } from '#shared/keys.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import { ExceptionSet, validateExceptions } from '#shared/rules/exceptions.ts';
import { defaultRules } from '#shared/rules/load.ts';
import { logFile, metricTotal, stratusRecords, testPipeline } from '#test/support/logfiles.ts';

const context = lambdaContext('trailwatch-ingest');
const ids = new Set(defaultRules().map((r) => r.id));

/** Real detonation records of two techniques in one delivered file. */
async function ingestWith(exceptions: unknown[], unique = 'Exceptions000001') {
  const p = testPipeline();
  p.deps.exceptions = new ExceptionSet(validateExceptions(exceptions, 'exceptions.json', ids));
  const records = [
    ...stratusRecords('aws.persistence.iam-create-admin-user'),
    ...stratusRecords('aws.execution.ssm-start-session'),
  ];
  const key = logFileKey({
    account: '111122223333',
    region: 'us-east-1',
    time: new Date('2026-11-20T11:55:00Z'),
    unique,
  });
  await p.source.put(key, logFile(records));
  await ingestHandler(p.deps)(s3Event('trail', key, 100, new Date()), context);
  const alerted = p.notifier.sent.map((n) => n.attributes.rule).sort();
  return { p, alerted, handler: ingestHandler(p.deps) };
}

describe('ingest handler: exceptions', () => {
  it('silences the rule an exception names, counts it with the rule dimension and logs which exception did it', async () => {
    // Prepare
    const baseline = await ingestWith([]);

    // Act
    const { p, alerted } = await ingestWith([
      { id: 'ci-keys', rules: ['TW.3'], principalArn: '*:user/christophe', reason: 'CI provisions users' },
    ]);

    // Assess
    expect(baseline.alerted).toContain('TW.3');
    expect(alerted).toEqual(baseline.alerted.filter((r) => r !== 'TW.3'));
    expect(metricTotal(p.emf, 'AccessKeyForAnotherUser')).toBe(0);
    expect(metricTotal(baseline.p.emf, 'AccessKeyForAnotherUser')).toBe(1);
    const suppressedDocs = p.emf.filter((d) => d.RuleMatchesSuppressed !== undefined);
    expect(suppressedDocs).toHaveLength(1);
    expect(suppressedDocs[0]).toMatchObject({
      RuleMatchesSuppressed: 1,
      rule: 'TW.3',
      service: 'trailwatch',
    });
    const aws = suppressedDocs[0]._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] };
    expect(aws.CloudWatchMetrics[0].Dimensions[0]).toContain('rule');
    const line = p.logs.find((l) => l.message === 'rule matches suppressed by exceptions');
    const key = stratusRecords('aws.persistence.iam-create-admin-user').find(
      (r) => r.eventName === 'CreateAccessKey',
    );
    expect(line).toMatchObject({
      rule: 'TW.3',
      suppressed: [
        { exception: 'ci-keys', reason: 'CI provisions users', count: 1, eventIds: [key?.eventID] },
      ],
    });
  });

  it('an exception for all rules on one event name leaves the other rules alerting on the same file', async () => {
    // Act
    const { alerted, p } = await ingestWith([
      { id: 'sessions', rules: '*', eventName: 'StartSession', reason: 'support engineers' },
    ]);

    // Assess
    expect(alerted).not.toContain('TW.9');
    expect(alerted).toEqual(expect.arrayContaining(['CloudWatch.4', 'TW.3']));
    const alert = p.notifier.sent.find((n) => n.attributes.rule === 'TW.3');
    expect((alertData(alert!.message) as { eventIds?: string[] }).eventIds ?? []).not.toHaveLength(0);
  });

  it('an expired exception silences nothing and is logged once, however many files follow', async () => {
    // Prepare
    const expired = [
      { id: 'old', rules: ['TW.3'], userAgent: '*', reason: 'migration', expires: '2026-11-01' },
    ];

    // Act
    const { p, alerted, handler } = await ingestWith(expired);
    const key = logFileKey({
      account: '111122223333',
      region: 'us-east-1',
      time: new Date('2026-11-20T11:56:00Z'),
      unique: 'Exceptions000002',
    });
    await p.source.put(key, logFile(stratusRecords('aws.persistence.iam-backdoor-user')));
    await handler(s3Event('trail', key, 100, new Date()), context);

    // Assess
    expect(alerted).toContain('TW.3');
    const warnings = p.logs.filter(
      (l) => l.level === 'warn' && String(l.message).includes('exception "old"'),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toMatch(/expired at 2026-11-02T00:00:00.000Z and no longer suppresses TW\.3/);
    expect(p.emf.some((d) => d.RuleMatchesSuppressed !== undefined)).toBe(false);
  });
});

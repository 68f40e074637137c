import { describe, expect, it } from 'vitest';
import { lambdaContext } from '#cli/replay/events.ts';
import { ingestQueueHandler } from '#functions/handlers.ts';
import { encodeParked, PARKED_PREFIX } from '#shared/insights/parked-files.ts';
import { logFileKey } from '#shared/keys.ts';
import { deferredAlert } from '#shared/notify/throttle.ts';
import { SWEEP_KEY, sweepParked } from '#shared/pipeline/sweep-parked.ts';
import type { Notification, Notifier } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { RuleEvaluator } from '#shared/rules/evaluate.ts';
import { defaultRules } from '#shared/rules/load.ts';
import { InstrumentedStore } from '#test/support/instrumented-store.ts';
import { logFile, metricTotal, record, stratusRecords, testPipeline } from '#test/support/logfiles.ts';
import { s3NotificationBody, sqsBatch } from '#test/support/queue-events.ts';

const context = lambdaContext('trailwatch-ingest');
const BUCKET = 'acme-cloudtrail-logs';
/** Sigma count rule "Mass batch secret retrieval": 3 BatchGetSecretValue by one principal within 5 minutes. */
const MASS_BATCH = '8b3ca373-75fa-4296-8c42-b37c5a4c1f4b';
const START = Date.parse('2026-11-20T10:00:00Z');

/** The real Stratus BatchGetSecretValue call, repeated at the given seconds after 10:00. */
function calls(offsets: number[], id: string): CloudTrailRecord[] {
  const [base] = stratusRecords('aws.credential-access.secretsmanager-batch-retrieve-secrets');
  return offsets.map((s, i) => ({
    ...base,
    eventID: `${id}-${i}`,
    eventTime: new Date(START + s * 1000).toISOString().replace('.000', ''),
  }));
}

/** A log file of the account-region, delivered `minute` minutes after 10:00. */
function file(minute: number, unique: string, records: CloudTrailRecord[]) {
  const key = logFileKey({
    account: '111122223333',
    region: 'us-east-1',
    time: new Date(START + minute * 60_000),
    unique,
  });
  return { key, body: logFile(records) };
}

const burstAlerts = (sent: Notification[]) => sent.filter((n) => n.attributes.rule === MASS_BATCH);

describe('count rules and deferred alerts through the sweep', () => {
  it('finds a burst two batches show only together, once, from real records', async () => {
    // Prepare: two calls in one file, the third in a file of the next batch (3 in 2 minutes)
    const p = testPipeline();
    const deps = { ...p.deps, now: () => new Date(START + 12 * 60_000) };
    const state = new InstrumentedStore(p.state);
    const a = file(5, 'Aaaaaaaaaaaaaaa1', calls([60, 90], 'a'));
    const b = file(10, 'Bbbbbbbbbbbbbbb2', calls([180], 'b'));
    for (const f of [a, b]) await p.source.put(f.key, f.body);
    const handler = ingestQueueHandler({ ...deps, state });
    // Act
    await handler(sqsBatch([{ messageId: 'm-a', body: s3NotificationBody(BUCKET, a.key) }]), context);
    await handler(sqsBatch([{ messageId: 'm-b', body: s3NotificationBody(BUCKET, b.key) }]), context);
    // Assess: neither batch crosses alone; ingest wrote no count state of its own
    expect(burstAlerts(p.notifier.sent)).toHaveLength(0);
    expect(state.count('PUT', 'count-windows') + state.count('GET', 'count-windows')).toBe(0);
    // Act: the sweep, then the next one
    const first = await sweepParked(deps);
    const second = await sweepParked({ ...deps, now: () => new Date(START + 17 * 60_000) });
    // Assess: one alert naming the window over both files
    expect(first).toMatchObject({ objects: 2, crossings: 1 });
    expect(second).toMatchObject({ objects: 0, crossings: 0 });
    const [alert] = burstAlerts(p.notifier.sent);
    expect(burstAlerts(p.notifier.sent)).toHaveLength(1);
    expect(alert.attributes.severity).toBe('HIGH');
    const doc = JSON.parse(JSON.parse(alert.message).sqs);
    expect(doc.countRule).toMatchObject({ count: 3, threshold: 3, logFiles: 2 });
  });

  it('alerts a burst one batch shows at ingest, and the sweep does not send it again', async () => {
    // Prepare: the same three calls, in two files of one batch
    const p = testPipeline();
    const deps = { ...p.deps, now: () => new Date(START + 12 * 60_000) };
    const a = file(5, 'Aaaaaaaaaaaaaaa1', calls([60, 90], 'a'));
    const b = file(10, 'Bbbbbbbbbbbbbbb2', calls([180], 'b'));
    for (const f of [a, b]) await p.source.put(f.key, f.body);
    // Act
    await ingestQueueHandler(deps)(
      sqsBatch([
        { messageId: 'm-a', body: s3NotificationBody(BUCKET, a.key) },
        { messageId: 'm-b', body: s3NotificationBody(BUCKET, b.key) },
      ]),
      context,
    );
    const atIngest = burstAlerts(p.notifier.sent).length;
    const swept = await sweepParked(deps);
    // Assess
    expect(atIngest).toBe(1);
    expect(swept).toMatchObject({ objects: 1, crossings: 0 });
    expect(burstAlerts(p.notifier.sent)).toHaveLength(1);
    expect(metricTotal(p.emf, 'RuleAlerts')).toBe(1);
  });

  it('keeps a burst it could not publish for its next run, and a file carried by two batches counts once', async () => {
    // Prepare: two calls in batch 1; the same file again in batch 2 (a retry) with nothing new; SNS down
    const p = testPipeline();
    const deps = { ...p.deps, now: () => new Date(START + 12 * 60_000) };
    const a = file(5, 'Aaaaaaaaaaaaaaa1', calls([60, 90], 'a'));
    await p.source.put(a.key, a.body);
    const handler = ingestQueueHandler(deps);
    await handler(sqsBatch([{ messageId: 'm-a', body: s3NotificationBody(BUCKET, a.key) }]), context);
    await handler(sqsBatch([{ messageId: 'm-a2', body: s3NotificationBody(BUCKET, a.key) }]), context);
    const quiet = await sweepParked(deps);
    // Two events of one file, carried twice: not three
    expect(quiet.crossings).toBe(0);
    const b = file(10, 'Bbbbbbbbbbbbbbb2', calls([180], 'b'));
    await p.source.put(b.key, b.body);
    await handler(sqsBatch([{ messageId: 'm-b', body: s3NotificationBody(BUCKET, b.key) }]), context);
    const down: Notifier = { publish: () => Promise.reject(new Error('SNS 500 InternalError')) };
    // Act
    const failed = sweepParked({ ...deps, notifier: down });
    await expect(failed).rejects.toThrow(/could not be published/);
    const retried = await sweepParked({ ...deps, now: () => new Date(START + 17 * 60_000) });
    // Assess: sent by the next run, once
    expect(retried).toMatchObject({ crossings: 1, sent: 1 });
    expect(burstAlerts(p.notifier.sent)).toHaveLength(1);
  });

  it('reads a backlog over several runs, oldest first, leaves what its deadline stops for the next, and sends each deferred alert once', async () => {
    // Prepare: 600 parked objects of one hour (an outage), each with a deferred alert of its own account
    const p = testPipeline();
    const deps = { ...p.deps, now: () => new Date(START + 50 * 60_000) };
    const evaluator = new RuleEvaluator(defaultRules().filter((r) => r.id === 'CloudWatch.10'));
    evaluator.onRecord(
      record({ eventSource: 'ec2.amazonaws.com', eventName: 'AuthorizeSecurityGroupIngress' }),
    );
    const [matches] = evaluator.results();
    for (let i = 0; i < 600; i++) {
      const account = String(100000000000 + i);
      const at = new Date('2026-11-20T10:05:00Z');
      const window = {
        ruleId: 'CloudWatch.10',
        account,
        region: 'us-east-1',
        minutes: 60,
        at,
        sourceKey: `k${i}`,
      };
      await p.state.put(
        `${PARKED_PREFIX}2026/11/20/10/${String(i).padStart(32, '0')}.json.gz`,
        encodeParked({
          summaries: [],
          counts: [],
          alerts: [deferredAlert(window, matches, { bucket: BUCKET, key: `k${i}` })],
        }),
      );
    }
    // Act: a run out of time first, then three
    const late = await sweepParked({ ...deps, deadline: () => Date.now() - 1 });
    const first = await sweepParked(deps);
    const second = await sweepParked(deps);
    const third = await sweepParked(deps);
    // Assess
    expect([late.sent, first.sent, second.sent, third.sent]).toEqual([0, 500, 100, 0]);
    expect(new Set(p.notifier.sent.map((n) => n.subject)).size).toBe(600);
  });

  it('reports an unreadable parked object once and goes on; a lost sweep state starts again', async () => {
    // Prepare: a parked object of garbage, and a garbage sweep state
    const p = testPipeline();
    const deps = { ...p.deps, now: () => new Date(START + 12 * 60_000) };
    await p.state.put(`${PARKED_PREFIX}2026/11/20/10/0123456789abcdef.json.gz`, 'not gzip');
    await p.state.put(SWEEP_KEY, 'not gzip either');
    // Act
    const first = await sweepParked(deps);
    const second = await sweepParked(deps);
    // Assess
    expect(first.objects).toBe(0);
    expect(second.objects).toBe(0);
    expect(p.logs.filter((l) => l.message === 'parked object unreadable; skipped')).toHaveLength(1);
    expect(
      p.logs.some((l) => l.message === 'sweep state unreadable; starting again from the last two hours'),
    ).toBe(true);
  });
});

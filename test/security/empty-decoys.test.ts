/**
 * Attack: two empty objects named like the newest digest and log file. Before, they silenced the watchdog's
 * "digest missing" and "logs silent" findings, and ingest skipped empty objects, so nothing alerted. Also: a
 * deleted log file or digest, which CloudTrail never does.
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { lambdaContext, s3Event } from '#cli/replay/events.ts';
import { ingestHandler, watchdogHandler } from '#functions/handlers.ts';
import { classifyKey, digestFileKey, logFileKey } from '#shared/keys.ts';
import { DEFAULT_WATCHDOG } from '#shared/watchdog/delivery-gaps.ts';
import { metricTotal, testPipeline } from '#test/support/logfiles.ts';
import { generatedOnce, quietScenario } from '#test/support/quiet-trail.ts';
import { removedEvent, tamperAlerts } from '#test/support/security.ts';

const scenario = quietScenario(13, 4);
const generated = generatedOnce(scenario);
const copy = generated.copy;

const context = lambdaContext('trailwatch-watchdog');

describe('attack: empty objects named like the newest digest and log file', () => {
  it('the watchdog still reports the missing digest and the silent logs, and reports the planted objects', async () => {
    // Prepare: deliveries stop; three hours later two empty objects appear with fresh CloudTrail names
    const store = copy();
    const newestDigest = generated
      .trail()
      .deliveries.filter((d) => d.kind === 'digest')
      .at(-1)!;
    const d = classifyKey(newestDigest.key);
    if (d.kind !== 'digest') throw new Error('expected a digest');
    const now = new Date(d.time.getTime() + 3 * 3_600_000);
    const plantedDigest = digestFileKey({
      prefix: d.prefix,
      account: d.account,
      region: d.region,
      trailName: d.trailName!,
      homeRegion: d.homeRegion!,
      endTime: new Date(now.getTime() - 10 * 60_000),
    });
    const plantedLog = logFileKey({
      account: d.account,
      region: d.region,
      time: new Date(now.getTime() - 5 * 60_000),
      unique: 'PLANTED000000000',
    });
    await store.put(plantedDigest, new Uint8Array());
    await store.put(plantedLog, new Uint8Array());
    const p = testPipeline();
    const state = new MemoryObjectStore('state');
    const run = watchdogHandler({
      config: {
        alertTopicArn: 'arn:aws:sns:us-east-1:111122223333:alerts',
        trailPrefixes: [''],
        options: DEFAULT_WATCHDOG,
        trailBucket: 'trail',
      },
      trail: store,
      state,
      notifier: p.notifier,
      now: () => now,
      logger: p.deps.logger,
      metrics: p.deps.metrics,
      trailProtection: async () => ({ versioning: 'Suspended', objectLock: false }),
    });
    // Act
    const result = (await run({}, context)) as { opened: { kind: string }[]; planted: { key: string }[] };
    // Assess
    expect(result.opened.map((f) => f.kind).sort()).toEqual(['digest-missing', 'logs-silent']);
    expect(result.planted.map((o) => o.key).sort()).toEqual([plantedDigest, plantedLog].sort());
    const subjects = p.notifier.sent.map((n) => n.subject);
    expect(subjects.some((s) => s.startsWith('[HIGH] No CloudTrail digest'))).toBe(true);
    expect(subjects.some((s) => s.startsWith('[MEDIUM] No CloudTrail log file'))).toBe(true);
    const planted = tamperAlerts(p.notifier.sent, 'planted-object');
    expect(planted).toHaveLength(1);
    expect(planted[0].message).toContain(plantedDigest);
    expect(metricTotal(p.emf, 'PlantedObjects')).toBe(2);
    // and it says the bucket would not have kept what was overwritten
    expect(metricTotal(p.emf, 'TrailBucketUnversioned')).toBe(1);
    expect(metricTotal(p.emf, 'TrailBucketWithoutObjectLock')).toBe(1);
  });

  it('ingest raises a CRITICAL alert for each empty object with a CloudTrail name, as the event announces it', async () => {
    // Prepare
    const p = testPipeline();
    const at = new Date('2026-03-04T05:00:00Z');
    const log = logFileKey({
      account: '111122223333',
      region: 'us-east-1',
      time: at,
      unique: 'EMPTY00000000000',
    });
    const digest = digestFileKey({
      prefix: '',
      account: '111122223333',
      region: 'us-east-1',
      trailName: 'main',
      homeRegion: 'us-east-1',
      endTime: at,
    });
    // Act
    const logResult = await ingestHandler(p.deps)(s3Event('trail', log, 0, at), context);
    const digestResult = await ingestHandler(p.deps)(s3Event('trail', digest, 0, at), context);
    // Assess
    expect(logResult.outcomes[0]).toMatchObject({ status: 'tampered', tamper: 'empty' });
    expect(digestResult.outcomes[0]).toMatchObject({ status: 'tampered', tamper: 'empty' });
    const empty = tamperAlerts(p.notifier.sent, 'empty-object');
    expect(empty.map((n) => n.subject.slice(0, 12))).toEqual(['[CRITICAL] E', '[CRITICAL] E']);
    expect(p.dispatched).toEqual([]);
  });

  it('ingest raises a CRITICAL alert when a log file or digest is deleted (ObjectRemoved)', async () => {
    // Prepare
    const p = testPipeline();
    const newest = generated
      .trail()
      .deliveries.filter((d) => d.kind === 'log')
      .at(-1)!;
    const digest = generated
      .trail()
      .deliveries.filter((d) => d.kind === 'digest')
      .at(-1)!;
    const at = new Date();
    // Act
    const result = await ingestHandler(p.deps)(
      {
        Records: [
          ...removedEvent('trail', newest.key, at).Records,
          ...removedEvent('trail', digest.key, at).Records,
        ],
      },
      context,
    );
    // Assess
    expect(result.outcomes.map((o) => o.status)).toEqual(['tampered', 'tampered']);
    const removed = tamperAlerts(p.notifier.sent, /^(log|digest)-deleted$/);
    expect(removed.map((n) => n.message.includes(newest.key) || n.message.includes(digest.key))).toEqual([
      true,
      true,
    ]);
    expect(removed.map((n) => n.attributes.check).sort()).toEqual(['digest-deleted', 'log-deleted']);
    expect(removed.every((n) => /^\[CRITICAL\] CloudTrail (log file|digest) deleted/.test(n.subject))).toBe(
      true,
    );
    expect(metricTotal(p.emf, 'TamperAlerts')).toBe(2);
  });
});

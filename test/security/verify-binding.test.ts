/**
 * Every log file bound to a digest, through the real ingest and verify handlers on a generated, signed trail:
 * verify marks the files a valid digest lists and takes their counts into the baselines; a log file ingest
 * read with other content than the digest lists (rewritten, then put back) is CRITICAL; so is a digest
 * announced again with other content.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { type GeneratedTrail, generateTrail } from '#cli/generator/index.ts';
import { lambdaContext } from '#cli/replay/events.ts';
import { ingestHandler, verifyHandler } from '#functions/handlers.ts';
import { publicKeysFromStore } from '#shared/digest/public-keys.ts';
import { isVerified } from '#shared/digest/verified-files.ts';
import { readState } from '#shared/insights/index.ts';
import { classifyKey } from '#shared/keys.ts';
import { readAll } from '#shared/ports.ts';
import { integrityScenario } from '#test/e2e/tamper.ts';
import { testPipeline } from '#test/support/logfiles.ts';
import { createdEvent, tamperAlerts } from '#test/support/security.ts';

const context = lambdaContext('trailwatch');
let pristine: MemoryObjectStore;
let trail: GeneratedTrail;

beforeAll(async () => {
  pristine = new MemoryObjectStore('trail');
  trail = await generateTrail(integrityScenario({ hours: 2, eventsPerMinute: 2 }), pristine);
});

async function setup() {
  const p = testPipeline();
  for (const [k, v] of pristine.objects) p.source.objects.set(k, v);
  const bucket = trail.scenario.bucket;
  const verify = verifyHandler({
    config: { alertTopicArn: p.deps.config.alertTopicArn },
    sourceStore: () => p.source,
    state: p.state,
    keys: await publicKeysFromStore(p.source, trail.publicKeysKey),
    notifier: p.notifier,
    logger: p.deps.logger,
    metrics: p.deps.metrics,
  });
  const ingest = ingestHandler(p.deps);
  const digest = trail.deliveries.filter((d) => d.kind === 'digest')[1];
  const digestDoc = JSON.parse(gunzipSync(await readAll(p.source, digest.key)).toString()) as {
    logFiles: { s3Object: string }[];
  };
  const listed = digestDoc.logFiles.map((l) => ({ key: l.s3Object }));
  expect(listed.length).toBeGreaterThan(1);
  const eventOf = async (key: string) => {
    const body = await readAll(p.source, key);
    return createdEvent(bucket, key, body, new Date());
  };
  return { p, bucket, verify, ingest, digest, listed, eventOf };
}

describe('every log file bound to a digest', () => {
  it('verify marks each listed file and takes its counts into the baseline', async () => {
    // Prepare
    const { p, bucket, verify, ingest, digest, listed, eventOf } = await setup();
    p.deps.now = () => new Date(digest.deliveredAt);
    for (const l of listed) await ingest(await eventOf(l.key), context);
    const k = classifyKey(listed[0].key);
    if (k.kind === 'other') throw new Error('expected a log file');
    const before = await readState(p.state, k.account, k.region);
    // Act
    const result = await verify(await eventOf(digest.key), context);
    // Assess
    expect(result.outcomes[0].status).toBe('verified');
    for (const l of listed) expect(await isVerified(p.state, bucket, l.key), l.key).toBe(true);
    // One object for the day folder of the hour's files, not one per file
    expect([...p.state.objects.keys()].filter((k) => k.startsWith('verified/'))).toHaveLength(
      new Set(listed.map((l) => l.key.slice(0, l.key.lastIndexOf('/')))).size,
    );
    expect(Object.keys(before?.unverified ?? {}).length).toBeGreaterThan(0);
    const after = await readState(p.state, k.account, k.region);
    expect(after?.unverified).toBeUndefined();
    expect(tamperAlerts(p.notifier.sent, 'log-overwritten')).toEqual([]);
  });

  it('a log file rewritten, ingested, and put back before verify is CRITICAL, and is not marked verified', async () => {
    // Prepare: the attacker's copy is what ingest read (its own event); then the original is back
    const { p, bucket, verify, ingest, digest, listed, eventOf } = await setup();
    const victim = listed[0].key;
    const original = await readAll(p.source, victim);
    const doc = JSON.parse(gunzipSync(original).toString()) as { Records: unknown[] };
    await p.source.put(victim, gzipSync(JSON.stringify({ Records: doc.Records.slice(1) })));
    await ingest(await eventOf(victim), context);
    await p.source.put(victim, original);
    // Act
    await verify(await eventOf(digest.key), context);
    // Assess
    const alerts = tamperAlerts(p.notifier.sent, 'log-overwritten');
    expect(alerts).toHaveLength(1);
    expect(alerts[0].subject).toMatch(/^\[CRITICAL\]/);
    expect(alerts[0].message).toContain(victim);
    expect(await isVerified(p.state, bucket, victim)).toBe(false);
    expect(await isVerified(p.state, bucket, listed[1].key)).toBe(true);
  });

  it('a digest announced again with other content is CRITICAL', async () => {
    // Prepare
    const { p, verify, digest, eventOf } = await setup();
    await verify(await eventOf(digest.key), context);
    const info = await p.source.head(digest.key);
    await p.source.put(digest.key, gzipSync('{"forged":true}'), { metadata: info?.metadata ?? {} });
    // Act
    const again = await verify(await eventOf(digest.key), context);
    // Assess
    expect(again.outcomes[0]).toMatchObject({ status: 'tampered', tamper: 'overwritten' });
    expect(tamperAlerts(p.notifier.sent, 'digest-overwritten')).toHaveLength(1);
  });
});

/**
 * No alert path loses a message under a single injected fault. Each path runs once without faults to count
 * its steps (S3 reads, S3 writes, SNS publishes); then, for every kind and every step, it runs again with
 * exactly that call failing, driven the way AWS drives it (an S3-triggered invocation is retried twice; a
 * scheduled one runs again at its next tick), and every message of the fault-free run must have gone out.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import { demoScenario, generateTrail } from '#cli/generator/index.ts';
import { lambdaContext, s3Event } from '#cli/replay/events.ts';
import {
  detectHandler,
  ingestHandler,
  ingestQueueHandler,
  verifyHandler,
  watchdogHandler,
} from '#functions/handlers.ts';
import { publicKeysFromStore } from '#shared/digest/public-keys.ts';
import { seedBaselines } from '#shared/insights/index.ts';
import { classifyKey, logFileKey } from '#shared/keys.ts';
import type { Notification } from '#shared/ports.ts';
import { readAll } from '#shared/ports.ts';
import { DEFAULT_WATCHDOG } from '#shared/watchdog/delivery-gaps.ts';
import { integrityScenario } from '#test/e2e/tamper.ts';
import { background, calls, MINUTE } from '#test/fixtures/insights/synthetic.ts';
import { type FaultKind, FaultPlan, faultyNotifier, faultyStore } from '#test/support/faults.ts';
import { logFile, record, stratusRecords, testPipeline } from '#test/support/logfiles.ts';
import { s3NotificationBody, sqsBatch } from '#test/support/queue-events.ts';
import { createdEvent, logKey, rootRecord } from '#test/support/security.ts';

const context = lambdaContext('trailwatch');
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';

/** What a path delivered: one line per message that reached SNS. */
type Path = (plan: FaultPlan) => Promise<string[]>;

function clone(store: MemoryObjectStore): MemoryObjectStore {
  const copy = new MemoryObjectStore(store.location.slice('memory://'.length));
  for (const [k, v] of store.objects) copy.objects.set(k, v);
  return copy;
}

/** An S3-triggered invocation: the first try and Lambda's two retries. */
async function s3Invoke(run: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await run();
      return;
    } catch {
      // retried
    }
  }
  throw new Error('dead-lettered after three attempts');
}

/** A scheduled invocation: a failure is simply followed by the next tick. */
async function tick(run: () => Promise<unknown>): Promise<void> {
  await run().catch(() => undefined);
}

/** A message by what it is about (its attributes), not its wording: a delayed one says "for 3 h", not "2 h". */
const line = (n: Notification) =>
  Object.entries(n.attributes)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

function pipelineFor(plan: FaultPlan, state = new MemoryObjectStore('state')) {
  const p = testPipeline();
  const delivered = new OutboxNotifier();
  p.deps.state = faultyStore(state, plan);
  p.deps.sourceStore = () => faultyStore(p.source, plan);
  p.deps.notifier = faultyNotifier(delivered, plan);
  return { p, delivered, state };
}

/** Rule alerts: a CRITICAL one, a throttled MEDIUM one in two files of one window, an empty CloudTrail object. */
const rulePath: Path = async (plan) => {
  const { p, delivered } = pipelineFor(plan);
  const handler = ingestHandler(p.deps);
  const at = new Date('2026-11-20T10:05:00Z');
  const sg = (user: string, id: string) =>
    record({
      eventID: id,
      eventSource: 'ec2.amazonaws.com',
      eventName: 'AuthorizeSecurityGroupIngress',
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::111122223333:user/${user}`, userName: user },
    });
  const files = [
    { key: logKey(at, 'F000000000000001'), records: [rootRecord(), sg('alice', 's1')] },
    { key: logKey(new Date(at.getTime() + 5 * MINUTE), 'F000000000000002'), records: [sg('bob', 's2')] },
  ];
  for (const f of files) {
    const body = logFile(f.records);
    await p.source.put(f.key, body);
    await s3Invoke(() => handler(createdEvent('trail', f.key, body, at), context));
  }
  const empty = logKey(at, 'EMPTY00000000000');
  await s3Invoke(() => handler(s3Event('trail', empty, 0, at), context));
  return delivered.sent.map(line);
};

/**
 * Batched ingest (an SQS batch, its failed messages delivered again up to three times) and the scheduled
 * detect's sweep: a throttled MEDIUM alert it defers, and a count-rule burst (3 BatchGetSecretValue in 5
 * minutes, real records) that two batches show only together.
 */
const batchPath: Path = async (plan) => {
  const { p, delivered } = pipelineFor(plan);
  const start = Date.parse('2026-11-20T10:00:00Z');
  let now = start;
  p.deps.now = () => new Date(now);
  const handler = ingestQueueHandler(p.deps);
  const [secrets] = stratusRecords('aws.credential-access.secretsmanager-batch-retrieve-secrets');
  const read = (id: string, second: number) => ({
    ...secrets,
    eventID: id,
    eventTime: new Date(start + second * 1000).toISOString().replace('.000', ''),
  });
  const sg = record({
    eventID: 'sg1',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'AuthorizeSecurityGroupIngress',
    eventTime: '2026-11-20T10:01:00Z',
  });
  const batches = [
    {
      at: 6,
      key: logKey(new Date(start + 5 * MINUTE), 'BATCH00000000001'),
      records: [sg, read('r1', 60), read('r2', 90)],
    },
    { at: 11, key: logKey(new Date(start + 10 * MINUTE), 'BATCH00000000002'), records: [read('r3', 180)] },
  ];
  const sweep = (minute: number) =>
    tick(() =>
      detectHandler({
        ...p.deps,
        config: { alertTopicArn: TOPIC },
        now: () => new Date(start + minute * MINUTE),
      })({}, context),
    );
  for (const b of batches) {
    const body = logFile(b.records);
    await p.source.put(b.key, body);
    now = start + b.at * MINUTE;
    let pending = [{ messageId: b.key, body: s3NotificationBody('trail', b.key, body) }];
    for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
      const failed = await handler(sqsBatch(pending), context)
        .then((r) => new Set(r.batchItemFailures.map((f) => f.itemIdentifier)))
        .catch(() => new Set(pending.map((m) => m.messageId)));
      pending = pending.filter((m) => failed.has(m.messageId));
    }
    await sweep(b.at + 2);
  }
  for (const minute of [18, 23]) await sweep(minute);
  return delivered.sent.map(line);
};

let seeded: MemoryObjectStore | undefined;
const START = Date.parse('2026-03-02T00:00:00Z');
const T = START + 8 * 24 * 60 * MINUTE + 14 * 60 * MINUTE;

/** Insights: a burst through ingest opens one (Start), the scheduled detect closes it (End). */
const insightPath: Path = async (plan) => {
  if (!seeded) {
    seeded = new MemoryObjectStore('state');
    await seedBaselines(seeded, background(START, 8, 1), { now: new Date(START + 8 * 24 * 60 * MINUTE) });
  }
  const { p, delivered } = pipelineFor(plan, clone(seeded));
  const key = logKey(new Date(T + 6 * MINUTE), 'BURST00000000001');
  const records = [0, 1, 2, 3].flatMap((m) =>
    calls({ source: 'iam.amazonaws.com', name: 'CreateRole', at: T + m * MINUTE, count: 6 }),
  );
  const body = logFile(records);
  await p.source.put(key, body);
  p.deps.now = () => new Date(T + 6 * MINUTE);
  await s3Invoke(() => ingestHandler(p.deps)(createdEvent('trail', key, body, p.deps.now()), context));
  for (const m of [12, 18, 24, 30, 36, 42]) {
    await tick(() =>
      detectHandler({ ...p.deps, config: { alertTopicArn: TOPIC }, now: () => new Date(T + m * MINUTE) })(
        {},
        context,
      ),
    );
  }
  return delivered.sent.map(line);
};

let trail: MemoryObjectStore | undefined;
let newestDigestTime = 0;

/** Watchdog: a deleted newest digest (gap), a planted empty one, and a log file no digest lists. */
const watchdogPath: Path = async (plan) => {
  if (!trail) {
    trail = new MemoryObjectStore('trail');
    const g = await generateTrail(
      {
        ...demoScenario,
        seed: 21,
        start: '2026-03-04T00:00:00Z',
        hours: 4,
        regions: ['us-east-1'],
        eventsPerMinute: 2,
        securityEvents: false,
        recurringDeployBurst: false,
        bursts: [],
      },
      trail,
    );
    const digest = g.deliveries.filter((d) => d.kind === 'digest').at(-1)!;
    await trail.delete(digest.key);
    const k = classifyKey(digest.key);
    newestDigestTime = k.kind === 'other' ? 0 : k.time.getTime();
  }
  const { p, delivered, state } = pipelineFor(plan);
  const store = clone(trail);
  const unlisted = logFileKey({
    account: demoScenario.accounts[0],
    region: 'us-east-1',
    time: new Date(newestDigestTime),
    unique: 'UNLISTED00000001',
  });
  await store.put(unlisted, new Uint8Array());
  // the forged log file ingest summarized, which no digest lists (its summary stands in for the ingest)
  await state.put(
    `summaries/trail/${unlisted.replace(/\.json\.gz$/, '')}.summary.json`,
    JSON.stringify({ source: { bucket: 'trail', key: unlisted } }),
  );
  const run = (now: number) =>
    watchdogHandler({
      config: { alertTopicArn: TOPIC, trailPrefixes: [''], options: DEFAULT_WATCHDOG, trailBucket: 'trail' },
      trail: faultyStore(store, plan),
      state: p.deps.state,
      notifier: p.deps.notifier,
      now: () => new Date(now),
      logger: p.deps.logger,
      metrics: p.deps.metrics,
    })({}, context);
  for (let m = 150; m <= 195; m += 15) await tick(() => run(newestDigestTime + m * MINUTE));
  return delivered.sent.map(line);
};

let signed:
  | {
      store: MemoryObjectStore;
      keys: Awaited<ReturnType<typeof publicKeysFromStore>>;
      digest: string;
      bucket: string;
    }
  | undefined;

/** Verify: a digest whose listed log file was altered after delivery (HIGH tamper alert). */
const verifyPath: Path = async (plan) => {
  if (!signed) {
    const store = new MemoryObjectStore('trail');
    const g = await generateTrail(integrityScenario({ hours: 2, eventsPerMinute: 2 }), store);
    const digest = g.deliveries.filter((d) => d.kind === 'digest')[1].key;
    const doc = JSON.parse(gunzipSync(await readAll(store, digest)).toString()) as {
      logFiles: { s3Object: string }[];
    };
    const victim = doc.logFiles[0].s3Object;
    const records = JSON.parse(gunzipSync(await readAll(store, victim)).toString()) as { Records: unknown[] };
    await store.put(victim, gzipSync(JSON.stringify({ Records: records.Records.slice(1) })));
    signed = {
      store,
      keys: await publicKeysFromStore(store, g.publicKeysKey),
      digest,
      bucket: g.scenario.bucket,
    };
  }
  const { p, delivered } = pipelineFor(plan);
  const store = clone(signed.store);
  const verify = verifyHandler({
    config: { alertTopicArn: TOPIC },
    sourceStore: () => faultyStore(store, plan),
    state: p.deps.state,
    keys: signed.keys,
    notifier: p.deps.notifier,
    logger: p.deps.logger,
    metrics: p.deps.metrics,
  });
  const body = await readAll(store, signed.digest);
  await s3Invoke(() => verify(createdEvent(signed!.bucket, signed!.digest, body, new Date()), context));
  return delivered.sent.map(line);
};

const KINDS: FaultKind[] = ['s3-read', 's3-write', 'sns-publish'];

async function everyFault(path: Path): Promise<{ expected: string[]; runs: number; lost: string[] }> {
  const counting = new FaultPlan();
  const expected = [...new Set(await path(counting))].sort();
  const lost: string[] = [];
  let runs = 0;
  for (const kind of KINDS) {
    for (let at = 1; at <= counting.counts[kind]; at++) {
      const plan = new FaultPlan(kind, at);
      const got = new Set(await path(plan));
      runs++;
      for (const e of expected) if (!got.has(e)) lost.push(`${kind} #${at}: lost "${e}"`);
    }
  }
  return { expected, runs, lost };
}

describe('a single injected fault at every step of every alert path loses no alert', () => {
  it('rule alerts (CRITICAL, throttled MEDIUM) and a tamper alert, through ingest', async () => {
    const r = await everyFault(rulePath);
    expect(r.expected.some((e) => /rule=CloudWatch\.1( |$)/.test(e))).toBe(true);
    expect(r.expected.some((e) => /rule=CloudWatch\.10( |$)/.test(e))).toBe(true);
    expect(r.expected.some((e) => e.includes('check=empty-object'))).toBe(true);
    expect(r.runs).toBeGreaterThan(10);
    expect(r.lost).toEqual([]);
  });

  it('a deferred MEDIUM alert and a count-rule burst across batches, through batched ingest and the sweep', async () => {
    const r = await everyFault(batchPath);
    expect(r.expected.some((e) => /rule=CloudWatch\.10( |$)/.test(e))).toBe(true);
    expect(r.expected.some((e) => /rule=8b3ca373-75fa-4296-8c42-b37c5a4c1f4b( |$)/.test(e))).toBe(true);
    expect(r.runs).toBeGreaterThan(10);
    expect(r.lost).toEqual([]);
  });

  it('insight Start and End, through ingest and the scheduled detect', async () => {
    const r = await everyFault(insightPath);
    expect(r.expected.map((e) => /state=(\w+)/.exec(e)?.[1]).sort()).toEqual(['End', 'Start']);
    expect(r.lost).toEqual([]);
  });

  it('digest tamper alert, through verify', async () => {
    const r = await everyFault(verifyPath);
    expect(r.expected.some((e) => e.includes('kind=tamper'))).toBe(true);
    expect(r.runs).toBeGreaterThan(3);
    expect(r.lost).toEqual([]);
  });

  it('watchdog gap, planted object and unlisted log file, through the scheduled watchdog', async () => {
    const r = await everyFault(watchdogPath);
    expect(r.expected.some((e) => e.includes('check=digest-missing'))).toBe(true);
    expect(r.expected.some((e) => e.includes('check=planted-object'))).toBe(true);
    expect(r.expected.some((e) => e.includes('check=unlisted-log-file'))).toBe(true);
    expect(r.lost).toEqual([]);
  });
});

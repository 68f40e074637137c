import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import { ingestConfig } from '#shared/config.ts';
import { confirmVerified, detect, readState, seedBaselines } from '#shared/insights/index.ts';
import { PARKED_PREFIX } from '#shared/insights/parked-files.ts';
import { activeKey, minuteCount, minuteOf, sourceHash } from '#shared/insights/state.ts';
import { logFileKey } from '#shared/keys.ts';
import { detectShard } from '#shared/pipeline/detect-shards.ts';
import { type BatchResult, ingestBatch } from '#shared/pipeline/ingest-batch.ts';
import type { IngestPorts } from '#shared/pipeline/ingest-log-files.ts';
import { type Notifier, noMetrics, type ObjectStore, type PutOptions } from '#shared/ports.ts';
import { defaultRules } from '#shared/rules/load.ts';
import type { LogFileSummary } from '#shared/summary.ts';
import { ACCOUNT, background, calls, MINUTE, REGION } from '#test/fixtures/insights/synthetic.ts';
import { InstrumentedStore } from '#test/support/instrumented-store.ts';
import { logFile } from '#test/support/logfiles.ts';

const BUCKET = 'trail-bucket';
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';
const silent = new Logger({ logLevel: 'SILENT' });
/** Monday 2026-03-02: eight days of one call a minute end on Tuesday 2026-03-10 00:00. */
const START = Date.parse('2026-03-02T00:00:00Z');
const T = START + 8 * 24 * 60 * MINUTE;
const CREATE_ROLE = { source: 'iam.amazonaws.com', name: 'CreateRole' };

/** The log file CloudTrail delivers for minutes [from, from+5) (minutes after T): background plus `extra`. */
function fileAt(from: number, extra: number[] = [], busyMinutes = 5) {
  const unique = `F${String(from).padStart(15, '0')}`;
  const records = [];
  for (let m = 0; m < 5; m++) {
    const at = T + (from + m) * MINUTE;
    if (m < busyMinutes)
      records.push(...calls({ at, source: 'ec2.amazonaws.com', name: 'CreateTags', count: 1 }));
    if (extra[m]) records.push(...calls({ at, ...CREATE_ROLE, count: extra[m] }));
  }
  const key = logFileKey({
    account: ACCOUNT,
    region: REGION,
    time: new Date(T + (from + 5) * MINUTE),
    unique,
  });
  return { key, body: logFile(records), deliveredMinute: from + 5 };
}

/** A slow rise of CreateRole (never seen before): 8 calls in each of three files, 24 in 15 minutes. */
const SLOW = [2, 1, 2, 1, 2];

class FailingParkedPuts implements ObjectStore {
  readonly inner: ObjectStore;
  constructor(inner: ObjectStore) {
    this.inner = inner;
  }
  get location() {
    return this.inner.location;
  }
  get(...a: Parameters<ObjectStore['get']>) {
    return this.inner.get(...a);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  put(key: string, body: Uint8Array | string, options?: PutOptions) {
    if (key.startsWith(PARKED_PREFIX)) return Promise.reject(new Error('S3 503 SlowDown'));
    return this.inner.put(key, body, options);
  }
  list(...a: Parameters<ObjectStore['list']>) {
    return this.inner.list(...a);
  }
  listFolders(prefix: string) {
    return this.inner.listFolders(prefix);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
}

async function world() {
  const source = new MemoryObjectStore('trail');
  const state = new MemoryObjectStore('state');
  await seedBaselines(state, background(START, 8, 1), { now: new Date(T) });
  let now = new Date(T);
  const notifier = new OutboxNotifier();
  const sns = { down: false };
  const flaky: Notifier = {
    publish: (n) => (sns.down ? Promise.reject(new Error('SNS 500')) : notifier.publish(n)),
  };
  const ports = (store: ObjectStore = state): IngestPorts => ({
    config: ingestConfig({ STATE_BUCKET: 'state', ALERT_TOPIC_ARN: TOPIC }),
    rules: defaultRules(),
    sourceStore: () => source,
    state: store,
    notifier: flaky,
    logger: silent,
    metrics: noMetrics,
    now: () => now,
    dispatchDigest: async () => {},
  });
  let batch = 0;
  const ingest = async (files: ReturnType<typeof fileAt>[], store?: ObjectStore): Promise<BatchResult> => {
    for (const f of files) await source.put(f.key, f.body);
    now = new Date(T + Math.max(...files.map((f) => f.deliveredMinute)) * MINUTE + 30_000);
    batch++;
    return ingestBatch(
      ports(store),
      files.map((f, i) => ({ messageId: `b${batch}-${i}`, bucket: BUCKET, key: f.key, notification: {} })),
    );
  };
  const scheduled = (atMinute: number, store: ObjectStore = state) => {
    now = new Date(T + atMinute * MINUTE);
    return detectShard(
      {
        config: { alertTopicArn: TOPIC },
        state: store,
        notifier,
        logger: silent,
        metrics: noMetrics,
        now: () => now,
        shards: { shardCount: 1, concurrency: 4 },
        deadline: () => Number.POSITIVE_INFINITY,
        clock: () => 0,
      },
      { index: 0, count: 1 },
    );
  };
  return { source, state, notifier, sns, ingest, scheduled };
}

const parkedKeys = (state: MemoryObjectStore) =>
  [...state.objects.keys()].filter((k) => k.startsWith(PARKED_PREFIX));

describe('parking at ingest, folding in the scheduled detect', () => {
  it('parks ordinary files without touching the state; the fold finds a slow rise spread over them, stamped as the unparked path stamps it', async () => {
    // Prepare: one warm state; a first file goes to the state (no ticket yet) and gives this container one
    const w = await world();
    const counted = new InstrumentedStore(w.state);
    await w.ingest([fileAt(0)], counted);
    // The shard's first run is a fold pass: it sets the time of the next.
    await w.scheduled(5);
    const before = counted.count('PUT', 'state');
    const files = [fileAt(5, SLOW), fileAt(10, SLOW), fileAt(15, SLOW)];
    // Act: one batch per file, as CloudTrail's five-minute rhythm gives them; then the scheduled runs
    const results = [];
    for (const f of files) results.push(await w.ingest([f], counted));
    const startsAtIngest = results.flatMap((r) => r.insights);
    const between = await w.scheduled(25);
    const fold = await w.scheduled(125);
    // Assess: parked, no state write, no verified HEAD; found at the fold
    expect(results.map((r) => r.parked)).toEqual([1, 1, 1]);
    expect(counted.count('PUT', 'state')).toBe(before);
    expect(counted.count('HEAD', 'verified')).toBe(0);
    expect(counted.count('GET', 'state')).toBe(1);
    expect(parkedKeys(w.state)).toHaveLength(4);
    expect(startsAtIngest).toEqual([]);
    const foldStarts = fold.events.filter((e) => e.kind === 'start');
    expect(foldStarts.map((e) => e.eventName)).toEqual(['CreateRole']);
    // The unparked path on a copy of the same state: each file applied and detected as it arrives.
    const reference = new MemoryObjectStore('state');
    await seedBaselines(reference, background(START, 8, 1), { now: new Date(T) });
    const summaries = results.map((r) => r.outcomes[0]).map((o) => ('summary' in o ? o.summary : undefined));
    const refStarts = [];
    for (const [i, s] of summaries.entries()) {
      const found = await detect(reference, {
        account: ACCOUNT,
        region: REGION,
        now: new Date(T + files[i].deliveredMinute * MINUTE + 30_000),
        summaries: [s as LogFileSummary],
      });
      refStarts.push(...found.events.filter((e) => e.kind === 'start'));
    }
    expect(refStarts.map((e) => e.start)).toEqual(foldStarts.map((e) => e.start));
    expect(foldStarts[0].start).toBe(new Date(T + 5 * MINUTE).toISOString().replace('.000Z', 'Z'));
    // Between the folds, only the marked account-regions are visited: none was.
    expect(between.done).toBe(0);
    // The open insight is marked, so the runs between folds visit it until it ends.
    expect(w.state.objects.has(activeKey(ACCOUNT, REGION))).toBe(true);
    const next = await w.scheduled(130);
    expect(next.done).toBe(1);
  });

  it('a file parked in two batches counts once, and folding the same hours twice gives the same state', async () => {
    // Prepare
    const w = await world();
    await w.ingest([fileAt(0)]);
    const a = fileAt(5, [0, 0, 3]);
    // A file with a single call: `a` and `b` together still fit the ticket.
    const b = fileAt(10, [], 1);
    // Act: `a` delivered twice (a re-delivery in another batch)
    const first = await w.ingest([a]);
    const second = await w.ingest([a, b]);
    await w.scheduled(20);
    const once = JSON.stringify(await readState(w.state, ACCOUNT, REGION));
    // A lost shard status makes the next run fold the same hours again.
    for (const k of [...w.state.objects.keys()]) if (k.startsWith('shards/')) w.state.objects.delete(k);
    await w.scheduled(20);
    const twice = JSON.stringify(await readState(w.state, ACCOUNT, REGION));
    // Assess
    expect(first.parked).toBe(1);
    expect(second.parked).toBe(2);
    expect(parkedKeys(w.state)).toHaveLength(3);
    const s = await readState(w.state, ACCOUNT, REGION);
    const minute = minuteOf(new Date(T + 7 * MINUTE).toISOString())!;
    expect(minuteCount(s!.series['C|iam.amazonaws.com|CreateRole'], minute)).toBe(3);
    expect(minuteCount(s!.series['C|ec2.amazonaws.com|CreateTags'], minute)).toBe(1);
    expect(twice).toBe(once);
  });

  it('a Start whose message could not be sent is sent by the next run between folds', async () => {
    // Prepare: a fold pass has run; then a sharp burst (never parked) while SNS is down
    const w = await world();
    await w.ingest([fileAt(0)]);
    await w.scheduled(5);
    w.sns.down = true;
    const burst = await w.ingest([fileAt(5, [0, 30, 30])]);
    w.sns.down = false;
    // Act: the next scheduled run, long before the next fold
    const next = await w.scheduled(15);
    // Assess
    expect(burst.parked).toBe(0);
    expect(burst.failedMessageIds).toEqual(['b2-0']);
    expect(next.folding).toBe(false);
    expect(next.done).toBe(1);
    const sent = w.notifier.sent.filter((n) => n.subject.includes('CreateRole'));
    expect(sent).toHaveLength(1);
    expect((await readState(w.state, ACCOUNT, REGION))?.messages).toBeUndefined();
  });

  it('a parked object that cannot be written sends its files back to the queue', async () => {
    // Prepare
    const w = await world();
    await w.ingest([fileAt(0)]);
    // Act
    const result = await w.ingest([fileAt(5), fileAt(10, [], 1)], new FailingParkedPuts(w.state));
    // Assess
    expect(result.failedMessageIds.sort()).toEqual(['b2-0', 'b2-1']);
    expect(result.parked).toBe(0);
    expect(result.summariesKey).toBeUndefined();
    expect(parkedKeys(w.state)).toHaveLength(1);
    expect(result.outcomes.filter((o) => o.status === 'ingested')).toEqual([]);
  });

  it('a file verify lists before the fold joins the baseline when the fold applies it', async () => {
    // Prepare: two parked files; verify lists the first before the fold
    const w = await world();
    await w.ingest([fileAt(0)]);
    const listed = fileAt(5);
    const unlisted = fileAt(10);
    const r1 = await w.ingest([listed]);
    const r2 = await w.ingest([unlisted]);
    // Act
    await confirmVerified(w.state, ACCOUNT, REGION, [{ bucket: BUCKET, key: listed.key }], {
      now: new Date(T + 60 * MINUTE),
    });
    await w.scheduled(20);
    // Assess
    expect([r1.parked, r2.parked]).toEqual([1, 1]);
    const s = await readState(w.state, ACCOUNT, REGION);
    const hash = (key: string) => sourceHash({ source: { bucket: BUCKET, key } } as LogFileSummary);
    expect(Object.keys(s?.unverified ?? {})).toContain(hash(unlisted.key));
    expect(Object.keys(s?.unverified ?? {})).not.toContain(hash(listed.key));
    expect(s?.verifiedAhead).toBeUndefined();
  });
});

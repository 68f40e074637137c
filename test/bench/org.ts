/**
 * `npm run bench -- org`: an organization at scale, with a simulated S3 round trip on every request.
 *
 *   1. A generated organization trail (cli/generator/organization.ts): busy and quiet accounts, one burst.
 *   2. Its log files replayed through batched ingest (SQS batches: all files delivered within the batching
 *      window, up to the batch size), quiet and busy accounts separately so each class gets its own bill:
 *      files and events per second, S3 requests per 1,000 files, cost per 100,000 events and per file. The
 *      scheduled detect (with its sweep of the parked objects) runs every five simulated minutes between the
 *      batches, and verify's hourly confirmation of the files a digest lists is simulated, billed apart.
 *   3. Whether the burst was detected in its own account, and whether any other account raised an insight
 *      on the burst's API.
 *   4. State bytes per account-region, and what the kept versions add.
 *   5. The scheduled detect and watchdog over 1,000 accounts x 17 regions, sharded, each shard timed as the
 *      separate Lambda invocation it is in production (run here one after the other), and the detect
 *      coordinator's sweep of five minutes of that organization's parked objects.
 *
 * Figures only: nothing here fails on timing. BENCH_QUICK=1 runs a smaller organization and pass.
 */
import { cpus, totalmem } from 'node:os';
import { Logger } from '@aws-lambda-powertools/logger';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import {
  type GeneratedOrganization,
  generateOrganization,
  type OrganizationScenario,
} from '#cli/generator/organization.ts';
import { ingestConfig } from '#shared/config.ts';
import { markVerified } from '#shared/digest/verified-files.ts';
import { confirmVerified } from '#shared/insights/index.ts';
import { DEFAULT_OPTIONS, type InsightEvent } from '#shared/insights/insight-types.ts';
import {
  decodeParked,
  encodeParked,
  PARKED_PREFIX,
  type ParkedBatch,
  parkedHourPrefix,
} from '#shared/insights/parked-files.ts';
import { stateKey } from '#shared/insights/state.ts';
import { digestFileKey, logFileKey } from '#shared/keys.ts';
import { detectShard } from '#shared/pipeline/detect-shards.ts';
import { BATCH_READ_CONCURRENCY, ingestBatch, type QueuedDelivery } from '#shared/pipeline/ingest-batch.ts';
import type { IngestPorts } from '#shared/pipeline/ingest-log-files.ts';
import { sweepParked } from '#shared/pipeline/sweep-parked.ts';
import { watchShard } from '#shared/pipeline/watch-shards.ts';
import { noMetrics, type ObjectStore } from '#shared/ports.ts';
import { defaultRules } from '#shared/rules/load.ts';
import { DEFAULT_WATCHDOG } from '#shared/watchdog/delivery-gaps.ts';
import { IndexedMemoryStore } from '#test/support/indexed-memory-store.ts';
import { InstrumentedStore } from '#test/support/instrumented-store.ts';

const quick = process.env.BENCH_QUICK === '1';
const LATENCY_MS = 30;
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';

/** List prices (us-east-1) used for every cost below. */
const PRICE = {
  s3Put: 0.005 / 1000, // PUT, COPY, POST, LIST
  s3Get: 0.0004 / 1000, // GET, HEAD and all other
  lambdaGbS: 0.0000166667,
  lambdaRequest: 0.2 / 1e6,
  sqsRequest: 0.4 / 1e6, // per 64 KB chunk of a request
};
const INGEST_MEMORY_GB = 1769 / 1024;
const DETECT_MEMORY_GB = 512 / 1024;
const SCHEDULE_MS = 5 * 60_000;
const BATCH_SIZE = 100;
const BATCH_WINDOW_MS = 60_000;

const silent = new Logger({ logLevel: 'SILENT' });
const fmt = (n: number, d = 1) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const usd = (x: number) => `$${x.toPrecision(3)}`;

function machine(): string {
  return `${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
}

const scenario: OrganizationScenario = {
  seed: 1400,
  start: '2026-03-02T00:00:00Z',
  hours: quick ? 26 : 28,
  orgId: 'o-a1b2c3d4e5',
  bucket: 'org-log-archive',
  trailName: 'org-trail',
  accounts: quick ? 8 : 24,
  regions: quick ? ['us-east-1', 'eu-west-1'] : ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  busyAccounts: quick ? 1 : 3,
  busyEventsPerMinute: quick ? 150 : 800,
  quietEventsPerMinute: 30,
  otherRegionShare: 0.3,
  burst: {
    accountIndex: quick ? 5 : 17,
    region: 'us-east-1',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateAccessKey',
    start: quick ? '2026-03-03T01:12:00Z' : '2026-03-03T03:12:00Z',
    minutes: 10,
    perMinute: 20,
  },
};

interface ClassRun {
  name: string;
  files: number;
  events: number;
  batches: number;
  wallSeconds: number;
  cpuSeconds: number;
  trail: InstrumentedStore;
  state: InstrumentedStore;
  insights: InsightEvent[];
  failed: number;
  parked: number;
  /** The scheduled detect over the same state (every 5 minutes; a fold pass every foldMinutes). */
  scheduled: InstrumentedStore;
  scheduledRuns: number;
  folds: number;
  scheduledCpuSeconds: number;
  scheduledInsights: InsightEvent[];
  /** Verify's confirmations (one state update per account-region and digest hour), billed apart. */
  verify: InstrumentedStore;
  /** Rule messages sent at ingest and by the sweep. */
  ruleAlerts: number;
  sweepAlerts: number;
}

/** SQS batches as the event source mapping forms them: files delivered within the window, up to the size. */
function batchesOf(org: GeneratedOrganization, accounts: Set<string>) {
  const batches: { at: number; files: { key: string; records: number }[] }[] = [];
  let current: (typeof batches)[number] | undefined;
  for (const d of org.deliveries) {
    if (!accounts.has(d.account)) continue;
    const at = Date.parse(d.deliveredAt);
    if (!current || at - current.at >= BATCH_WINDOW_MS || current.files.length >= BATCH_SIZE) {
      current = { at, files: [] };
      batches.push(current);
    }
    current.files.push({ key: d.key, records: d.records ?? 0 });
  }
  return batches;
}

async function replay(
  name: string,
  org: GeneratedOrganization,
  source: ObjectStore,
  accounts: Set<string>,
): Promise<ClassRun> {
  const trail = new InstrumentedStore(source, LATENCY_MS);
  const stateStore = new IndexedMemoryStore('state');
  const state = new InstrumentedStore(stateStore, LATENCY_MS);
  const scheduled = new InstrumentedStore(stateStore, LATENCY_MS);
  const verify = new InstrumentedStore(stateStore, LATENCY_MS);
  const run: ClassRun = {
    name,
    files: 0,
    events: 0,
    batches: 0,
    wallSeconds: 0,
    cpuSeconds: 0,
    trail,
    state,
    insights: [],
    failed: 0,
    parked: 0,
    scheduled,
    scheduledRuns: 0,
    folds: 0,
    scheduledCpuSeconds: 0,
    scheduledInsights: [],
    verify,
    ruleAlerts: 0,
    sweepAlerts: 0,
  };
  const rules = defaultRules();
  const notifier = new OutboxNotifier();
  // Files delivered, by hour: verify confirms an hour's files once its digest is in, about an hour later.
  const delivered = new Map<number, Map<string, { bucket: string; key: string }[]>>();
  let confirmedHour = Number.NaN;
  const simulateVerify = async (at: number) => {
    const hour = Math.floor(at / 3_600_000) - 2;
    if (Number.isNaN(confirmedHour)) confirmedHour = hour - 1;
    for (; confirmedHour < hour; confirmedHour++) {
      for (const [place, sources] of delivered.get(confirmedHour + 1) ?? []) {
        const [account, region] = place.split('/');
        // What verify writes for one digest: the day folder's verified files, then the state.
        const digest = `digest/${place}/${confirmedHour + 1}`;
        await markVerified(
          verify,
          scenario.bucket,
          digest,
          sources.map((x) => x.key),
        );
        await confirmVerified(verify, account, region, sources, { now: new Date(at) });
      }
      delivered.delete(confirmedHour + 1);
    }
  };
  // The scheduled detect, one shard, at its simulated times: between batches, every SCHEDULE_MS.
  let nextRun = Number.NaN;
  const runScheduled = async (at: number) => {
    now = new Date(at);
    const cpu = process.cpuUsage();
    const r = await detectShard(
      {
        config: { alertTopicArn: TOPIC },
        state: scheduled,
        notifier: new OutboxNotifier(),
        logger: silent,
        metrics: noMetrics,
        now: () => now,
        shards: { shardCount: 1, concurrency: 32 },
        deadline: () => Number.POSITIVE_INFINITY,
        clock: () => 0,
      },
      { index: 0, count: 1 },
    );
    const swept = await sweepParked({
      config: { alertTopicArn: TOPIC },
      state: scheduled,
      notifier,
      logger: silent,
      metrics: noMetrics,
      rules,
      now: () => now,
    });
    run.sweepAlerts += swept.sent;
    const used = process.cpuUsage(cpu);
    run.scheduledCpuSeconds += (used.user + used.system) / 1e6;
    run.scheduledRuns++;
    if (r.folding) run.folds++;
    run.scheduledInsights.push(...r.events);
    await simulateVerify(at);
  };
  let now = new Date(0);
  const ports: IngestPorts = {
    config: ingestConfig({
      STATE_BUCKET: 'state',
      ALERT_TOPIC_ARN: TOPIC,
    }),
    rules,
    sourceStore: () => trail,
    state,
    notifier,
    logger: silent,
    metrics: noMetrics,
    now: () => now,
    dispatchDigest: async () => {},
  };
  const started = performance.now();
  for (const batch of batchesOf(org, accounts)) {
    if (Number.isNaN(nextRun)) nextRun = Math.ceil(batch.at / SCHEDULE_MS) * SCHEDULE_MS;
    while (nextRun <= batch.at + BATCH_WINDOW_MS) {
      await runScheduled(nextRun);
      nextRun += SCHEDULE_MS;
    }
    now = new Date(batch.at + BATCH_WINDOW_MS);
    const deliveries: QueuedDelivery[] = batch.files.map((f, i) => ({
      messageId: `m${run.batches}-${i}`,
      bucket: scenario.bucket,
      key: f.key,
      notification: {},
    }));
    const cpu = process.cpuUsage();
    const sentBefore = notifier.sent.length;
    const result = await ingestBatch(ports, deliveries);
    const used = process.cpuUsage(cpu);
    run.cpuSeconds += (used.user + used.system) / 1e6;
    run.batches++;
    run.files += batch.files.length;
    run.events += batch.files.reduce((n, f) => n + f.records, 0);
    run.insights.push(...result.insights);
    run.failed += result.failedMessageIds.length;
    run.parked += result.parked;
    run.ruleAlerts += notifier.sent.length - sentBefore;
    const hour = Math.floor(batch.at / 3_600_000);
    const places = delivered.get(hour) ?? new Map<string, { bucket: string; key: string }[]>();
    delivered.set(hour, places);
    for (const o of result.outcomes) {
      if (o.status !== 'ingested') continue;
      const place = `${o.summary.account}/${o.summary.region}`;
      places.set(place, [...(places.get(place) ?? []), o.summary.source]);
    }
  }
  // Until a fold has applied everything parked.
  const end = nextRun + (DEFAULT_OPTIONS.foldMinutes + 5) * 60_000;
  while (nextRun <= end) {
    await runScheduled(nextRun);
    nextRun += SCHEDULE_MS;
  }
  run.wallSeconds = (performance.now() - started) / 1000;
  return run;
}

/**
 * The bill of one class. Per-file requests are the ones counted. Per-batch costs (the summaries object, the
 * Lambda request, SQS receive and delete) are charged at full batches, as in an organization of a thousand
 * accounts where a full batch arrives within seconds (a handful of accounts rarely fills one). Lambda time is
 * the measured CPU time plus the S3 round trips each file waits for, BATCH_READ_CONCURRENCY at a time.
 */
function costOf(r: ClassRun) {
  const fullBatches = Math.ceil(r.files / BATCH_SIZE);
  // The summaries object and the parked object are per batch: charged at full batches too.
  const statePuts =
    r.state.count('PUT') -
    r.state.count('PUT', 'summaries') -
    r.state.count('PUT', 'parked') +
    r.state.count('LIST');
  const parkedObjects = r.parked > 0 ? fullBatches : 0;
  const s3Puts = statePuts + fullBatches + parkedObjects + r.trail.count('LIST');
  const s3Gets = r.state.count('GET') + r.state.count('HEAD') + r.trail.count('GET') + r.trail.count('HEAD');
  const s3 = s3Puts * PRICE.s3Put + s3Gets * PRICE.s3Get;
  const waits = ((r.state.total() + r.trail.total()) * LATENCY_MS) / 1000 / BATCH_READ_CONCURRENCY;
  const lambdaSeconds = r.cpuSeconds + waits;
  const lambda = lambdaSeconds * INGEST_MEMORY_GB * PRICE.lambdaGbS + fullBatches * PRICE.lambdaRequest;
  // One SendMessage per file (S3 or EventBridge to the queue); receive and delete per 64 KB of a full batch
  // (about 1.2 KB a notification).
  const chunks = 2 * Math.ceil((BATCH_SIZE * 1200) / 65536);
  const sqs = (r.files + fullBatches * chunks) * PRICE.sqsRequest;
  const total = s3 + lambda + sqs;
  const per100k = (x: number) => (x / r.events) * 100_000;
  const floor = r.trail.count('GET') * PRICE.s3Get + r.files * PRICE.sqsRequest;
  // The scheduled detect (folds and the runs between): its S3 requests, and Lambda time (CPU + waits, 32 at
  // a time) at its memory, one request per run.
  const d = r.scheduled;
  const schedS3 =
    (d.count('PUT') + d.count('LIST')) * PRICE.s3Put + (d.count('GET') + d.count('HEAD')) * PRICE.s3Get;
  const schedSeconds = r.scheduledCpuSeconds + (d.total() * LATENCY_MS) / 1000 / 32;
  const schedLambda =
    schedSeconds * DETECT_MEMORY_GB * PRICE.lambdaGbS + r.scheduledRuns * PRICE.lambdaRequest;
  const scheduled = schedS3 + schedLambda;
  // Verify's S3 requests for the files it checks (its Lambda time is the digest check's, not measured
  // here): its state requests, and per file the log file GET (to hash it) and the GET of its summary.
  const v = r.verify;
  const verifyS3 =
    (v.count('PUT') + v.count('LIST')) * PRICE.s3Put +
    (v.count('GET') + v.count('HEAD') + 2 * r.files) * PRICE.s3Get;
  return {
    verifyS3,
    s3,
    lambda,
    sqs,
    total,
    per100k,
    perFile: total / r.files,
    floor,
    lambdaSeconds,
    schedS3,
    schedLambda,
    scheduled,
  };
}

function printRun(r: ClassRun): void {
  const c = costOf(r);
  const per1000 = (n: number) => fmt((n / r.files) * 1000, 0);
  console.log(
    `\n### ${r.name}: ${fmt(r.files, 0)} files, ${fmt(r.events, 0)} events (${fmt(r.events / r.files)} a file), ${r.batches} batches`,
  );
  console.log(
    `  throughput: ${fmt(r.files / r.wallSeconds)} files/s, ${fmt(r.events / r.wallSeconds, 0)} events/s (one process, ${LATENCY_MS} ms per S3 request)`,
  );
  console.log(
    `  S3 requests per 1,000 files: state GET ${per1000(r.state.count('GET', 'state'))} HEAD ${per1000(r.state.count('HEAD', 'state'))} PUT ${per1000(r.state.count('PUT', 'state'))}; ` +
      `summaries PUT ${per1000(r.state.count('PUT', 'summaries'))} HEAD ${per1000(r.state.count('HEAD', 'summaries'))}; ` +
      `claims PUT ${per1000(r.state.count('PUT', 'claims'))} GET ${per1000(r.state.count('GET', 'claims'))}; ` +
      `outbox ${per1000(r.state.count('PUT', 'outbox') + r.state.count('LIST', 'outbox') + r.state.count('GET', 'outbox') + r.state.count('DELETE', 'outbox'))}; ` +
      `log file GET ${per1000(r.trail.count('GET'))}; all state-bucket requests ${per1000(r.state.total())}`,
  );
  const areas = [...r.state.counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${per1000(v)}`)
    .join(', ');
  console.log(`  every state-bucket request per 1,000 files, by operation and area: ${areas}`);
  console.log(
    `  files parked at ingest: ${fmt((r.parked / r.files) * 100)} % (${fmt(r.parked, 0)}); parked objects PUT ${per1000(r.state.count('PUT', 'parked'))}, active marks PUT+DELETE ${per1000(r.state.count('PUT', 'active') + r.state.count('DELETE', 'active'))}, state GET for tickets ${per1000(r.state.count('GET', 'state'))} per 1,000 files`,
  );
  console.log(
    `  ingest cost per 100,000 events, Lambda + S3 (the issue's measure): ${usd(c.per100k(c.s3 + c.lambda))} (S3 ${usd(c.per100k(c.s3))}, Lambda ${usd(c.per100k(c.lambda))}); SQS besides: ${usd(c.per100k(c.sqs))}; all three: ${usd(c.per100k(c.total))}; per file ${usd(c.perFile)}`,
  );
  const d = r.scheduled;
  console.log(
    `  scheduled detect: ${r.scheduledRuns} runs (every 5 min), ${r.folds} fold passes; S3 state GET ${d.count('GET', 'state')} PUT ${d.count('PUT', 'state')}, parked LIST ${d.count('LIST', 'parked')} GET ${d.count('GET', 'parked')}, marks LIST ${d.count('LIST', 'active')}, ` +
      `shard status GET ${d.count('GET', 'shards')} PUT ${d.count('PUT', 'shards')}, states LIST ${d.count('LIST', 'state')}; all ${d.total()}; CPU ${fmt(r.scheduledCpuSeconds, 2)} s`,
  );
  console.log(
    `  scheduled detect per 100,000 events: ${usd(c.per100k(c.scheduled))} (S3 ${usd(c.per100k(c.schedS3))}, Lambda ${usd(c.per100k(c.schedLambda))}); whole bill (ingest Lambda + S3 + SQS + scheduled detect): ${usd(c.per100k(c.total + c.scheduled))}`,
  );
  console.log(
    `  sweep (in the scheduled detect): ${r.sweepAlerts} messages sent (deferred throttled alerts and count-rule bursts across batches); messages sent at ingest: ${r.ruleAlerts}; ` +
      `verify (simulated, billed apart: per digest the day folder's verified files and the state; per file the log file and summary GETs): state GET ${per1000(r.verify.count('GET'))} PUT ${per1000(r.verify.count('PUT'))} per 1,000 files, S3 ${usd(c.per100k(c.verifyS3))} per 100,000 events`,
  );
  console.log(
    `    of which any reader of the trail pays (the log file GET and its queue message): ${usd(c.per100k(c.floor))}; trailwatch's own share: ${usd(c.per100k(c.total - c.floor))}`,
  );
  console.log(
    `  Lambda time: ${fmt((c.lambdaSeconds / r.files) * 1000, 2)} ms a file (${fmt((r.cpuSeconds / r.files) * 1000, 2)} ms of it CPU); failed messages: ${r.failed}`,
  );
}

async function stateSizes(r: ClassRun): Promise<number[]> {
  const sizes: number[] = [];
  let largest: { size: number; key: string } | undefined;
  for await (const o of r.state.list('insights/state/')) {
    sizes.push(o.size);
    if (!largest || o.size > largest.size) largest = { size: o.size, key: o.key };
  }
  if (largest) {
    const body = (r.state.inner as IndexedMemoryStore).objects.get(largest.key)?.body;
    const parsed = body ? (JSON.parse(Buffer.from(body).toString('utf8')) as Record<string, unknown>) : {};
    const parts = Object.entries(parsed)
      .map(([k, v]) => [k, JSON.stringify(v)?.length ?? 0] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 4)
      .map(([k, n]) => `${k} ${fmt(n / 1024)} KiB`);
    console.log(`  ${r.name}: largest state by part: ${parts.join(', ')}`);
  }
  return sizes.sort((a, b) => a - b);
}

async function passes(templates: Buffer[], now: Date): Promise<void> {
  const accounts = quick ? 200 : 1000;
  const regions = Array.from({ length: 17 }, (_, i) => `xx-test-${i + 1}`);
  const shardCount = 16;
  const concurrency = 32;
  console.log(
    `\n### Scheduled passes over ${accounts} accounts x ${regions.length} regions (${fmt(accounts * regions.length, 0)} account-regions), ${shardCount} shards, ${concurrency} at a time per shard, ${LATENCY_MS} ms per S3 request`,
  );
  const state = new IndexedMemoryStore('state');
  const trail = new IndexedMemoryStore('trail');
  const recent = new Date(now.getTime() - 10 * 60_000);
  let n = 0;
  for (let a = 0; a < accounts; a++) {
    const account = String(200000000000 + a);
    for (const region of regions) {
      // Real states from the replay, one per account-region (shared bytes: memory stays small).
      const body = templates[n++ % templates.length];
      state.objects.set(stateKey(account, region), {
        body,
        etag: `"t${n % templates.length}"`,
        lastModified: now,
      });
      await trail.put(
        logFileKey({ orgId: scenario.orgId, account, region, time: recent, unique: 'Abcdefghijklmnop' }),
        'x',
      );
      await trail.put(
        digestFileKey({
          orgId: scenario.orgId,
          account,
          region,
          trailName: scenario.trailName,
          homeRegion: scenario.regions[0],
          endTime: recent,
        }),
        'x',
      );
    }
  }
  // The index needs the states' keys: re-put them through the store once.
  for (const key of [...state.objects.keys()]) {
    const o = state.objects.get(key)!;
    state.objects.delete(key);
    await state.put(key, o.body);
  }
  const TIMEOUT_MS = 120_000;
  const MARGIN_MS = 15_000;
  for (const job of ['detect', 'detect between folds', 'watchdog'] as const) {
    const times: number[] = [];
    let done = 0;
    let stopped = 0;
    let requests = 0;
    for (let index = 0; index < shardCount; index++) {
      const s = new InstrumentedStore(state, LATENCY_MS);
      const t = new InstrumentedStore(trail, LATENCY_MS);
      const started = Date.now();
      const common = {
        state: s,
        notifier: new OutboxNotifier(),
        logger: silent,
        metrics: noMetrics,
        now: () => now,
        shards: { shardCount, concurrency },
        deadline: () => started + TIMEOUT_MS - MARGIN_MS,
        clock: () => Date.now(),
      };
      const spec = { index, count: shardCount };
      // The first pass of a shard is a fold pass (every state); the next, five minutes on, visits the marked.
      const at = job === 'detect between folds' ? new Date(now.getTime() + 5 * 60_000) : now;
      const r =
        job !== 'watchdog'
          ? await detectShard(
              {
                ...common,
                now: () => at,
                config: { alertTopicArn: TOPIC },
              },
              spec,
            )
          : await watchShard(
              {
                ...common,
                trail: t,
                config: {
                  alertTopicArn: TOPIC,
                  trailPrefixes: [''],
                  options: DEFAULT_WATCHDOG,
                },
              },
              spec,
            );
      times.push((Date.now() - started) / 1000);
      done += r.done;
      if (r.stoppedEarly) stopped++;
      requests += s.total() + t.total();
    }
    const max = Math.max(...times);
    const mean = times.reduce((x, y) => x + y, 0) / times.length;
    console.log(
      `  ${job}: slowest shard ${fmt(max)} s, mean ${fmt(mean)} s (each shard its own invocation, so the pass takes the slowest shard); ` +
        `${fmt(done, 0)} checks done, ${stopped} shards stopped at the deadline; ${fmt(requests, 0)} S3 requests; ` +
        `fits the 5-minute schedule: ${max < 300 ? 'yes' : 'NO'}, the 120 s timeout: ${max < 120 ? 'yes' : 'NO'}`,
    );
  }
}

/**
 * The detect coordinator's sweep over an organization of `accounts` x 17 regions: every file of five minutes
 * (as many per account-region as the replay delivered) in full batches of parked objects, the files taken
 * from the replay's parked objects with their account renumbered. Four runs fill its memory (20 minutes of
 * count events); the fifth is timed.
 */
async function sweepPass(runs: ClassRun[], filesPer5Min: number, now: Date): Promise<void> {
  const units: ParkedBatch[] = [];
  for (const r of runs) {
    const store = r.state.inner as IndexedMemoryStore;
    for (const [key, o] of store.objects) {
      if (!key.startsWith(PARKED_PREFIX)) continue;
      const b = decodeParked(Buffer.from(o.body), key);
      const sources = new Set([
        ...b.summaries.map((x) => `${x.source.bucket}/${x.source.key}`),
        ...b.counts.map((c) => c.source),
      ]);
      for (const src of sources) {
        units.push({
          summaries: b.summaries.filter((x) => `${x.source.bucket}/${x.source.key}` === src),
          counts: b.counts.filter((c) => c.source === src),
          alerts: b.alerts.filter((a) => src.endsWith(a.window.sourceKey)),
        });
      }
    }
  }
  const state = new IndexedMemoryStore('state');
  const renumber = (b: ParkedBatch, n: number): ParkedBatch => {
    const account = String(300000000000 + n);
    return {
      summaries: b.summaries.map((x) => ({ ...x, account })),
      counts: b.counts.map((c) => ({ ...c, account, source: `${c.source}#${n}` })),
      alerts: b.alerts.map((a) => ({ ...a, window: { ...a.window, account } })),
    };
  };
  let next = 0;
  let timed = { seconds: 0, requests: 0, objects: 0, bytes: 0, sent: 0 };
  for (let run = 0; run < 5; run++) {
    const at = new Date(now.getTime() + run * SCHEDULE_MS);
    const hour = Math.floor(at.getTime() / 3_600_000);
    for (let f = 0; f < filesPer5Min; f += BATCH_SIZE) {
      const batch: ParkedBatch = { summaries: [], counts: [], alerts: [] };
      for (let i = 0; i < BATCH_SIZE; i++, next++) {
        const u = renumber(
          units[next % units.length],
          Math.floor(next / units.length) * 1000 + (next % 1000),
        );
        batch.summaries.push(...u.summaries);
        batch.counts.push(...u.counts);
        batch.alerts.push(...u.alerts);
      }
      await state.put(`${parkedHourPrefix(hour)}r${run}b${f}.json.gz`, encodeParked(batch));
    }
    const store = new InstrumentedStore(state, LATENCY_MS);
    const notifier = new OutboxNotifier();
    const started = performance.now();
    const r = await sweepParked({
      config: { alertTopicArn: TOPIC },
      state: store,
      notifier,
      logger: silent,
      metrics: noMetrics,
      rules: defaultRules(),
      now: () => at,
    });
    const sweepState = state.objects.get('alert-windows/sweep.json.gz');
    timed = {
      seconds: (performance.now() - started) / 1000,
      requests: store.total(),
      objects: r.objects,
      bytes: sweepState?.body.length ?? 0,
      sent: r.sent,
    };
  }
  console.log(
    `  detect coordinator's sweep: ${fmt(timed.seconds)} s for five minutes of the organization (${fmt(filesPer5Min, 0)} files in ${timed.objects} parked objects, ${timed.sent} messages), ` +
      `${timed.requests} S3 requests; its memory object ${fmt(timed.bytes / 2 ** 20, 2)} MiB gzipped; fits the 120 s timeout beside the coordinator's other work: ${timed.seconds < 60 ? 'yes' : 'NO'}`,
  );
}

console.log(`# Organization scale (${machine()})`);
console.log(
  `Prices: S3 PUT/LIST $0.005/1,000, GET/HEAD $0.0004/1,000; Lambda $0.0000166667/GB-s at ${fmt(INGEST_MEMORY_GB, 2)} GB + $0.20/1M requests; SQS $0.40/1M requests (64 KB chunks). ` +
    `EventBridge delivers S3's events to the default bus at no charge. Batches: up to ${BATCH_SIZE} files within ${BATCH_WINDOW_MS / 1000} s.`,
);
const source = new MemoryObjectStore('trail');
const t0 = performance.now();
const org = await generateOrganization(scenario, source);
console.log(
  `\nGenerated ${scenario.accounts} accounts (${scenario.busyAccounts} busy) x ${scenario.regions.length} regions x ${scenario.hours} h: ${fmt(org.deliveries.length, 0)} log files in ${fmt((performance.now() - t0) / 1000)} s; ` +
    `burst ${scenario.burst.eventName} x ${scenario.burst.perMinute}/min for ${scenario.burst.minutes} min in ${org.accounts[scenario.burst.accountIndex].account}/${scenario.burst.region}`,
);
const busy = new Set(org.accounts.filter((a) => a.kind === 'busy').map((a) => a.account));
const quiet = new Set(org.accounts.filter((a) => a.kind === 'quiet').map((a) => a.account));
const quietRun = await replay('quiet accounts', org, source, quiet);
printRun(quietRun);
const busyRun = await replay('busy accounts', org, source, busy);
printRun(busyRun);

const burstAccount = org.accounts[scenario.burst.accountIndex].account;
const atFold = [...quietRun.scheduledInsights, ...busyRun.scheduledInsights].filter(
  (e) => e.kind === 'start',
);
const starts = [...quietRun.insights, ...busyRun.insights, ...atFold].filter((e) => e.kind === 'start');
const burstApi = (e: InsightEvent) => e.eventName === scenario.burst.eventName;
const inBurstAccount = starts.filter((e) => e.account === burstAccount && burstApi(e));
const elsewhere = starts.filter((e) => e.account !== burstAccount && burstApi(e));
console.log(
  `\n### Burst: ${inBurstAccount.length > 0 ? 'detected' : 'NOT detected'} in ${burstAccount}/${scenario.burst.region} ` +
    `(${inBurstAccount.map((e) => `${e.insightType} from ${e.start}`).join(', ') || 'none'}); ` +
    `insights on ${scenario.burst.eventName} in other accounts: ${elsewhere.length}; every insight started: ${starts.length} ` +
    `(${[...new Set(starts.map((e) => `${e.account}/${e.region} ${e.eventName} ${e.insightType}`))].join('; ')}); ` +
    `started by a fold rather than at ingest: ${atFold.length}`,
);

const templates: Buffer[] = [];
console.log('\n### State bytes per account-region');
for (const r of [quietRun, busyRun]) {
  const sizes = await stateSizes(r);
  const sum = sizes.reduce((x, y) => x + y, 0);
  const writesPerDay = (r.state.count('PUT', 'state') / sizes.length / scenario.hours) * 24;
  const mean = sum / sizes.length;
  console.log(
    `  ${r.name}: ${sizes.length} states, median ${fmt(sizes[sizes.length >> 1] / 1024)} KiB, max ${fmt(sizes[sizes.length - 1] / 1024)} KiB; ` +
      `${fmt(writesPerDay, 0)} writes a day each, so old versions kept 1 day (noncurrentVersionDays) hold about ${fmt((mean * writesPerDay * 1) / 2 ** 20)} MiB per account-region`,
  );
  for await (const o of r.state.inner.list('insights/state/')) {
    if (r === quietRun && o.key.includes(burstAccount)) continue;
    const body = (r.state.inner as IndexedMemoryStore).objects.get(o.key)?.body;
    if (body) templates.push(Buffer.from(body));
  }
}
// Mostly quiet states, like an organization: busy templates are a few of many.
const end = new Date(Date.parse(scenario.start) + scenario.hours * 3_600_000);
await passes(templates, end);
// Files an organization of that size delivers in five minutes: the replay's rate, scaled by accounts.
const scale = (quick ? 200 : 1000) / scenario.accounts;
const per5Min = ((quietRun.files + busyRun.files) / (scenario.hours * 12)) * scale;
await sweepPass([quietRun, busyRun], Math.round(per5Min), end);

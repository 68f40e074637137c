/**
 * Replay: feeds existing deliveries (a folder laid out like the bucket, or an S3 bucket) through the real
 * handlers in delivery order, with local twins for everything they would write: objects under `out/` by key,
 * `metrics.jsonl` (EMF documents) and `notifications.jsonl` (SNS messages).
 */
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import type { S3Event } from 'aws-lambda';
import { CapturingMetrics } from '#cli/adapters/emf-file-metrics.ts';
import { badKeyReason, FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { JsonlFile, OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import { coreIsFree, EvaluationPool } from '#cli/replay/evaluation-pool.ts';
import { lambdaContext, s3Event } from '#cli/replay/events.ts';
import { type IngestDeps, ingestHandler, verifyHandler } from '#functions/handlers.ts';
import { ingestConfig, observabilityConfig } from '#shared/config.ts';
import type { PublicKeySource } from '#shared/digest/public-keys.ts';
import { failuresOf } from '#shared/digest/tamper-alerts.ts';
import { type InsightEvent, readWarmUps, type WarmUp } from '#shared/insights/index.ts';
import { classifyKey } from '#shared/keys.ts';
import { BadKeyError, type Notification, type ObjectStore } from '#shared/ports.ts';
import type { ExceptionSet } from '#shared/rules/exceptions.ts';
import { defaultExceptions, defaultRules } from '#shared/rules/load.ts';
import type { Rule } from '#shared/rules/rule-types.ts';

export interface ReplayOptions {
  source: ObjectStore;
  /** Bucket name the events carry (for a folder: a stand-in name). */
  sourceBucket: string;
  /** Only keys under this prefix. */
  prefix?: string;
  out: string;
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
  /** Rules to evaluate (default: the catalog plus the bundled custom rules). */
  rules?: readonly Rule[];
  /** Exceptions to apply (default: the bundled shared/rules/exceptions.json). */
  exceptions?: ExceptionSet;
  /** Where digest signatures are checked against; without it digests are counted, not verified. */
  keys?: PublicKeySource;
  onProgress?: (done: number, total: number, key: string) => void;
  /**
   * Threads that evaluate large files' records beside the one reading them: 0 or 1; by default 1 for each
   * large file that finds a core free ({@link coreIsFree}). The outputs are the same either way.
   */
  workers?: number;
}

export interface Delivery {
  key: string;
  size: number;
  etag?: string;
  /** Time CloudTrail delivered it, from its name; undefined for objects that are not CloudTrail's. */
  time?: Date;
}

export interface ReplayReport {
  deliveries: number;
  logFiles: { ingested: number; duplicate: number; rejected: number; skipped: number };
  records: number;
  uncompressedBytes: number;
  badRecords: number;
  digests: number;
  /** Insight Start/End events, each with the simulated time replay emitted it at. */
  insights: InsightEvent[];
  /** Per account+region: the history detection has seen and the history it needs before a Start. */
  warmUp: WarmUp[];
  digestVerdicts: {
    valid: number;
    invalid: number;
    logFilesChecked: number;
    failures: { type: string; key: string; reason: string }[];
  };
  ignored: number;
  rejections: { key: string; reason: string }[];
  /** Keys no folder can hold safely (`..`, NUL, an over-long segment, a link out of the folder): skipped. */
  badKeys: { key: string; reason: string }[];
  /** CloudTrail objects rewritten, deleted or planted empty: CRITICAL alerts went out. */
  tampered: number;
  notifications: Notification[];
  accounts: string[];
  regions: string[];
  firstEvent: string | null;
  lastEvent: string | null;
  metricsLines: number;
  outDir: string;
  seconds: number;
}

/** The {@link BadKeyError} a failure came from (the handlers wrap store failures in a retry error). */
function badKeyIn(err: unknown): BadKeyError | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e instanceof Error && !seen.has(e); e = e.cause) {
    seen.add(e);
    if (e instanceof BadKeyError) return e;
  }
  return undefined;
}

/** Orders objects as CloudTrail delivered them: by the time in their names, logs before the digest that lists them. */
export async function deliveriesOf(store: ObjectStore, prefix = ''): Promise<Delivery[]> {
  const out: (Delivery & { rank: number })[] = [];
  for await (const o of store.list(prefix)) {
    const k = classifyKey(o.key);
    const time = k.kind === 'other' ? undefined : k.time;
    const rank = k.kind === 'log' ? 1 : k.kind === 'digest' ? 2 : k.kind === 'insight' ? 3 : 0;
    out.push({
      key: o.key,
      size: o.size,
      ...(o.etag ? { etag: o.etag } : {}),
      ...(time ? { time } : {}),
      rank,
    });
  }
  out.sort(
    (a, b) =>
      (a.time?.getTime() ?? 0) - (b.time?.getTime() ?? 0) ||
      a.rank - b.rank ||
      (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
  return out.map(({ rank: _rank, ...d }) => d);
}

/** The simulated time replay is at: the delivery time of the object being processed. */
export interface ReplayClock {
  now: Date;
}

export interface LocalPipeline {
  clock: ReplayClock;
  ingest: ReturnType<typeof ingestHandler>;
  verify?: ReturnType<typeof verifyHandler>;
  state: FsObjectStore;
  notifier: OutboxNotifier;
  metricsFile: JsonlFile;
  /** Digest deliveries ingest handed over, waiting for verify. */
  digests: S3Event[];
  /** The thread large files are evaluated in, if any: closed when the replay ends. */
  offload?: EvaluationPool;
}

export function localPipeline(opts: ReplayOptions): LocalPipeline {
  const clock: ReplayClock = { now: new Date(0) };
  const state = new FsObjectStore(opts.out);
  const notifier = new OutboxNotifier(join(opts.out, 'notifications.jsonl'));
  const metricsFile = new JsonlFile(join(opts.out, 'metrics.jsonl'));
  const { namespace, serviceName } = observabilityConfig();
  const metrics = new CapturingMetrics({ namespace, serviceName }, metricsFile);
  const logger = new Logger({ serviceName, logLevel: opts.logLevel ?? 'SILENT' });
  const digests: S3Event[] = [];
  const rules = opts.rules ?? defaultRules();
  const offload =
    opts.workers === undefined
      ? new EvaluationPool(rules, { when: coreIsFree })
      : opts.workers > 0
        ? new EvaluationPool(rules)
        : undefined;
  const deps: IngestDeps = {
    config: ingestConfig({
      STATE_BUCKET: opts.out,
      ALERT_TOPIC_ARN: 'arn:aws:sns:local:000000000000:trailwatch-alerts',
    }),
    rules,
    ...(offload ? { offload } : {}),
    exceptions: opts.exceptions ?? defaultExceptions(),
    // Detection runs at the simulated time of the delivery being processed.
    now: () => clock.now,
    sourceStore: () => opts.source,
    state,
    notifier,
    logger,
    metrics,
    async dispatchDigest(delivery) {
      digests.push({ Records: [delivery.notification] } as S3Event);
    },
  };
  const verify = opts.keys
    ? verifyHandler({
        config: { alertTopicArn: deps.config.alertTopicArn },
        sourceStore: () => opts.source,
        state,
        keys: opts.keys,
        notifier,
        logger,
        metrics,
      })
    : undefined;
  return {
    clock,
    ingest: ingestHandler(deps),
    ...(verify ? { verify } : {}),
    state,
    notifier,
    metricsFile,
    digests,
    ...(offload ? { offload } : {}),
  };
}

export async function replay(opts: ReplayOptions): Promise<ReplayReport> {
  const started = performance.now();
  const deliveries = await deliveriesOf(opts.source, opts.prefix);
  const pipeline = localPipeline(opts);
  try {
    return await replayDeliveries(opts, deliveries, pipeline, started);
  } finally {
    await pipeline.offload?.close();
  }
}

async function replayDeliveries(
  opts: ReplayOptions,
  deliveries: Delivery[],
  pipeline: LocalPipeline,
  started: number,
): Promise<ReplayReport> {
  const context = lambdaContext('trailwatch-ingest');
  const report: ReplayReport = {
    deliveries: deliveries.length,
    logFiles: { ingested: 0, duplicate: 0, rejected: 0, skipped: 0 },
    records: 0,
    uncompressedBytes: 0,
    badRecords: 0,
    digests: 0,
    insights: [],
    warmUp: [],
    digestVerdicts: { valid: 0, invalid: 0, logFilesChecked: 0, failures: [] },
    ignored: 0,
    rejections: [],
    badKeys: [],
    tampered: 0,
    notifications: pipeline.notifier.sent,
    accounts: [],
    regions: [],
    firstEvent: null,
    lastEvent: null,
    metricsLines: 0,
    outDir: opts.out,
    seconds: 0,
  };
  const accounts = new Set<string>();
  const regions = new Set<string>();
  let done = 0;
  for (const d of deliveries) {
    const bad = badKeyReason(d.key);
    if (bad) {
      report.badKeys.push({ key: d.key, reason: bad });
      opts.onProgress?.(++done, deliveries.length, d.key);
      continue;
    }
    const event = s3Event(opts.sourceBucket, d.key, d.size, d.time ?? new Date(0), d.etag);
    if (d.time && d.time > pipeline.clock.now) pipeline.clock.now = d.time;
    let result: Awaited<ReturnType<typeof pipeline.ingest>>;
    try {
      result = await pipeline.ingest(event, context);
    } catch (err) {
      const refused = badKeyIn(err);
      if (!refused) throw err;
      report.badKeys.push({ key: d.key, reason: refused.message });
      opts.onProgress?.(++done, deliveries.length, d.key);
      continue;
    }
    report.insights.push(...result.insights);
    for (const o of result.outcomes) {
      switch (o.status) {
        case 'ingested': {
          report.logFiles.ingested++;
          const s = o.summary;
          report.records += s.records;
          report.uncompressedBytes += s.bytes;
          report.badRecords += s.badRecords.invalid + s.badRecords.oversized + s.badRecords.missingFields;
          accounts.add(s.account);
          regions.add(s.region);
          if (s.oldestEventTime && (!report.firstEvent || s.oldestEventTime < report.firstEvent)) {
            report.firstEvent = s.oldestEventTime;
          }
          if (s.newestEventTime && (!report.lastEvent || s.newestEventTime > report.lastEvent)) {
            report.lastEvent = s.newestEventTime;
          }
          break;
        }
        case 'duplicate':
          report.logFiles.duplicate++;
          break;
        case 'rejected':
          report.logFiles.rejected++;
          report.rejections.push({ key: o.key, reason: o.reason });
          break;
        case 'skipped':
          report.logFiles.skipped++;
          break;
        case 'dispatched':
          report.digests++;
          break;
        case 'ignored':
          report.ignored++;
          break;
        case 'tampered':
          report.tampered++;
          break;
      }
    }
    // Verify runs as its own invocation, right after ingest handed the digest over (asynchronous in AWS).
    for (const digestEvent of pipeline.digests.splice(0)) {
      if (!pipeline.verify) continue;
      const verified = await pipeline.verify(digestEvent, lambdaContext('trailwatch-verify'));
      for (const v of verified.outcomes) {
        if (v.status !== 'verified') continue;
        const failures = failuresOf(v.report);
        report.digestVerdicts.logFilesChecked += v.report.logs.length;
        if (failures.length === 0) report.digestVerdicts.valid++;
        else report.digestVerdicts.invalid++;
        for (const f of failures)
          report.digestVerdicts.failures.push({ type: f.type, key: f.key, reason: f.reason ?? '' });
      }
    }
    opts.onProgress?.(++done, deliveries.length, d.key);
  }
  report.accounts = [...accounts].sort();
  report.regions = [...regions].sort();
  report.metricsLines = pipeline.metricsFile.lines;
  report.warmUp = await readWarmUps(pipeline.state);
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

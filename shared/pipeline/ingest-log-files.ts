/**
 * The ingest use case. CloudTrail writes logs, digests and Insights files under one prefix and one S3
 * notification announces them all, so each announced object is routed by its key first: digests are handed
 * to verify, anything that is not a log file is counted and ignored, and a log file goes through three steps:
 *
 *   1. read and evaluate: stream its records once into the summary and the rules, hashing the bytes as they pass;
 *   2. publish findings: count rules against earlier files, rule metrics, throttled rule alerts, anomaly
 *      detection on the file's counts;
 *   3. commit: write the summary, only if absent. It carries the file's index (shared/logfile/file-index.ts),
 *      which lets `trailwatch lookup --state` skip files that cannot match.
 *
 * The summary is the commit marker: a re-delivered or retried file finds it and is not counted twice, and a
 * crash before it leaves nothing half-written (the retry starts over and may re-send an alert, never lose one).
 */
import { createHash } from 'node:crypto';
import type { IngestConfig } from '#shared/config.ts';
import { detectAndNotify } from '#shared/insights/detect-and-notify.ts';
import type { InsightEvent } from '#shared/insights/insight-types.ts';
import type { TrailKey } from '#shared/keys.ts';
import { DEFAULT_LIMITS } from '#shared/limits.ts';
import { FileIndexBuilder } from '#shared/logfile/file-index.ts';
import { LogFileError, readLogRecords, type ScanLimits, type ScanStats } from '#shared/logfile/read.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { buildRuleNotifications } from '#shared/notify/rule-alerts.ts';
import { claimAlert, throttleMinutes } from '#shared/notify/throttle.ts';
import { type Delivery, routeDelivery } from '#shared/pipeline/routing.ts';
import {
  addDimensionedMetric,
  type Log,
  type MetricsSink,
  type Notifier,
  type ObjectStore,
  PreconditionFailedError,
} from '#shared/ports.ts';
import { applyCounts } from '#shared/rules/count-windows.ts';
import {
  type CountObservation,
  RuleEvaluator,
  type RuleMatches,
  type RuleSuppressions,
} from '#shared/rules/evaluate.ts';
import { type ActiveExceptions, type ExceptionSet, expiredMessage } from '#shared/rules/exceptions.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import { type LogFileSummary, SummaryBuilder } from '#shared/summary.ts';

export interface IngestPorts {
  config: IngestConfig;
  /** Evaluated on every record; validated at start-up (a bad pattern stops the function at load). */
  rules: readonly Rule[];
  /** Known-good activity the rules must not alert on (validated at start-up like the rules). */
  exceptions?: ExceptionSet;
  sourceStore(bucket: string): ObjectStore;
  state: ObjectStore;
  notifier: Notifier;
  logger: Log;
  metrics: MetricsSink;
  /** Clock for anomaly detection: the wall clock in Lambda, the simulated delivery time in replay. */
  now(): Date;
  /** Where Insights files are written (default: the state store). */
  insightStore?: ObjectStore;
  /** Hands a digest delivery to the verify function. */
  dispatchDigest(delivery: Delivery): Promise<void>;
}

/** A log file to ingest: where it is, what its key says, and its size when the event gave it. */
export interface LogFileRef {
  bucket: string;
  key: TrailKey;
  size?: number;
}

/** What one pass over a log file yields. */
export interface EvaluatedLogFile {
  summary: LogFileSummary;
  matches: RuleMatches[];
  /** Count rules' matching events of this file, by group (applied to their state in step 2). */
  counts?: CountObservation[];
  /** Matches exceptions silenced, per rule (absent: none). */
  suppressed?: RuleSuppressions[];
  /** SHA-256 (hex) of the file's uncompressed bytes: the hash CloudTrail's digest lists for it. */
  hash: string;
}

export type IngestOutcome =
  | {
      status: 'ingested';
      summary: LogFileSummary;
      summaryKey: string;
      hash: string;
      /** Matching records per rule id (the samples went out in the alerts). */
      ruleHits: Record<string, number>;
    }
  | { status: 'duplicate'; summaryKey: string }
  | { status: 'skipped'; reason: string }
  | { status: 'rejected'; reason: string; rejectionKey: string };

export type DeliveryOutcome = { key: string } & (
  | IngestOutcome
  | { status: 'dispatched' }
  | { status: 'ignored'; reason: string }
);

export interface IngestResult {
  outcomes: DeliveryOutcome[];
  /** Insights opened or closed while processing these deliveries. */
  insights: InsightEvent[];
}

/** Raised after all objects were tried, when some failed in a way a retry may fix. */
export class RetryableIngestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableIngestError';
  }
}

/**
 * Where the summary of a log file lives in the state store: one object per source object. `x.json.gz` keeps
 * the key it always had (`x.summary.json`: summaries already written stay the commit markers they are);
 * `x.json` is another object, so it gets `x.uncompressed.summary.json`. CloudTrail's file names end in an
 * alphanumeric id before `.json`, so no log file's stem ends in `.uncompressed` and the two never meet.
 */
export function summaryKeyFor(bucket: string, key: string): string {
  const stem = key.endsWith('.json.gz')
    ? key.slice(0, -'.json.gz'.length)
    : key.endsWith('.json')
      ? `${key.slice(0, -'.json'.length)}.uncompressed`
      : key;
  return `summaries/${bucket}/${stem}.summary.json`;
}

/** Where a rejected file's verdict lives: visible, keyed by the file, rewritten identically on retry. */
export function rejectionKeyFor(bucket: string, key: string): string {
  return `rejected/${bucket}/${key.replace(/\.json\.gz$/, '')}.json`;
}

/** Every object one notification announced, in order. Completed ones are recognised on retry. */
export async function ingestDeliveries(ports: IngestPorts, deliveries: Delivery[]): Promise<IngestResult> {
  const { logger, metrics } = ports;
  const result: IngestResult = { outcomes: [], insights: [] };
  const failures: { key: string; error: unknown }[] = [];
  for (const delivery of deliveries) {
    const r = routeDelivery(delivery);
    const { bucket, key } = r.object;
    try {
      if (r.to === 'ignore') {
        metrics.addMetric(METRIC.IgnoredObjects, 'Count', 1);
        logger.info('object ignored', { bucket, key, reason: r.reason });
        result.outcomes.push({ key, status: 'ignored', reason: r.reason });
      } else if (r.to === 'verify') {
        await ports.dispatchDigest(delivery);
        metrics.addMetric(METRIC.DigestsDispatched, 'Count', 1);
        result.outcomes.push({ key, status: 'dispatched' });
      } else {
        const outcome = await ingestLogFile(
          ports,
          { bucket, key: r.key, size: r.object.size },
          result.insights,
        );
        logOutcome(logger, bucket, key, outcome);
        result.outcomes.push({ key, ...outcome });
      }
    } catch (error) {
      logger.error('object failed; the event will be retried', { bucket, key, error });
      metrics.addMetric(METRIC.ProcessingFailures, 'Count', 1);
      failures.push({ key, error });
    }
  }
  if (failures.length > 0) {
    throw new RetryableIngestError(
      `${failures.length} of ${deliveries.length} objects failed: ${failures.map((f) => f.key).join(', ')}`,
      { cause: failures[0].error },
    );
  }
  return result;
}

/** One log file: read and evaluate, publish findings, commit. Insight events found are added to `insights`. */
export async function ingestLogFile(
  ports: IngestPorts,
  file: LogFileRef,
  insights: InsightEvent[] = [],
): Promise<IngestOutcome> {
  const { state, metrics, config } = ports;
  if (file.size === 0) return skipped(metrics);
  const summaryKey = summaryKeyFor(file.bucket, file.key.key);
  if (await state.head(summaryKey)) {
    metrics.addMetric(METRIC.DuplicateDeliveries, 'Count', 1);
    return { status: 'duplicate', summaryKey };
  }

  const exceptions = ports.exceptions?.at(ports.now(), (e) =>
    ports.logger.warn(expiredMessage(e), { exception: e.id, expires: e.expires, file: e.origin }),
  );
  const read = await readAndEvaluate(ports.sourceStore(file.bucket), file, ports.rules, config, exceptions);
  if (read.status === 'empty') return skipped(metrics);
  if (read.status === 'unreadable') return recordRejection(state, metrics, file, read);

  const crossed = await publishFindings(ports, file, read, insights);

  const committed = await commitSummary(state, metrics, read.summary);
  if (committed.status === 'duplicate') return { status: 'duplicate', summaryKey };
  return {
    status: 'ingested',
    summary: read.summary,
    summaryKey,
    hash: read.hash,
    ruleHits: Object.fromEntries(
      [...read.matches, ...crossed].filter((m) => m.count > 0).map((m) => [m.rule.id, m.count]),
    ),
  };
}

export type ReadResult =
  | ({ status: 'read' } & EvaluatedLogFile)
  | { status: 'empty' }
  | { status: 'unreadable'; error: LogFileError; size: number; etag?: string };

/**
 * Step 1: one streaming pass over the object. A file that is not a usable CloudTrail log comes back as
 * `unreadable`; a failing store throws, since a retry may succeed.
 */
export async function readAndEvaluate(
  source: ObjectStore,
  file: LogFileRef,
  rules: readonly Rule[],
  limits: Partial<ScanLimits> = {},
  exceptions?: ActiveExceptions,
): Promise<ReadResult> {
  const object = await source.get(file.key.key);
  if (object.size === 0) return { status: 'empty' };
  const hash = createHash('sha256');
  const builder = new SummaryBuilder(file.key.time);
  const evaluator = new RuleEvaluator(rules, exceptions ? { exceptions } : {});
  const index = new FileIndexBuilder();
  const records = readLogRecords(object.body, {
    hash,
    // CloudTrail delivers gzip; `.json` copies of its files are plain JSON. Bytes that are neither are
    // rejected like any other unreadable file.
    compression: 'auto',
    limits: {
      maxRecordBytes: limits.maxRecordBytes ?? DEFAULT_LIMITS.maxRecordBytes,
      maxFileBytes: limits.maxFileBytes ?? DEFAULT_LIMITS.maxFileBytes,
    },
    sizeHint: object.size,
  });
  let stats: ScanStats;
  try {
    for (;;) {
      const next = await records.next();
      if (next.done) {
        stats = next.value;
        break;
      }
      for (const r of next.value) {
        builder.add(r);
        evaluator.onRecord(r);
        index.add(r);
      }
    }
  } catch (err) {
    if (!(err instanceof LogFileError)) throw err;
    return {
      status: 'unreadable',
      error: err,
      size: object.size,
      ...(object.etag ? { etag: object.etag } : {}),
    };
  }
  const summary = builder.build({
    source: {
      bucket: file.bucket,
      key: file.key.key,
      size: object.size,
      ...(object.etag ? { etag: object.etag } : {}),
    },
    account: file.key.account,
    region: file.key.region,
    ...(file.key.orgId ? { orgId: file.key.orgId } : {}),
    bytes: stats.bytes,
    badRecords: { invalid: stats.invalidRecords, oversized: stats.oversizedRecords.length },
  });
  // Last key of the summary: a reader after the index alone finds it without parsing the rest.
  summary.index = index.build({ ...summary.source });
  const suppressed = evaluator.suppressions();
  return {
    status: 'read',
    summary,
    matches: evaluator.results(),
    counts: evaluator.counts(),
    ...(suppressed.length > 0 ? { suppressed } : {}),
    hash: hash.digest('hex'),
  };
}

/**
 * Step 2, before the commit: count rules (this file's events added to each rule's window state, replacing
 * what an earlier try of the same file added), rule metrics, rule alerts (throttled per rule, account and
 * region), then anomaly detection on the file's counts (applying a summary twice is a no-op, and its messages
 * go through the outbox, so a retry re-runs it safely). Returns the count-rule groups that crossed.
 */
export async function publishFindings(
  ports: IngestPorts,
  file: LogFileRef,
  found: EvaluatedLogFile,
  insights: InsightEvent[],
): Promise<RuleMatches[]> {
  const { metrics, config, state } = ports;
  const { summary } = found;
  const crossed = await publishRuleFindings(ports, file, found);
  const detected = await detectAndNotify(
    { state, notifier: ports.notifier, metrics, topic: config.alertTopicArn },
    {
      account: summary.account,
      region: summary.region,
      now: ports.now(),
      summaries: [summary],
      insightStore: ports.insightStore ?? state,
      prefix: '',
    },
  );
  insights.push(...detected.events);
  return crossed;
}

/** Rule metrics and rule alerts of one evaluated file (each rule throttled per account and region). */
export async function publishRuleFindings(
  ports: IngestPorts,
  file: LogFileRef,
  found: EvaluatedLogFile,
  claim: typeof claimAlert = claimAlert,
): Promise<RuleMatches[]> {
  const { metrics, config, state } = ports;
  const { summary, matches } = found;
  const crossed: RuleMatches[] = [];
  for (const obs of found.counts ?? []) {
    const groups = await applyCounts(state, {
      rule: obs.rule,
      account: summary.account,
      region: summary.region,
      sourceKey: `${file.bucket}/${file.key.key}`,
      groups: obs.groups,
    });
    for (const { group, window } of groups) crossed.push({ ...group.matches, window });
  }
  const hits = [...matches.filter((m) => m.count > 0), ...crossed];
  for (const m of hits) metrics.addMetric(m.rule.metricName, 'Count', m.count);
  for (const s of found.suppressed ?? []) {
    addDimensionedMetric(metrics, METRIC.RuleMatchesSuppressed, 'Count', s.count, { rule: s.rule.id });
    ports.logger.info('rule matches suppressed by exceptions', {
      rule: s.rule.id,
      file: file.key.key,
      suppressed: s.byException.map((b) => ({
        exception: b.exception.id,
        reason: b.exception.reason,
        count: b.count,
        eventIds: b.eventIds,
      })),
    });
  }
  const allowed: RuleMatches[] = [];
  for (const m of hits) {
    const claimed = await claim(state, {
      ruleId: m.rule.id,
      account: summary.account,
      region: summary.region,
      minutes: throttleMinutes(m.rule, config.alertThrottle),
      at: file.key.time,
      sourceKey: file.key.key,
    });
    if (claimed) allowed.push(m);
    else metrics.addMetric(METRIC.RuleAlertsThrottled, 'Count', 1);
  }
  const notifications = buildRuleNotifications(allowed, {
    topic: config.alertTopicArn,
    source: summary.source,
    account: summary.account,
    region: summary.region,
    at: file.key.time,
    throttle: config.alertThrottle,
    ...(config.runbookUrl ? { runbookUrl: config.runbookUrl } : {}),
  });
  for (const n of notifications) await ports.notifier.publish(n);
  if (notifications.length > 0) metrics.addMetric(METRIC.RuleAlerts, 'Count', notifications.length);
  return crossed;
}

/** Step 3: the summary, written only if absent. Another invocation that committed first wrote the same one. */
export async function commitSummary(
  state: ObjectStore,
  metrics: MetricsSink,
  summary: LogFileSummary,
): Promise<{ status: 'committed' | 'duplicate'; summaryKey: string }> {
  const summaryKey = summaryKeyFor(summary.source.bucket, summary.source.key);
  try {
    await state.put(summaryKey, JSON.stringify(summary), {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    metrics.addMetric(METRIC.DuplicateDeliveries, 'Count', 1);
    return { status: 'duplicate', summaryKey };
  }
  countIngested(metrics, summary);
  return { status: 'committed', summaryKey };
}

/** The metrics of a file counted once, by whichever path committed it. */
export function countIngested(metrics: MetricsSink, summary: LogFileSummary): void {
  metrics.addMetric(METRIC.FilesIngested, 'Count', 1);
  metrics.addMetric(METRIC.Records, 'Count', summary.records);
  metrics.addMetric(METRIC.UncompressedBytes, 'Bytes', summary.bytes);
  const bad = summary.badRecords.invalid + summary.badRecords.oversized + summary.badRecords.missingFields;
  if (bad > 0) metrics.addMetric(METRIC.BadRecords, 'Count', bad);
  if (summary.lagSeconds)
    metrics.addMetric(METRIC.DeliveryLagSeconds, 'Seconds', Math.max(0, summary.lagSeconds.max));
}

/** A file that cannot be used: its verdict is written where an operator finds it, and counted. */
export async function recordRejection(
  state: ObjectStore,
  metrics: MetricsSink,
  file: LogFileRef,
  read: Extract<ReadResult, { status: 'unreadable' }>,
): Promise<IngestOutcome> {
  const rejectionKey = rejectionKeyFor(file.bucket, file.key.key);
  const verdict = {
    schema: 'trailwatch.rejection/1',
    source: {
      bucket: file.bucket,
      key: file.key.key,
      size: read.size,
      ...(read.etag ? { etag: read.etag } : {}),
    },
    account: file.key.account,
    region: file.key.region,
    error: read.error.name,
    reason: read.error.message,
  };
  await state.put(rejectionKey, JSON.stringify(verdict), { contentType: 'application/json' });
  metrics.addMetric(METRIC.RejectedFiles, 'Count', 1);
  return { status: 'rejected', reason: read.error.message, rejectionKey };
}

function skipped(metrics: MetricsSink): IngestOutcome {
  metrics.addMetric(METRIC.SkippedObjects, 'Count', 1);
  return { status: 'skipped', reason: 'zero-byte object' };
}

function logOutcome(logger: Log, bucket: string, key: string, o: IngestOutcome): void {
  switch (o.status) {
    case 'ingested':
      logger.info('log file ingested', {
        bucket,
        key,
        sha256: o.hash,
        records: o.summary.records,
        bytes: o.summary.bytes,
        badRecords: o.summary.badRecords,
        ruleHits: o.ruleHits,
      });
      break;
    case 'rejected':
      logger.error('log file rejected', { bucket, key, reason: o.reason, verdict: o.rejectionKey });
      break;
    default:
      logger.info(`log file ${o.status}`, { bucket, key, ...('reason' in o ? { reason: o.reason } : {}) });
  }
}

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
import {
  type ObjectTamper,
  type ObjectTamperInput,
  objectTamperAlert,
} from '#shared/digest/bucket-tamper.ts';
import { isVerified } from '#shared/digest/verified-files.ts';
import { detectAndNotify } from '#shared/insights/detect-and-notify.ts';
import type { InsightEvent } from '#shared/insights/insight-types.ts';
import { summaryKeyFor, type TrailKey } from '#shared/keys.ts';
import { DEFAULT_LIMITS, eventTimeRange } from '#shared/limits.ts';
import { FileIndexBuilder } from '#shared/logfile/file-index.ts';
import { LogFileError, readLogRecords, type ScanLimits, type ScanStats } from '#shared/logfile/read.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { buildRuleNotification } from '#shared/notify/rule-alerts.ts';
import { type AlertWindow, claimAlert, markAlertSent, throttleMinutes } from '#shared/notify/throttle.ts';
import {
  type EvaluatedLogFile,
  type EvaluationOffload,
  type EvaluationSession,
  type EvaluationSetup,
  type FileFacts,
  LogFileEvaluation,
  OffloadError,
  withIndex,
} from '#shared/pipeline/log-file-evaluation.ts';
import { type Delivery, routeDelivery } from '#shared/pipeline/routing.ts';
import {
  addDimensionedMetric,
  type Log,
  type MetricsSink,
  type Notifier,
  ObjectNotFoundError,
  type ObjectStore,
  PreconditionFailedError,
  readAll,
  type StoredObject,
  StoreError,
} from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { applyCounts } from '#shared/rules/count-windows.ts';
import type { RuleMatches } from '#shared/rules/evaluate.ts';
import { type ActiveExceptions, type ExceptionSet, expiredMessage } from '#shared/rules/exceptions.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import type { LogFileSummary } from '#shared/summary.ts';

export type { EvaluatedLogFile } from '#shared/pipeline/log-file-evaluation.ts';

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
  /** Evaluates large files' records in another thread (replay); without it, in the reading thread. */
  offload?: EvaluationOffload;
}

/** A log file to ingest: where it is, what its key says, and its size, version and ETag when the event gave them. */
export interface LogFileRef {
  bucket: string;
  key: TrailKey;
  size?: number;
  /** The version the event named: read exactly that one. */
  versionId?: string;
  /** The ETag the event named (unquoted): without a version, read only while the object still has it. */
  etag?: string;
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
  /** The object was rewritten, replaced or deleted: a CRITICAL alert went out. */
  | { status: 'tampered'; tamper: ObjectTamperInput['tamper'] }
  | { status: 'skipped'; reason: string }
  | { status: 'rejected'; reason: string; rejectionKey: string };

export type DeliveryOutcome = { key: string } & (
  | IngestOutcome
  | { status: 'dispatched' }
  | { status: 'ignored'; reason: string }
);

const unquote = (etag: string | undefined) => etag?.replace(/"/g, '');

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

/** Where the summary of a log file lives in the state store (shared/keys.ts: lookup reads it without the pipeline). */
export { summaryKeyFor };

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
      } else if (r.to === 'tamper') {
        await reportTamper(ports, {
          tamper: r.tamper,
          bucket,
          key,
          details: {
            event: delivery.eventName ?? (r.tamper === 'removed' ? 'ObjectRemoved' : 'ObjectCreated'),
            ...(r.object.versionId ? { versionId: r.object.versionId } : {}),
            ...(r.tamper === 'empty' ? { size: 0 } : {}),
          },
        });
        result.outcomes.push({ key, status: 'tampered', tamper: r.tamper });
      } else if (r.to === 'verify') {
        await ports.dispatchDigest(delivery);
        metrics.addMetric(METRIC.DigestsDispatched, 'Count', 1);
        result.outcomes.push({ key, status: 'dispatched' });
      } else {
        const outcome = await ingestLogFile(
          ports,
          {
            bucket,
            key: r.key,
            size: r.object.size,
            ...(r.object.versionId ? { versionId: r.object.versionId } : {}),
            ...(r.object.etag ? { etag: r.object.etag } : {}),
          },
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

/** A CRITICAL alert about the trail object itself, published at once (it needs no state). */
export async function reportTamper(
  ports: Pick<IngestPorts, 'notifier' | 'metrics' | 'logger'> & { config: { alertTopicArn: string } },
  t: ObjectTamperInput,
): Promise<void> {
  await ports.notifier.publish(objectTamperAlert(ports.config.alertTopicArn, t));
  ports.metrics.addMetric(METRIC.TamperAlerts, 'Count', 1);
  ports.logger.error('CloudTrail object tampered with', { ...t });
}

/**
 * One log file: read and evaluate, publish findings, commit. Insight events found are added to `insights`.
 * An unreachable state store does not stop the alerts a retry could not make more certain: the file is read
 * and its CRITICAL and HIGH rule alerts go out before anything needs the state, then the failure is raised
 * so the event is retried (alerts may repeat, never vanish).
 */
export async function ingestLogFile(
  ports: IngestPorts,
  file: LogFileRef,
  insights: InsightEvent[] = [],
): Promise<IngestOutcome> {
  const { state, metrics, logger } = ports;
  if (file.size === 0) return skipped(metrics);
  const summaryKey = summaryKeyFor(file.bucket, file.key.key);
  let stateFailure: unknown;
  let existing: boolean | undefined;
  try {
    existing = (await state.head(summaryKey)) !== undefined;
  } catch (err) {
    stateFailure = err;
    logger.error('state store unreachable; sending urgent alerts first', { key: summaryKey, error: err });
  }
  if (existing) return duplicateOrOverwrite(ports, file, summaryKey);

  const read = await readDeliveredLogFile(ports, file);
  if (read.status === 'tampered') return read;
  if (read.status === 'unreadable') {
    if (stateFailure) throw stateFailure;
    return recordRejection(state, metrics, file, read);
  }
  // A summary ingest writes has not been checked against a digest yet: detection may count it, the
  // baselines only once verify has found it listed (shared/insights/state.ts).
  read.summary.unverified = true;
  // Verify may have found it listed first (a digest racing its log file's event).
  if (!stateFailure && (await isVerified(state, file.bucket, file.key.key))) delete read.summary.unverified;

  const crossed = await publishFindings(ports, file, read, insights, stateFailure);

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

/**
 * A file already ingested announced again: the same object (a re-delivered event) is a duplicate; other
 * content under the same key (another ETag than the one ingest read) is a rewrite, alerted every time it
 * is announced.
 */
async function duplicateOrOverwrite(
  ports: IngestPorts,
  file: LogFileRef,
  summaryKey: string,
): Promise<IngestOutcome> {
  ports.metrics.addMetric(METRIC.DuplicateDeliveries, 'Count', 1);
  if (!file.etag) return { status: 'duplicate', summaryKey };
  const summary = JSON.parse((await readAll(ports.state, summaryKey)).toString('utf8')) as LogFileSummary;
  const readEtag = unquote(summary.source.etag);
  if (!readEtag || readEtag === unquote(file.etag)) return { status: 'duplicate', summaryKey };
  await reportTamper(ports, {
    tamper: 'overwritten',
    bucket: file.bucket,
    key: file.key.key,
    details: {
      ingested: {
        etag: readEtag,
        ...(summary.source.versionId ? { versionId: summary.source.versionId } : {}),
        ...(summary.sha256 ? { sha256: summary.sha256 } : {}),
      },
      announced: { etag: unquote(file.etag), ...(file.versionId ? { versionId: file.versionId } : {}) },
    },
  });
  return { status: 'tampered', tamper: 'overwritten' };
}

/**
 * Step 1 as ingest runs it: the version the event named, with the exceptions in force and the event-time
 * range. The object replaced before it was read, deleted, or empty is tampering, alerted at once (no state).
 */
export async function readDeliveredLogFile(
  ports: IngestPorts,
  file: LogFileRef,
): Promise<Exclude<ReadResult, { status: 'empty' }> | { status: 'tampered'; tamper: ObjectTamper }> {
  const { config } = ports;
  const exceptions = ports.exceptions?.at(ports.now(), (e) =>
    ports.logger.warn(expiredMessage(e), { exception: e.id, expires: e.expires, file: e.origin }),
  );
  let read: ReadResult;
  try {
    read = await readAndEvaluate(
      ports.sourceStore(file.bucket),
      file,
      ports.rules,
      {
        maxRecordBytes: config.maxRecordBytes,
        maxFileBytes: config.maxFileBytes,
        eventTimes: eventTimeRange(ports.now(), config.trailStart),
      },
      exceptions,
      ports.offload,
    );
  } catch (err) {
    const tamper =
      err instanceof PreconditionFailedError
        ? ('replaced-before-read' as const)
        : err instanceof ObjectNotFoundError
          ? ('removed' as const)
          : undefined;
    if (!tamper || !(err instanceof StoreError)) throw err;
    await reportTamper(ports, {
      tamper,
      bucket: file.bucket,
      key: file.key.key,
      details: {
        expected: file.versionId ? `version ${file.versionId}` : `ETag ${file.etag ?? 'any'}`,
        found: err.message,
      },
    });
    return { status: 'tampered', tamper };
  }
  if (read.status === 'empty') {
    await reportTamper(ports, {
      tamper: 'empty',
      bucket: file.bucket,
      key: file.key.key,
      details: { size: 0 },
    });
    return { status: 'tampered', tamper: 'empty' };
  }
  return read;
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
  limits: Partial<ScanLimits> & { eventTimes?: { from: number; to: number } } = {},
  exceptions?: ActiveExceptions,
  offload?: EvaluationOffload,
): Promise<ReadResult> {
  // The version the event named, or the object only while it still has the ETag the event named: a copy
  // written over it in between is never read in its place.
  const get = () =>
    source.get(file.key.key, {
      ...(file.versionId ? { versionId: file.versionId } : {}),
      ...(file.etag && !file.versionId ? { ifMatch: `"${unquote(file.etag)}"` } : {}),
    });
  const object = await get();
  if (object.size === 0) return { status: 'empty' };
  const setup = {
    deliveredAt: file.key.time,
    ...(limits.eventTimes ? { eventTimes: limits.eventTimes } : {}),
    ...(exceptions ? { exceptions } : {}),
  };
  const session = offload?.open(object.size, rules, setup);
  if (!session) return evaluateObject(object, file, rules, setup, limits);
  try {
    return await evaluateObject(object, file, rules, setup, limits, session);
  } catch (err) {
    // The other thread failed, not the file: read it again here rather than fail the delivery.
    if (!(err instanceof OffloadError)) throw err;
    return evaluateObject(await get(), file, rules, setup, limits);
  }
}

async function evaluateObject(
  object: StoredObject,
  file: LogFileRef,
  rules: readonly Rule[],
  setup: EvaluationSetup,
  limits: Partial<ScanLimits>,
  session?: EvaluationSession,
): Promise<ReadResult> {
  const hash = createHash('sha256');
  const options = {
    hash,
    // CloudTrail delivers gzip; `.json` copies of its files are plain JSON. Bytes that are neither are
    // rejected like any other unreadable file.
    compression: 'auto' as const,
    limits: {
      maxRecordBytes: limits.maxRecordBytes ?? DEFAULT_LIMITS.maxRecordBytes,
      maxFileBytes: limits.maxFileBytes ?? DEFAULT_LIMITS.maxFileBytes,
    },
    sizeHint: object.size,
  };
  const evaluation = session ? undefined : new LogFileEvaluation(rules, setup);
  // Offloaded, the evaluation builds no index: the reading thread does, here.
  const index = session ? new FileIndexBuilder() : undefined;
  let stats: ScanStats;
  try {
    stats =
      session && index
        ? await handOver(
            readLogRecords(object.body, { ...options, copyTo: session.runs, recordLayout: index.layout }),
            session,
            index,
          )
        : await evaluateHere(
            readLogRecords(object.body, {
              ...options,
              recordLayout: (evaluation as LogFileEvaluation).recordLayout,
            }),
            evaluation as LogFileEvaluation,
          );
  } catch (err) {
    session?.abort();
    if (!(err instanceof LogFileError)) throw err;
    return {
      status: 'unreadable',
      error: err,
      size: object.size,
      ...(object.etag ? { etag: object.etag } : {}),
    };
  }
  const facts: FileFacts = {
    source: {
      bucket: file.bucket,
      key: file.key.key,
      size: object.size,
      ...(object.etag ? { etag: object.etag } : {}),
      ...(object.versionId ? { versionId: object.versionId } : {}),
    },
    sha256: hash.digest('hex'),
    account: file.key.account,
    region: file.key.region,
    ...(file.key.orgId ? { orgId: file.key.orgId } : {}),
    stats,
  };
  let evaluated: EvaluatedLogFile;
  if (session && index) {
    evaluated = await session.finish(facts);
    withIndex(evaluated.summary, index);
  } else evaluated = (evaluation as LogFileEvaluation).finish(facts);
  return { status: 'read', ...evaluated };
}

async function evaluateHere(
  records: AsyncGenerator<CloudTrailRecord[], ScanStats>,
  evaluation: LogFileEvaluation,
): Promise<ScanStats> {
  for (;;) {
    const next = await records.next();
    if (next.done) return next.value;
    evaluation.add(next.value);
  }
}

/** The reading thread's half of an offloaded file: the index, and the bytes handed over as they come. */
async function handOver(
  records: AsyncGenerator<CloudTrailRecord[], ScanStats>,
  session: EvaluationSession,
  index: FileIndexBuilder,
): Promise<ScanStats> {
  for (;;) {
    const next = await records.next();
    if (next.done) return next.value;
    for (const r of next.value) index.add(r);
    await session.flush();
  }
}

/**
 * Step 2, before the commit: count rules (this file's events added to each rule's window state, replacing
 * what an earlier try of the same file added), rule metrics, rule alerts, then anomaly detection on the
 * file's counts (applying a summary twice is a no-op, and its messages go through the state, so a retry
 * re-runs it safely). Alerts that are never throttled need no state and go out first; a throttled one claims
 * its window, publishes, and only then marks the window spent. When the state fails, CRITICAL and HIGH
 * alerts are sent anyway and the failure is raised at the end, so the event is retried. Returns the
 * count-rule groups that crossed.
 */
export async function publishFindings(
  ports: IngestPorts,
  file: LogFileRef,
  found: EvaluatedLogFile,
  insights: InsightEvent[],
  stateFailure?: unknown,
): Promise<RuleMatches[]> {
  const { metrics, config, state } = ports;
  const { summary } = found;
  const crossed = await publishRuleFindings(ports, file, found, { stateFailure });
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

/** How rule alerts consult their throttle windows (batched ingest remembers the answers of one batch). */
export interface RuleThrottle {
  claim?: typeof claimAlert;
  markSent?: typeof markAlertSent;
  /** A claimed window whose publish failed: it is not spent, the next file asks again. */
  unsent?: (window: AlertWindow) => void;
  /** The state store already failed for this file: urgent alerts go out without it, the rest wait. */
  stateFailure?: unknown;
  /**
   * Batched ingest: a throttled alert is handed over (to the scheduled sweep) instead of claimed here, and the
   * caller evaluates the count rules over its whole batch. Returns false when the window was already handed
   * over: the alert is throttled.
   */
  defer?: (window: AlertWindow, matches: RuleMatches, source: { bucket: string; key: string }) => boolean;
}

/**
 * Rule metrics and rule alerts of one evaluated file (each rule throttled per account and region). Alerts
 * that are never throttled need no state and go out first; a throttled one claims its window, publishes,
 * and only then marks the window spent. When the state fails, CRITICAL and HIGH alerts are sent anyway and
 * the failure is raised at the end, so the file is retried (alerts may repeat, never vanish).
 */
export async function publishRuleFindings(
  ports: IngestPorts,
  file: LogFileRef,
  found: EvaluatedLogFile,
  throttle: RuleThrottle = {},
): Promise<RuleMatches[]> {
  const { metrics, config, state } = ports;
  const { claim = claimAlert, markSent = markAlertSent, stateFailure, defer } = throttle;
  const { summary, matches } = found;
  const crossed: RuleMatches[] = [];
  // Count rules need the state: when it fails, the single-record alerts still go out and the retry counts.
  let countFailure: unknown = stateFailure;
  for (const obs of countFailure || defer ? [] : (found.counts ?? [])) {
    try {
      const groups = await applyCounts(state, {
        rule: obs.rule,
        account: summary.account,
        region: summary.region,
        sourceKey: `${file.bucket}/${file.key.key}`,
        groups: obs.groups,
      });
      for (const { group, window } of groups) crossed.push({ ...group.matches, window });
    } catch (err) {
      countFailure = err;
      break;
    }
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
  const ctx = ruleAlertContext(config, summary, file);
  const windows = new Map(
    hits.map((m): [RuleMatches, AlertWindow] => [
      m,
      {
        ruleId: m.rule.id,
        account: summary.account,
        region: summary.region,
        minutes: throttleMinutes(m.rule, config.alertThrottle),
        at: file.key.time,
        sourceKey: file.key.key,
      },
    ]),
  );
  const order = [...hits].sort(
    (a, b) =>
      Number(windows.get(a)!.minutes > 0) - Number(windows.get(b)!.minutes > 0) ||
      SEVERITY_ORDER[a.rule.severity] - SEVERITY_ORDER[b.rule.severity] ||
      a.rule.id.localeCompare(b.rule.id),
  );
  let failure: unknown = countFailure;
  let sent = 0;
  for (const m of order) {
    const window = windows.get(m)!;
    const urgent = m.rule.severity === 'CRITICAL' || m.rule.severity === 'HIGH';
    let claimed = window.minutes <= 0;
    if (!claimed && defer) {
      if (!defer(window, m, { bucket: file.bucket, key: file.key.key }))
        metrics.addMetric(METRIC.RuleAlertsThrottled, 'Count', 1);
      continue;
    }
    if (!claimed) {
      try {
        if (stateFailure) throw stateFailure;
        claimed = await claim(state, window);
      } catch (err) {
        failure ??= err;
        // An urgent alert that cannot consult its window is sent: repeated rather than lost.
        claimed = urgent;
        if (!urgent) continue;
      }
    }
    if (!claimed) {
      metrics.addMetric(METRIC.RuleAlertsThrottled, 'Count', 1);
      continue;
    }
    try {
      await ports.notifier.publish(buildRuleNotification(m, ctx));
    } catch (err) {
      if (window.minutes > 0) throttle.unsent?.(window);
      throw err;
    }
    sent++;
    if (window.minutes > 0 && !stateFailure) {
      try {
        await markSent(state, window);
      } catch (err) {
        failure ??= err;
      }
    }
  }
  if (sent > 0) metrics.addMetric(METRIC.RuleAlerts, 'Count', sent);
  if (failure) throw failure;
  return crossed;
}

/** What a rule alert about one file says of where it comes from, and the throttle window it falls in. */
export function ruleAlertContext(config: IngestConfig, summary: LogFileSummary, file: LogFileRef) {
  return {
    topic: config.alertTopicArn,
    source: summary.source,
    account: summary.account,
    region: summary.region,
    at: file.key.time,
    throttle: config.alertThrottle,
    ...(config.runbookUrl ? { runbookUrl: config.runbookUrl } : {}),
  };
}

const SEVERITY_ORDER: Record<string, number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3 };

/** Step 3: the summary, written only if absent. Another invocation that committed first wrote the same one. */
export async function commitSummary(
  state: ObjectStore,
  metrics: MetricsSink,
  summary: LogFileSummary,
): Promise<{ status: 'committed' | 'duplicate'; summaryKey: string }> {
  const summaryKey = summaryKeyFor(summary.source.bucket, summary.source.key);
  // The index written last, whatever was set after it (`unverified`): lookup parses only what follows its key.
  const { index, ...rest } = summary;
  try {
    await state.put(summaryKey, JSON.stringify(index ? { ...rest, index } : rest), {
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
  if (summary.badRecords.oversized > 0)
    metrics.addMetric(METRIC.OversizedRecords, 'Count', summary.badRecords.oversized);
  if (summary.badRecords.outOfRange)
    metrics.addMetric(METRIC.EventTimesOutOfRange, 'Count', summary.badRecords.outOfRange);
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
    case 'tampered':
      logger.error('log file tampered with', { bucket, key, tamper: o.tamper });
      break;
    default:
      logger.info(`log file ${o.status}`, { bucket, key, ...('reason' in o ? { reason: o.reason } : {}) });
  }
}

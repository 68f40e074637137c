/**
 * The ingest handler, with its dependencies injected: `functions/ingest.ts` wires the AWS adapters, replay
 * and tests wire local ones. S3 ObjectCreated on the trail bucket; routes each object by key: log files are
 * ingested here, digests are handed to `verify`, anything else is counted and ignored.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { S3Schema } from '@aws-lambda-powertools/parser/schemas/s3';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import type { IngestConfig } from '#shared/config.ts';
import { type IngestOutcome, ingestLogFile } from '#shared/ingest/ingest-file.ts';
import { type Route, route } from '#shared/ingest/route.ts';
import { detectAndAlert } from '#shared/insights/alerting.ts';
import type { InsightEvent } from '#shared/insights/index.ts';
import { buildRuleNotifications } from '#shared/notify/rules.ts';
import { claimAlert, throttleMinutes } from '#shared/notify/throttle.ts';
import type { Notifier, ObjectStore } from '#shared/ports.ts';
import type { RuleMatches } from '#shared/rules/evaluate.ts';
import { emitRuleMetrics, ruleProcessor } from '#shared/rules/ingest.ts';
import type { Rule } from '#shared/rules/types.ts';
import type { LogFileSummary } from '#shared/summary.ts';

export interface IngestDeps {
  config: IngestConfig;
  /** Evaluated on every record; validated at start-up (a bad pattern stops the function at load). */
  rules: readonly Rule[];
  sourceStore(bucket: string): ObjectStore;
  state: ObjectStore;
  notifier: Notifier;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing (Powertools Tracer) in Lambda; absent locally. */
  tracer?: Tracer;
  /** Clock for anomaly detection: the wall clock in Lambda, the simulated delivery time in replay. */
  now(): Date;
  /** Where Insights files are written (default: the state store). */
  insightStore?: ObjectStore;
  /** Hands a digest delivery to the verify function. */
  dispatchDigest(route: Extract<Route, { to: 'verify' }>, event: S3Event): Promise<void>;
}

export interface IngestResult {
  /** Insights opened or closed while processing this event. */
  insights: InsightEvent[];
  outcomes: ({ key: string } & (
    | IngestOutcome
    | { status: 'dispatched' }
    | { status: 'ignored'; reason: string }
  ))[];
}

/** Raised after all records were tried, when some failed in a way a retry may fix. */
export class RetryableIngestError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RetryableIngestError';
  }
}

export function makeIngestHandler(deps: IngestDeps) {
  const { logger, metrics, config } = deps;
  const limits = { maxRecordBytes: config.maxRecordBytes, maxFileBytes: config.maxFileBytes };

  async function ingest(event: S3Event): Promise<IngestResult> {
    const parsed = S3Schema.safeParse(event);
    if (!parsed.success) {
      // Retrying cannot fix a malformed event: report it and return.
      logger.error('event is not an S3 notification', { issues: parsed.error.issues.slice(0, 5) });
      metrics.addMetric('InvalidEvents', 'Count', 1);
      return { outcomes: [], insights: [] };
    }
    const outcomes: IngestResult['outcomes'] = [];
    const insightEvents: InsightEvent[] = [];
    const failures: { key: string; error: unknown }[] = [];
    for (const rec of parsed.data.Records) {
      const r = route(rec.s3.bucket.name, rec.s3.object.key, rec.s3.object.size);
      const key = r.object.key;
      try {
        if (r.to === 'ignore') {
          metrics.addMetric('IgnoredObjects', 'Count', 1);
          logger.info('object ignored', { bucket: r.object.bucket, key, reason: r.reason });
          outcomes.push({ key, status: 'ignored', reason: r.reason });
        } else if (r.to === 'verify') {
          await deps.dispatchDigest(r, event);
          metrics.addMetric('DigestsDispatched', 'Count', 1);
          outcomes.push({ key, status: 'dispatched' });
        } else {
          const outcome = await ingestLogFile(
            { source: deps.sourceStore(r.object.bucket), state: deps.state, metrics },
            { bucket: r.object.bucket, key: r.key, size: r.object.size },
            [ruleProcessor(deps.rules)],
            {
              limits,
              // Alerts go out before the summary commits the file: a crash in between re-sends, never loses.
              beforeCommit: (summary, [matches]) =>
                publishFindings(
                  deps,
                  { key, deliveredAt: r.key.time },
                  summary,
                  matches as RuleMatches[],
                  insightEvents,
                ),
            },
          );
          logOutcome(logger, r.object.bucket, key, outcome);
          // Rule samples stay out of the invocation's result: they went out in the alerts.
          outcomes.push(
            outcome.status === 'ingested' ? { key, ...outcome, processed: [] } : { key, ...outcome },
          );
        }
      } catch (error) {
        logger.error('object failed; the event will be retried', { bucket: r.object.bucket, key, error });
        metrics.addMetric('ProcessingFailures', 'Count', 1);
        failures.push({ key, error });
      }
    }
    if (failures.length > 0) {
      // Completed objects are recognised on retry (their summary exists), so a retry redoes only these.
      throw new RetryableIngestError(
        `${failures.length} of ${parsed.data.Records.length} objects failed: ${failures.map((f) => f.key).join(', ')}`,
        { cause: failures[0].error },
      );
    }
    return { outcomes, insights: insightEvents };
  }

  const handler = middy(ingest).use(injectLambdaContext(logger)).use(logMetrics(metrics));
  return deps.tracer ? handler.use(captureLambdaHandler(deps.tracer)) : handler;
}

/**
 * What a file's records found, sent before the file is committed: rule metrics and throttled rule alerts,
 * then anomaly detection on the file's counts (applying a summary twice is a no-op, so a retry re-runs
 * detection safely; its messages go through the outbox). A crash in between re-sends, never loses.
 */
async function publishFindings(
  deps: IngestDeps,
  file: { key: string; deliveredAt: Date },
  summary: LogFileSummary,
  hits: RuleMatches[],
  insightEvents: InsightEvent[],
): Promise<void> {
  const { metrics, config } = deps;
  emitRuleMetrics(metrics, hits);
  const allowed: RuleMatches[] = [];
  for (const m of hits) {
    if (m.count === 0) continue;
    const claimed = await claimAlert(deps.state, {
      ruleId: m.rule.id,
      account: summary.account,
      region: summary.region,
      minutes: throttleMinutes(m.rule, config.alertThrottle),
      at: file.deliveredAt,
      sourceKey: file.key,
    });
    if (claimed) allowed.push(m);
    else metrics.addMetric('RuleAlertsThrottled', 'Count', 1);
  }
  const notifications = buildRuleNotifications(allowed, {
    topic: config.alertTopicArn,
    source: summary.source,
    account: summary.account,
    region: summary.region,
  });
  for (const n of notifications) await deps.notifier.publish(n);
  if (notifications.length > 0) metrics.addMetric('RuleAlerts', 'Count', notifications.length);
  const found = await detectAndAlert(
    { state: deps.state, notifier: deps.notifier, metrics, topic: config.alertTopicArn },
    {
      account: summary.account,
      region: summary.region,
      now: deps.now(),
      summaries: [summary],
      insightStore: deps.insightStore ?? deps.state,
      prefix: '',
    },
  );
  insightEvents.push(...found.events);
}

function logOutcome(logger: Logger, bucket: string, key: string, o: IngestOutcome): void {
  switch (o.status) {
    case 'ingested': {
      const hits = (o.processed[0] as RuleMatches[] | undefined)?.filter((m) => m.count > 0) ?? [];
      logger.info('log file ingested', {
        bucket,
        key,
        records: o.summary.records,
        bytes: o.summary.bytes,
        badRecords: o.summary.badRecords,
        ruleHits: Object.fromEntries(hits.map((m) => [m.rule.id, m.count])),
      });
      break;
    }
    case 'rejected':
      logger.error('log file rejected', { bucket, key, reason: o.reason, verdict: o.rejectionKey });
      break;
    default:
      logger.info(`log file ${o.status}`, { bucket, key, ...('reason' in o ? { reason: o.reason } : {}) });
  }
}

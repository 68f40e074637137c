/**
 * The ports and result of the scheduled detect. Ingest already runs detection on each file it applies; the
 * scheduled run (detect-shards.ts, one shard or many) folds in what batched ingest parked, closes insights
 * when traffic stops (an End needs minutes to pass, not files to arrive), folds old minutes into the hourly
 * baseline, sends any message a failed publish left in the outbox, and sweeps what batched ingest left for
 * it (sweep-parked.ts: deferred throttled alerts, count-rule bursts across batches).
 */
import type { InsightEvent } from '#shared/insights/insight-types.ts';
import type { ThrottlePolicy } from '#shared/notify/throttle.ts';
import type { Log, MetricsSink, Notifier, ObjectStore } from '#shared/ports.ts';
import type { Rule } from '#shared/rules/rule-types.ts';

export interface DetectPorts {
  config: { alertTopicArn: string; alertThrottle?: ThrottlePolicy; runbookUrl?: string };
  /** The rules ingest runs (default: the bundled ones): the sweep builds count-rule alerts from them. */
  rules?: readonly Rule[];
  state: ObjectStore;
  /** Where Insights files are written (default: the state store). */
  insightStore?: ObjectStore;
  notifier: Notifier;
  logger: Log;
  metrics: MetricsSink;
  now(): Date;
}

export interface DetectRunResult {
  events: InsightEvent[];
  /** Account-regions with detection state. */
  places: number;
  /** Insights still open after this run. */
  open: number;
}

import type { InsightEvent } from '#shared/insights/insight-types.ts';
import type { Log, MetricsSink, Notifier, ObjectStore } from '#shared/ports.ts';

export interface DetectPorts {
  config: { alertTopicArn: string };
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

/**
 * The scheduled detect use case. Ingest already runs detection on each file as it arrives; this run closes
 * insights when traffic stops (an End needs minutes to pass, not files to arrive), folds old minutes into
 * the hourly baseline, and sends any message a failed publish left in the outbox.
 */
import { detectAndNotify } from '#shared/insights/detect-and-notify.ts';
import { listInsightStates } from '#shared/insights/index.ts';
import type { InsightEvent } from '#shared/insights/insight-types.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { flushOutbox } from '#shared/notify/outbox.ts';
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

export async function detectInsights(ports: DetectPorts): Promise<DetectRunResult> {
  const { state, metrics, logger } = ports;
  const now = ports.now();
  const places = await listInsightStates(state);
  const events: InsightEvent[] = [];
  let open = 0;
  for (const { account, region } of places) {
    const found = await detectAndNotify(
      { state, notifier: ports.notifier, metrics, topic: ports.config.alertTopicArn },
      { account, region, now, insightStore: ports.insightStore ?? state, prefix: '' },
    );
    events.push(...found.events);
    open += found.open;
  }
  await flushOutbox(state, ports.notifier);

  metrics.addMetric(METRIC.InsightsOpen, 'Count', open);
  if (events.length > 0) logger.info('insights changed', { events: events.map(({ record: _r, ...e }) => e) });
  return { events, places: places.length, open };
}

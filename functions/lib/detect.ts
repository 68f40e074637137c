/**
 * The detect handler (scheduled): ingest already runs detection on each file as it arrives; this run closes
 * insights when traffic stops (an End needs minutes to pass, not files to arrive), folds old minutes into
 * the hourly baseline, and sends any message still waiting in the outbox.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import { detectAndAlert } from '#shared/insights/alerting.ts';
import { type InsightEvent, listInsightStates } from '#shared/insights/index.ts';
import { flushOutbox } from '#shared/notify/outbox.ts';
import type { Notifier, ObjectStore } from '#shared/ports.ts';

export interface DetectDeps {
  config: { alertTopicArn: string };
  state: ObjectStore;
  /** Where Insights files are written (default: the state store). */
  insightStore?: ObjectStore;
  notifier: Notifier;
  logger: Logger;
  metrics: Metrics;
  tracer?: Tracer;
  now(): Date;
}

export function makeDetectHandler(deps: DetectDeps) {
  const { logger, metrics } = deps;
  async function run(): Promise<{ events: InsightEvent[]; places: number }> {
    const now = deps.now();
    const places = await listInsightStates(deps.state);
    const events: InsightEvent[] = [];
    let open = 0;
    for (const { account, region } of places) {
      const found = await detectAndAlert(
        { state: deps.state, notifier: deps.notifier, metrics, topic: deps.config.alertTopicArn },
        { account, region, now, insightStore: deps.insightStore ?? deps.state, prefix: '' },
      );
      events.push(...found.events);
      open += found.open;
    }
    // Messages left by an earlier failed publish anywhere in the pipeline.
    await flushOutbox(deps.state, deps.notifier);

    metrics.addMetric('InsightsOpen', 'Count', open);
    if (events.length > 0)
      logger.info('insights changed', { events: events.map(({ record: _r, ...e }) => e) });
    return { events, places: places.length };
  }
  const handler = middy(run).use(injectLambdaContext(logger)).use(logMetrics(metrics));
  return deps.tracer ? handler.use(captureLambdaHandler(deps.tracer)) : handler;
}

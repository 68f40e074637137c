/** The watchdog handler (scheduled): reports digests and log files that stopped arriving, once per gap. */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Notifier, ObjectStore } from '#shared/ports.ts';
import { watchdogAlerts } from '#shared/watchdog/alerts.ts';
import { runWatchdog, type WatchdogOptions, type WatchdogResult } from '#shared/watchdog/watchdog.ts';

export interface WatchdogDeps {
  config: { alertTopicArn: string; trailPrefixes: string[]; options: WatchdogOptions };
  trail: ObjectStore;
  state: ObjectStore;
  notifier: Notifier;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing (Powertools Tracer) in Lambda; absent locally. */
  tracer?: Tracer;
  now(): Date;
}

export function makeWatchdogHandler(deps: WatchdogDeps) {
  const { logger, metrics, config } = deps;
  async function watchdog(): Promise<WatchdogResult> {
    const result = await runWatchdog(
      deps.trail,
      deps.state,
      deps.now(),
      config.trailPrefixes,
      config.options,
    );
    for (const n of watchdogAlerts(config.alertTopicArn, result)) await deps.notifier.publish(n);
    const missing = result.current.filter((f) => f.kind === 'digest-missing').length;
    metrics.addMetric('DigestsOverdue', 'Count', missing);
    metrics.addMetric('SilentLogPlaces', 'Count', result.current.length - missing);
    metrics.addMetric('PlacesWatched', 'Count', result.placesWatched);
    if (result.opened.length > 0) logger.error('deliveries stopped', { gaps: result.opened });
    if (result.closed.length > 0) logger.info('deliveries resumed', { closed: result.closed });
    return result;
  }
  const handler = middy(watchdog).use(injectLambdaContext(logger)).use(logMetrics(metrics));
  return deps.tracer ? handler.use(captureLambdaHandler(deps.tracer)) : handler;
}

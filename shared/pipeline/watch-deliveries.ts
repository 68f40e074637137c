/**
 * The scheduled watchdog use case: digests and log files that stopped arriving, each gap reported once and
 * its recovery once.
 */
import { METRIC } from '#shared/metric-names.cjs';
import type { Log, MetricsSink, Notifier, ObjectStore } from '#shared/ports.ts';
import { runWatchdog, type WatchdogOptions, type WatchdogResult } from '#shared/watchdog/delivery-gaps.ts';
import { watchdogAlerts } from '#shared/watchdog/gap-alerts.ts';

export interface WatchdogPorts {
  config: { alertTopicArn: string; trailPrefixes: string[]; options: WatchdogOptions };
  trail: ObjectStore;
  state: ObjectStore;
  notifier: Notifier;
  logger: Log;
  metrics: MetricsSink;
  now(): Date;
}

export async function watchDeliveries(ports: WatchdogPorts): Promise<WatchdogResult> {
  const { config, metrics, logger } = ports;
  const result = await runWatchdog(
    ports.trail,
    ports.state,
    ports.now(),
    config.trailPrefixes,
    config.options,
  );
  for (const n of watchdogAlerts(config.alertTopicArn, result)) await ports.notifier.publish(n);

  const missing = result.current.filter((f) => f.kind === 'digest-missing').length;
  metrics.addMetric(METRIC.DigestsOverdue, 'Count', missing);
  metrics.addMetric(METRIC.SilentLogPlaces, 'Count', result.current.length - missing);
  metrics.addMetric(METRIC.PlacesWatched, 'Count', result.placesWatched);
  if (result.opened.length > 0) logger.error('deliveries stopped', { gaps: result.opened });
  if (result.closed.length > 0) logger.info('deliveries resumed', { closed: result.closed });
  return result;
}

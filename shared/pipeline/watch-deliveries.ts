/**
 * The scheduled watchdog use case: digests and log files that stopped arriving (each gap reported once and
 * its recovery once), objects planted to look like deliveries, log files no digest listed, and whether the
 * trail bucket keeps what CloudTrail wrote (versioning, Object Lock). Every finding is recorded as reported
 * only after its message was published.
 */

import { plantedAlert, unlistedAlert } from '#shared/digest/bucket-tamper.ts';
import { METRIC } from '#shared/metric-names.cjs';
import type { BucketProtection, Log, MetricsSink, Notifier, ObjectStore } from '#shared/ports.ts';
import {
  discoverPlaces,
  runWatchdog,
  type WatchdogOptions,
  type WatchdogResult,
} from '#shared/watchdog/delivery-gaps.ts';
import { watchdogAlerts } from '#shared/watchdog/gap-alerts.ts';
import { findUnlisted, markUnlistedReported } from '#shared/watchdog/unlisted-files.ts';

export interface WatchdogPorts {
  config: { alertTopicArn: string; trailPrefixes: string[]; options: WatchdogOptions; trailBucket?: string };
  trail: ObjectStore;
  state: ObjectStore;
  notifier: Notifier;
  logger: Log;
  metrics: MetricsSink;
  now(): Date;
  /** Versioning and Object Lock of the trail bucket (GetBucketVersioning, GetObjectLockConfiguration). */
  trailProtection?(): Promise<BucketProtection>;
}

export interface WatchdogRun extends WatchdogResult {
  /** Log files reported now as listed by no valid digest. */
  unlisted: { bucket: string; key: string }[];
  /** Undefined when it could not be read (reported in the log). */
  protection?: BucketProtection;
}

export async function watchDeliveries(ports: WatchdogPorts): Promise<WatchdogRun> {
  const { config, metrics, logger } = ports;
  const topic = config.alertTopicArn;
  const bucket =
    config.trailBucket ?? /^s3:\/\/([^/]+)/.exec(ports.trail.location)?.[1] ?? ports.trail.location;
  const now = ports.now();
  const result = await runWatchdog(
    ports.trail,
    ports.state,
    now,
    config.trailPrefixes,
    config.options,
    async (r) => {
      for (const n of watchdogAlerts(topic, r)) await ports.notifier.publish(n);
      if (r.planted.length > 0) await ports.notifier.publish(plantedAlert(topic, bucket, r.planted));
    },
  );

  const places = await discoverPlaces(ports.trail, 'CloudTrail', config.trailPrefixes);
  const unlisted = await findUnlisted(ports.state, bucket, places, now);
  const byPlace = new Map<string, typeof unlisted>();
  for (const f of unlisted) {
    // One message per account and region folder: the key up to the region.
    const place = f.key.split('/').slice(0, -4).join('/');
    byPlace.set(place, [...(byPlace.get(place) ?? []), f]);
  }
  for (const files of byPlace.values()) {
    await ports.notifier.publish(unlistedAlert(topic, files));
    await markUnlistedReported(ports.state, files, now);
  }

  let protection: BucketProtection | undefined;
  if (ports.trailProtection) {
    try {
      protection = await ports.trailProtection();
      metrics.addMetric(METRIC.TrailBucketUnversioned, 'Count', protection.versioning === 'Enabled' ? 0 : 1);
      metrics.addMetric(METRIC.TrailBucketWithoutObjectLock, 'Count', protection.objectLock ? 0 : 1);
      if (protection.versioning !== 'Enabled' || !protection.objectLock)
        logger.warn('trail bucket does not keep what CloudTrail wrote', { bucket, ...protection });
    } catch (error) {
      logger.warn('could not read the trail bucket versioning and Object Lock settings', { bucket, error });
    }
  }

  const missing = result.current.filter((f) => f.kind === 'digest-missing').length;
  metrics.addMetric(METRIC.DigestsOverdue, 'Count', missing);
  metrics.addMetric(METRIC.SilentLogPlaces, 'Count', result.current.length - missing);
  metrics.addMetric(METRIC.SilentAccounts, 'Count', result.silentAccounts.length);
  metrics.addMetric(METRIC.PlacesWatched, 'Count', result.placesWatched);
  metrics.addMetric(METRIC.PlantedObjects, 'Count', result.planted.length);
  metrics.addMetric(METRIC.UnlistedLogFiles, 'Count', unlisted.length);
  if (result.opened.length > 0) logger.error('deliveries stopped', { gaps: result.opened });
  if (result.closed.length > 0) logger.info('deliveries resumed', { closed: result.closed });
  if (result.planted.length > 0)
    logger.error('objects planted among deliveries', { planted: result.planted });
  if (unlisted.length > 0) logger.error('log files no digest lists', { unlisted });
  return { ...result, unlisted, ...(protection ? { protection } : {}) };
}

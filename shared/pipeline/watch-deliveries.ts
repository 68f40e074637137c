/**
 * The scheduled watchdog use case: digests and log files that stopped arriving (each gap reported once and
 * its recovery once), objects planted to look like deliveries, log files no digest listed, and whether the
 * trail bucket keeps what CloudTrail wrote (versioning, Object Lock). Every finding is recorded as reported
 * only after its message was published.
 */

import { plantedAlert, type UnlistedFile, unlistedAlert } from '#shared/digest/bucket-tamper.ts';
import { classifyKey } from '#shared/keys.ts';
import { METRIC } from '#shared/metric-names.cjs';
import type {
  BucketProtection,
  Log,
  MetricsSink,
  Notification,
  Notifier,
  ObjectStore,
} from '#shared/ports.ts';
import {
  discoverPlaces,
  type Place,
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

/** The trail bucket's name: configured, else read from the store's location. */
export function trailBucketOf(ports: Pick<WatchdogPorts, 'config' | 'trail'>): string {
  return (
    ports.config.trailBucket ?? /^s3:\/\/([^/]+)/.exec(ports.trail.location)?.[1] ?? ports.trail.location
  );
}

/** The account and region of a key, with its prefix: one message per place (logs and digests together). */
function placeFolder(key: string): string {
  const k = classifyKey(key);
  if (k.kind === 'other') return key;
  return `${key.slice(0, Math.max(0, key.indexOf(`/${k.account}/`)))}|${k.account}|${k.region}`;
}

function byPlace<T extends { key: string }>(items: T[]): T[][] {
  const out = new Map<string, T[]>();
  for (const i of items) out.set(placeFolder(i.key), [...(out.get(placeFolder(i.key)) ?? []), i]);
  return [...out.values()];
}

/**
 * The messages of one watchdog pass, for the plain and the sharded watchdog alike: each gap opened or
 * closed, and the objects planted among deliveries (one message per account and region).
 */
export function watchdogMessages(
  topic: string,
  bucket: string,
  r: WatchdogResult,
  now: Date,
): Notification[] {
  return [
    ...watchdogAlerts(topic, r),
    ...byPlace(r.planted).map((p) => plantedAlert(topic, bucket, p, now.toISOString())),
  ];
}

/**
 * Log files of these places that no valid digest listed two digest periods after their delivery: one HIGH
 * message per place, and each file recorded as reported only once its message was published.
 */
export async function reportUnlisted(
  ports: Pick<WatchdogPorts, 'config' | 'trail' | 'state' | 'notifier'>,
  places: Place[],
  now: Date,
): Promise<UnlistedFile[]> {
  const bucket = trailBucketOf(ports);
  const unlisted = await findUnlisted(ports.state, ports.trail, bucket, places, now);
  for (const files of byPlace(unlisted)) {
    await ports.notifier.publish(unlistedAlert(ports.config.alertTopicArn, files, now.toISOString()));
    await markUnlistedReported(ports.state, files, now);
  }
  return unlisted;
}

/** Whether the trail bucket keeps what CloudTrail wrote: gauges, and a warning when it does not. */
export async function checkTrailProtection(
  ports: Pick<WatchdogPorts, 'trailProtection' | 'metrics' | 'logger'>,
  bucket: string,
): Promise<BucketProtection | undefined> {
  if (!ports.trailProtection) return undefined;
  const { metrics, logger } = ports;
  try {
    const protection = await ports.trailProtection();
    metrics.addMetric(METRIC.TrailBucketUnversioned, 'Count', protection.versioning === 'Enabled' ? 0 : 1);
    metrics.addMetric(METRIC.TrailBucketWithoutObjectLock, 'Count', protection.objectLock ? 0 : 1);
    if (protection.versioning !== 'Enabled' || !protection.objectLock)
      logger.warn('trail bucket does not keep what CloudTrail wrote', { bucket, ...protection });
    return protection;
  } catch (error) {
    logger.warn('could not read the trail bucket versioning and Object Lock settings', { bucket, error });
    return undefined;
  }
}

export async function watchDeliveries(ports: WatchdogPorts): Promise<WatchdogRun> {
  const { config, metrics, logger } = ports;
  const topic = config.alertTopicArn;
  const bucket = trailBucketOf(ports);
  const now = ports.now();
  const result = await runWatchdog(
    ports.trail,
    ports.state,
    now,
    config.trailPrefixes,
    config.options,
    async (r) => {
      for (const n of watchdogMessages(topic, bucket, r, now)) await ports.notifier.publish(n);
    },
  );

  const places = await discoverPlaces(ports.trail, 'CloudTrail', config.trailPrefixes);
  const unlisted = await reportUnlisted(ports, places, now);
  const protection = await checkTrailProtection(ports, bucket);

  const missing = result.current.filter((f) => f.kind === 'digest-missing').length;
  metrics.addMetric(METRIC.DigestsOverdue, 'Count', missing);
  metrics.addMetric(METRIC.SilentLogPlaces, 'Count', result.current.length - missing);
  metrics.addMetric(METRIC.SilentAccounts, 'Count', result.silentAccounts.length);
  metrics.addMetric(METRIC.PlacesWatched, 'Count', result.placesWatched);
  metrics.addMetric(METRIC.PlantedObjects, 'Count', result.planted.length);
  metrics.addMetric(METRIC.UnlistedLogFiles, 'Count', unlisted.length);
  logFindings(logger, result, unlisted);
  return { ...result, unlisted, ...(protection ? { protection } : {}) };
}

export function logFindings(
  logger: Log,
  result: Pick<WatchdogResult, 'opened' | 'closed' | 'planted'>,
  unlisted: { key: string }[],
): void {
  if (result.opened.length > 0) logger.error('deliveries stopped', { gaps: result.opened });
  if (result.closed.length > 0) logger.info('deliveries resumed', { closed: result.closed });
  if (result.planted.length > 0)
    logger.error('objects planted among deliveries', { planted: result.planted });
  if (unlisted.length > 0) logger.error('log files no digest lists', { unlisted });
}

/** Lambda entry: watchdog (scheduled), wired to S3, SNS and CloudWatch (EMF). */
import { watchdogHandler } from '#functions/handlers.ts';
import { logger, metrics, tracer } from '#functions/middleware/powertools.ts';
import { s3BucketProtection, s3Store } from '#shared/adapters/s3-object-store.ts';
import { SnsNotifier } from '#shared/adapters/sns-notifier.ts';
import { watchdogConfig } from '#shared/config.ts';

const config = watchdogConfig();

export const handler = watchdogHandler({
  config,
  trail: s3Store(config.trailBucket),
  state: s3Store(config.stateBucket),
  notifier: new SnsNotifier(),
  now: () => new Date(),
  trailProtection: () => s3BucketProtection(config.trailBucket),
  logger,
  metrics,
  tracer,
});

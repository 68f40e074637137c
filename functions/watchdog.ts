/** Lambda entry: watchdog (scheduled), wired to S3, SNS and CloudWatch (EMF). */
import { watchdogHandler } from '#functions/handlers.ts';
import { logger, metrics, tracer } from '#functions/middleware/powertools.ts';
import { lambdaShardStarter } from '#shared/adapters/lambda-shard-dispatch.ts';
import { s3BucketProtection, s3Store } from '#shared/adapters/s3-object-store.ts';
import { SnsNotifier, snsClient } from '#shared/adapters/sns-notifier.ts';
import { shardConfig, watchdogConfig } from '#shared/config.ts';

const config = watchdogConfig();
const shards = shardConfig();

export const handler = watchdogHandler({
  config,
  trail: s3Store(config.trailBucket),
  state: s3Store(config.stateBucket),
  notifier: new SnsNotifier(snsClient(), config),
  now: () => new Date(),
  trailProtection: () => s3BucketProtection(config.trailBucket),
  shards,
  ...(shards.functionName ? { startShard: lambdaShardStarter(shards.functionName) } : {}),
  logger,
  metrics,
  tracer,
});

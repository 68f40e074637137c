/** Lambda entry: detect (scheduled), wired to S3, SNS and CloudWatch (EMF). */
import { detectHandler } from '#functions/handlers.ts';
import { logger, metrics, tracer } from '#functions/middleware/powertools.ts';
import { lambdaShardStarter } from '#shared/adapters/lambda-shard-dispatch.ts';
import { s3Store } from '#shared/adapters/s3-object-store.ts';
import { SnsNotifier, snsClient } from '#shared/adapters/sns-notifier.ts';
import { detectConfig, shardConfig } from '#shared/config.ts';
import { defaultRules } from '#shared/rules/load.ts';

const config = detectConfig();
const shards = shardConfig();

export const handler = detectHandler({
  config,
  // Loaded and checked at start-up, as ingest does: the sweep builds count-rule alerts from them.
  rules: defaultRules(),
  state: s3Store(config.stateBucket),
  notifier: new SnsNotifier(snsClient(), config),
  now: () => new Date(),
  shards,
  ...(shards.functionName ? { startShard: lambdaShardStarter(shards.functionName) } : {}),
  logger,
  metrics,
  tracer,
});

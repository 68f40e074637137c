/** Lambda entry: ingest (S3 ObjectCreated on the trail bucket), wired to S3, SNS, Lambda and CloudWatch (EMF). */
import { ingestHandler } from '#functions/handlers.ts';
import { logger, metrics, tracer } from '#functions/middleware/powertools.ts';
import { lambdaDigestDispatch } from '#shared/adapters/lambda-digest-dispatch.ts';
import { s3Store } from '#shared/adapters/s3-object-store.ts';
import { SnsNotifier, snsClient } from '#shared/adapters/sns-notifier.ts';
import { ingestConfig } from '#shared/config.ts';
import { defaultExceptions, defaultRules } from '#shared/rules/load.ts';

const config = ingestConfig();

export const handler = ingestHandler({
  config,
  rules: defaultRules(),
  exceptions: defaultExceptions(),
  sourceStore: s3Store,
  state: s3Store(config.stateBucket),
  notifier: new SnsNotifier(snsClient(), config),
  dispatchDigest: lambdaDigestDispatch(config.verifyFunctionName, logger),
  now: () => new Date(),
  logger,
  metrics,
  tracer,
});

/** Lambda entry: verify (digests handed over by ingest), wired to S3, CloudTrail ListPublicKeys, SNS and CloudWatch (EMF). */
import { verifyHandler } from '#functions/handlers.ts';
import { logger, metrics, tracer } from '#functions/middleware/powertools.ts';
import { cloudTrailPublicKeys } from '#shared/adapters/cloudtrail-public-keys.ts';
import { s3Store } from '#shared/adapters/s3-object-store.ts';
import { SnsNotifier, snsClient } from '#shared/adapters/sns-notifier.ts';
import { verifyConfig } from '#shared/config.ts';

const config = verifyConfig();

export const handler = verifyHandler({
  config,
  sourceStore: s3Store,
  state: s3Store(config.stateBucket),
  keys: cloudTrailPublicKeys(),
  notifier: new SnsNotifier(snsClient(), config),
  logger,
  metrics,
  tracer,
});

/**
 * Lambda entry: ingest from an SQS queue in batches (trigger `eventbridge` or `sqs`), wired like ingest: S3,
 * SNS, Lambda and CloudWatch (EMF). Answers with the partial batch response (ReportBatchItemFailures).
 */
import { ingestQueueHandler } from '#functions/handlers.ts';
import { logger, metrics, tracer } from '#functions/middleware/powertools.ts';
import { lambdaDigestDispatch } from '#shared/adapters/lambda-digest-dispatch.ts';
import { s3Store } from '#shared/adapters/s3-object-store.ts';
import { SnsNotifier } from '#shared/adapters/sns-notifier.ts';
import { ingestConfig } from '#shared/config.ts';
import { defaultRules } from '#shared/rules/load.ts';

const config = ingestConfig();

export const handler = ingestQueueHandler({
  config,
  rules: defaultRules(),
  sourceStore: s3Store,
  state: s3Store(config.stateBucket),
  notifier: new SnsNotifier(),
  dispatchDigest: lambdaDigestDispatch(config.verifyFunctionName, logger),
  now: () => new Date(),
  logger,
  metrics,
  tracer,
});

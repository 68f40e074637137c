/**
 * Lambda entry: ingest, wired to S3, SNS, Lambda and CloudWatch (EMF). One function for every trigger: an S3
 * notification (trigger `s3`) runs the per-notification path, an SQS batch (triggers `eventbridge` and `sqs`)
 * the batched path with its partial batch response.
 */
import { ingestHandler, ingestQueueHandler } from '#functions/handlers.ts';
import { logger, metrics, tracer } from '#functions/middleware/powertools.ts';
import { isQueueBatch } from '#functions/middleware/queued-deliveries.ts';
import { lambdaDigestDispatch } from '#shared/adapters/lambda-digest-dispatch.ts';
import { s3Store } from '#shared/adapters/s3-object-store.ts';
import { SnsNotifier, snsClient } from '#shared/adapters/sns-notifier.ts';
import { ingestConfig } from '#shared/config.ts';
import { defaultExceptions, defaultRules } from '#shared/rules/load.ts';

const config = ingestConfig();

const deps = {
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
};

const fromNotification = ingestHandler(deps);
const fromQueue = ingestQueueHandler(deps);

export const handler = (event: unknown, context: Parameters<typeof fromNotification>[1]) =>
  isQueueBatch(event) ? fromQueue(event, context) : fromNotification(event, context);

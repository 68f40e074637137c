/**
 * The middleware set every trailwatch function runs under, written once: Powertools' logger context, metrics
 * flushed as one EMF document per invocation, and X-Ray tracing when a tracer is given.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type { MiddlewareObj } from '@middy/core';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing in Lambda; absent locally. */
  tracer?: Tracer;
}

export function observability(tools: Observability): MiddlewareObj[] {
  return [
    injectLambdaContext(tools.logger),
    logMetrics(tools.metrics),
    ...(tools.tracer ? [captureLambdaHandler(tools.tracer)] : []),
  ];
}

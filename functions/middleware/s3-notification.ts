/**
 * Turns an S3 notification into the deliveries a use case takes. An event that is not an S3 notification
 * cannot be fixed by a retry: it is logged, counted and answered at once with `invalid`, and the Powertools
 * middlewares still flush their metrics (they are cleaned up on the early return).
 */
import { cleanupMiddlewares } from '@aws-lambda-powertools/commons';
import { S3Schema } from '@aws-lambda-powertools/parser/schemas/s3';
import type { MiddlewareObj, Request } from '@middy/core';
import { METRIC } from '#shared/metric-names.cjs';
import type { Delivery } from '#shared/pipeline/routing.ts';
import type { Log, MetricsSink } from '#shared/ports.ts';

export function s3Notification<R>(
  tools: { logger: Log; metrics: MetricsSink },
  invalid: () => R,
): MiddlewareObj<unknown, R> {
  const before = async (request: Request<unknown, R>): Promise<R | undefined> => {
    const parsed = S3Schema.safeParse(request.event);
    if (!parsed.success) {
      tools.logger.error('event is not an S3 notification', { issues: parsed.error.issues.slice(0, 5) });
      tools.metrics.addMetric(METRIC.InvalidEvents, 'Count', 1);
      await cleanupMiddlewares(request);
      return invalid();
    }
    request.event = parsed.data.Records.map(
      (record): Delivery => ({
        bucket: record.s3.bucket.name,
        key: record.s3.object.key,
        size: record.s3.object.size,
        event: record.eventName.startsWith('ObjectRemoved') ? 'removed' : 'created',
        eventName: record.eventName,
        ...(record.s3.object.versionId ? { versionId: record.s3.object.versionId } : {}),
        ...(record.s3.object.eTag ? { etag: record.s3.object.eTag } : {}),
        notification: record,
      }),
    );
    return undefined;
  };
  return { before };
}

/**
 * The verify handler: a delivered digest (handed over by ingest, or its own S3 trigger) is checked with its
 * signature, its link to the previous digest and every log file it lists. The verdict object is the commit
 * marker: written last, only if absent, so a re-delivered digest neither re-alerts nor double-counts.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { S3Schema } from '@aws-lambda-powertools/parser/schemas/s3';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { S3Event } from 'aws-lambda';
import { digestAlert, failuresOf } from '#shared/digest/alerts.ts';
import { missingBefore } from '#shared/digest/gaps.ts';
import {
  type DigestReport,
  type FileVerdict,
  KeyRing,
  type PublicKeySource,
  verifyDigest,
} from '#shared/digest/index.ts';
import { route } from '#shared/ingest/route.ts';
import { type Notifier, type ObjectStore, PreconditionFailedError } from '#shared/ports.ts';

export interface VerifyConfig {
  stateBucket: string;
  alertTopicArn: string;
}

export interface VerifyDeps {
  config: VerifyConfig;
  sourceStore(bucket: string): ObjectStore;
  state: ObjectStore;
  keys: PublicKeySource;
  notifier: Notifier;
  logger: Logger;
  metrics: Metrics;
  /** X-Ray tracing (Powertools Tracer) in Lambda; absent locally. */
  tracer?: Tracer;
}

export type VerifyOutcome =
  | {
      key: string;
      status: 'verified';
      report: DigestReport & { gaps?: FileVerdict[] };
      verdictKey: string;
      alerted: boolean;
    }
  | { key: string; status: 'duplicate'; verdictKey: string }
  | { key: string; status: 'ignored'; reason: string };

export function verdictKeyFor(bucket: string, key: string): string {
  return `verdicts/${bucket}/${key.replace(/\.json\.gz$/, '')}.json`;
}

export function makeVerifyHandler(deps: VerifyDeps) {
  const { logger, metrics, config } = deps;
  // One key ring per container: keys are fetched once per region and window, then reused.
  const ring = new KeyRing(deps.keys);

  async function verify(event: S3Event): Promise<{ outcomes: VerifyOutcome[] }> {
    const parsed = S3Schema.safeParse(event);
    if (!parsed.success) {
      logger.error('event is not an S3 notification', { issues: parsed.error.issues.slice(0, 5) });
      metrics.addMetric('InvalidEvents', 'Count', 1);
      return { outcomes: [] };
    }
    const outcomes: VerifyOutcome[] = [];
    for (const rec of parsed.data.Records) {
      const r = route(rec.s3.bucket.name, rec.s3.object.key, rec.s3.object.size);
      if (r.to !== 'verify') {
        outcomes.push({
          key: r.object.key,
          status: 'ignored',
          reason: r.to === 'ignore' ? r.reason : 'not a digest',
        });
        continue;
      }
      const { bucket, key } = r.object;
      const verdictKey = verdictKeyFor(bucket, key);
      if (await deps.state.head(verdictKey)) {
        metrics.addMetric('DuplicateDeliveries', 'Count', 1);
        outcomes.push({ key, status: 'duplicate', verdictKey });
        continue;
      }
      // Store and key-source failures throw: the invocation is retried (and lands in the DLQ after that).
      const report: DigestReport & { gaps?: FileVerdict[] } = await verifyDigest(
        deps.sourceStore(bucket),
        key,
        ring,
        {
          bucket,
          region: r.key.region,
          resolveStore: (b) => deps.sourceStore(b),
        },
      );
      // A missing predecessor may be one of several deleted in a row: report every missing hour back to the
      // newest digest still there (a chain pointer alone only names the first).
      if (report.previous?.code === 'not-found') {
        report.gaps = await missingBefore(deps.sourceStore(bucket), bucket, r.key, report.previous.key);
      }
      const failures = failuresOf(report);
      const alert = digestAlert(config.alertTopicArn, r.key, report);
      if (alert) await deps.notifier.publish(alert);
      const verdict = {
        schema: 'trailwatch.digest-verdict/1',
        account: r.key.account,
        region: r.key.region,
        digest: report.digest,
        previous: report.previous ?? null,
        gaps: report.gaps ?? [],
        logFiles: { total: report.logs.length, invalid: report.logs.filter((l) => l.status === 'invalid') },
        window: report.file ? { start: report.file.digestStartTime, end: report.file.digestEndTime } : null,
      };
      try {
        await deps.state.put(verdictKey, JSON.stringify(verdict), {
          ifNoneMatch: '*',
          contentType: 'application/json',
        });
      } catch (err) {
        if (!(err instanceof PreconditionFailedError)) throw err;
        outcomes.push({ key, status: 'duplicate', verdictKey });
        continue;
      }
      emitMetrics(metrics, report);
      if (failures.length > 0) logger.error('digest validation failed', { bucket, key, failures });
      else logger.info('digest valid', { bucket, key, logFiles: report.logs.length });
      outcomes.push({ key, status: 'verified', report, verdictKey, alerted: alert !== undefined });
    }
    return { outcomes };
  }

  const handler = middy(verify).use(injectLambdaContext(logger)).use(logMetrics(metrics));
  return deps.tracer ? handler.use(captureLambdaHandler(deps.tracer)) : handler;
}

function emitMetrics(metrics: Metrics, report: DigestReport): void {
  const digestValid = report.digest.status === 'valid' && report.previous?.status !== 'invalid';
  metrics.addMetric(digestValid ? 'DigestsValid' : 'DigestsInvalid', 'Count', 1);
  const missing = report.logs.filter((l) => l.code === 'not-found').length;
  const invalid = report.logs.filter((l) => l.status === 'invalid').length - missing;
  metrics.addMetric('LogFilesValid', 'Count', report.logs.length - invalid - missing);
  if (invalid > 0) metrics.addMetric('LogFilesInvalid', 'Count', invalid);
  if (missing > 0) metrics.addMetric('LogFilesMissing', 'Count', missing);
}

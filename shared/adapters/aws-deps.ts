/** The AWS side of each handler's dependencies: one client per service per container. */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { DetectDeps } from '#functions/lib/detect.ts';
import type { IngestDeps } from '#functions/lib/ingest.ts';
import type { VerifyDeps } from '#functions/lib/verify.ts';
import type { WatchdogDeps } from '#functions/lib/watchdog.ts';
import { cloudTrailPublicKeys } from '#shared/adapters/aws-public-keys.ts';
import { S3ObjectStore, s3Client } from '#shared/adapters/aws-s3-store.ts';
import { SnsNotifier } from '#shared/adapters/aws-sns-notifier.ts';
import { logger, metrics, tracer } from '#shared/adapters/powertools.ts';
import type { IngestConfig, VerifyEnvConfig, WatchdogEnvConfig } from '#shared/config.ts';
import { decodeEventKey } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { defaultRules } from '#shared/rules/load.ts';

const stores = new Map<string, ObjectStore>();
export function s3Store(bucket: string): ObjectStore {
  let s = stores.get(bucket);
  if (!s) {
    s = new S3ObjectStore(s3Client(), bucket);
    stores.set(bucket, s);
  }
  return s;
}

let lambda: LambdaClient | undefined;

export function awsIngestDeps(config: IngestConfig): IngestDeps {
  return {
    config,
    rules: defaultRules(),
    now: () => new Date(),
    sourceStore: s3Store,
    state: s3Store(config.stateBucket),
    notifier: new SnsNotifier(),
    logger,
    metrics,
    tracer,
    async dispatchDigest(route, event) {
      if (!config.verifyFunctionName) {
        logger.warn('digest delivered but VERIFY_FUNCTION_NAME is not set: not verified', {
          key: route.object.key,
        });
        return;
      }
      lambda ??= new LambdaClient({});
      const record = event.Records.find(
        (r) =>
          r.s3.bucket.name === route.object.bucket && decodeEventKey(r.s3.object.key) === route.object.key,
      );
      // Asynchronous invocation: verify retries and fails over to its own destination independently of ingest.
      await lambda.send(
        new InvokeCommand({
          FunctionName: config.verifyFunctionName,
          InvocationType: 'Event',
          Payload: Buffer.from(JSON.stringify({ Records: record ? [record] : event.Records })),
        }),
      );
    },
  };
}

export function awsVerifyDeps(config: VerifyEnvConfig): VerifyDeps {
  return {
    config,
    sourceStore: s3Store,
    state: s3Store(config.stateBucket),
    keys: cloudTrailPublicKeys(),
    notifier: new SnsNotifier(),
    logger,
    metrics,
    tracer,
  };
}

export function awsWatchdogDeps(c: WatchdogEnvConfig): WatchdogDeps {
  return {
    config: {
      alertTopicArn: c.alertTopicArn,
      trailPrefixes: c.trailPrefixes,
      options: {
        digestGraceMinutes: c.digestGraceMinutes,
        logSilenceMinutes: c.logSilenceMinutes,
        activeWithinDays: c.activeWithinDays,
      },
    },
    trail: s3Store(c.trailBucket),
    state: s3Store(c.stateBucket),
    notifier: new SnsNotifier(),
    logger,
    metrics,
    tracer,
    now: () => new Date(),
  };
}

export function awsDetectDeps(c: VerifyEnvConfig): DetectDeps {
  return {
    config: { alertTopicArn: c.alertTopicArn },
    state: s3Store(c.stateBucket),
    notifier: new SnsNotifier(),
    logger,
    metrics,
    tracer,
    now: () => new Date(),
  };
}

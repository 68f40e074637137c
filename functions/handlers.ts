/**
 * The four functions as Lambda handlers: each is one use case from shared/pipeline under the same middleware
 * set. The entries (functions/<name>.ts) give them AWS adapters; replay and the tests give them local ones.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type Observability, observability } from '#functions/middleware/observability.ts';
import { parseQueuedDeliveries } from '#functions/middleware/queued-deliveries.ts';
import { s3Notification } from '#functions/middleware/s3-notification.ts';
import type { ShardConfig } from '#shared/config.ts';
import type { PublicKeySource } from '#shared/digest/public-keys.ts';
import { KeyRing } from '#shared/digest/public-keys.ts';
import { METRIC } from '#shared/metric-names.cjs';
import type { DetectPorts } from '#shared/pipeline/detect-insights.ts';
import { detectScheduled, detectShard, type ShardedPorts } from '#shared/pipeline/detect-shards.ts';
import { type BatchResult, ingestBatch } from '#shared/pipeline/ingest-batch.ts';
import { type IngestPorts, type IngestResult, ingestDeliveries } from '#shared/pipeline/ingest-log-files.ts';
import type { Delivery } from '#shared/pipeline/routing.ts';
import { checkShard, type ShardSpec } from '#shared/pipeline/shards.ts';
import { type VerifyOutcome, type VerifyPorts, verifyDeliveries } from '#shared/pipeline/verify-digests.ts';
import { type WatchdogPorts, watchDeliveries } from '#shared/pipeline/watch-deliveries.ts';
import { watchScheduled, watchShard } from '#shared/pipeline/watch-shards.ts';

export type IngestDeps = IngestPorts & Observability;
export type VerifyDeps = Omit<VerifyPorts, 'keys'> & Observability & { keys: PublicKeySource };
/** How a scheduled function shards its work: without it, one shard runs in place. */
export interface ShardDeps {
  shards?: ShardConfig;
  startShard?(spec: ShardSpec): Promise<void>;
}
export type DetectDeps = DetectPorts & Observability & ShardDeps;
export type WatchdogDeps = WatchdogPorts & Observability & ShardDeps;

const ONE_SHARD: ShardConfig = { shardCount: 1, concurrency: 8, marginMs: 15_000 };

/** The shard a shard invocation carries; undefined for the schedule's own event. */
function shardIn(event: unknown): ShardSpec | undefined {
  const spec = (event as { trailwatchShard?: ShardSpec } | null)?.trailwatchShard;
  return spec === undefined ? undefined : checkShard(spec);
}

/** The ports a sharded run needs, its deadline taken from the invocation's remaining time. */
function sharded(deps: ShardDeps, context: Context | undefined): ShardedPorts {
  const shards = deps.shards ?? ONE_SHARD;
  const started = Date.now();
  const remaining = context?.getRemainingTimeInMillis?.() ?? 120_000;
  return {
    shards,
    ...(deps.startShard && shards.shardCount > 1 ? { startShard: deps.startShard } : {}),
    deadline: () => started + Math.max(0, remaining - shards.marginMs),
    clock: () => Date.now(),
  };
}

export function ingestHandler(deps: IngestDeps) {
  return middy<unknown, IngestResult>()
    .use(observability(deps))
    .use(s3Notification(deps, () => ({ outcomes: [], insights: [] })))
    .handler((deliveries) => ingestDeliveries(deps, deliveries as Delivery[]));
}

/** The SQS partial batch response: only these messages return to the queue. */
export interface QueueResponse {
  batchItemFailures: { itemIdentifier: string }[];
  result?: BatchResult;
}

export function ingestQueueHandler(deps: IngestDeps) {
  return middy<unknown, QueueResponse>()
    .use(observability(deps))
    .handler(async (event) => {
      let parsed: ReturnType<typeof parseQueuedDeliveries>;
      try {
        parsed = parseQueuedDeliveries(event, deps);
      } catch (error) {
        deps.logger.error('event is not an SQS batch', { error });
        deps.metrics.addMetric(METRIC.InvalidEvents, 'Count', 1);
        return { batchItemFailures: [] };
      }
      const result = await ingestBatch(deps, parsed.deliveries);
      const failed = [...new Set([...parsed.invalid, ...result.failedMessageIds])];
      return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })), result };
    });
}

export function verifyHandler(deps: VerifyDeps) {
  // One key ring per container: keys are fetched once per region and window, then reused.
  const ports: VerifyPorts = { ...deps, keys: new KeyRing(deps.keys) };
  return middy<unknown, { outcomes: VerifyOutcome[] }>()
    .use(observability(deps))
    .use(s3Notification(deps, () => ({ outcomes: [] })))
    .handler((deliveries) => verifyDeliveries(ports, deliveries as Delivery[]));
}

export function detectHandler(deps: DetectDeps) {
  return middy()
    .use(observability(deps))
    .handler((event: unknown, context: Context) => {
      const shard = shardIn(event);
      // One shard runs in place, through the same code as a sharded run: it folds what batched ingest parked.
      const ports = { ...deps, ...sharded(deps, context) };
      return shard ? detectShard(ports, shard) : detectScheduled(ports);
    });
}

export function watchdogHandler(deps: WatchdogDeps) {
  return middy()
    .use(observability(deps))
    .handler((event: unknown, context: Context) => {
      const shard = shardIn(event);
      if (!shard && (deps.shards?.shardCount ?? 1) <= 1) return watchDeliveries(deps);
      const ports = { ...deps, ...sharded(deps, context) };
      return shard ? watchShard(ports, shard) : watchScheduled(ports);
    });
}

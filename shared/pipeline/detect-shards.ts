/**
 * The scheduled detect at organization scale. The schedule starts a coordinator, which hands each of
 * `shardCount` shards to an asynchronous invocation of the same function, sends what waits in the outbox,
 * and reports the open insights the shards counted on their last run. A shard lists the account-regions with
 * state, keeps its own share (shards.ts), and runs detection on them a bounded number at a time until its
 * deadline; the account-regions it did not reach come first on its next run.
 *
 * With one shard (the default outside Lambda) the coordinator runs it in place: the same code as a sharded run.
 */
import { detectAndNotify } from '#shared/insights/detect-and-notify.ts';
import { listInsightStates } from '#shared/insights/index.ts';
import type { InsightEvent } from '#shared/insights/insight-types.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { flushOutbox } from '#shared/notify/outbox.ts';
import type { DetectPorts, DetectRunResult } from '#shared/pipeline/detect-insights.ts';
import {
  readShardStatus,
  runShard,
  type ShardSpec,
  shareOf,
  sumShardCounts,
  writeShardStatus,
} from '#shared/pipeline/shards.ts';

export const DETECT_JOB = 'detect';

export interface ShardedPorts {
  shards: { shardCount: number; concurrency: number };
  /** Starts one shard elsewhere (an asynchronous invocation); absent: shards run here, one after the other. */
  startShard?(spec: ShardSpec): Promise<void>;
  /** Epoch milliseconds after which a shard starts no new account-region. */
  deadline(): number;
  /** Epoch milliseconds (the wall clock in Lambda, a simulated one in the bench). */
  clock(): number;
}

export interface DetectShardResult extends DetectRunResult {
  shard: ShardSpec;
  /** Account-regions of this shard, and how many this run reached. */
  total: number;
  done: number;
  stoppedEarly: boolean;
  failed: number;
}

export async function detectShard(
  ports: DetectPorts & ShardedPorts,
  spec: ShardSpec,
): Promise<DetectShardResult> {
  const { state, metrics, logger } = ports;
  const now = ports.now();
  const ids = shareOf(
    (await listInsightStates(state)).map((p) => `${p.account}/${p.region}`),
    spec,
  );
  const previous = await readShardStatus(state, DETECT_JOB, spec);
  const run = await runShard({
    ids,
    ...(previous?.cursor ? { cursor: previous.cursor } : {}),
    concurrency: ports.shards.concurrency,
    deadline: ports.deadline(),
    clock: ports.clock,
    work: async (id) => {
      const [account, region] = id.split('/');
      return detectAndNotify(
        { state, notifier: ports.notifier, metrics, topic: ports.config.alertTopicArn },
        { account, region, now, insightStore: ports.insightStore ?? state, prefix: '' },
      );
    },
  });
  const events: InsightEvent[] = run.results.flatMap((r) => r.events);
  const open = run.results.reduce((n, r) => n + r.open, 0);
  for (const f of run.failures) {
    logger.error('detect failed for an account-region; the next run tries again', {
      place: f.id,
      error: f.error,
    });
    metrics.addMetric(METRIC.ProcessingFailures, 'Count', 1);
  }
  if (run.stoppedEarly) {
    logger.warn('shard stopped at its deadline; the next run carries on', {
      shard: spec,
      done: run.done,
      total: run.total,
      cursor: run.cursor,
    });
  }
  await writeShardStatus(state, DETECT_JOB, spec, {
    ...(run.cursor ? { cursor: run.cursor } : {}),
    // A partial run counts only what it saw: the previous count stands for the rest until the next pass.
    counts: {
      open: run.stoppedEarly ? Math.max(open, previous?.counts.open ?? 0) : open,
      places: ids.length,
    },
    at: now.toISOString(),
  });
  if (events.length > 0) logger.info('insights changed', { events: events.map(({ record: _r, ...e }) => e) });
  return {
    shard: spec,
    events,
    places: ids.length,
    open,
    total: run.total,
    done: run.done,
    stoppedEarly: run.stoppedEarly,
    failed: run.failures.length,
  };
}

/** The scheduled run: start every shard, send the outbox, report the open insights the shards counted. */
export async function detectScheduled(ports: DetectPorts & ShardedPorts): Promise<DetectRunResult> {
  const { shardCount } = ports.shards;
  const specs = Array.from({ length: shardCount }, (_, index) => ({ index, count: shardCount }));
  const result: DetectRunResult = { events: [], places: 0, open: 0 };
  if (ports.startShard) {
    for (const spec of specs) await ports.startShard(spec);
  } else {
    for (const spec of specs) {
      const r = await detectShard(ports, spec);
      result.events.push(...r.events);
      result.places += r.places;
    }
  }
  await flushOutbox(ports.state, ports.notifier);
  const counts = await sumShardCounts(ports.state, DETECT_JOB, shardCount);
  result.open = counts.open ?? 0;
  if (!ports.startShard) result.places = counts.places ?? result.places;
  ports.metrics.addMetric(METRIC.InsightsOpen, 'Count', result.open);
  return result;
}

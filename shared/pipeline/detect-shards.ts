/**
 * The scheduled detect at organization scale. The schedule starts a coordinator, which hands each of
 * `shardCount` shards to an asynchronous invocation of the same function, sends what waits in the outbox,
 * and reports the open insights the shards counted on their last run. A shard lists the account-regions with
 * state, keeps its own share (shards.ts), and runs detection on them a bounded number at a time until its
 * deadline; the account-regions it did not reach come first on its next run.
 *
 * With one shard (the default outside Lambda) the coordinator runs it in place: the same code as a sharded run.
 *
 * Folding: every `foldMinutes` (insights options, default 120) a shard's run is a fold pass. It lists the
 * summaries batched ingest parked (shared/insights/parked-files.ts) in the hours since its last fold, keeps
 * those of its share, and visits every account-region of its share, applying their parked summaries and
 * detecting in one state write each. The runs in between visit only the account-regions marked active (an
 * open insight to end, messages or Insights files to send; state.ts, ACTIVE_PREFIX), so a quiet organization
 * costs one LIST per shard every five minutes instead of a GET per account-region.
 */
import { detectAndNotify } from '#shared/insights/detect-and-notify.ts';
import { listInsightStates } from '#shared/insights/index.ts';
import { type InsightEvent, type InsightsOptions, resolveOptions } from '#shared/insights/insight-types.ts';
import { readParked } from '#shared/insights/parked-files.ts';
import { listActive } from '#shared/insights/state.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { flushOutbox } from '#shared/notify/outbox.ts';
import type { DetectPorts, DetectRunResult } from '#shared/pipeline/detect-insights.ts';
import {
  readShardStatus,
  runShard,
  type ShardSpec,
  shardOf,
  shareOf,
  sumShardCounts,
  writeShardStatus,
} from '#shared/pipeline/shards.ts';
import { sweepParked } from '#shared/pipeline/sweep-parked.ts';
import { defaultRules } from '#shared/rules/load.ts';
import type { LogFileSummary } from '#shared/summary.ts';

export const DETECT_JOB = 'detect';

export interface ShardedPorts {
  /** Detection options (default: the defaults); `foldMinutes` sets how often parked summaries are folded. */
  insights?: Partial<InsightsOptions>;
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
  /** Whether this run was a fold pass, and how many parked summaries of its share it read. */
  folding: boolean;
  parked: number;
}

/** Hours a shard's first fold (no status yet) looks back for parked summaries. */
const FIRST_FOLD_HOURS = 24;

export async function detectShard(
  ports: DetectPorts & ShardedPorts,
  spec: ShardSpec,
): Promise<DetectShardResult> {
  const { state, metrics, logger } = ports;
  const now = ports.now();
  const nowMinute = Math.floor(now.getTime() / 60_000);
  const nowHour = Math.floor(nowMinute / 60);
  const o = resolveOptions(ports.insights);
  const previous = await readShardStatus(state, DETECT_JOB, spec);
  const mine = (id: string) => shardOf(id, spec.count) === spec.index;
  const marked = new Set(
    shareOf(
      (await listActive(state)).map((p) => `${p.account}/${p.region}`),
      spec,
    ),
  );
  // A fold pass applies what ingest parked and visits every state; the runs between visit only the marked.
  const folding = !previous?.fold || nowMinute - previous.fold.at >= o.foldMinutes;
  let parked = new Map<string, LogFileSummary[]>();
  let ids: string[];
  if (folding) {
    const fromHour = previous?.fold?.hour ?? nowHour - FIRST_FOLD_HOURS;
    const read = await readParked(state, fromHour, nowHour, mine, (key, error) => {
      logger.error('parked summaries unreadable; skipped', { key, error });
      metrics.addMetric(METRIC.ProcessingFailures, 'Count', 1);
    });
    parked = read.byPlace;
    ids = shareOf(
      [...(await listInsightStates(state)).map((p) => `${p.account}/${p.region}`), ...parked.keys()],
      spec,
    );
  } else {
    ids = [...marked];
  }
  const run = await runShard({
    ids,
    ...(previous?.cursor ? { cursor: previous.cursor } : {}),
    concurrency: ports.shards.concurrency,
    deadline: ports.deadline(),
    clock: ports.clock,
    work: async (id) => {
      const [account, region] = id.split('/');
      const summaries = parked.get(id);
      return detectAndNotify(
        { state, notifier: ports.notifier, metrics, topic: ports.config.alertTopicArn },
        {
          account,
          region,
          now,
          insightStore: ports.insightStore ?? state,
          prefix: '',
          marked: marked.has(id),
          ...(ports.insights ? { options: ports.insights } : {}),
          ...(summaries ? { summaries } : {}),
        },
      );
    },
  });
  // The fold is complete when every account-region was reached and took its parked summaries. The next
  // fold lists again from the hour before this one (an ingest that started then may still be writing into
  // it; applying twice changes nothing); after a failure or a stop at the deadline, from the same hour.
  const folded = folding && !run.stoppedEarly && !run.failures.some((f) => parked.has(f.id));
  const fold = folded ? { hour: nowHour - 1, at: nowMinute } : previous?.fold;
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
  // A run between folds that had nothing to visit changes nothing worth a PUT every five minutes.
  const idle = !folding && ids.length === 0 && previous !== undefined && !previous.cursor;
  if (!idle)
    await writeShardStatus(state, DETECT_JOB, spec, {
      ...(run.cursor ? { cursor: run.cursor } : {}),
      // A partial run counts only what it saw: the previous count stands for the rest until the next pass.
      // Between folds only the marked are visited: the count of places stands from the last fold.
      counts: {
        open: run.stoppedEarly ? Math.max(open, previous?.counts.open ?? 0) : open,
        places: folding ? ids.length : (previous?.counts.places ?? ids.length),
      },
      at: now.toISOString(),
      ...(fold ? { fold } : {}),
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
    folding,
    parked: [...parked.values()].reduce((n, l) => n + l.length, 0),
  };
}

/**
 * The scheduled run: start every shard, sweep the new parked objects (sweep-parked.ts), send the outbox,
 * report the open insights the shards counted.
 */
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
  // The sweep's failure does not stop the outbox; it is raised at the end, and its next run tries again.
  let failure: unknown;
  try {
    await sweepParked({ ...ports, rules: ports.rules ?? defaultRules() });
  } catch (err) {
    failure = err;
    ports.logger.error('sweep of parked objects failed; the next run tries again', { error: err });
    ports.metrics.addMetric(METRIC.ProcessingFailures, 'Count', 1);
  }
  await flushOutbox(ports.state, ports.notifier);
  const counts = await sumShardCounts(ports.state, DETECT_JOB, shardCount);
  result.open = counts.open ?? 0;
  if (!ports.startShard) result.places = counts.places ?? result.places;
  ports.metrics.addMetric(METRIC.InsightsOpen, 'Count', result.open);
  if (failure) throw failure;
  return result;
}

/**
 * Splitting the scheduled work over account-regions into shards that run in parallel, each bounded in time.
 *
 * A place belongs to shard `hash(place) mod count`: every shard computes its own share from the same listing,
 * so the coordinator hands out only `{index, count}` and no shard needs the others' lists. Inside a shard,
 * places are taken in a fixed order (sorted ids), at most `concurrency` at a time; no new place starts once
 * the deadline has passed, and the first place not started is kept as the shard's cursor, so the next run
 * carries on there (and wraps around) instead of starting over and never reaching the tail.
 */
import { createHash } from 'node:crypto';
import { ObjectNotFoundError, type ObjectStore, readAll } from '#shared/ports.ts';

export interface ShardSpec {
  index: number;
  count: number;
}

export class ShardError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShardError';
  }
}

/** Throws unless `spec` names one of `count` shards. */
export function checkShard(spec: ShardSpec): ShardSpec {
  if (!Number.isInteger(spec.count) || spec.count < 1 || spec.count > 1000) {
    throw new ShardError(`expected a shard count between 1 and 1000, found ${spec.count}`);
  }
  if (!Number.isInteger(spec.index) || spec.index < 0 || spec.index >= spec.count) {
    throw new ShardError(`expected a shard index in 0..${spec.count - 1}, found ${spec.index}`);
  }
  return spec;
}

export function shardOf(id: string, count: number): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % count;
}

/** Every shard's places, each list sorted: together they hold every id exactly once. */
export function planShards(ids: Iterable<string>, count: number): string[][] {
  const shards: string[][] = Array.from({ length: count }, () => []);
  for (const id of new Set(ids)) shards[shardOf(id, count)].push(id);
  for (const s of shards) s.sort();
  return shards;
}

/** One shard's share of `ids`, sorted. */
export function shareOf(ids: Iterable<string>, spec: ShardSpec): string[] {
  return [...new Set(ids)].filter((id) => shardOf(id, spec.count) === spec.index).sort();
}

/**
 * Runs `work` over `items` with at most `concurrency` in flight. Every item is tried; the errors are returned
 * by index rather than thrown, so one failing place does not stop the others.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
  shouldStart: () => boolean = () => true,
): Promise<{ results: (R | undefined)[]; errors: Map<number, unknown>; started: number }> {
  const results: (R | undefined)[] = new Array(items.length);
  const errors = new Map<number, unknown>();
  let next = 0;
  let stopped = false;
  const lane = async () => {
    while (!stopped && next < items.length) {
      if (!shouldStart()) {
        stopped = true;
        return;
      }
      const i = next++;
      try {
        results[i] = await work(items[i], i);
      } catch (err) {
        errors.set(i, err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
  return { results, errors, started: next };
}

export interface ShardRun<R> {
  /** Places processed in this run (including failed ones). */
  done: number;
  /** Places of the shard. */
  total: number;
  /** True when the deadline stopped the run before every place was started. */
  stoppedEarly: boolean;
  /** Where the next run starts: the first place not started, or undefined after a full pass. */
  cursor?: string;
  results: R[];
  failures: { id: string; error: unknown }[];
}

/**
 * One bounded pass over a shard's places, starting after the saved cursor (wrapping around), stopping new work
 * when `clock()` reaches `deadline`. The caller saves the returned cursor.
 */
export async function runShard<R>(args: {
  ids: readonly string[];
  cursor?: string;
  concurrency: number;
  deadline: number;
  clock: () => number;
  work: (id: string) => Promise<R>;
}): Promise<ShardRun<R>> {
  const { ids } = args;
  const from = args.cursor === undefined ? 0 : ids.findIndex((id) => id >= args.cursor!);
  const start = from < 0 ? 0 : from;
  const ordered = [...ids.slice(start), ...ids.slice(0, start)];
  const { results, errors, started } = await mapPool(
    ordered,
    args.concurrency,
    args.work,
    () => args.clock() < args.deadline,
  );
  const stoppedEarly = started < ordered.length;
  return {
    done: started,
    total: ids.length,
    stoppedEarly,
    ...(stoppedEarly ? { cursor: ordered[started] } : {}),
    results: results.filter((_r, i) => i < started && !errors.has(i)) as R[],
    failures: [...errors].map(([i, error]) => ({ id: ordered[i], error })),
  };
}

/**
 * What a shard leaves for the next run and for the coordinator: where to carry on, and its counts (the
 * coordinator sums the shards' counts into the run's gauges, one run late).
 */
export interface ShardStatus {
  cursor?: string;
  counts: Record<string, number>;
  at: string;
  /**
   * detect's folds of parked summaries: the first hour (since the epoch) the next fold lists, and the minute
   * (since the epoch) of the last complete fold.
   */
  fold?: { hour: number; at: number };
}

/** Where a shard keeps its status between runs (the state store). */
export function statusKey(job: string, spec: ShardSpec): string {
  return `shards/${job}/${spec.count}-${spec.index}.json`;
}

export async function readShardStatus(
  state: ObjectStore,
  job: string,
  spec: ShardSpec,
): Promise<ShardStatus | undefined> {
  try {
    const saved = JSON.parse((await readAll(state, statusKey(job, spec))).toString('utf8')) as ShardStatus;
    return {
      ...(typeof saved.cursor === 'string' ? { cursor: saved.cursor } : {}),
      counts: typeof saved.counts === 'object' && saved.counts ? saved.counts : {},
      at: String(saved.at),
      ...(Number.isInteger(saved.fold?.hour) && Number.isInteger(saved.fold?.at)
        ? { fold: { hour: saved.fold!.hour, at: saved.fold!.at } }
        : {}),
    };
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    // An unreadable status only costs a pass from the start.
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export async function writeShardStatus(
  state: ObjectStore,
  job: string,
  spec: ShardSpec,
  status: ShardStatus,
): Promise<void> {
  await state.put(statusKey(job, spec), JSON.stringify(status), { contentType: 'application/json' });
}

/** The sum of each count over every shard's last status. */
export async function sumShardCounts(
  state: ObjectStore,
  job: string,
  count: number,
): Promise<Record<string, number>> {
  const statuses = await mapPool(
    Array.from({ length: count }, (_, index) => index),
    16,
    (index) => readShardStatus(state, job, { index, count }),
  );
  const sum: Record<string, number> = {};
  for (const s of statuses.results) {
    for (const [k, v] of Object.entries(s?.counts ?? {})) sum[k] = (sum[k] ?? 0) + v;
  }
  return sum;
}

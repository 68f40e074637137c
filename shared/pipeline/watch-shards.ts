/**
 * The watchdog at organization scale: the same checks as watch-deliveries (a digest overdue past its grace,
 * logs silent past their threshold), split by account over shards that run in parallel, each bounded in time.
 *
 * A shard lists the accounts of the trail (one listing per organization), keeps its own (shards.ts, by
 * account, so every account-region belongs to exactly one shard), finds their regions, then checks each
 * account-region a bounded number at a time until its deadline, carrying on there next run. Each shard keeps
 * its own record of the gaps it reported (`watchdog/shards/`), so shards never contend for one object; a gap
 * is closed only when its account-region was checked and found delivering again, so a partial run closes
 * nothing it did not look at. Alerts go through the outbox before the record is written: a crash in between
 * repeats an alert, never loses one.
 */
import { METRIC } from '#shared/metric-names.cjs';
import { sendThroughOutbox } from '#shared/notify/outbox.ts';
import type { ShardedPorts } from '#shared/pipeline/detect-shards.ts';
import {
  mapPool,
  readShardStatus,
  runShard,
  type ShardSpec,
  shardOf,
  sumShardCounts,
  writeShardStatus,
} from '#shared/pipeline/shards.ts';
import type { WatchdogPorts } from '#shared/pipeline/watch-deliveries.ts';
import { PreconditionFailedError, readAll } from '#shared/ports.ts';
import {
  type Finding,
  newestFile,
  type Place,
  type WatchdogResult,
  type WatchdogState,
} from '#shared/watchdog/delivery-gaps.ts';
import { watchdogAlerts } from '#shared/watchdog/gap-alerts.ts';

export const WATCHDOG_JOB = 'watchdog';

type Folder = 'CloudTrail' | 'CloudTrail-Digest';
const KINDS: { folder: Folder; kind: Finding['kind'] }[] = [
  { folder: 'CloudTrail-Digest', kind: 'digest-missing' },
  { folder: 'CloudTrail', kind: 'logs-silent' },
];

const idOf = (kind: string, p: Place) => [kind, p.prefix, p.orgId ?? '', p.account, p.region].join('|');

function placeOf(id: string): { kind: Finding['kind']; place: Place } {
  const [kind, prefix, orgId, account, region] = id.split('|');
  return { kind: kind as Finding['kind'], place: { prefix, ...(orgId ? { orgId } : {}), account, region } };
}

/** Which shard watches an account: every region of an account goes to the same shard. */
export function accountShard(a: { prefix: string; orgId?: string; account: string }, count: number): number {
  return shardOf(`${a.prefix}|${a.orgId ?? ''}|${a.account}`, count);
}

/** The checks (kind and account-region) of one shard, sorted. */
export async function shardChecks(
  ports: Pick<WatchdogPorts, 'trail'>,
  prefixes: string[],
  spec: ShardSpec,
  concurrency: number,
): Promise<string[]> {
  const accounts: { prefix: string; orgId?: string; account: string }[] = [];
  for (const prefix of prefixes) {
    for (const level of await ports.trail.listFolders(`${prefix}AWSLogs/`)) {
      const name = level.slice(`${prefix}AWSLogs/`.length, -1);
      const found = /^o-[a-z0-9]+$/.test(name)
        ? (await ports.trail.listFolders(level)).map((a) => ({
            prefix,
            orgId: name,
            account: a.slice(level.length, -1),
          }))
        : [{ prefix, account: name }];
      for (const a of found)
        if (/^\d{12}$/.test(a.account) && accountShard(a, spec.count) === spec.index) accounts.push(a);
    }
  }
  const lists = await mapPool(accounts, concurrency, async (a) => {
    const ids: string[] = [];
    for (const { folder, kind } of KINDS) {
      const base = `${a.prefix}AWSLogs/${a.orgId ? `${a.orgId}/` : ''}${a.account}/${folder}/`;
      for (const r of await ports.trail.listFolders(base)) {
        ids.push(idOf(kind, { ...a, region: r.slice(base.length, -1) }));
      }
    }
    return ids;
  });
  if (lists.errors.size > 0) throw [...lists.errors.values()][0];
  return lists.results.flatMap((l) => l ?? []).sort();
}

export function shardStateKey(spec: ShardSpec): string {
  return `watchdog/shards/${spec.count}-${spec.index}.json`;
}

export interface WatchShardResult extends WatchdogResult {
  shard: ShardSpec;
  total: number;
  done: number;
  stoppedEarly: boolean;
}

export async function watchShard(
  ports: WatchdogPorts & ShardedPorts,
  spec: ShardSpec,
): Promise<WatchShardResult> {
  const { config, state, logger, metrics } = ports;
  const now = ports.now();
  const options = config.options;
  const ids = await shardChecks(ports, config.trailPrefixes, spec, ports.shards.concurrency);
  const previousStatus = await readShardStatus(state, WATCHDOG_JOB, spec);
  const run = await runShard({
    ids,
    ...(previousStatus?.cursor ? { cursor: previousStatus.cursor } : {}),
    concurrency: ports.shards.concurrency,
    deadline: ports.deadline(),
    clock: ports.clock,
    work: async (id): Promise<{ id: string; finding?: Finding; watched: boolean }> => {
      const { kind, place } = placeOf(id);
      const folder = kind === 'digest-missing' ? 'CloudTrail-Digest' : 'CloudTrail';
      const newest = await newestFile(ports.trail, place, folder, now, options.activeWithinDays);
      if (!newest) return { id, watched: false };
      // A digest covers the hour before its own time: the next one is due an hour after the newest, plus grace.
      const threshold =
        kind === 'digest-missing' ? 60 + options.digestGraceMinutes : options.logSilenceMinutes;
      const silentMinutes = Math.floor((now.getTime() - newest.time.getTime()) / 60_000);
      if (silentMinutes <= threshold) return { id, watched: true };
      return {
        id,
        watched: true,
        finding: {
          kind,
          place,
          newestKey: newest.key,
          newestTime: newest.time.toISOString(),
          silentMinutes,
          thresholdMinutes: threshold,
        },
      };
    },
  });
  for (const f of run.failures) {
    logger.error('watchdog check failed for an account-region; the next run tries again', {
      check: f.id,
      error: f.error,
    });
    metrics.addMetric(METRIC.ProcessingFailures, 'Count', 1);
  }
  const checked = new Set(run.results.map((r) => r.id));
  const findings = run.results.flatMap((r) => (r.finding ? [r.finding] : []));
  const placesWatched = run.results.filter((r) => r.watched).length;

  const key = shardStateKey(spec);
  const head = await state.head(key);
  const previous: WatchdogState = head
    ? (JSON.parse((await readAll(state, key)).toString('utf8')) as WatchdogState)
    : { schema: 'trailwatch.watchdog/1', open: {} };
  const open: WatchdogState['open'] = {};
  const opened: Finding[] = [];
  for (const f of findings) {
    const id = idOf(f.kind, f.place);
    const before = previous.open[id];
    open[id] = before ?? {
      since: f.newestTime ?? now.toISOString(),
      newestKey: f.newestKey,
      reportedAt: now.toISOString(),
    };
    if (!before) opened.push(f);
  }
  const closed: WatchdogResult['closed'] = [];
  for (const [id, v] of Object.entries(previous.open)) {
    if (id in open) continue;
    // Not looked at this run (deadline, error, or moved to another shard count): still open.
    if (!checked.has(id)) open[id] = v;
    else closed.push({ id, ...placeOf(id), since: v.since });
  }
  const result: WatchdogResult = { opened, closed, current: findings, placesWatched };
  if (opened.length > 0 || closed.length > 0) {
    const alerts = watchdogAlerts(config.alertTopicArn, result);
    await sendThroughOutbox(
      state,
      ports.notifier,
      alerts.map((notification, i) => ({
        id: `watchdog/${spec.count}-${spec.index}/${now.toISOString()}/${i}`,
        notification,
      })),
    );
    try {
      await state.put(
        key,
        JSON.stringify({ schema: 'trailwatch.watchdog/1', open }),
        head?.etag ? { ifMatch: head.etag } : { ifNoneMatch: '*' },
      );
    } catch (err) {
      // Another run of this shard recorded first: it saw the same gaps, and the alerts above repeat its own.
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
    if (opened.length > 0) logger.error('deliveries stopped', { gaps: opened });
    if (closed.length > 0) logger.info('deliveries resumed', { closed });
  }
  const missing = Object.keys(open).filter((id) => id.startsWith('digest-missing|')).length;
  await writeShardStatus(state, WATCHDOG_JOB, spec, {
    ...(run.cursor ? { cursor: run.cursor } : {}),
    counts: {
      digestsOverdue: missing,
      silentLogPlaces: Object.keys(open).length - missing,
      placesWatched: run.stoppedEarly
        ? Math.max(placesWatched, previousStatus?.counts.placesWatched ?? 0)
        : placesWatched,
    },
    at: now.toISOString(),
  });
  return { ...result, shard: spec, total: run.total, done: run.done, stoppedEarly: run.stoppedEarly };
}

/** The scheduled run: start every shard, then report the gauges the shards counted. */
export async function watchScheduled(ports: WatchdogPorts & ShardedPorts): Promise<WatchdogResult> {
  const { shardCount } = ports.shards;
  const specs = Array.from({ length: shardCount }, (_, index) => ({ index, count: shardCount }));
  const result: WatchdogResult = { opened: [], closed: [], current: [], placesWatched: 0 };
  if (ports.startShard) {
    for (const spec of specs) await ports.startShard(spec);
  } else {
    for (const spec of specs) {
      const r = await watchShard(ports, spec);
      result.opened.push(...r.opened);
      result.closed.push(...r.closed);
      result.current.push(...r.current);
    }
  }
  const counts = await sumShardCounts(ports.state, WATCHDOG_JOB, shardCount);
  result.placesWatched = counts.placesWatched ?? 0;
  ports.metrics.addMetric(METRIC.DigestsOverdue, 'Count', counts.digestsOverdue ?? 0);
  ports.metrics.addMetric(METRIC.SilentLogPlaces, 'Count', counts.silentLogPlaces ?? 0);
  ports.metrics.addMetric(METRIC.PlacesWatched, 'Count', result.placesWatched);
  return result;
}

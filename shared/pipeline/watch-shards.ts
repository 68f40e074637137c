/**
 * The watchdog at organization scale: the same checks as watch-deliveries (a digest overdue past its grace,
 * logs silent past their threshold), split by account over shards that run in parallel, each bounded in time.
 *
 * A shard lists the accounts of the trail (one listing per organization), keeps its own (shards.ts, by
 * account, so every account-region belongs to exactly one shard), finds their regions, then checks each
 * account-region a bounded number at a time until its deadline, carrying on there next run. Each shard keeps
 * its own record of the gaps it reported (`watchdog/shards/`), so shards never contend for one object; a gap
 * is closed only when its account-region was checked and found delivering again, so a partial run closes
 * nothing it did not look at. The checks are the plain watchdog's (watch-deliveries.ts, delivery-gaps.ts):
 * only objects that can be deliveries count, planted ones are reported, log files no digest lists are
 * reported, and every message is published before the record that says it was sent is written: a failed
 * publish leaves nothing recorded and the next run reports again (a message may repeat, never vanish).
 */
import { METRIC } from '#shared/metric-names.cjs';
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
import {
  checkTrailProtection,
  logFindings,
  reportUnlisted,
  trailBucketOf,
  type WatchdogPorts,
  watchdogMessages,
} from '#shared/pipeline/watch-deliveries.ts';
import { PreconditionFailedError } from '#shared/ports.ts';
import {
  type Finding,
  newestFile,
  openGaps,
  type Place,
  type Planted,
  placeId,
  readWatchdogState,
  type WatchdogResult,
  type WatchdogState,
} from '#shared/watchdog/delivery-gaps.ts';

export const WATCHDOG_JOB = 'watchdog';

type Folder = 'CloudTrail' | 'CloudTrail-Digest';
const KINDS: { folder: Folder; kind: Finding['kind'] }[] = [
  { folder: 'CloudTrail-Digest', kind: 'digest-missing' },
  { folder: 'CloudTrail', kind: 'logs-silent' },
];

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
        ids.push(placeId(kind, { ...a, region: r.slice(base.length, -1) }));
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
  /** Log files reported now as listed by no valid digest. */
  unlisted: { bucket: string; key: string }[];
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
    work: async (
      id,
    ): Promise<{
      id: string;
      finding?: Finding;
      watched: boolean;
      planted: Planted[];
      unlisted: { bucket: string; key: string }[];
      silent?: boolean;
    }> => {
      const { kind, place } = placeOf(id);
      const folder = kind === 'digest-missing' ? 'CloudTrail-Digest' : 'CloudTrail';
      const planted: Planted[] = [];
      const newest = await newestFile(ports.trail, place, folder, now, options.activeWithinDays, planted);
      // Log files of the place no digest listed: published and recorded here, inside the shard's deadline.
      const unlisted = kind === 'logs-silent' ? await reportUnlisted(ports, [place], now) : [];
      if (!newest) return { id, watched: false, planted, unlisted };
      // A digest covers the hour before its own time: the next one is due an hour after the newest, plus grace.
      const threshold =
        kind === 'digest-missing' ? 60 + options.digestGraceMinutes : options.logSilenceMinutes;
      const silentMinutes = Math.floor((now.getTime() - newest.time.getTime()) / 60_000);
      const silent = silentMinutes > threshold;
      if (!silent) return { id, watched: true, planted, unlisted, silent };
      return {
        id,
        watched: true,
        planted,
        unlisted,
        silent,
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
  const plantedNow = run.results.flatMap((r) => r.planted);
  const unlisted = run.results.flatMap((r) => r.unlisted);
  // Accounts of this shard (every region of an account is here) none of whose watched regions delivered.
  const logAccounts = new Map<string, boolean>();
  for (const r of run.results) {
    const { kind, place } = placeOf(r.id);
    if (kind !== 'logs-silent' || !r.watched) continue;
    logAccounts.set(place.account, (logAccounts.get(place.account) ?? true) && r.silent === true);
  }
  const silentAccounts = [...logAccounts].filter(([, silent]) => silent).map(([a]) => a);

  const key = shardStateKey(spec);
  const { previous, etag } = await readWatchdogState(state, key);
  const { open, opened } = openGaps(previous, findings, now);
  const closed: WatchdogResult['closed'] = [];
  for (const [id, v] of Object.entries(previous.open)) {
    if (id in open) continue;
    // Not looked at this run (deadline, error, or moved to another shard count): still open.
    if (!checked.has(id)) open[id] = v;
    else closed.push({ id, ...placeOf(id), since: v.since });
  }
  const planted = plantedNow.filter((p) => !previous.planted?.[p.key]);
  // Reported planted objects are remembered while they are still there, or while their place was not
  // looked at this run.
  const stillThere = new Set(plantedNow.map((p) => p.key));
  const lookedAt = [...new Set(run.results.map((r) => placeFolderOf(placeOf(r.id).place)))];
  const plantedKept = Object.fromEntries(
    Object.entries(previous.planted ?? {}).filter(
      ([k]) => stillThere.has(k) || !lookedAt.some((folder) => k.startsWith(folder)),
    ),
  );
  const result: WatchdogResult = {
    opened,
    closed,
    current: findings,
    placesWatched,
    planted,
    silentAccounts,
  };
  if (opened.length > 0 || closed.length > 0 || planted.length > 0) {
    // Published before the record: a failed publish throws, nothing is recorded, the next run reports again.
    for (const n of watchdogMessages(config.alertTopicArn, trailBucketOf(ports), result, now))
      await ports.notifier.publish(n);
    const next: WatchdogState = {
      schema: 'trailwatch.watchdog/1',
      open,
      planted: { ...plantedKept, ...Object.fromEntries(planted.map((p) => [p.key, now.toISOString()])) },
    };
    try {
      await state.put(key, JSON.stringify(next), etag ? { ifMatch: etag } : { ifNoneMatch: '*' });
    } catch (err) {
      // Another run of this shard recorded first: it saw the same gaps, and the alerts above repeat its own.
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
  logFindings(logger, result, unlisted);
  const missing = Object.keys(open).filter((id) => id.startsWith('digest-missing|')).length;
  await writeShardStatus(state, WATCHDOG_JOB, spec, {
    ...(run.cursor ? { cursor: run.cursor } : {}),
    counts: {
      digestsOverdue: missing,
      silentLogPlaces: Object.keys(open).length - missing,
      placesWatched: run.stoppedEarly
        ? Math.max(placesWatched, previousStatus?.counts.placesWatched ?? 0)
        : placesWatched,
      silentAccounts: silentAccounts.length,
      plantedObjects: planted.length,
      unlistedLogFiles: unlisted.length,
    },
    at: now.toISOString(),
  });
  return {
    ...result,
    unlisted,
    shard: spec,
    total: run.total,
    done: run.done,
    stoppedEarly: run.stoppedEarly,
  };
}

/** The key prefix of a place's folders (any kind), to tell which planted keys a run looked at. */
function placeFolderOf(p: Place): string {
  return `${p.prefix}AWSLogs/${p.orgId ? `${p.orgId}/` : ''}${p.account}/`;
}

/** The scheduled run: start every shard, then report the gauges the shards counted. */
export async function watchScheduled(ports: WatchdogPorts & ShardedPorts): Promise<WatchdogResult> {
  const { shardCount } = ports.shards;
  const specs = Array.from({ length: shardCount }, (_, index) => ({ index, count: shardCount }));
  const result: WatchdogResult = {
    opened: [],
    closed: [],
    current: [],
    placesWatched: 0,
    planted: [],
    silentAccounts: [],
  };
  if (ports.startShard) {
    for (const spec of specs) await ports.startShard(spec);
  } else {
    for (const spec of specs) {
      const r = await watchShard(ports, spec);
      result.opened.push(...r.opened);
      result.closed.push(...r.closed);
      result.current.push(...r.current);
      result.planted.push(...r.planted);
      result.silentAccounts.push(...r.silentAccounts);
    }
  }
  await checkTrailProtection(ports, trailBucketOf(ports));
  const counts = await sumShardCounts(ports.state, WATCHDOG_JOB, shardCount);
  result.placesWatched = counts.placesWatched ?? 0;
  ports.metrics.addMetric(METRIC.DigestsOverdue, 'Count', counts.digestsOverdue ?? 0);
  ports.metrics.addMetric(METRIC.SilentLogPlaces, 'Count', counts.silentLogPlaces ?? 0);
  ports.metrics.addMetric(METRIC.PlacesWatched, 'Count', result.placesWatched);
  ports.metrics.addMetric(METRIC.SilentAccounts, 'Count', counts.silentAccounts ?? 0);
  ports.metrics.addMetric(METRIC.PlantedObjects, 'Count', counts.plantedObjects ?? 0);
  ports.metrics.addMetric(METRIC.UnlistedLogFiles, 'Count', counts.unlistedLogFiles ?? 0);
  return result;
}

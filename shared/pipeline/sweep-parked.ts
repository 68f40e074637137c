/**
 * The sweep, in every scheduled detect run (every five minutes): it reads each parked object batched ingest
 * wrote since the last run, once (shared/insights/parked-files.ts), and
 *
 *   1. sends the throttled rule alerts batched ingest deferred, the first of each throttle window: one process
 *      decides every window, so ingest writes no claim object per file (shared/notify/throttle.ts is the
 *      per-file path's way);
 *   2. finds the count-rule bursts that only several batches show together (shared/rules/parked-counts.ts)
 *      and alerts them, at most one schedule period after the last of their files was ingested.
 *
 * Its memory is one object, {@link SWEEP_KEY}: the parked objects it read in the hours it still lists, the
 * throttle windows a message was sent in, and the recent count events. An object whose messages could not all
 * be published is not marked read, so the next run reads it again: what was sent is spent and is not sent
 * again, what failed is tried again. No alert is lost; one is repeated only if the state write after its
 * publish fails.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { InsightsError } from '#shared/insights/insight-types.ts';
import { decodeParked, listParked, type ParkedBatch } from '#shared/insights/parked-files.ts';
import { classifyKey } from '#shared/keys.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { buildRuleNotification } from '#shared/notify/rule-alerts.ts';
import {
  claimKey,
  DEFAULT_THROTTLE,
  type DeferredAlert,
  type ThrottlePolicy,
  throttleMinutes,
  windowEnd,
} from '#shared/notify/throttle.ts';
import { mapPool } from '#shared/pipeline/shards.ts';
import {
  type Log,
  type MetricsSink,
  type Notifier,
  ObjectNotFoundError,
  type ObjectStore,
  PreconditionFailedError,
  readAll,
} from '#shared/ports.ts';
import { type CountSweepState, sweepCounts } from '#shared/rules/parked-counts.ts';
import type { Rule } from '#shared/rules/rule-types.ts';

/** Under `alert-windows/`, whose lifecycle rule keeps its old versions as briefly as the claims'. */
export const SWEEP_KEY = 'alert-windows/sweep.json.gz';
const SCHEMA = 'trailwatch.sweep/1';
const HOUR_MS = 3_600_000;
/**
 * An ingest run writes its parked object into the hour it started, within its 15-minute timeout: an hour is
 * complete 20 minutes after it ends, and is no longer listed.
 */
const LATE_WRITE_MS = 20 * 60_000;
const READ_CONCURRENCY = 16;
/** Parked objects one run reads: about ten times what a thousand-account organization writes in five minutes. */
const MAX_OBJECTS_PER_RUN = 500;
const PUBLISH_CONCURRENCY = 16;

interface SweepState {
  schema: string;
  /** First hour (since the epoch) still listed: every object of the hours before it was read. */
  fromHour: number;
  /** Parked objects of the listed hours already read. */
  read: string[];
  /** Throttle windows a message was sent in, by claim key: when each ends (epoch milliseconds). */
  spent: Record<string, number>;
  counts: CountSweepState;
}

export interface SweepPorts {
  config: { alertTopicArn: string; alertThrottle?: ThrottlePolicy; runbookUrl?: string };
  state: ObjectStore;
  notifier: Notifier;
  logger: Log;
  metrics: MetricsSink;
  /** The rules ingest runs: count-rule alerts are built from them. */
  rules: readonly Rule[];
  now(): Date;
  /** Epoch milliseconds after which no new message is started (the rest waits for the next run). */
  deadline?(): number;
}

export interface SweepResult {
  /** Parked objects read this run. */
  objects: number;
  /** Messages sent: deferred alerts and count-rule bursts. */
  sent: number;
  /** Deferred alerts whose window was already spent. */
  throttled: number;
  /** Count-rule bursts found across batches. */
  crossings: number;
}

async function loadSweep(
  store: ObjectStore,
  log: Log,
  nowHour: number,
): Promise<{ state: SweepState; etag?: string; reset?: boolean }> {
  const fresh = (): SweepState => ({
    schema: SCHEMA,
    // A first run (or one after a lost state) reads the last two hours: deferred alerts may repeat, none is lost.
    fromHour: nowHour - 1,
    read: [],
    spent: {},
    counts: { entries: {} },
  });
  try {
    const obj = await store.get(SWEEP_KEY);
    const chunks: Uint8Array[] = [];
    for await (const c of obj.body) chunks.push(c);
    let parsed: SweepState;
    try {
      parsed = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8'));
    } catch (err) {
      log.error('sweep state unreadable; starting again from the last two hours', {
        key: SWEEP_KEY,
        error: err,
      });
      return { state: fresh(), reset: true, ...(obj.etag ? { etag: obj.etag } : {}) };
    }
    if (parsed?.schema !== SCHEMA) {
      log.error('sweep state of another schema; starting again from the last two hours', {
        key: SWEEP_KEY,
        found: String(parsed?.schema),
      });
      return { state: fresh(), reset: true, ...(obj.etag ? { etag: obj.etag } : {}) };
    }
    return { state: parsed, ...(obj.etag ? { etag: obj.etag } : {}) };
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return { state: fresh() };
    throw err;
  }
}

/** One run of the sweep. Throws after saving what it did when a message could not be published. */
export async function sweepParked(ports: SweepPorts): Promise<SweepResult> {
  const { state: store, notifier, metrics, logger } = ports;
  const nowMs = ports.now().getTime();
  const nowHour = Math.floor(nowMs / HOUR_MS);
  const { state, etag, reset } = await loadSweep(store, logger, nowHour);
  // A run that changes nothing (no new object, nothing to forget) writes nothing: a PUT every five minutes.
  const loaded = JSON.stringify(state);
  const already = new Set(state.read);
  const waiting = (await listParked(store, state.fromHour, nowHour)).filter((k) => !already.has(k));
  // A backlog (after an outage) is read over several runs, oldest hours first: each run saves what it did.
  const keys = waiting.slice(0, MAX_OBJECTS_PER_RUN);
  const unfinished = new Set<string>(waiting.slice(MAX_OBJECTS_PER_RUN));
  const got = await mapPool(keys, READ_CONCURRENCY, async (key) => {
    return decodeParked(await readAll(store, key), key);
  });
  const result: SweepResult = { objects: 0, sent: 0, throttled: 0, crossings: 0 };
  const batches: { key: string; batch: ParkedBatch }[] = [];
  let failure: unknown;
  for (const [i, key] of keys.entries()) {
    const error = got.errors.get(i);
    if (error === undefined) {
      batches.push({ key, batch: got.results[i] as ParkedBatch });
      continue;
    }
    metrics.addMetric(METRIC.ProcessingFailures, 'Count', 1);
    if (error instanceof InsightsError) {
      // Bytes that will not read better next time: reported once, and passed.
      logger.error('parked object unreadable; skipped', { key, error });
      already.add(key);
    } else {
      logger.error('parked object not read; the next run tries again', { key, error });
      unfinished.add(key);
    }
  }
  result.objects = batches.length;

  // 1. Deferred alerts, the first of each window, several at a time: when a noisy rule's windows turn over,
  // every account-region sends one. What the deadline leaves is sent by the next run.
  const policy = ports.config.alertThrottle ?? DEFAULT_THROTTLE;
  const context = {
    topic: ports.config.alertTopicArn,
    throttle: policy,
    ...(ports.config.runbookUrl ? { runbookUrl: ports.config.runbookUrl } : {}),
  };
  const rules = new Map(ports.rules.map((r) => [r.id, r]));
  const chosen = new Map<string, { key: string; alert: DeferredAlert; end: number }>();
  for (const { key, batch } of batches) {
    for (const a of batch.alerts) {
      if (!rules.has(a.window.ruleId)) {
        logger.warn('deferred alert of a rule no longer loaded; not sent', { rule: a.window.ruleId, key });
        continue;
      }
      const window = { ...a.window, at: new Date(a.window.at) };
      const claim = claimKey(window);
      if (state.spent[claim] !== undefined || chosen.has(claim)) {
        result.throttled++;
        metrics.addMetric(METRIC.RuleAlertsThrottled, 'Count', 1);
        continue;
      }
      chosen.set(claim, { key, alert: a, end: windowEnd(window) });
    }
  }
  const sends = [...chosen];
  const deadline = ports.deadline?.() ?? Number.POSITIVE_INFINITY;
  const published = await mapPool(
    sends,
    PUBLISH_CONCURRENCY,
    async ([claim, c]) => {
      const { window, matches, source } = c.alert;
      await notifier.publish(
        buildRuleNotification(
          { ...matches, rule: rules.get(window.ruleId)! },
          { ...context, source, account: window.account, region: window.region, at: new Date(window.at) },
        ),
      );
      state.spent[claim] = c.end;
      result.sent++;
      metrics.addMetric(METRIC.RuleAlerts, 'Count', 1);
    },
    () => Date.now() < deadline,
  );
  for (const [i, [, c]] of sends.entries()) {
    if (i >= published.started) unfinished.add(c.key);
    const err = published.errors.get(i);
    if (err === undefined) continue;
    failure ??= err;
    unfinished.add(c.key);
  }

  // 2. Count-rule bursts across batches.
  const fresh = batches.flatMap(({ key, batch }) => batch.counts.map((c) => ({ ...c, batch: key })));
  for (const x of sweepCounts(state.counts, fresh, rules, Math.floor(nowMs / 1000))) {
    result.crossings++;
    metrics.addMetric(x.rule.metricName, 'Count', x.matches.count);
    // Named after the newest file of the burst, as at ingest: its delivery time is the alert's incident.
    const files = x.sources.map((src) => {
      const key = src.slice(src.indexOf('/') + 1);
      const k = classifyKey(key);
      return { src, time: k.kind === 'log' ? k.time.getTime() : nowMs };
    });
    const { src: newest, time } = files.reduce((a, b) => (b.time > a.time ? b : a), { src: '', time: 0 });
    const slash = newest.indexOf('/');
    const at = new Date(time);
    const window = {
      ruleId: x.rule.id,
      account: x.account,
      region: x.region,
      minutes: throttleMinutes(x.rule, policy),
      at,
      sourceKey: newest,
    };
    const claim = window.minutes > 0 ? claimKey(window) : undefined;
    if (claim !== undefined && state.spent[claim] !== undefined) {
      result.throttled++;
      metrics.addMetric(METRIC.RuleAlertsThrottled, 'Count', 1);
      continue;
    }
    try {
      await notifier.publish(
        buildRuleNotification(x.matches, {
          ...context,
          source: { bucket: newest.slice(0, slash), key: newest.slice(slash + 1) },
          account: x.account,
          region: x.region,
          at,
        }),
      );
      if (claim !== undefined) state.spent[claim] = windowEnd(window);
      result.sent++;
      metrics.addMetric(METRIC.RuleAlerts, 'Count', 1);
    } catch (err) {
      failure ??= err;
      // Its new batches are read again next run: their events are new again, and the burst is found again.
      for (const b of x.batches) unfinished.add(b);
    }
  }

  // 3. What was read, what is spent; the hours that can get no new object are no longer listed.
  for (const { key } of batches) if (!unfinished.has(key)) already.add(key);
  for (const key of unfinished) already.delete(key);
  const fromHour = Math.max(state.fromHour, Math.floor((nowMs - LATE_WRITE_MS) / HOUR_MS));
  let firstUnfinished = Number.POSITIVE_INFINITY;
  for (const key of unfinished) firstUnfinished = Math.min(firstUnfinished, hourOf(key));
  state.fromHour = Math.min(fromHour, firstUnfinished);
  state.read = [...already].filter((k) => hourOf(k) >= state.fromHour).sort();
  // A spent window is remembered an hour past its end: a late batch may still defer an alert of it.
  for (const [k, end] of Object.entries(state.spent)) if (end + HOUR_MS <= nowMs) delete state.spent[k];
  const body = JSON.stringify(state);
  if (etag !== undefined && !reset && body === loaded && failure === undefined) return result;
  try {
    await store.put(SWEEP_KEY, gzipSync(body), {
      ...(etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag }),
      contentType: 'application/json',
      contentEncoding: 'gzip',
    });
  } catch (err) {
    // Another run wrote it meanwhile (an overlapping schedule): it read the same objects; ours may repeat.
    if (!(err instanceof PreconditionFailedError)) throw err;
    logger.warn('sweep state changed by another run; this run saved nothing', { key: SWEEP_KEY });
  }
  if (failure)
    throw new Error(`sweep: a message could not be published; the next run tries again`, { cause: failure });
  return result;
}

/** The hour of a parked object, from its key (`insights/parked/yyyy/mm/dd/hh/<id>.json.gz`). */
function hourOf(key: string): number {
  const m = /(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/[^/]+$/.exec(key);
  return m ? Math.floor(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4]) / HOUR_MS) : Number.POSITIVE_INFINITY;
}

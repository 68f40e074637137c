/**
 * Parked objects: what batched ingest leaves for the scheduled detect, one gzipped object per batch under
 * `insights/parked/<yyyy>/<mm>/<dd>/<hh>/`, the hour of ingest:
 *   - the summaries of log files it did not apply to their state (their counts could not start an insight,
 *     see park-ticket.ts): the fold lists the hours since its last fold and applies them
 *     (shared/pipeline/detect-shards.ts); applying dedupes by source, so an object read twice, or a file
 *     parked twice, counts once;
 *   - every file's count-rule events, and the throttled rule alerts the batch deferred: the sweep reads each
 *     new object once, every five minutes (shared/pipeline/sweep-parked.ts).
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InsightsError } from '#shared/insights/insight-types.ts';
import type { DeferredAlert } from '#shared/notify/throttle.ts';
import { mapPool } from '#shared/pipeline/shards.ts';
import { type ObjectStore, readAll } from '#shared/ports.ts';
import type { ParkedCount } from '#shared/rules/parked-counts.ts';
import type { LogFileSummary } from '#shared/summary.ts';

export const PARKED_PREFIX = 'insights/parked/';
/** Summaries only: objects written before counts and alerts were parked too (still read). */
const SUMMARIES_ONLY_SCHEMA = 'trailwatch.parked-summaries/1';
const PARKED_SCHEMA = 'trailwatch.parked/2';

export interface ParkedBatch {
  summaries: LogFileSummary[];
  counts: ParkedCount[];
  alerts: DeferredAlert[];
}
const HOUR_MS = 3_600_000;
const READ_CONCURRENCY = 16;

const pad = (n: number) => String(n).padStart(2, '0');

/** The folder of one hour (hours since the epoch). */
export function parkedHourPrefix(hour: number): string {
  const d = new Date(hour * HOUR_MS);
  return `${PARKED_PREFIX}${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/`;
}

/**
 * Keyed by what it holds: a retried batch that parks the same rewrites the same object, and one that parks
 * something else (a retry after a partial failure, whose alerts this container already deferred) does not
 * overwrite what the first try left for the sweep.
 */
export function parkedKey(body: Uint8Array, now: Date): string {
  const id = createHash('sha256').update(body).digest('hex').slice(0, 32);
  return `${parkedHourPrefix(Math.floor(now.getTime() / HOUR_MS))}${id}.json.gz`;
}

/** The object's body: summaries without their lookup index (the batch's summaries object has it). */
export function encodeParked(batch: ParkedBatch): Buffer {
  const summaries = batch.summaries.map(({ index: _index, ...s }) => s);
  return gzipSync(JSON.stringify({ schema: PARKED_SCHEMA, ...batch, summaries }));
}

export function decodeParked(body: Buffer, key: string): ParkedBatch {
  let parsed: { schema?: unknown; summaries?: unknown; counts?: unknown; alerts?: unknown };
  try {
    parsed = JSON.parse(gunzipSync(body).toString('utf8'));
  } catch (err) {
    throw new InsightsError(`expected a gzipped JSON parked object at ${key}, found unreadable bytes`, {
      cause: err,
    });
  }
  if (parsed?.schema === SUMMARIES_ONLY_SCHEMA && Array.isArray(parsed.summaries)) {
    return { summaries: parsed.summaries as LogFileSummary[], counts: [], alerts: [] };
  }
  if (
    parsed?.schema !== PARKED_SCHEMA ||
    !Array.isArray(parsed.summaries) ||
    !Array.isArray(parsed.counts) ||
    !Array.isArray(parsed.alerts)
  ) {
    throw new InsightsError(
      `expected schema ${PARKED_SCHEMA} with summaries, counts and alerts arrays at ${key}, found ${String(parsed?.schema)}`,
    );
  }
  return parsed as ParkedBatch;
}

/** The parked objects of hours `fromHour` to `toHour` (both included), in key order. */
export async function listParked(store: ObjectStore, fromHour: number, toHour: number): Promise<string[]> {
  const keys: string[] = [];
  for (let h = fromHour; h <= toHour; h++)
    for await (const info of store.list(parkedHourPrefix(h))) keys.push(info.key);
  return keys;
}

/**
 * The parked summaries of hours `fromHour` to `toHour` (both included) that `keep` accepts, by account-region
 * (`account/region`). An unreadable object is reported through `onError` and skipped.
 */
export async function readParked(
  store: ObjectStore,
  fromHour: number,
  toHour: number,
  keep: (place: string) => boolean,
  onError: (key: string, error: unknown) => void,
): Promise<{ byPlace: Map<string, LogFileSummary[]>; objects: number }> {
  const byPlace = new Map<string, LogFileSummary[]>();
  const keys = await listParked(store, fromHour, toHour);
  // A few at a time; kept in key order, so the summaries of a place come in the same order on every run.
  const read = await mapPool(keys, READ_CONCURRENCY, async (key) =>
    decodeParked(await readAll(store, key), key),
  );
  for (const [i, key] of keys.entries()) {
    if (read.errors.has(i)) {
      onError(key, read.errors.get(i));
      continue;
    }
    for (const s of read.results[i]?.summaries ?? []) {
      const place = `${s.account}/${s.region}`;
      if (!keep(place)) continue;
      const list = byPlace.get(place) ?? [];
      list.push(s);
      byPlace.set(place, list);
    }
  }
  return { byPlace, objects: keys.length };
}

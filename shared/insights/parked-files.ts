/**
 * Parked summaries: the summaries of log files that batched ingest did not apply to their state (their
 * counts could not start an insight, see park-ticket.ts), one gzipped object per batch under
 * `insights/parked/<yyyy>/<mm>/<dd>/<hh>/`, the hour of ingest. The scheduled detect lists the hours since
 * its last fold and applies them (shared/pipeline/detect-shards.ts); applying dedupes by source, so an
 * object read twice, or a file parked twice, counts once.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { InsightsError } from '#shared/insights/insight-types.ts';
import { mapPool } from '#shared/pipeline/shards.ts';
import { type ObjectStore, readAll } from '#shared/ports.ts';
import type { LogFileSummary } from '#shared/summary.ts';

export const PARKED_PREFIX = 'insights/parked/';
const PARKED_SCHEMA = 'trailwatch.parked-summaries/1';
const HOUR_MS = 3_600_000;
const READ_CONCURRENCY = 16;

const pad = (n: number) => String(n).padStart(2, '0');

/** The folder of one hour (hours since the epoch). */
export function parkedHourPrefix(hour: number): string {
  const d = new Date(hour * HOUR_MS);
  return `${PARKED_PREFIX}${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/${pad(d.getUTCHours())}/`;
}

/** Keyed by the files it holds: a retried batch rewrites the same object (within the hour). */
export function parkedKey(summaries: LogFileSummary[], now: Date): string {
  const keys = summaries.map((s) => `${s.source.bucket}/${s.source.key}`).sort();
  const id = createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 32);
  return `${parkedHourPrefix(Math.floor(now.getTime() / HOUR_MS))}${id}.json.gz`;
}

/** The object's body: the summaries without their lookup index (the batch's summaries object has it). */
export function encodeParked(summaries: LogFileSummary[]): Buffer {
  const lean = summaries.map(({ index: _index, ...s }) => s);
  return gzipSync(JSON.stringify({ schema: PARKED_SCHEMA, summaries: lean }));
}

export function decodeParked(body: Buffer, key: string): LogFileSummary[] {
  let parsed: { schema?: unknown; summaries?: unknown };
  try {
    parsed = JSON.parse(gunzipSync(body).toString('utf8'));
  } catch (err) {
    throw new InsightsError(`expected gzipped JSON parked summaries at ${key}, found unreadable bytes`, {
      cause: err,
    });
  }
  if (parsed?.schema !== PARKED_SCHEMA || !Array.isArray(parsed.summaries)) {
    throw new InsightsError(
      `expected schema ${PARKED_SCHEMA} with a summaries array at ${key}, found ${String(parsed?.schema)}`,
    );
  }
  return parsed.summaries as LogFileSummary[];
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
  const keys: string[] = [];
  for (let h = fromHour; h <= toHour; h++)
    for await (const info of store.list(parkedHourPrefix(h))) keys.push(info.key);
  // A few at a time; kept in key order, so the summaries of a place come in the same order on every run.
  const read = await mapPool(keys, READ_CONCURRENCY, async (key) =>
    decodeParked(await readAll(store, key), key),
  );
  for (const [i, key] of keys.entries()) {
    if (read.errors.has(i)) {
      onError(key, read.errors.get(i));
      continue;
    }
    for (const s of read.results[i] ?? []) {
      const place = `${s.account}/${s.region}`;
      if (!keep(place)) continue;
      const list = byPlace.get(place) ?? [];
      list.push(s);
      byPlace.set(place, list);
    }
  }
  return { byPlace, objects: keys.length };
}

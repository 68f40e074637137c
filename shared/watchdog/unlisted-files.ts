/**
 * Log files no digest vouches for. CloudTrail lists every log file it delivers in the next hourly digest of
 * its account and region, and verify marks each one it finds listed with a matching hash. A log file ingest
 * summarized that has no such mark two digest periods after its delivery was not written by CloudTrail (or
 * its digest is gone): it is reported once, naming it. Its counts never reached the baselines (see
 * SeriesState.u in shared/insights/state.ts).
 *
 * The trail bucket's own listing says which log files there are, so a file is found whichever way ingest
 * read it (one file per event, or in a queued batch whose summaries share one object), and even one ingest
 * never read. Only the last few days are looked at: the log files and reported marks of one day folder are
 * listed, never read, and its verified files are one object (shared/digest/verified-files.ts).
 */
import type { UnlistedFile } from '#shared/digest/bucket-tamper.ts';
import { verifiedIn } from '#shared/digest/verified-files.ts';
import { classifyKey, dayFolder } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';
import type { Place } from './delivery-gaps.ts';

/** Two digest periods: the digest listing a file arrives within the hour after it. */
export const UNLISTED_AFTER_MS = 2 * 3_600_000;
const DAY_MS = 86_400_000;
/** How many day folders back unlisted files are looked for. */
const LOOKBACK_DAYS = 2;

export function unlistedReportKeyFor(bucket: string, key: string): string {
  return `unlisted/${bucket}/${key.replace(/\.json(\.gz)?$/, '')}.json`;
}

async function keysUnder(store: ObjectStore, prefix: string): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const o of store.list(prefix)) out.add(o.key);
  return out;
}

/** Log files of these places delivered more than two digest periods ago, unverified and not yet reported. */
export async function findUnlisted(
  state: ObjectStore,
  trail: ObjectStore,
  bucket: string,
  places: Place[],
  now: Date,
): Promise<UnlistedFile[]> {
  const out: UnlistedFile[] = [];
  for (const place of places) {
    for (let d = 0; d <= LOOKBACK_DAYS; d++) {
      const folder = dayFolder({ ...place, folder: 'CloudTrail', day: new Date(now.getTime() - d * DAY_MS) });
      const logs: string[] = [];
      for await (const o of trail.list(folder)) {
        const k = classifyKey(o.key);
        // Empty objects are tampering of their own (ingest alerts them), not log files.
        if (k.kind !== 'log' || o.size === 0) continue;
        if (now.getTime() - k.time.getTime() >= UNLISTED_AFTER_MS) logs.push(o.key);
      }
      if (logs.length === 0) continue;
      const verified = await verifiedIn(state, bucket, folder);
      const reported = await keysUnder(state, `unlisted/${bucket}/${folder}`);
      for (const key of logs) {
        const k = classifyKey(key);
        if (k.kind !== 'log') continue;
        if (verified.has(key.slice(folder.length)) || reported.has(unlistedReportKeyFor(bucket, key)))
          continue;
        out.push({ bucket, key, deliveredAt: k.time.toISOString() });
      }
    }
  }
  return out;
}

/** Remembers that these were reported (after the alert went out). */
export async function markUnlistedReported(
  state: ObjectStore,
  files: UnlistedFile[],
  now: Date,
): Promise<void> {
  for (const f of files) {
    await state.put(
      unlistedReportKeyFor(f.bucket, f.key),
      JSON.stringify({ reportedAt: now.toISOString() }),
      {
        contentType: 'application/json',
      },
    );
  }
}

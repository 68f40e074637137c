/**
 * Digests are hourly: an hour with no digest where one is due was deleted (or logging was off). This is the
 * one place that turns such hours into verdicts, for verify (hours deleted before the digest a new one
 * points back to) and for `trailwatch validate` (hours between digests found, and the overdue hours after
 * the newest one, which it reports as one gap rather than hour by hour).
 *
 * Only a digest that sits where it says it was written counts as a survivor: a copy planted under a
 * plausible name must not hide the deletions before it. Reading a candidate goes through the same
 * size-bounded gunzip as verification, so a bomb named like a digest costs no more than a digest.
 */
import { classifyKey, dayFolder, digestFileKey, type KeyParts, type TrailKey } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { type FileVerdict, invalid, REASONS } from './verdict.ts';
import { fetchDigest, parseJson } from './verify-digest.ts';

export const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** How far back verify looks for the newest surviving digest. */
const LOOKBACK_DAYS = 7;

/** Where a trail's digests for one account and region live, and the names their keys carry. */
export interface DigestPlace extends KeyParts {
  trailName: string;
  homeRegion: string;
}

/** The whole hours strictly between two digest times (ms), oldest first. */
export function hoursBetween(older: number, newer: number): number[] {
  const out: number[] = [];
  for (let t = newer - HOUR_MS; t - older > HOUR_MS / 2; t -= HOUR_MS) out.push(t);
  return out.reverse();
}

/**
 * The hours after the newest digest (`newest`, ms) whose digest is overdue at `end`: due on the hour after
 * it, and late once `delayMs` has passed. Oldest first.
 */
export function overdueAfter(newest: number, end: number, delayMs: number): number[] {
  const out: number[] = [];
  for (let t = newest + HOUR_MS; t + delayMs <= end; t += HOUR_MS) out.push(t);
  return out;
}

/** The verdict for a digest that was due at `time` and is not there. */
export function missingDigest(
  bucket: string,
  place: DigestPlace,
  time: number,
  detail?: string,
): FileVerdict {
  const key = digestFileKey({ ...place, endTime: new Date(time) });
  return { ...invalid('digest', bucket, key, 'not-found', REASONS.notFound, detail), inferred: true };
}

async function isInPlace(store: ObjectStore, bucket: string, key: string): Promise<boolean> {
  const fetched = await fetchDigest(store, bucket, key);
  if (!fetched.found || !fetched.gzip.ok) return false;
  const doc = parseJson(fetched.bytes);
  return doc.ok && (doc.value as { digestS3Object?: unknown } | null)?.digestS3Object === key;
}

/** The newest digest before `before` that is where it claims to be, looking back day folder by day folder. */
async function newestSurvivor(
  store: ObjectStore,
  bucket: string,
  place: KeyParts,
  before: Date,
): Promise<Date | undefined> {
  for (let d = 0; d <= LOOKBACK_DAYS; d++) {
    const day = new Date(before.getTime() - d * DAY_MS);
    const candidates: { key: string; time: Date }[] = [];
    for await (const o of store.list(dayFolder({ ...place, folder: 'CloudTrail-Digest', day }))) {
      const k = classifyKey(o.key);
      if (k.kind === 'digest' && k.time < before) candidates.push({ key: o.key, time: k.time });
    }
    candidates.sort((a, b) => b.time.getTime() - a.time.getTime());
    for (const c of candidates) if (await isInPlace(store, bucket, c.key)) return c.time;
  }
  return undefined;
}

/**
 * The digest a new one names as its predecessor is gone: every hour between the newest digest still in
 * place and that predecessor is missing too (a chain pointer alone only names the first).
 */
export async function missingBefore(
  store: ObjectStore,
  bucket: string,
  current: TrailKey,
  missingKey: string,
): Promise<FileVerdict[]> {
  const missing = classifyKey(missingKey);
  if (missing.kind !== 'digest') return [];
  const place: DigestPlace = {
    prefix: current.prefix,
    ...(current.orgId ? { orgId: current.orgId } : {}),
    account: current.account,
    region: current.region,
    trailName: missing.trailName ?? current.trailName ?? '',
    homeRegion: missing.homeRegion ?? current.homeRegion ?? current.region,
  };
  const survivor = await newestSurvivor(store, bucket, place, missing.time);
  const from = survivor ? survivor.getTime() : missing.time.getTime() - HOUR_MS;
  return hoursBetween(from, missing.time.getTime()).map((t) =>
    missingDigest(bucket, place, t, 'inferred from the hourly sequence'),
  );
}

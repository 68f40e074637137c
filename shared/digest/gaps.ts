/**
 * Digests are hourly, so when the digest a new one points back to is gone, the hours between it and the
 * newest digest still in the bucket are gone too: each is reported as an (inferred) missing digest.
 * Only a digest that sits where it says it was written counts as a survivor: a copy planted under a
 * plausible name must not hide the deletions before it.
 */
import { gunzipSync } from 'node:zlib';
import { classifyKey, dayFolder, digestFileKey, type TrailKey } from '#shared/keys.ts';
import { type ObjectStore, readAll } from '#shared/ports.ts';
import { type FileVerdict, invalid, REASONS } from './verdict.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** How far back to look for the newest surviving digest. */
const LOOKBACK_DAYS = 7;

async function isInPlace(store: ObjectStore, key: string): Promise<boolean> {
  try {
    const doc = JSON.parse(gunzipSync(await readAll(store, key)).toString('utf8')) as {
      digestS3Object?: unknown;
    };
    return doc.digestS3Object === key;
  } catch {
    return false;
  }
}

/** The newest digest before `before` that is where it claims to be, looking back day folder by day folder. */
async function newestSurvivor(
  store: ObjectStore,
  place: { prefix: string; orgId?: string; account: string; region: string },
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
    for (const c of candidates) if (await isInPlace(store, c.key)) return c.time;
  }
  return undefined;
}

export async function missingBefore(
  store: ObjectStore,
  bucket: string,
  current: TrailKey,
  missingKey: string,
): Promise<FileVerdict[]> {
  const missing = classifyKey(missingKey);
  if (missing.kind !== 'digest') return [];
  const place = {
    prefix: current.prefix,
    ...(current.orgId ? { orgId: current.orgId } : {}),
    account: current.account,
    region: current.region,
  };
  const survivor = await newestSurvivor(store, place, missing.time);
  const from = survivor ? survivor.getTime() : missing.time.getTime() - HOUR_MS;
  const out: FileVerdict[] = [];
  // Every whole hour strictly between the survivor and the missing digest named by the chain.
  for (let t = missing.time.getTime() - HOUR_MS; t - from > HOUR_MS / 2; t -= HOUR_MS) {
    const key = digestFileKey({
      ...place,
      trailName: missing.trailName ?? current.trailName ?? '',
      homeRegion: missing.homeRegion ?? current.homeRegion ?? current.region,
      endTime: new Date(t),
    });
    out.push({
      ...invalid('digest', bucket, key, 'not-found', REASONS.notFound, 'inferred from the hourly sequence'),
      inferred: true,
    });
  }
  return out.reverse();
}

/**
 * Digests are hourly, so when the digest a new one points back to is gone, the hours between it and the
 * newest digest still in the bucket are gone too: each is reported as an (inferred) missing digest.
 */
import { classifyKey, digestFileKey, type TrailKey } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { newestFile } from '#shared/watchdog/watchdog.ts';
import { type FileVerdict, invalid, REASONS } from './verdict.ts';

const HOUR_MS = 3_600_000;
/** How far back to look for the newest surviving digest. */
const LOOKBACK_DAYS = 7;

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
  const before = new Date(missing.time.getTime() - 1000);
  const survivor = await newestFile(store, place, 'CloudTrail-Digest', before, LOOKBACK_DAYS);
  const from = survivor ? survivor.time.getTime() : missing.time.getTime() - HOUR_MS;
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

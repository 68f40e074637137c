/**
 * Hourly digest files for one account and region: each lists the log files delivered in its window,
 * points at the previous digest (hash and signature), and is signed with the sample key, the signature
 * stored as object metadata the way CloudTrail stores it.
 */
import { gzipSync } from 'node:zlib';
import {
  type DigestFile,
  digestTime,
  SIGNATURE_ALGORITHM,
  SIGNATURE_ALGORITHM_METADATA,
  SIGNATURE_METADATA,
  sha256Hex,
  stringToSign,
} from '#shared/digest/digest-format.ts';
import { digestFileKey } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';
import type { LogFileInfo } from './delivery.ts';
import { GZIP_LEVEL } from './delivery.ts';
import type { Rng } from './random.ts';
import { sampleSigningKey, signHex } from './signing.ts';

const HOUR_MS = 3_600_000;

export interface DigestInfo {
  key: string;
  endMs: number;
  deliveredMs: number;
  signature: string;
}

export interface DigestTarget {
  store: ObjectStore;
  bucket: string;
  prefix?: string;
  orgId?: string;
  account: string;
  region: string;
  trailName: string;
  homeRegion: string;
}

/**
 * Writes the chain from `startMs` (when logging began: the first digest has no predecessor) until every
 * log file and the whole trail period are covered. Windows end at a fixed offset into the hour, drawn
 * once per chain, as real digests do. A logging stop (`pauses`) closes the chain with a digest ending at
 * the StopLogging call; no digest follows until logging restarts, and the next digest starts a new chain.
 */
export async function writeDigestChain(
  t: DigestTarget,
  rng: Rng,
  logs: LogFileInfo[],
  startMs: number,
  endMs: number,
  pauses: readonly { from: number; to: number }[] = [],
): Promise<DigestInfo[]> {
  const { privateKey, fingerprint } = sampleSigningKey();
  const offsetMs = rng.range(5 * 60, 55 * 60) * 1000;
  const sorted = [...logs].sort((a, b) => a.deliveredMs - b.deliveredMs || (a.key < b.key ? -1 : 1));
  const lastDelivery = sorted.length > 0 ? sorted[sorted.length - 1].deliveredMs : startMs;
  const out: DigestInfo[] = [];
  let previous: { key: string; sha256: string; signature: string } | undefined;
  let windowStart = startMs;
  let next = 0;
  for (let regularEnd = startMs + offsetMs; ; ) {
    const pause = pauses.find((p) => p.from >= windowStart && p.from < regularEnd);
    const windowEnd = pause ? pause.from : regularEnd;
    const files: LogFileInfo[] = [];
    while (next < sorted.length && sorted[next].deliveredMs < windowEnd) files.push(sorted[next++]);
    const key = digestFileKey({
      prefix: t.prefix,
      orgId: t.orgId,
      account: t.account,
      region: t.region,
      trailName: t.trailName,
      homeRegion: t.homeRegion,
      endTime: new Date(windowEnd),
    });
    let newest: string | null = null;
    let oldest: string | null = null;
    for (const f of files) {
      if (newest === null || f.newestEventTime > newest) newest = f.newestEventTime;
      if (oldest === null || f.oldestEventTime < oldest) oldest = f.oldestEventTime;
    }
    const endTime = digestTime(new Date(windowEnd));
    const digest: DigestFile = {
      awsAccountId: t.account,
      digestStartTime: digestTime(new Date(windowStart)),
      digestEndTime: endTime,
      digestS3Bucket: t.bucket,
      digestS3Object: key,
      digestPublicKeyFingerprint: fingerprint,
      digestSignatureAlgorithm: SIGNATURE_ALGORITHM,
      newestEventTime: newest,
      oldestEventTime: oldest,
      previousDigestS3Bucket: previous ? t.bucket : null,
      previousDigestS3Object: previous?.key ?? null,
      previousDigestHashValue: previous?.sha256 ?? null,
      previousDigestHashAlgorithm: previous ? 'SHA-256' : null,
      previousDigestSignature: previous?.signature ?? null,
      logFiles: files.map((f) => ({
        s3Bucket: t.bucket,
        s3Object: f.key,
        hashValue: f.sha256,
        hashAlgorithm: 'SHA-256',
        newestEventTime: f.newestEventTime,
        oldestEventTime: f.oldestEventTime,
      })),
    };
    const body = Buffer.from(JSON.stringify(digest));
    const sha256 = sha256Hex(body);
    const signature = signHex(
      privateKey,
      stringToSign({
        digestEndTime: endTime,
        digestS3Bucket: t.bucket,
        digestS3Object: key,
        digestSha256Hex: sha256,
        previousDigestSignature: previous?.signature ?? null,
      }),
    );
    await t.store.put(key, gzipSync(body, { level: GZIP_LEVEL }), {
      metadata: { [SIGNATURE_METADATA]: signature, [SIGNATURE_ALGORITHM_METADATA]: SIGNATURE_ALGORITHM },
    });
    // Digests arrive a few minutes after the hour they close.
    out.push({ key, endMs: windowEnd, deliveredMs: windowEnd + rng.range(60, 240) * 1000, signature });
    if (pause) {
      // Logging restarts with a new chain, its windows at the same offset into the hour.
      previous = undefined;
      windowStart = pause.to;
      while (regularEnd <= pause.to) regularEnd += HOUR_MS;
      continue;
    }
    previous = { key, sha256, signature };
    windowStart = windowEnd;
    if (windowEnd > lastDelivery && windowEnd >= endMs) break;
    regularEnd += HOUR_MS;
  }
  return out;
}

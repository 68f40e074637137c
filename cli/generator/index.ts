/**
 * The deterministic sample-trail generator: CloudTrail log files, hourly signed digests and the public
 * key to check them, written into any ObjectStore. The same scenario always gives the same bytes.
 *
 * Modules: random (seeded streams), identities and catalog (who calls what), records (record shape),
 * traffic (when), delivery (log files), digests and signing, large-file (one huge file, streamed).
 */
import { digestTime } from '#shared/digest/digest-format.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { LogDelivery, type LogFileInfo } from './delivery.ts';
import { writeDigestChain } from './digests.ts';
import { Rng } from './random.ts';
import { RecordFactory } from './record-builder.ts';
import { checkScenario, type TrailScenario } from './scenario.ts';
import { publicKeysDocument, sampleSigningKey } from './signing.ts';
import {
  BurstTraffic,
  consoleSessions,
  DeployBurst,
  type Emit,
  HOUR_MS,
  isPaused,
  lagMs,
  loggingStopEvents,
  MINUTE_MS,
  NormalTraffic,
  pausesOf,
  type ScheduledEvent,
  securityEvents,
} from './traffic.ts';

export { writeLargeLogFile } from './large-file.ts';
export {
  demoScenario,
  GeneratorError,
  type InjectedBurst,
  type LoggingStop,
  type TrailScenario,
} from './scenario.ts';
export { sampleSigningKey } from './signing.ts';

export interface Delivery {
  key: string;
  kind: 'log' | 'digest';
  /** ISO */
  deliveredAt: string;
  account: string;
  region: string;
  /** Log files. */
  records?: number;
}

export interface GeneratedTrail {
  scenario: TrailScenario;
  /** Every object written under AWSLogs/, sorted by deliveredAt then key. */
  deliveries: Delivery[];
  /** 'public-keys.json' at the store root: ListPublicKeys JSON shape. */
  publicKeysKey: string;
  signingKeyFingerprint: string;
}

export const PUBLIC_KEYS_KEY = 'public-keys.json';
export const MANIFEST_KEY = 'trailwatch-manifest.json';

/** Writes the trail into the store (a folder via FsObjectStore, a MemoryObjectStore, or S3), plus
 *  `public-keys.json` and `trailwatch-manifest.json` (the GeneratedTrail) at the store root. Deterministic:
 *  the same scenario gives byte-identical objects. */
export async function generateTrail(
  scenario: TrailScenario,
  store: ObjectStore,
  onProgress?: (done: number, total: number) => void,
): Promise<GeneratedTrail> {
  checkScenario(scenario);
  const { fingerprint } = sampleSigningKey();
  const startMs = Date.parse(scenario.start);
  const endMs = startMs + scenario.hours * HOUR_MS;
  const total = scenario.accounts.length * scenario.regions.length * scenario.hours;
  let done = 0;
  const deliveries: Delivery[] = [];
  let lastDigestEnd = endMs;
  const pauses = pausesOf(scenario);

  for (const account of scenario.accounts) {
    const planned = [
      ...consoleSessions(scenario, account),
      ...securityEvents(scenario, account),
      ...loggingStopEvents(scenario, account),
    ];
    for (const region of scenario.regions) {
      const factory = new RecordFactory(account, region, scenario.trailName);
      const normal = new NormalTraffic(scenario, factory);
      const deploy = scenario.recurringDeployBurst ? new DeployBurst(scenario, factory, normal) : undefined;
      const bursts = scenario.bursts
        .map((b, i) => ({ b, i }))
        .filter(
          ({ b }) =>
            (b.account ?? scenario.accounts[0]) === account && (b.region ?? scenario.regions[0]) === region,
        )
        .map(({ b, i }) => new BurstTraffic(scenario, factory, b, i));
      const scheduled: ScheduledEvent[] = planned
        .filter((e) => e.region === region)
        .sort((a, b) => a.ms - b.ms);
      const scheduledRng = new Rng(scenario.seed, 'scheduled', account, region);
      const target = { store, prefix: scenario.prefix, orgId: scenario.orgId, account, region };
      const delivery = new LogDelivery(
        target,
        new Rng(scenario.seed, 'delivery', account, region),
        startMs,
        endMs,
        pauses,
      );
      // While the trail is stopped nothing is recorded: the calls made then are lost for good.
      const emit: Emit = (record, eventMs, lag) => {
        if (!isPaused(pauses, eventMs)) delivery.add(record, eventMs, lag);
      };

      let s = 0;
      for (let m = startMs; m < endMs; m += MINUTE_MS) {
        // Every event from minute m on is delivered at least 5 minutes later: earlier files are complete.
        await delivery.flushBefore(m + 5 * MINUTE_MS);
        normal.minute(m, emit);
        deploy?.minute(m, emit);
        for (const b of bursts) b.minute(m, emit);
        while (s < scheduled.length && scheduled[s].ms < m + MINUTE_MS) {
          const e = scheduled[s++];
          emit(e.build(factory, scheduledRng), e.ms, lagMs(scheduledRng));
        }
        if ((m + MINUTE_MS - startMs) % HOUR_MS === 0) onProgress?.(++done, total);
      }
      const logs: LogFileInfo[] = await delivery.finish();
      for (const f of logs) {
        deliveries.push({
          key: f.key,
          kind: 'log',
          deliveredAt: digestTime(new Date(f.deliveredMs)),
          account,
          region,
          records: f.records,
        });
      }
      if (scenario.digests) {
        const chain = await writeDigestChain(
          {
            store,
            bucket: scenario.bucket,
            prefix: scenario.prefix,
            orgId: scenario.orgId,
            account,
            region,
            trailName: scenario.trailName,
            homeRegion: scenario.homeRegion,
          },
          new Rng(scenario.seed, 'digest', account, region),
          logs,
          startMs,
          endMs,
          pauses,
        );
        for (const d of chain) {
          deliveries.push({
            key: d.key,
            kind: 'digest',
            deliveredAt: digestTime(new Date(d.deliveredMs)),
            account,
            region,
          });
          lastDigestEnd = Math.max(lastDigestEnd, d.deliveredMs);
        }
      }
    }
  }

  deliveries.sort((a, b) =>
    a.deliveredAt < b.deliveredAt ? -1 : a.deliveredAt > b.deliveredAt ? 1 : a.key < b.key ? -1 : 1,
  );
  // The key is valid from a day before the trail until a month after it, like a key mid-rotation.
  const keys = publicKeysDocument(
    digestTime(new Date(startMs - 24 * HOUR_MS)),
    digestTime(new Date(lastDigestEnd + 30 * 24 * HOUR_MS)),
  );
  await store.put(PUBLIC_KEYS_KEY, `${JSON.stringify(keys, null, 2)}\n`, { contentType: 'application/json' });
  const trail: GeneratedTrail = {
    scenario,
    deliveries,
    publicKeysKey: PUBLIC_KEYS_KEY,
    signingKeyFingerprint: fingerprint,
  };
  await store.put(MANIFEST_KEY, `${JSON.stringify(trail, null, 2)}\n`, { contentType: 'application/json' });
  return trail;
}

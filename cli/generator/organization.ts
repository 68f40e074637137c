/**
 * A simulated organization trail: one bucket, `AWSLogs/o-xxxx/ACCOUNT/...`, many accounts with their own
 * rhythm (a few busy ones, many quiet ones, each account mostly in its home region with a little traffic
 * elsewhere), and one injected burst in one account. Each account-region is an ordinary generated trail
 * (generateTrail), so its records and files are shaped like CloudTrail's.
 */
import type { ObjectStore } from '#shared/ports.ts';
import { GeneratorError } from './errors.ts';
import { type Delivery, generateTrail, type InjectedBurst, type TrailScenario } from './index.ts';
import { hash32 } from './random.ts';

export interface OrganizationScenario {
  seed: number;
  /** ISO, hour-aligned. */
  start: string;
  hours: number;
  orgId: string;
  bucket: string;
  prefix?: string;
  trailName: string;
  accounts: number;
  /** The first region is every account's home region. */
  regions: string[];
  /** How many of the accounts are busy (the first ones). */
  busyAccounts: number;
  /** Peak management events per minute in a busy account's home region. */
  busyEventsPerMinute: number;
  /** Peak events per minute in a quiet account's home region. */
  quietEventsPerMinute: number;
  /** Share of the home region's rate in the other regions. */
  otherRegionShare: number;
  /** The burst, in one account (index into the accounts) and region; its API is unusual for that account. */
  burst: Omit<InjectedBurst, 'account' | 'region'> & { accountIndex: number; region: string };
}

export interface OrganizationAccount {
  account: string;
  kind: 'busy' | 'quiet';
  /** Peak events per minute in its home region. */
  eventsPerMinute: number;
}

export interface GeneratedOrganization {
  scenario: OrganizationScenario;
  accounts: OrganizationAccount[];
  /** Every log file written, sorted by delivery time then key. */
  deliveries: Delivery[];
}

/** Twelve-digit account ids, the same for the same seed. */
export function organizationAccountIds(count: number, seed: number): string[] {
  const ids = new Set<string>();
  for (let i = 0; ids.size < count; i++) {
    const n = (hash32(`${seed}/account/${i}`) % 900_000) + 100_000;
    ids.add(`${n}${String(100_000 + (hash32(`${seed}/tail/${i}`) % 900_000))}`);
  }
  return [...ids];
}

export async function generateOrganization(
  s: OrganizationScenario,
  store: ObjectStore,
  onProgress?: (done: number, total: number) => void,
): Promise<GeneratedOrganization> {
  if (!Number.isInteger(s.accounts) || s.accounts < 1) {
    throw new GeneratorError(`expected accounts to be a positive integer, found ${s.accounts}`);
  }
  if (s.busyAccounts < 0 || s.busyAccounts > s.accounts) {
    throw new GeneratorError(`expected busyAccounts in 0..${s.accounts}, found ${s.busyAccounts}`);
  }
  if (s.burst.accountIndex < 0 || s.burst.accountIndex >= s.accounts) {
    throw new GeneratorError(
      `expected burst.accountIndex in 0..${s.accounts - 1}, found ${s.burst.accountIndex}`,
    );
  }
  if (!s.regions.includes(s.burst.region)) {
    throw new GeneratorError(
      `expected burst.region to be one of ${s.regions.join(',')}, found ${s.burst.region}`,
    );
  }
  const ids = organizationAccountIds(s.accounts, s.seed);
  const accounts: OrganizationAccount[] = ids.map((account, i) => {
    const busy = i < s.busyAccounts;
    // Each account its own level: 0.5x to 1.5x of its class's rate.
    const spread = 0.5 + (hash32(`${s.seed}/rate/${account}`) % 1000) / 1000;
    const base = busy ? s.busyEventsPerMinute : s.quietEventsPerMinute;
    return {
      account,
      kind: busy ? 'busy' : 'quiet',
      eventsPerMinute: Math.max(1, Math.round(base * spread)),
    };
  });
  const deliveries: Delivery[] = [];
  const total = accounts.length * s.regions.length;
  let done = 0;
  for (const [i, a] of accounts.entries()) {
    for (const [r, region] of s.regions.entries()) {
      const rate =
        r === 0 ? a.eventsPerMinute : Math.max(1, Math.round(a.eventsPerMinute * s.otherRegionShare));
      const { accountIndex: _i, region: _r, ...burst } = s.burst;
      const scenario: TrailScenario = {
        seed: s.seed + hash32(`${a.account}/${region}`),
        start: s.start,
        hours: s.hours,
        accounts: [a.account],
        regions: [region],
        bucket: s.bucket,
        ...(s.prefix ? { prefix: s.prefix } : {}),
        orgId: s.orgId,
        trailName: s.trailName,
        homeRegion: s.regions[0],
        eventsPerMinute: rate,
        digests: false,
        // Busy accounts deploy every weekday: a rhythm the baseline learns.
        recurringDeployBurst: a.kind === 'busy',
        bursts: i === s.burst.accountIndex && region === s.burst.region ? [burst] : [],
        securityEvents: false,
      };
      const trail = await generateTrail(scenario, store);
      deliveries.push(...trail.deliveries.filter((d) => d.kind === 'log'));
      onProgress?.(++done, total);
    }
  }
  deliveries.sort((x, y) =>
    x.deliveredAt < y.deliveredAt ? -1 : x.deliveredAt > y.deliveredAt ? 1 : x.key < y.key ? -1 : 1,
  );
  return { scenario: s, accounts, deliveries };
}

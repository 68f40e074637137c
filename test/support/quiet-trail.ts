/**
 * A quiet trail of the demo's shape (one region, no bursts, no security events): what the watchdog and
 * tamper tests need, where any alert must come from what the test did to the bucket.
 */
import { beforeAll } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import {
  demoScenario,
  type GeneratedTrail,
  generateTrail,
  type TrailScenario,
} from '#cli/generator/index.ts';
import { classifyKey } from '#shared/keys.ts';

export function quietScenario(seed: number, hours: number, eventsPerMinute = 4): TrailScenario {
  return {
    ...demoScenario,
    seed,
    start: '2026-03-04T00:00:00Z',
    hours,
    regions: ['us-east-1'],
    eventsPerMinute,
    securityEvents: false,
    recurringDeployBurst: false,
    bursts: [],
  };
}

/**
 * The trail generated once for the test file (in `beforeAll`); `copy()` gives each test a bucket of its own
 * to tamper with.
 */
export function generatedOnce(scenario: TrailScenario) {
  let trail: GeneratedTrail | undefined;
  const pristine = new MemoryObjectStore('trail');
  beforeAll(async () => {
    trail = await generateTrail(scenario, pristine);
  });
  return {
    /** The untouched objects, to put one back. */
    pristine,
    trail(): GeneratedTrail {
      if (!trail) throw new Error('expected the trail generated in beforeAll, found none yet');
      return trail;
    },
    copy(): MemoryObjectStore {
      const s = new MemoryObjectStore('trail');
      for (const [k, v] of pristine.objects) s.objects.set(k, v);
      return s;
    },
  };
}

/** The demo's first account in two regions for a few hours, without digests or bursts: a small trail to look up. */
export async function smallLookupTrail(
  hours: number,
): Promise<{ trail: MemoryObjectStore; logKeys: string[] }> {
  const trail = new MemoryObjectStore('trail');
  await generateTrail(
    {
      ...demoScenario,
      hours,
      regions: ['us-east-1', 'eu-west-1'],
      accounts: [demoScenario.accounts[0]],
      digests: false,
      bursts: [],
    },
    trail,
  );
  const logKeys = [...trail.objects.keys()].filter((k) => classifyKey(k).kind === 'log').sort();
  return { trail, logKeys };
}

import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { demoScenario, generateTrail, type TrailScenario } from '#cli/generator/index.ts';
import { seedFromHistory } from '#cli/insights-seed.ts';
import { readState } from '#shared/insights/index.ts';
import { classifyKey, type TrailKey } from '#shared/keys.ts';

/** A quiet trail of some hours from 2026-03-02, in memory. */
async function history(overrides: Partial<TrailScenario>) {
  const scenario: TrailScenario = {
    ...demoScenario,
    start: '2026-03-02T00:00:00Z',
    bursts: [],
    ...overrides,
  };
  const trail = new MemoryObjectStore('trail');
  return { scenario, trail, generated: await generateTrail(scenario, trail) };
}

describe('insights seed', () => {
  it('builds the baseline of every account and region from history, once, without opening insights', async () => {
    // Prepare
    const { scenario, trail, generated } = await history({ seed: 21, hours: 30, eventsPerMinute: 4 });
    const now = new Date(Date.parse(scenario.start) + scenario.hours * 3_600_000);
    // files delivered after `now` are not history yet
    const logs = generated.deliveries.filter(
      (d) => d.kind === 'log' && Date.parse(d.deliveredAt) <= now.getTime(),
    );
    const state = new MemoryObjectStore('state');
    // Act
    const first = await seedFromHistory({
      source: trail,
      bucket: scenario.bucket,
      prefix: '',
      state,
      now,
      days: 7,
    });
    const again = await seedFromHistory({
      source: trail,
      bucket: scenario.bucket,
      prefix: '',
      state,
      now,
      days: 7,
    });
    // Assess
    expect(first.files).toBe(logs.length);
    expect(first.summaries).toBe(logs.length);
    expect(first.applied).toBe(logs.length);
    expect(first.places.map((p) => p.region).sort()).toEqual([...scenario.regions].sort());
    expect(again.applied).toBe(0);
    for (const region of scenario.regions) {
      const s = await readState(state, scenario.accounts[0], region);
      expect(s).toBeDefined();
      expect(Object.keys(s!.open)).toEqual([]);
    }
    expect([...state.objects.keys()].filter((k) => k.startsWith('summaries/'))).toHaveLength(logs.length);
  });

  it('only reads the requested days', async () => {
    const { scenario, trail, generated } = await history({
      seed: 22,
      hours: 48,
      regions: ['us-east-1'],
      eventsPerMinute: 2,
    });
    const now = new Date(Date.parse(scenario.start) + scenario.hours * 3_600_000);
    const r = await seedFromHistory({
      source: trail,
      bucket: scenario.bucket,
      prefix: '',
      state: new MemoryObjectStore(),
      now,
      days: 1,
    });
    // the file name's minute is the delivery time the selection goes by
    const keyTime = (key: string) => (classifyKey(key) as TrailKey).time.getTime();
    const lastDay = generated.deliveries.filter(
      (d) =>
        d.kind === 'log' && keyTime(d.key) >= now.getTime() - 86_400_000 && keyTime(d.key) <= now.getTime(),
    );
    expect(r.files).toBe(lastDay.length);
  });
});

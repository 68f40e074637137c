import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { generateTrail } from '#cli/generator/index.ts';
import { missingBefore } from '#shared/digest/gaps.ts';
import { classifyKey, digestFileKey, type TrailKey } from '#shared/keys.ts';
import { quietScenario } from '#test/support/quiet-trail.ts';

const scenario = quietScenario(5, 12, 1);

describe('missing digests before a broken chain link', () => {
  it('reports every deleted hour back to the newest digest still in place, and is not fooled by a planted copy', async () => {
    // Prepare: delete digests 5 and 6, plant a copy of digest 4 one second after digest 5's name
    const store = new MemoryObjectStore();
    const trail = await generateTrail(scenario, store);
    const digests = trail.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key);
    const [d4, d5, d6, d7] = [digests[4], digests[5], digests[6], digests[7]];
    const k5 = classifyKey(d5) as TrailKey;
    const planted = digestFileKey({
      account: k5.account,
      region: k5.region,
      trailName: k5.trailName!,
      homeRegion: k5.homeRegion!,
      endTime: new Date(k5.time.getTime() + 1000),
    });
    await store.put(planted, store.objects.get(d4)!.body);
    await store.delete(d5);
    await store.delete(d6);
    // Act
    const gaps = await missingBefore(store, scenario.bucket, classifyKey(d7) as TrailKey, d6);
    // Assess
    expect(gaps.map((g) => [g.key, g.code, g.inferred])).toEqual([[d5, 'not-found', true]]);
  });

  it('reports nothing more when the digest before the missing one is there', async () => {
    const store = new MemoryObjectStore();
    const trail = await generateTrail(scenario, store);
    const digests = trail.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key);
    await store.delete(digests[6]);
    expect(
      await missingBefore(store, scenario.bucket, classifyKey(digests[7]) as TrailKey, digests[6]),
    ).toEqual([]);
  });
});

import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import { logFileKey } from '#shared/keys.ts';
import { watchShard } from '#shared/pipeline/watch-shards.ts';
import { noMetrics } from '#shared/ports.ts';
import { DEFAULT_WATCHDOG } from '#shared/watchdog/delivery-gaps.ts';

const ORG = 'o-a1b2c3d4e5';
const NOW = new Date('2026-11-20T12:00:00Z');
const spec = { index: 0, count: 1 };

function ports(
  trail: MemoryObjectStore,
  state: MemoryObjectStore,
  notifier: OutboxNotifier,
  deadline = Infinity,
) {
  return {
    config: {
      alertTopicArn: 'arn:aws:sns:us-east-1:111122223333:alerts',
      trailPrefixes: [''],
      options: DEFAULT_WATCHDOG,
    },
    trail,
    state,
    notifier,
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: noMetrics,
    now: () => NOW,
    shards: { shardCount: 1, concurrency: 4 },
    deadline: () => deadline,
    clock: () => 0,
  };
}

async function deliver(trail: MemoryObjectStore, account: string, minutesAgo: number, unique: string) {
  const time = new Date(NOW.getTime() - minutesAgo * 60_000);
  await trail.put(logFileKey({ orgId: ORG, account, region: 'eu-west-1', time, unique }), 'x');
}

describe('watchdog shard', () => {
  it('reports a silent account-region once, keeps it open through a run that did not look, and reports its recovery', async () => {
    // Prepare: one account silent for 3 hours, one delivering
    const trail = new MemoryObjectStore('trail');
    const state = new MemoryObjectStore('state');
    const notifier = new OutboxNotifier();
    await deliver(trail, '111122223333', 180, 'Silentaaaaaaaaaa');
    await deliver(trail, '444455556666', 5, 'Freshbbbbbbbbbbb');
    // Act
    const first = await watchShard(ports(trail, state, notifier), spec);
    const again = await watchShard(ports(trail, state, notifier), spec);
    const blind = await watchShard(ports(trail, state, notifier, 0), spec);
    await deliver(trail, '111122223333', 2, 'Backccccccccccc1');
    const recovered = await watchShard(ports(trail, state, notifier), spec);
    // Assess
    expect(first.opened.map((f) => `${f.kind} ${f.place.account}`)).toEqual(['logs-silent 111122223333']);
    expect(first.placesWatched).toBe(2);
    expect(again.opened).toEqual([]);
    expect(blind.done).toBe(0);
    expect(blind.closed).toEqual([]);
    expect(recovered.closed.map((c) => `${c.kind} ${c.place.account}`)).toEqual(['logs-silent 111122223333']);
    expect(notifier.sent).toHaveLength(2);
    expect([...state.objects.keys()].filter((k) => k.startsWith('outbox/'))).toEqual([]);
  });
});

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
    expect(notifier.sent.filter((n) => n.attributes.kind === 'watchdog')).toHaveLength(2);
    // No digest lists the silent account's file (this trail has none): reported once, as on a single run.
    const unlisted = notifier.sent.filter((n) => n.attributes.check === 'unlisted-log-file');
    expect(unlisted).toHaveLength(1);
    expect(unlisted[0].message).toContain('Silentaaaaaaaaaa');
    expect([...state.objects.keys()].filter((k) => k.startsWith('outbox/'))).toEqual([]);
  });
});

describe('watchdog shard against decoys and a failed publish', () => {
  it('counts no empty decoy as a delivery, reports it as planted, and records nothing it could not publish', async () => {
    // Prepare: an account silent for 3 hours, then an empty object named like a fresh log file
    const trail = new MemoryObjectStore('trail');
    const state = new MemoryObjectStore('state');
    await deliver(trail, '111122223333', 180, 'Silentaaaaaaaaaa');
    const decoy = logFileKey({
      orgId: ORG,
      account: '111122223333',
      region: 'eu-west-1',
      time: new Date(NOW.getTime() - 60_000),
      unique: 'Decoyddddddddddd',
    });
    await trail.put(decoy, new Uint8Array());
    const failing = new OutboxNotifier();
    let failures = 1;
    const publish = failing.publish.bind(failing);
    failing.publish = async (n) => {
      if (failures-- > 0) throw new Error('SNS unavailable');
      await publish(n);
    };
    // Act: the first run's first publish fails; the next run is the retry
    const first = await watchShard(ports(trail, state, failing), spec);
    const second = await watchShard(ports(trail, state, failing), spec);
    const third = await watchShard(ports(trail, state, failing), spec);
    // Assess
    // The failed publish (the place's unlisted file) failed its check: nothing of it was recorded as sent.
    expect(first.opened).toEqual([]);
    expect(first.unlisted).toEqual([]);
    expect(failing.sent.filter((n) => n.attributes.check === 'unlisted-log-file')).toHaveLength(1);
    expect(second.opened.map((f) => `${f.kind} ${f.place.account}`)).toEqual(['logs-silent 111122223333']);
    expect(second.planted.map((p) => p.key)).toEqual([decoy]);
    expect(third.opened).toEqual([]);
    expect(third.planted).toEqual([]);
    const kinds = failing.sent.map((n) => n.attributes.check ?? n.attributes.kind);
    expect(kinds.filter((k) => k === 'planted-object')).toHaveLength(1);
    expect(failing.sent.filter((n) => n.attributes.kind === 'watchdog')).toHaveLength(1);
    const planted = failing.sent.find((n) => n.attributes.check === 'planted-object')!;
    expect(planted.attributes.severity).toBe('HIGH');
    expect(planted.message).toContain(decoy);
  });
});

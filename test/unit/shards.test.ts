import { Logger } from '@aws-lambda-powertools/logger';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import { emptyState, stateKey } from '#shared/insights/state.ts';
import { logFileKey } from '#shared/keys.ts';
import { detectShard } from '#shared/pipeline/detect-shards.ts';
import { planShards, readShardStatus, runShard, shareOf } from '#shared/pipeline/shards.ts';
import { shardChecks } from '#shared/pipeline/watch-shards.ts';
import { noMetrics } from '#shared/ports.ts';
import { DEFAULT_WATCHDOG } from '#shared/watchdog/delivery-gaps.ts';

const placeIds = (accounts: number, regions: string[]) =>
  Array.from({ length: accounts }, (_, a) => String(100000000000 + a)).flatMap((a) =>
    regions.map((r) => `${a}/${r}`),
  );

describe('shard plan', () => {
  it('puts every account-region in exactly one shard, for any shard count', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 300 }), (count, accounts) => {
        const ids = placeIds(accounts, ['us-east-1', 'eu-west-1', 'ap-south-1']);
        const shards = planShards(ids, count);
        expect(shards).toHaveLength(count);
        const all = shards.flat();
        expect(all.sort()).toEqual([...ids].sort());
        for (let i = 0; i < count; i++) expect(shareOf(ids, { index: i, count })).toEqual(shards[i]);
      }),
      { numRuns: 50 },
    );
  });

  it('spreads 1,000 accounts x 17 regions over 16 shards within 10% of even', () => {
    const ids = placeIds(
      1000,
      Array.from({ length: 17 }, (_, i) => `eu-west-${i + 1}`),
    );
    const sizes = planShards(ids, 16).map((s) => s.length);
    for (const n of sizes) expect(Math.abs(n - 17000 / 16)).toBeLessThan(0.1 * (17000 / 16));
  });
});

describe('a shard bounded in time', () => {
  it('stops starting work at its deadline and carries on from there next run, wrapping around', async () => {
    // Prepare: a clock that moves one tick per place started
    const ids = placeIds(10, ['us-east-1']);
    let tick = 0;
    const seen: string[] = [];
    const work = async (id: string) => {
      tick++;
      seen.push(id);
      return id;
    };
    // Act
    const first = await runShard({ ids, concurrency: 1, deadline: 4, clock: () => tick, work });
    const second = await runShard({
      ids,
      cursor: first.cursor,
      concurrency: 1,
      deadline: 100,
      clock: () => tick,
      work,
    });
    // Assess
    expect(first.done).toBe(4);
    expect(first.stoppedEarly).toBe(true);
    expect(first.cursor).toBe(ids[4]);
    expect(second.stoppedEarly).toBe(false);
    expect(second.cursor).toBeUndefined();
    expect(seen.slice(0, 4)).toEqual(ids.slice(0, 4));
    expect(seen.slice(4)).toEqual([...ids.slice(4), ...ids.slice(0, 4)]);
  });

  it('keeps going past a failing place and reports it', async () => {
    const ids = placeIds(5, ['us-east-1']);
    const run = await runShard({
      ids,
      concurrency: 2,
      deadline: Number.POSITIVE_INFINITY,
      clock: () => 0,
      work: async (id) => {
        if (id === ids[2]) throw new Error('S3 503 SlowDown');
        return id;
      },
    });
    expect(run.results.sort()).toEqual([ids[0], ids[1], ids[3], ids[4]]);
    expect(run.failures.map((f) => f.id)).toEqual([ids[2]]);
  });

  it('detect: a shard saves where it stopped and the next run reaches the rest', async () => {
    // Prepare: six account-regions with state, all in one shard
    const state = new MemoryObjectStore('state');
    const ids = placeIds(6, ['eu-west-1']);
    for (const id of ids) {
      const [account, region] = id.split('/');
      await state.put(stateKey(account, region), JSON.stringify(emptyState(account, region)));
    }
    let tick = 0;
    const ports = (deadline: number) => ({
      config: { alertTopicArn: 'arn:aws:sns:us-east-1:111122223333:alerts' },
      state,
      notifier: new OutboxNotifier(),
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: noMetrics,
      now: () => new Date('2026-11-20T12:00:00Z'),
      shards: { shardCount: 1, concurrency: 1 },
      deadline: () => deadline,
      clock: () => tick++,
    });
    // Act
    const first = await detectShard(ports(4), { index: 0, count: 1 });
    const saved = await readShardStatus(state, 'detect', { index: 0, count: 1 });
    tick = 0;
    const second = await detectShard(ports(100), { index: 0, count: 1 });
    // Assess
    expect(first.done).toBe(4);
    expect(first.stoppedEarly).toBe(true);
    expect(saved?.cursor).toBe(ids[4]);
    expect(second.done).toBe(6);
    expect(second.stoppedEarly).toBe(false);
    expect((await readShardStatus(state, 'detect', { index: 0, count: 1 }))?.cursor).toBeUndefined();
  });

  it('watchdog: the shards check every account-region of an organization trail exactly once', async () => {
    // Prepare: 40 accounts, 3 regions, logs and digests
    const trail = new MemoryObjectStore('trail');
    const regions = ['us-east-1', 'eu-west-1', 'ap-south-1'];
    const expected: string[] = [];
    for (const id of placeIds(40, regions)) {
      const [account, region] = id.split('/');
      const key = logFileKey({
        prefix: 'org/',
        orgId: 'o-a1b2c3d4e5',
        account,
        region,
        time: new Date('2026-11-20T11:55:00Z'),
        unique: 'Abcdefghijklmnop',
      });
      await trail.put(key, 'x');
      await trail.put(key.replace('/CloudTrail/', '/CloudTrail-Digest/'), 'x');
      for (const kind of ['digest-missing', 'logs-silent'])
        expected.push(`${kind}|org/|o-a1b2c3d4e5|${account}|${region}`);
    }
    // Act
    const checks: string[] = [];
    for (let index = 0; index < 7; index++) {
      checks.push(...(await shardChecks({ trail }, ['org/'], { index, count: 7 }, 4)));
    }
    // Assess
    expect(checks.sort()).toEqual(expected.sort());
    expect(DEFAULT_WATCHDOG.logSilenceMinutes).toBeGreaterThan(0);
  });
});

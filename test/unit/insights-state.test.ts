import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { applySummaries, InsightsConflictError } from '#shared/insights/index.ts';
import { resolveOptions } from '#shared/insights/insight-types.ts';
import {
  applySummaryToState,
  emptyState,
  foldState,
  minuteCount,
  readState,
  STATE_CACHE_BYTES,
  stateCacheSize,
  stateKey,
  UNVERIFIED_KEEP_HOURS,
  updateState,
} from '#shared/insights/state.ts';
import { PreconditionFailedError, type PutOptions } from '#shared/ports.ts';
import { ACCOUNT, calls, MINUTE, REGION, summaryOf } from '#test/fixtures/insights/synthetic.ts';
import { InstrumentedStore } from '#test/support/instrumented-store.ts';

const o = resolveOptions({});
const T0 = Date.parse('2026-03-10T12:00:00Z');
const m0 = T0 / MINUTE;

function files() {
  // One minute's calls spread over three files, plus errors and reads.
  return [
    summaryOf(
      calls({ at: T0, source: 'ec2.amazonaws.com', name: 'RunInstances', count: 3 }),
      T0 + 5 * MINUTE,
    ),
    summaryOf(
      [
        ...calls({ at: T0, source: 'ec2.amazonaws.com', name: 'RunInstances', count: 4 }),
        ...calls({
          at: T0 + MINUTE,
          source: 'ec2.amazonaws.com',
          name: 'RunInstances',
          count: 2,
          errorCode: 'Client.UnauthorizedOperation',
        }),
      ],
      T0 + 10 * MINUTE,
    ),
    summaryOf(
      [
        ...calls({ at: T0, source: 'ec2.amazonaws.com', name: 'RunInstances', count: 1 }),
        ...calls({
          at: T0,
          source: 'ec2.amazonaws.com',
          name: 'DescribeInstances',
          count: 9,
          readOnly: true,
        }),
        ...calls({
          at: T0,
          source: 'ec2.amazonaws.com',
          name: 'DescribeInstances',
          count: 2,
          readOnly: true,
          errorCode: 'Client.RequestLimitExceeded',
        }),
        ...calls({ at: T0, source: 's3.amazonaws.com', name: 'PutObject', count: 50, category: 'Data' }),
      ],
      T0 + 15 * MINUTE,
    ),
  ];
}

describe('applySummaryToState', () => {
  it('adds a minute spread over several files, errors by code and reads, and leaves data events out', () => {
    // Prepare
    const state = emptyState(ACCOUNT, REGION);
    // Act
    for (const s of files()) applySummaryToState(state, s, o);
    // Assess
    expect(state.series['C|ec2.amazonaws.com|RunInstances'].m).toEqual([m0, 8, m0 + 1, 2]);
    expect(state.series['E|ec2.amazonaws.com|RunInstances|Client.UnauthorizedOperation'].m).toEqual([
      m0 + 1,
      2,
    ]);
    expect(state.series['E|ec2.amazonaws.com|DescribeInstances|Client.RequestLimitExceeded'].m).toEqual([
      m0,
      2,
    ]);
    // 11 DescribeInstances, 2 of them refused: the read series counts the 9 that went through.
    expect(state.series['R|ec2.amazonaws.com|DescribeInstances'].m).toEqual([m0, 9]);
    expect(Object.keys(state.series).some((k) => k.includes('PutObject'))).toBe(false);
    expect(state.coverage).toEqual([m0, m0 + 1]);
  });

  it('keeps no read series when ApiReadRateInsight is switched off', () => {
    // Prepare
    const state = emptyState(ACCOUNT, REGION);
    const withoutReads = resolveOptions({ types: ['ApiCallRateInsight', 'ApiErrorRateInsight'] });
    // Act
    for (const s of files()) applySummaryToState(state, s, withoutReads);
    // Assess
    expect(Object.keys(state.series).some((k) => k.startsWith('R|'))).toBe(false);
    expect(state.series['C|ec2.amazonaws.com|RunInstances'].m).toEqual([m0, 8, m0 + 1, 2]);
  });

  it('never counts a re-delivered summary twice', () => {
    // Prepare
    const state = emptyState(ACCOUNT, REGION);
    const [a] = files();
    // Act
    const first = applySummaryToState(state, a, o);
    const snapshot = JSON.stringify(state);
    const again = applySummaryToState(state, structuredClone(a), o);
    // Assess
    expect(first).toBe('applied');
    expect(again).toBe('duplicate');
    expect(JSON.stringify(state)).toBe(snapshot);
  });

  it('reaches the same state whatever the order and however often summaries are applied', () => {
    const list = files();
    const reference = emptyState(ACCOUNT, REGION);
    for (const s of list) applySummaryToState(reference, s, o);
    const canonical = JSON.stringify(reference, Object.keys(flatKeys(reference)).sort());
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: list.length - 1 }), { minLength: list.length, maxLength: 9 }),
        (picks) => {
          // Prepare: every summary at least once, in a random order, some repeated
          const order = [...picks, ...list.map((_, i) => i)].map((i) => list[i]);
          const state = emptyState(ACCOUNT, REGION);
          // Act
          for (const s of shuffle(order, picks.length)) applySummaryToState(state, s, o);
          // Assess
          expect(JSON.stringify(state, Object.keys(flatKeys(state)).sort())).toBe(canonical);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('skips summaries delivered before the horizon (they cannot change the baseline)', () => {
    // Prepare
    const state = emptyState(ACCOUNT, REGION);
    foldState(state, m0 + 10 * 24 * 60, o);
    // Act
    const outcome = applySummaryToState(state, files()[0], o);
    // Assess
    expect(outcome).toBe('stale');
    expect(state.series).toEqual({});
  });
});

describe('foldState', () => {
  it('moves old minutes into hourly sums and sums of squares, and forgets what leaves the window', () => {
    // Prepare
    const state = emptyState(ACCOUNT, REGION);
    for (const s of files()) applySummaryToState(state, s, o);
    const hour = Math.floor(m0 / 60);
    // Act: four hours later the minutes are folded
    foldState(state, m0 + 4 * 60, o);
    const folded = structuredClone(state.series['C|ec2.amazonaws.com|RunInstances']);
    // ... and eight days later everything is gone
    foldState(state, m0 + 8 * 24 * 60 + 4 * 60, o);
    // Assess
    expect(folded.m).toEqual([]);
    expect(folded.h).toEqual([hour, 10, 8 * 8 + 2 * 2]);
    expect(state.series).toEqual({});
    expect(state.applied).toEqual({});
    expect(state.values).toEqual({});
  });

  it('waits a day for verify to list an unverified file, then forgets what it added', () => {
    // Prepare: the three files, the last one not listed in any digest yet
    const state = emptyState(ACCOUNT, REGION);
    const [a, b, c] = files();
    for (const s of [a, b, { ...c, unverified: true as const }]) applySummaryToState(state, s, o);
    const deliveredHour = Math.floor((m0 + 10) / 60);
    // Act
    foldState(state, (deliveredHour + UNVERIFIED_KEEP_HOURS) * 60, o);
    const waiting = Object.keys(state.unverified ?? {}).length;
    const hourly = structuredClone(state.series['C|ec2.amazonaws.com|RunInstances'].h);
    foldState(state, (deliveredHour + UNVERIFIED_KEEP_HOURS + 1) * 60 + 1, o);
    // Assess: kept for a day, then gone, and the verified files' baseline unchanged
    expect(waiting).toBe(1);
    expect(state.unverified).toBeUndefined();
    expect(state.series['C|ec2.amazonaws.com|RunInstances'].u).toBeUndefined();
    expect(state.series['C|ec2.amazonaws.com|RunInstances'].h).toEqual(hourly);
    expect(hourly).toEqual([Math.floor(m0 / 60), 9, 7 * 7 + 2 * 2]);
  });

  it('keeps the minutes of an open insight unfolded', () => {
    // Prepare
    const state = emptyState(ACCOUNT, REGION);
    for (const s of files()) applySummaryToState(state, s, o);
    state.open['C|ec2.amazonaws.com|RunInstances'] = {
      sharedEventID: 'x',
      series: 'C|ec2.amazonaws.com|RunInstances',
      start: m0,
      trigger: m0,
      last: m0 + 1,
      baselineAverage: 0,
      baselineMinutes: 0,
      expected: 0,
      startAt: 5,
      emitted: m0 + 10,
    };
    // Act
    foldState(state, m0 + 6 * 60, o);
    // Assess
    expect(minuteCount(state.series['C|ec2.amazonaws.com|RunInstances'], m0)).toBe(8);
  });
});

describe('updateState', () => {
  it('keeps parsed states up to a byte budget, the most recently used first', async () => {
    // Prepare: more states of about 1 MiB each than the budget holds, written one after the other
    const store = new InstrumentedStore(new MemoryObjectStore());
    const o = resolveOptions();
    const big = 'x'.repeat(2 ** 20);
    const n = Math.ceil(STATE_CACHE_BYTES / 2 ** 20) + 8;
    const regions = Array.from({ length: n }, (_, i) => `xx-test-${i}`);
    for (const region of regions) {
      await updateState(store, ACCOUNT, region, o, (state) => {
        state.values.pad = big;
        return { write: true, result: undefined };
      });
    }
    const unchanged = async (region: string) => {
      const gets = store.count('GET');
      await updateState(store, ACCOUNT, region, o, () => ({ write: false, result: undefined }));
      return store.count('GET') - gets;
    };
    // Act
    const size = stateCacheSize(store);
    const newestGets = await unchanged(regions[n - 1]);
    const oldestGets = await unchanged(regions[0]);
    // Assess: within the budget; the newest is served from memory, the oldest was let go and is read again
    expect(size.bytes).toBeLessThanOrEqual(STATE_CACHE_BYTES);
    expect(size.states).toBeLessThan(n);
    expect(newestGets).toBe(0);
    expect(oldestGets).toBe(1);
  });

  it('retries on a conflicting write and loses no update', async () => {
    // Prepare: a store whose first conditional write fails as if another writer got there first
    const store = new MemoryObjectStore();
    let failures = 1;
    const put = store.put.bind(store);
    store.put = async (key: string, body: Uint8Array | string, options?: PutOptions) => {
      if (failures-- > 0) {
        await put(key, JSON.stringify({ ...emptyState(ACCOUNT, REGION), orgId: 'o-aaaaaaaaaa' }));
        throw new PreconditionFailedError('conflict', key);
      }
      return put(key, body, options);
    };
    // Act
    const r = await applySummaries(store, files());
    const state = await readState(store, ACCOUNT, REGION);
    // Assess: applied on top of the other writer's state
    expect(r.applied).toBe(3);
    expect(state?.orgId).toBe('o-aaaaaaaaaa');
    expect(minuteCount(state!.series['C|ec2.amazonaws.com|RunInstances'], m0)).toBe(8);
  });

  it('gives up with a clear error when every attempt conflicts', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    store.put = async (key: string) => {
      throw new PreconditionFailedError('conflict', key);
    };
    const fast = resolveOptions({ maxAttempts: 3, retryBaseMs: 1, retryCapMs: 2 });
    // Act
    const attempt = updateState(store, ACCOUNT, REGION, fast, () => ({ write: true, result: 1 }));
    // Assess
    await expect(attempt).rejects.toThrow(InsightsConflictError);
    await expect(attempt).rejects.toThrow(`${stateKey(ACCOUNT, REGION)} within 3 attempts`);
  });

  it('rejects a state object of another schema instead of overwriting it', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await store.put(stateKey(ACCOUNT, REGION), JSON.stringify({ schema: 'something-else/9' }));
    // Act
    const attempt = applySummaries(store, files());
    // Assess
    await expect(attempt).rejects.toThrow('expected schema trailwatch.insights-state/1');
  });
});

function shuffle<T>(list: T[], seed: number): T[] {
  const out = [...list];
  let x = seed + 1;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Every key at any depth, for a key-sorted canonical JSON. */
function flatKeys(value: unknown, into: Record<string, true> = {}): Record<string, true> {
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into[k] = true;
      flatKeys(v, into);
    }
  }
  return into;
}

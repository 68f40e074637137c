import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { PreconditionFailedError, type PutOptions } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { applyCounts, crossingWindow, readCountState } from '#shared/rules/count-windows.ts';
import { type CountGroup, RuleEvaluator } from '#shared/rules/evaluate.ts';
import { defaultRules } from '#shared/rules/load.ts';
import { stratusRecords } from '#test/support/logfiles.ts';

const MASS_BATCH = '8b3ca373-75fa-4296-8c42-b37c5a4c1f4b';
const rule = () => defaultRules().find((r) => r.id === MASS_BATCH)!;

/** The count rule's groups for some real records, as ingest collects them for one file. */
function groupsOf(records: CloudTrailRecord[]): CountGroup[] {
  const evaluator = new RuleEvaluator([rule()]);
  for (const r of records) evaluator.onRecord(r);
  return evaluator.counts()[0]?.groups ?? [];
}

/** Real BatchGetSecretValue records, one per call, moved to the given seconds after a start. */
function calls(offsets: number[]): CloudTrailRecord[] {
  const [base] = stratusRecords('aws.credential-access.secretsmanager-batch-retrieve-secrets');
  const start = Date.parse('2024-07-31T12:00:00Z');
  return offsets.map((s, i) => ({
    ...base,
    eventID: `e${i}`,
    eventTime: new Date(start + s * 1000).toISOString().replace('.000', ''),
  }));
}

const apply = (store: MemoryObjectStore, sourceKey: string, records: CloudTrailRecord[]) =>
  applyCounts(store, {
    rule: rule(),
    account: '111122223333',
    region: 'us-east-1',
    sourceKey,
    groups: groupsOf(records),
  });

describe('count windows', () => {
  it('a window is timespan seconds, half-open, and must hold an event of the file being applied', () => {
    // Prepare
    const ev = (t: number, file: string, v = '') => ({ t, v, file, mine: file === 'b', batch: file });
    const events = (distinct: boolean, batches = 1) => ({ timespan: 300, threshold: 2, distinct, batches });

    // Act + Assess
    expect(crossingWindow([ev(0, 'a'), ev(299, 'b')], events(false))).toMatchObject({ count: 2, files: 2 });
    expect(crossingWindow([ev(0, 'a'), ev(300, 'b')], events(false))).toBeUndefined();
    expect(crossingWindow([ev(0, 'a'), ev(10, 'a'), ev(900, 'b')], events(false))).toBeUndefined();
    expect(crossingWindow([ev(0, 'a', 'x'), ev(10, 'b', 'x')], events(true))).toBeUndefined();
    expect(crossingWindow([ev(0, 'a', 'x'), ev(10, 'b', 'y')], events(true))).toMatchObject({ count: 2 });
    // A window one batch shows alone does not count when two are required; one spanning two does.
    expect(crossingWindow([ev(0, 'b'), ev(10, 'b')], events(false, 2))).toBeUndefined();
    expect(crossingWindow([ev(0, 'b'), ev(10, 'b'), ev(20, 'a')], events(false, 2))).toMatchObject({
      count: 3,
      files: 2,
    });
  });

  it('crosses whichever order the files of a burst arrive in', async () => {
    // Prepare
    const early = calls([0, 60]);
    const late = calls([120]);

    // Act
    const inOrder = new MemoryObjectStore('s1');
    const firstInOrder = await apply(inOrder, 'f1', early);
    const secondInOrder = await apply(inOrder, 'f2', late);
    const reversed = new MemoryObjectStore('s2');
    const firstReversed = await apply(reversed, 'f2', late);
    const secondReversed = await apply(reversed, 'f1', early);

    // Assess
    expect(firstInOrder).toEqual([]);
    expect(firstReversed).toEqual([]);
    expect(secondInOrder.map((c) => c.window.count)).toEqual([3]);
    expect(secondReversed.map((c) => c.window.count)).toEqual([3]);
  });

  it('forgets files too old to share a window with the newest', async () => {
    // Prepare
    const store = new MemoryObjectStore('s');

    // Act
    await apply(store, 'old', calls([0]));
    await apply(store, 'new', calls([3 * 3600]));

    // Assess
    expect(Object.keys(await readCountState(store, MASS_BATCH, '111122223333', 'us-east-1'))).toEqual([
      'new',
    ]);
  });

  it('retries on a conflicting write and keeps both writers’ events', async () => {
    // Prepare: another invocation writes between this one's read and its write, once
    const store = new MemoryObjectStore('s');
    await apply(store, 'f1', calls([0]));
    const put = store.put.bind(store);
    let raced = false;
    store.put = async (key: string, body: Uint8Array | string, options?: PutOptions) => {
      if (!raced && key.startsWith('count-windows/')) {
        raced = true;
        await applyCounts(Object.assign(Object.create(store) as MemoryObjectStore, { put }), {
          rule: rule(),
          account: '111122223333',
          region: 'us-east-1',
          sourceKey: 'f2',
          groups: groupsOf(calls([30])),
        }).catch(() => undefined);
        throw new PreconditionFailedError(`${key}: changed`, key);
      }
      return put(key, body, options);
    };

    // Act
    const crossed = await apply(store, 'f3', calls([60]));

    // Assess
    expect(raced).toBe(true);
    expect(crossed.map((c) => c.window.count)).toEqual([3]);
  });
});

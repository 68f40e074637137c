import { describe, expect, it } from 'vitest';
import type { CloudTrailRecord } from '#shared/record.ts';
import { RuleEvaluator } from '#shared/rules/evaluate.ts';
import { defaultRules } from '#shared/rules/load.ts';
import {
  batchCrossings,
  type CountSweepState,
  forParkedObject,
  mergeMatches,
  type ParkedCount,
  parkCounts,
  SWEEP_KEEP_SECONDS,
  sweepCounts,
} from '#shared/rules/parked-counts.ts';
import { stratusRecords } from '#test/support/logfiles.ts';

/** Sigma count rule "Mass secret retrieval": 10 distinct secrets read by one principal within 5 minutes. */
const MASS_SECRETS = '8298d02e-02cb-4c76-a195-714f106c256e';
const rules = new Map(defaultRules().map((r) => [r.id, r]));

/** One file's counts of real records, as its batch's parked object holds them. */
function parked(source: string, records: CloudTrailRecord[]): ParkedCount[] {
  const evaluator = new RuleEvaluator([rules.get(MASS_SECRETS)!]);
  for (const r of records) evaluator.onRecord(r);
  return forParkedObject(parkCounts(source, '111122223333', 'us-east-1', evaluator.counts()));
}

/** The real Stratus harvest: GetSecretValue of many distinct secrets by one role in a minute. */
const harvest = stratusRecords('aws.credential-access.secretsmanager-retrieve-secrets').filter(
  (r) => r.eventName === 'GetSecretValue' && !r.errorCode,
);

describe('count rules over parked files', () => {
  it('the real harvest split over two files of one batch crosses once, naming both files', () => {
    // Prepare
    const half = Math.floor(harvest.length / 2);
    const counts = [...parked('b/f1', harvest.slice(0, half)), ...parked('b/f2', harvest.slice(half))];
    // Act
    const crossings = batchCrossings(counts, rules);
    const alone = batchCrossings(parked('b/f1', harvest.slice(0, 3)), rules);
    // Assess
    expect(harvest.length).toBeGreaterThanOrEqual(10);
    expect(crossings).toHaveLength(1);
    expect(crossings[0].sources).toEqual(['b/f1', 'b/f2']);
    expect(crossings[0].matches.window).toMatchObject({ threshold: 10, files: 2 });
    expect(crossings[0].matches.count).toBe(harvest.length);
    expect(alone).toEqual([]);
  });

  it('keeps one sample per group in a parked file, and merges the tallies of several', () => {
    // Prepare
    const [a] = parked('b/f1', harvest.slice(0, 4));
    const [b] = parked('b/f2', harvest.slice(4, 8));
    // Act
    const merged = mergeMatches(rules.get(MASS_SECRETS)!, [a.groups[0].matches, b.groups[0].matches]);
    // Assess
    expect(a.groups[0].matches.samples).toHaveLength(1);
    expect(merged.count).toBe(8);
    expect(merged.samples).toHaveLength(2);
    expect(merged.principals[0].count).toBe(8);
    expect(merged.firstEventTime! <= merged.lastEventTime!).toBe(true);
  });

  it('the sweep joins batches within its memory, counts a file carried twice once, and forgets old ones', () => {
    // Prepare: six secrets in a first batch, four more in a second
    const first = parked('b/f1', harvest.slice(0, 6)).map((c) => ({ ...c, batch: 'o1' }));
    const second = parked('b/f2', harvest.slice(6, 10)).map((c) => ({ ...c, batch: 'o2' }));
    const again = first.map((c) => ({ ...c, batch: 'o3' }));
    const t = 1_800_000_000;
    // Act
    const joined: CountSweepState = { entries: {} };
    const none = sweepCounts(joined, first, rules, t);
    const twice = sweepCounts(joined, again, rules, t + 60);
    const found = sweepCounts(joined, second, rules, t + 120);
    const forgotten: CountSweepState = { entries: {} };
    sweepCounts(forgotten, first, rules, t);
    const late = sweepCounts(forgotten, second, rules, t + SWEEP_KEEP_SECONDS + 1);
    // Assess
    expect(none).toEqual([]);
    // The same file in a second batch replaces its entry: six secrets, not twelve, and one batch.
    expect(twice).toEqual([]);
    expect(Object.keys(joined.entries)).toHaveLength(2);
    expect(found).toHaveLength(1);
    expect(found[0].matches.window).toMatchObject({ count: 10, files: 2 });
    expect(found[0].batches).toEqual(['o2']);
    expect(late).toEqual([]);
    expect(Object.keys(forgotten.entries)).toHaveLength(1);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildRuleNotifications } from '#shared/notify/rule-alerts.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { OTHER, RuleEvaluator } from '#shared/rules/evaluate.ts';
import { catalogRules, defaultRules, validateRuleFile } from '#shared/rules/load.ts';
import { ruleDispatch, ruleMatcher } from '#shared/rules/rule-matcher.ts';
import { repoRoot, stratusDir, stratusRecords } from '#test/support/logfiles.ts';

const denied = (n: number, principal: string, extra: Partial<CloudTrailRecord> = {}): CloudTrailRecord => ({
  eventID: `ev-${principal}-${n}`,
  eventTime: `2024-08-01T12:${String(n % 60).padStart(2, '0')}:00Z`,
  eventSource: 's3.amazonaws.com',
  eventName: 'GetObject',
  errorCode: 'AccessDenied',
  awsRegion: 'us-east-1',
  recipientAccountId: '111122223333',
  sourceIPAddress: '198.51.100.7',
  userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::111122223333:assumed-role/${principal}/s` },
  ...extra,
});

const cw2 = () => catalogRules().filter((r) => r.id === 'CloudWatch.2');

describe('RuleEvaluator', () => {
  it('counts every match but keeps a bounded sample, whatever the volume', () => {
    // Prepare
    const evaluator = new RuleEvaluator(cw2(), { sampleSize: 4 });

    // Act
    for (let i = 0; i < 50_000; i++) evaluator.onRecord(denied(i, 'app'));
    const [m] = evaluator.results();

    // Assess
    expect(evaluator.records).toBe(50_000);
    expect(m.count).toBe(50_000);
    expect(m.samples).toHaveLength(4);
    expect(m.principals).toEqual([{ value: 'arn:aws:sts::111122223333:assumed-role/app/s', count: 50_000 }]);
    expect(m.apis).toEqual([{ value: 's3.amazonaws.com GetObject', count: 50_000 }]);
    expect(m.errorCodes).toEqual([{ value: 'AccessDenied', count: 50_000 }]);
    expect(m.firstEventTime).toBe('2024-08-01T12:00:00Z');
    expect(m.lastEventTime).toBe('2024-08-01T12:59:00Z');
  });

  it('caps the distinct values it tallies and counts the rest as (other)', () => {
    // Prepare
    const evaluator = new RuleEvaluator(cw2(), { maxDistinct: 50, topN: 3 });

    // Act
    for (let i = 0; i < 2_000; i++) evaluator.onRecord(denied(i, `p${i}`));
    const [m] = evaluator.results();

    // Assess
    expect(m.count).toBe(2_000);
    expect(m.distinctPrincipals).toBe(50);
    expect(m.principals[0]).toEqual({ value: OTHER, count: 1_950 });
    expect(m.principals).toHaveLength(3);
  });

  it('makes room in the sample for principals it has not seen', () => {
    // Prepare
    const evaluator = new RuleEvaluator(cw2(), { sampleSize: 3 });

    // Act
    for (let i = 0; i < 1_000; i++) evaluator.onRecord(denied(i, 'noisy'));
    evaluator.onRecord(denied(1, 'quiet-b'));
    for (let i = 0; i < 100; i++) evaluator.onRecord(denied(i, 'noisy'));
    evaluator.onRecord(denied(2, 'quiet-c'));
    const [m] = evaluator.results();

    // Assess
    expect(m.samples.map((r) => r.eventID).sort()).toEqual(['ev-noisy-0', 'ev-quiet-b-1', 'ev-quiet-c-2']);
    expect(m.principals.map((p) => [p.value.split('/')[1], p.count])).toEqual([
      ['noisy', 1_100],
      ['quiet-b', 1],
      ['quiet-c', 1],
    ]);
  });

  it('reports only the rules that matched unless asked for all', () => {
    // Prepare
    const evaluator = new RuleEvaluator(catalogRules());
    evaluator.onRecord({ eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com' });

    // Act
    const matched = evaluator.results();
    const all = evaluator.results({ includeUnmatched: true });

    // Assess
    expect(matched.map((m) => [m.rule.id, m.count])).toEqual([['CloudWatch.5', 1]]);
    expect(all).toHaveLength(catalogRules().length);
    expect(all.filter((m) => m.count === 0)).toHaveLength(catalogRules().length - 1);
  });

  it('never throws on records of unexpected shape, nor while describing them', () => {
    // Prepare
    const rules = [
      ...catalogRules(),
      ...validateRuleFile(
        [
          {
            id: 'x.any',
            title: 'Anything',
            severity: 'LOW',
            description: 'Matches records without eventName.',
            pattern: '{ $.eventName NOT EXISTS }',
          },
        ],
        'test.json',
      ),
    ];
    const weird = fc.oneof(
      fc.anything(),
      fc.record(
        {
          eventName: fc.oneof(fc.constantFrom('ConsoleLogin', 'StopLogging'), fc.anything()),
          errorCode: fc.oneof(fc.constant('AccessDenied'), fc.anything()),
          userIdentity: fc.oneof(
            fc.constant(null),
            fc.anything(),
            fc.record({ type: fc.anything(), arn: fc.anything() }),
          ),
          requestParameters: fc.oneof(fc.constant(null), fc.array(fc.anything()), fc.anything()),
          responseElements: fc.anything(),
          additionalEventData: fc.oneof(fc.array(fc.anything()), fc.anything()),
          resources: fc.oneof(fc.array(fc.anything()), fc.anything()),
          eventTime: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );

    // Act + Assess
    fc.assert(
      fc.property(fc.array(weird, { maxLength: 20 }), (records) => {
        const evaluator = new RuleEvaluator(rules);
        for (const r of records) evaluator.onRecord(r as CloudTrailRecord);
        const notifications = buildRuleNotifications(evaluator.results(), {
          topic: 'arn:aws:sns:us-east-1:1:t',
        });
        expect(notifications.length).toBeLessThanOrEqual(rules.length);
        for (const n of notifications) expect(n.subject.length).toBeLessThan(100);
      }),
      { numRuns: 300 },
    );
  });

  it('tries each rule only where it can match, and finds what trying every rule on every record finds', () => {
    // Prepare: the real records and every rule example, and the same with the names spelt otherwise
    const examples = readdirSync(join(repoRoot, 'shared/rules/examples')).flatMap((f) => {
      const e = JSON.parse(readFileSync(join(repoRoot, 'shared/rules/examples', f), 'utf8')) as Record<
        string,
        { record: CloudTrailRecord }[]
      >;
      return [...(e.positive ?? []), ...(e.negative ?? [])].map((x) => x.record);
    });
    const real = readdirSync(stratusDir)
      .filter((f) => f.endsWith('.json'))
      .flatMap((f) => stratusRecords(f.replace(/\.json$/, '')));
    const base = [...examples, ...real];
    const records: CloudTrailRecord[] = [
      ...base,
      ...base.map((r) => ({ ...r, eventName: String(r.eventName ?? '').toLowerCase() })),
      ...base.map((r) => ({ ...r, eventName: [r.eventName] as unknown as string })),
      ...base.map((r) => ({ ...r, eventSource: undefined as unknown as string })),
    ];
    const rules = defaultRules().filter((r) => !r.sigma?.correlation);

    // Act
    const evaluator = new RuleEvaluator(rules);
    for (const r of records) evaluator.onRecord(r);
    const found = new Map(evaluator.results().map((m) => [m.rule.id, m.count]));

    // Assess
    const dispatched = rules.filter((r) => ruleDispatch(r).eventNames || ruleDispatch(r).eventSources);
    expect(
      dispatched.filter((r) => !r.sigma).length,
      'filter patterns tried by event name or source',
    ).toBeGreaterThan(20);
    for (const rule of rules) {
      const test = ruleMatcher(rule);
      const expected = records.filter((r) => test(r)).length;
      expect(found.get(rule.id) ?? 0, rule.id).toBe(expected);
    }
  });
});

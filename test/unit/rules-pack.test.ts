import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildRuleNotifications } from '#shared/notify/rule-alerts.ts';
import { RuleEvaluator } from '#shared/rules/evaluate.ts';
import {
  catalogRules,
  defaultRules,
  MAX_TITLE_LENGTH,
  packRules,
  validateRuleFile,
} from '#shared/rules/load.ts';
import { ruleMatcher } from '#shared/rules/rule-matcher.ts';
import type { RuleExamples } from '#shared/rules/rule-types.ts';
import { stratusRecords } from '#test/support/logfiles.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const examplesDir = resolve(repoRoot, 'shared/rules/examples');
const examplesOf = (id: string) =>
  JSON.parse(readFileSync(resolve(examplesDir, `${id}.json`), 'utf8')) as RuleExamples;

describe('trailwatch pack', () => {
  const rules = packRules();

  it('loads beside the catalog with distinct ids and metric names, and is part of the default rules', () => {
    // Act
    const all = defaultRules();

    // Assess
    expect(rules.length).toBeGreaterThanOrEqual(15);
    const builtIn = [...catalogRules(), ...rules].map((r) => r.id);
    expect(all.slice(0, builtIn.length).map((r) => r.id)).toEqual(builtIn);
    // What follows the pack (the bundled custom rules are empty) is the Sigma rules.
    expect(all.slice(builtIn.length).every((r) => r.sigma !== undefined)).toBe(true);
    for (const r of rules) {
      expect(r.origin).toBe('pack');
      expect(r.title.length).toBeLessThanOrEqual(MAX_TITLE_LENGTH);
      expect(r.metricName).toMatch(/^[A-Za-z]+$/);
    }
  });

  describe.each(rules.map((r) => [r.id, r] as const))('%s', (_id, rule) => {
    const examples = examplesOf(rule.id);
    const test = ruleMatcher(rule);

    it('has at least one positive and one negative example, most of them real records', () => {
      // Assess
      expect(examples.positive.length).toBeGreaterThan(0);
      expect(examples.negative.length).toBeGreaterThan(0);
      // Every example is a Stratus record, as recorded or with the one change its name states.
      for (const e of [...examples.positive, ...examples.negative]) {
        expect(e.name).toMatch(/real record|real \w+ record|changed\)|API reference|User Guide/);
      }
    });

    it.each(examples.positive.map((e) => [e.name, e.record] as const))('matches: %s', (_name, record) => {
      // Act + Assess
      expect(test(record)).toBe(true);
    });

    it.each(examples.negative.map((e) => [e.name, e.record] as const))(
      'does not match: %s',
      (_name, record) => {
        // Act + Assess
        expect(test(record)).toBe(false);
      },
    );
  });
});

describe('fieldsDiffer: the one comparison between fields a filter pattern cannot express', () => {
  const rule = (fieldsDiffer: unknown) => ({
    id: 'X.1',
    title: 'x',
    severity: 'LOW',
    description: 'x',
    pattern: '{ $.eventName = "CreateAccessKey" }',
    fieldsDiffer,
  });

  it('holds when the first field is a value and the second is absent or another value', () => {
    // Prepare
    const [r] = validateRuleFile(
      [rule([['$.requestParameters.userName', '$.userIdentity.userName']])],
      'x.json',
    );
    const test = ruleMatcher(r);
    const call = (target: unknown, caller?: string) => ({
      eventName: 'CreateAccessKey',
      requestParameters: target === undefined ? null : { userName: target },
      userIdentity: caller === undefined ? { type: 'AssumedRole' } : { type: 'IAMUser', userName: caller },
    });

    // Act
    const results = {
      other: test(call('bob', 'alice')),
      self: test(call('alice', 'alice')),
      roleCaller: test(call('bob')),
      noTarget: test(call(undefined, 'alice')),
      objectTarget: test(call({ name: 'bob' }, 'alice')),
    };

    // Assess
    expect(results).toEqual({
      other: true,
      self: false,
      roleCaller: true,
      noTarget: false,
      objectTarget: false,
    });
  });

  it.each([
    [[], /"fieldsDiffer" must be a non-empty array of selector pairs/],
    [[['$.a']], /found an array at #1/],
    [[['$.a', 'userName']], /"fieldsDiffer" #1: "userName" is not a selector/],
    [[['$.a[*]', '$.b']], /cannot hold a wildcard/],
    [[['$.a', '$.b = 1']], /"\$\.b = 1" is not a selector/],
  ])('rejects %j with a one-line error naming the file and the rule', (value, message) => {
    // Act + Assess
    expect(() => validateRuleFile([rule(value)], 'custom.json')).toThrow(message);
    expect(() => validateRuleFile([rule(value)], 'custom.json')).toThrow(/^custom\.json: rule "X\.1": /);
  });
});

describe('alerts of rules with fieldsDiffer', () => {
  it('state the comparison next to the pattern, so the reader knows why a record matched', () => {
    // Prepare
    const evaluator = new RuleEvaluator(packRules().filter((r) => r.id === 'TW.3'));
    for (const r of stratusRecords('aws.persistence.iam-backdoor-user')) evaluator.onRecord(r);

    // Act
    const [note] = buildRuleNotifications(evaluator.results(), { topic: 'arn:aws:sns:us-east-1:1:t' });

    // Assess
    const email = JSON.parse(note.message).email as string;
    expect(email).toContain('And: $.requestParameters.userName differs from $.userIdentity.userName');
  });
});

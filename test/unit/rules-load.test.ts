import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alarmLogicalId, defaultMetricName } from '#shared/metric-names.cjs';
import { RulesError } from '#shared/rules/errors.ts';
import {
  catalogRules,
  loadRules,
  mergeRules,
  packRules,
  RuleError,
  validateRuleFile,
} from '#shared/rules/load.ts';
import { PatternError } from '#shared/rules/pattern/index.ts';

const fixtures = resolve(import.meta.dirname, '../fixtures/rules');
const fixture = (name: string) => resolve(fixtures, name);

async function loadError(file: string): Promise<RuleError> {
  try {
    await loadRules({ rulesFile: file });
  } catch (err) {
    if (err instanceof RuleError) return err;
    throw err;
  }
  throw new Error(`${file} was accepted`);
}

describe('loadRules with a custom rules file', () => {
  it('adds valid custom rules after the catalog and the pack, with defaults for metric name and source', async () => {
    // Prepare
    const file = fixture('custom-rules.json');

    // Act
    const rules = await loadRules({ rulesFile: file });

    // Assess
    const builtIn = catalogRules().length + packRules().length;
    expect(rules.slice(builtIn).filter((r) => !r.sigma)).toHaveLength(2);
    const [lambda, ssh] = rules.slice(builtIn, builtIn + 2);
    expect(lambda).toMatchObject({
      id: 'custom.lambda-code-overwrite',
      severity: 'HIGH',
      metricName: 'Custom_custom_lambda_code_overwrite',
      source: `custom rules file ${file}`,
      origin: file,
    });
    expect(ssh).toMatchObject({
      id: 'custom.ssh-open-to-world',
      metricName: 'SshOpenToWorld',
      source: 'team runbook SEC-12',
    });
    expect(lambda).not.toHaveProperty('examples');
  });

  it('names the file, the rule and the column of a bad pattern', async () => {
    // Act
    const err = await loadError(fixture('bad-pattern.json'));

    // Assess
    expect(err.message).toBe(
      `${fixture('bad-pattern.json')}: rule "custom.typo": invalid pattern at column 18: expected a value after '=', found ')'`,
    );
    expect(err.ruleId).toBe('custom.typo');
    expect(err.file).toBe(fixture('bad-pattern.json'));
    expect(err.cause).toBeInstanceOf(PatternError);
    // One base for the area: a caller tells bad rules from other failures with one check.
    expect(err).toBeInstanceOf(RulesError);
    expect(err.cause).toBeInstanceOf(RulesError);
  });

  it.each([
    ['duplicate-id.json', /rule "custom\.one": id already defined in .*duplicate-id\.json/],
    ['catalog-clash.json', /rule "CloudWatch\.3": id already defined in shared\/rules\/catalog\.json/],
    [
      'bad-severity.json',
      /rule "custom\.sev": "severity" must be one of CRITICAL, HIGH, MEDIUM, LOW, found "URGENT"/,
    ],
    [
      'failing-example.json',
      /rule "custom\.root-keys": negative example "root lists keys" should not match the pattern but does/,
    ],
    [
      'metric-clash.json',
      /rule "custom\.a": metric name "CloudTrailChanges" clashes with rule "CloudWatch\.5"/,
    ],
    ['unknown-field.json', /rule "custom\.b": unknown field "serverity"/],
    ['not-an-array.json', /expected a JSON array of rules, found an object/],
    ['missing.json', /cannot read the rules file/],
  ])('rejects %s', async (name, message) => {
    // Act
    const err = await loadError(fixture(name));

    // Assess
    expect(err.message).toMatch(message);
    expect(err.message.startsWith(`${fixture(name)}: `)).toBe(true);
  });
});

describe('validateRuleFile', () => {
  const base = { id: 'x.1', title: 'T', severity: 'LOW', description: 'D', pattern: '{ $.a = 1 }' };

  it.each([
    [{ ...base, id: '' }, /rule #1: "id" must be 1-64 letters/],
    [{ ...base, id: 'has space' }, /rule #1: "id" must be/],
    [{ ...base, title: 'x'.repeat(61) }, /"title" must be 1-60 printable ASCII characters/],
    [{ ...base, title: 'Sign-in \u00e9chou\u00e9' }, /"title" must be 1-60 printable ASCII/],
    [{ ...base, description: ' ' }, /"description" must be a non-empty string/],
    [{ ...base, pattern: 42 }, /"pattern" must be a string, found number 42/],
    [{ ...base, metricName: 'bad name' }, /"metricName" must be 1-128 letters/],
    [
      { ...base, examples: { positive: [{ name: 'no', record: { a: 2 } }] } },
      /positive example "no" should match/,
    ],
    [{ ...base, examples: [] }, /"examples" must be an object/],
    ['rule', /rule #1: expected an object, found "rule"/],
  ])('rejects %j', (rule, message) => {
    // Act
    const act = () => validateRuleFile([rule], 'rules.json');

    // Assess
    expect(act).toThrow(RuleError);
    expect(act).toThrow(message);
  });

  it('keeps metric and alarm names apart across files', () => {
    // Prepare
    const a = validateRuleFile([{ ...base, id: 'a.b' }], 'one.json');
    const b = validateRuleFile([{ ...base, id: 'a_b' }], 'two.json');

    // Act
    const act = () => mergeRules([a, b]);

    // Assess
    expect(defaultMetricName('a.b')).toBe(defaultMetricName('a_b'));
    expect(act).toThrow(
      /two\.json: rule "a_b": metric name "Custom_a_b" clashes with rule "a\.b" \(one\.json\)/,
    );
    expect(alarmLogicalId('Custom_a_b')).toBe('RuleAlarmCustomab');
  });
});

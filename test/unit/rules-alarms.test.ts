import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alarmLogicalId } from '#shared/metric-names.cjs';
import { defaultRules, validateRuleFile } from '#shared/rules/load.ts';

interface AlarmResource {
  Type: string;
  Properties: Record<string, unknown> & { AlarmDescription: string; MetricName: string };
}
interface AlarmsModule {
  alarms(args?: {
    resolveConfigurationProperty?: (path: string[]) => Promise<unknown>;
  }): Promise<Record<string, AlarmResource>>;
  resources(args?: object): Promise<{ Resources: Record<string, AlarmResource> }>;
  buildAlarmResources(settings?: object): Record<string, AlarmResource>;
  ruleList(custom?: unknown[]): { id: string; metricName: string }[];
}

const require = createRequire(import.meta.url);
const mod = require('#deploy/rule-alarms.cjs') as AlarmsModule;
const fixtures = resolve(import.meta.dirname, '../fixtures/rules');
/** CloudFormation's Fn::Sub placeholder syntax, spelled out so it is not mistaken for a template literal. */
const sub = (name: string) => `\${${name}}`;

/** What osls passes to a `${file(x.cjs):fn}` function: it resolves configuration paths. */
function configResolver(custom: Record<string, unknown>) {
  return async (path: string[]) => {
    let v: unknown = { custom: { trailwatch: custom } };
    for (const k of path) v = (v as Record<string, unknown> | undefined)?.[k];
    return v;
  };
}

describe('rule-alarms.cjs', () => {
  it('returns one CIS-recipe alarm per catalog rule and per HIGH or CRITICAL pack rule, named like the rule metrics', async () => {
    // Prepare
    const rules = defaultRules().filter(
      (r) => r.origin !== 'pack' || ['HIGH', 'CRITICAL'].includes(r.severity),
    );
    const quietPackRules = defaultRules().filter((r) => r.origin === 'pack' && !rules.includes(r));

    // Act
    const resources = await mod.alarms({ resolveConfigurationProperty: configResolver({}) });

    // Assess
    expect(Object.keys(resources)).toEqual(rules.map((r) => alarmLogicalId(r.metricName)));
    expect(rules.filter((r) => r.origin === 'pack').length).toBeGreaterThanOrEqual(10);
    expect(quietPackRules.length).toBeGreaterThan(0);
    for (const r of quietPackRules) expect(resources[alarmLogicalId(r.metricName)]).toBeUndefined();
    expect(resources.RuleAlarmConsoleSignInWithoutMfa).toEqual({
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: { 'Fn::Sub': `${sub('AWS::StackName')} CloudWatch.3 Console sign-in without MFA` },
        AlarmDescription: `[HIGH] Console sign-in without MFA (CloudWatch.3). Pattern: ${rules[2].pattern}`,
        Namespace: 'Trailwatch',
        MetricName: 'ConsoleSignInWithoutMfa',
        Dimensions: [{ Name: 'service', Value: 'trailwatch' }],
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'AlertTopic' }],
        OKActions: [{ Ref: 'AlertTopic' }],
      },
    });
    for (const [id, alarm] of Object.entries(resources)) {
      expect(id).toMatch(/^[A-Za-z0-9]+$/);
      expect(alarm.Properties.AlarmDescription.length).toBeLessThanOrEqual(1024);
    }
  });

  it('keeps long patterns within the 1024-character description limit', async () => {
    // Act
    const resources = await mod.alarms();

    // Assess
    const org = resources.RuleAlarmOrganizationsChanges.Properties.AlarmDescription;
    expect(org.length).toBeLessThanOrEqual(1024);
    expect(
      org.startsWith(
        '[HIGH] AWS Organizations changed (CIS.4.15). Pattern: { ($.eventSource = organizations',
      ),
    ).toBe(true);
  });

  it('takes namespace, dimensions and topic from custom.trailwatch', async () => {
    // Act
    const resources = await mod.alarms({
      resolveConfigurationProperty: configResolver({
        metricNamespace: 'Audit/Prod',
        metricDimensions: {},
        alertTopic: 'PagerTopic',
      }),
    });

    // Assess
    const p = resources.RuleAlarmRootUserActivity.Properties;
    expect(p.Namespace).toBe('Audit/Prod');
    expect(p).not.toHaveProperty('Dimensions');
    expect(p.AlarmActions).toEqual([{ Ref: 'PagerTopic' }]);
    expect(p.OKActions).toEqual([{ Ref: 'PagerTopic' }]);
  });

  it('derives custom rules’ metric names exactly like the TypeScript loader', () => {
    // Prepare
    const file = resolve(fixtures, 'custom-rules.json');
    const custom = JSON.parse(readFileSync(file, 'utf8')) as unknown[];

    // Act
    const fromCjs = mod.ruleList(custom).slice(-2);
    const fromTs = validateRuleFile(custom, file);
    const resources = mod.buildAlarmResources({ rules: mod.ruleList(custom) });

    // Assess
    expect(fromCjs.map((r) => r.metricName)).toEqual(fromTs.map((r) => r.metricName));
    expect(Object.keys(resources).slice(-2)).toEqual(fromTs.map((r) => alarmLogicalId(r.metricName)));
  });

  it('escapes ${ in titles for Fn::Sub and refuses two rules on one alarm', () => {
    // Prepare
    const rule = {
      id: 'x.1',
      title: `Cost ${sub('high')}`,
      severity: 'LOW',
      pattern: '{ $.a = 1 }',
      metricName: 'X1',
    };

    // Act
    const ok = mod.buildAlarmResources({ rules: [rule] });
    const clash = () => mod.buildAlarmResources({ rules: [rule, { ...rule, id: 'x.2', metricName: 'X-1' }] });

    // Assess
    expect(ok.RuleAlarmX1.Properties.AlarmName).toEqual({
      'Fn::Sub': `${sub('AWS::StackName')} x.1 Cost ${sub('!high')}`,
    });
    expect(clash).toThrow(/rule x\.2: alarm RuleAlarmX1 already defined/);
  });

  it('offers the same alarms wrapped as { Resources }', async () => {
    // Act
    const wrapped = await mod.resources();

    // Assess
    expect(wrapped.Resources).toEqual(await mod.alarms());
  });
});

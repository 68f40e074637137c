import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RulesError } from '#shared/rules/errors.ts';
import { RuleEvaluator } from '#shared/rules/evaluate.ts';
import { ExceptionSet, validateExceptions } from '#shared/rules/exceptions.ts';
import { defaultRules, loadExceptions } from '#shared/rules/load.ts';
import { stratusRecords } from '#test/support/logfiles.ts';

const fixtures = resolve(import.meta.dirname, '../fixtures/exceptions');
const ids = new Set(defaultRules().map((r) => r.id));
const NOW = new Date('2026-11-20T12:00:00Z');

function evaluateWith(exceptions: unknown[], techniques: string[], now = NOW) {
  const set = new ExceptionSet(validateExceptions(exceptions, 'exceptions.json', ids));
  const expired: string[] = [];
  const evaluator = new RuleEvaluator(defaultRules(), { exceptions: set.at(now, (e) => expired.push(e.id)) });
  for (const t of techniques) for (const r of stratusRecords(t)) evaluator.onRecord(r);
  const fired = Object.fromEntries(evaluator.results().map((m) => [m.rule.id, m.count]));
  const silenced = Object.fromEntries(evaluator.suppressions().map((s) => [s.rule.id, s.count]));
  return { fired, silenced, expired, suppressions: evaluator.suppressions() };
}

const TECHNIQUES = [
  'aws.persistence.iam-backdoor-user',
  'aws.persistence.iam-create-admin-user',
  'aws.persistence.iam-create-user-login-profile',
  'aws.execution.ssm-start-session',
  'aws.defense-evasion.cloudtrail-stop',
];

describe('exceptions on real records', () => {
  const baseline = evaluateWith([], TECHNIQUES);

  it('without exceptions the records raise their rules', () => {
    // Assess
    expect(baseline.fired).toMatchObject({
      'TW.3': 2,
      'TW.4': 1,
      'TW.9': 3,
      'CloudWatch.5': 1,
      'CloudWatch.4': 1,
    });
    expect(baseline.silenced).toEqual({});
  });

  it.each([
    ['principal ARN glob', { principalArn: 'arn:aws:iam::*:user/christophe' }],
    ['account', { account: ['946986569305', '229654561268'] }],
    ['region', { region: ['ap-central-2r', 'ap-isob-central-3r'] }],
    ['user agent glob', { userAgent: 'stratus-red-team_*' }],
    ['event name', { eventName: 'CreateAccessKey' }],
  ])('an exception on %s silences the rule it names and nothing else', (_what, condition) => {
    // Act
    const r = evaluateWith([{ id: 'x', rules: ['TW.3'], reason: 'known', ...condition }], TECHNIQUES);

    // Assess
    expect(r.silenced).toEqual({ 'TW.3': 2 });
    const { 'TW.3': _gone, ...others } = baseline.fired;
    expect(r.fired).toEqual(others);
  });

  it('a source-IP exception on all rules silences only records from that address or block', () => {
    // Prepare: the SSM sessions come from 254.222.242.236; CloudTrail's StopLogging from elsewhere.
    const exception = { id: 'ops', rules: '*', reason: 'jump host', sourceIp: '254.222.242.0/24' };

    // Act
    const r = evaluateWith([exception], TECHNIQUES);

    // Assess
    expect(r.silenced).toEqual({ 'TW.9': 3 });
    expect(r.fired['CloudWatch.5']).toBe(1);
    expect(r.suppressions[0].byException[0]).toMatchObject({
      count: 3,
      exception: { id: 'ops', reason: 'jump host' },
    });
    expect(r.suppressions[0].byException[0].eventIds).toEqual(
      stratusRecords('aws.execution.ssm-start-session')
        .filter((x) => x.eventName === 'StartSession')
        .map((x) => x.eventID),
    );
  });

  it('every condition of one exception must hold', () => {
    // Act: the right principal, but not the event name
    const r = evaluateWith(
      [{ id: 'x', rules: ['TW.3'], reason: 'k', principalArn: '*christophe', eventName: 'CreateUser' }],
      TECHNIQUES,
    );

    // Assess
    expect(r.silenced).toEqual({});
    expect(r.fired).toEqual(baseline.fired);
  });

  it('an expired exception stops suppressing and is reported once per load', () => {
    // Prepare
    const set = new ExceptionSet(
      validateExceptions(
        [{ id: 'old', rules: ['TW.3'], reason: 'k', userAgent: '*', expires: '2026-11-19' }],
        'exceptions.json',
        ids,
      ),
    );
    const reported: string[] = [];

    // Act
    const before = set.at(new Date('2026-11-19T23:59:59Z'), (e) => reported.push(e.id));
    const after1 = set.at(new Date('2026-11-20T00:00:00Z'), (e) => reported.push(e.id));
    const after2 = set.at(new Date('2026-11-21T00:00:00Z'), (e) => reported.push(e.id));
    const record = stratusRecords('aws.persistence.iam-backdoor-user')[0];

    // Assess
    expect(before.suppressing('TW.3', record)?.id).toBe('old');
    expect(after1.suppressing('TW.3', record)).toBeUndefined();
    expect(after2.suppressing('TW.3', record)).toBeUndefined();
    expect(reported).toEqual(['old']);
  });

  it('loads the documented example file', async () => {
    // Act
    const set = await loadExceptions(defaultRules(), { exceptionsFile: resolve(fixtures, 'example.json') });

    // Assess
    expect(set.all.map((e) => e.id)).toEqual(['ci-iam', 'office-network']);
    const r = evaluateWith(
      set.all.map(({ origin: _o, expiresAt: _e, conditions, ...e }) => ({ ...e, ...conditions })),
      TECHNIQUES,
    );
    expect(r.silenced).toEqual({ 'TW.3': 2, 'TW.4': 1 });
  });
});

describe('exceptions file validation: one line naming the file and the entry', () => {
  const base = { id: 'e1', rules: ['TW.3'], reason: 'known', eventName: 'CreateAccessKey' };
  it.each([
    [{ ...base, reason: undefined }, /exception "e1": "reason" is required/],
    [{ ...base, reason: ' ' }, /exception "e1": "reason" is required/],
    [{ ...base, rules: [] }, /"rules" must be "\*" or a non-empty array of rule ids/],
    [{ ...base, rules: ['TW.99'] }, /"rules" names "TW\.99", which no loaded rule has/],
    [{ ...base, expires: '31/12/2026' }, /"expires" must be an ISO date/],
    [{ ...base, expires: '2026-02-30' }, /"expires" must be an ISO date/],
    [{ id: 'e1', rules: '*', reason: 'r' }, /at least one condition is required/],
    [
      { ...base, sourceIp: '10.0.0.0/33' },
      /"sourceIp" must hold IP addresses or CIDR blocks, found "10\.0\.0\.0\/33"/,
    ],
    [{ ...base, sourceIp: 'office' }, /"sourceIp" must hold IP addresses or CIDR blocks/],
    [{ ...base, region: [] }, /"region" must be a non-empty string or array of strings/],
    [{ ...base, principal: 'x' }, /unknown field "principal"/],
    [{ ...base, id: 'bad id' }, /exception #1: "id" must be/],
  ])('%j', (entry, message) => {
    // Act + Assess
    expect(() => validateExceptions([entry], 'ex.json', ids)).toThrow(message);
    expect(() => validateExceptions([entry], 'ex.json', ids)).toThrow(/^ex\.json: exception /);
    expect(() => validateExceptions([entry], 'ex.json', ids)).toThrow(RulesError);
  });

  it('refuses a duplicate id, a non-array file, an unreadable or invalid JSON file', async () => {
    // Act + Assess
    expect(() => validateExceptions([base, base], 'ex.json', ids)).toThrow(/exception "e1": id already used/);
    expect(() => validateExceptions({}, 'ex.json', ids)).toThrow(
      /^ex\.json: expected a JSON array of exceptions/,
    );
    await expect(loadExceptions(defaultRules(), { exceptionsFile: '/nonexistent.json' })).rejects.toThrow(
      /^\/nonexistent\.json: cannot read the exceptions file/,
    );
    await expect(
      loadExceptions(defaultRules(), { exceptionsFile: resolve(fixtures, '../rules/not-an-array.json') }),
    ).rejects.toThrow(/expected a JSON array of exceptions/);
  });
});

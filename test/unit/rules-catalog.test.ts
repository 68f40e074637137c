import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogRules, defaultRules, MAX_TITLE_LENGTH, packRules } from '#shared/rules/load.ts';
import { compilePattern, parsePattern } from '#shared/rules/pattern/index.ts';
import type { RuleExamples } from '#shared/rules/rule-types.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const examplesDir = resolve(repoRoot, 'shared/rules/examples');
const formatDoc = resolve(repoRoot, 'docs/cloudtrail-format.md');

function examplesOf(id: string): RuleExamples {
  return JSON.parse(readFileSync(resolve(examplesDir, `${id}.json`), 'utf8')) as RuleExamples;
}

/** The CIS / Security Hub patterns as docs/cloudtrail-format.md section 4.2 prints them: one block per rule id. */
function documentedPatterns(): Map<string, string> {
  const text = readFileSync(formatDoc, 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^#### ((?:CloudWatch|CIS)\.[\d.]+): .+\n\n```text\n(.+)\n```$/gm))
    out.set(m[1], m[2]);
  return out;
}

describe('rule catalog', () => {
  const rules = catalogRules();

  it('holds CloudWatch.1-14, CIS 4.15 and the strict CIS 4.1, with the documented patterns verbatim', () => {
    // Prepare
    const documented = documentedPatterns();

    // Act
    const ids = rules.map((r) => r.id);
    const patterns = new Map(rules.map((r) => [r.id, r.pattern]));

    // Assess
    expect(ids).toEqual([
      ...Array.from({ length: 14 }, (_, i) => `CloudWatch.${i + 1}`),
      'CIS.4.15',
      'CIS.4.1',
    ]);
    expect(documented.size).toBe(16);
    expect(patterns).toEqual(documented);
  });

  it('parses every pattern; titles fit a subject; metric names are distinct', () => {
    // Act
    const parsed = rules.map((r) => parsePattern(r.pattern));

    // Assess
    expect(parsed).toHaveLength(rules.length);
    for (const r of rules) {
      expect(r.title.length).toBeLessThanOrEqual(MAX_TITLE_LENGTH);
      expect(r.title).toMatch(/^[\x20-\x7e]+$/);
      expect(r.description.length).toBeGreaterThan(20);
      expect(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']).toContain(r.severity);
    }
    expect(new Set(rules.map((r) => r.metricName)).size).toBe(rules.length);
    expect(rules.find((r) => r.id === 'CloudWatch.3')?.title).toBe('Console sign-in without MFA');
  });

  it('has an examples file for every catalog and pack rule and none for unknown rules', () => {
    // Act
    const files = readdirSync(examplesDir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''))
      .sort();

    // Assess
    expect(files).toEqual([...rules, ...packRules()].map((r) => r.id).sort());
  });

  describe.each(rules.map((r) => [r.id, r] as const))('%s', (_id, rule) => {
    const examples = examplesOf(rule.id);
    const test = compilePattern(rule.pattern).test;

    it('has at least one positive and one negative example', () => {
      // Assess
      expect(examples.positive.length).toBeGreaterThan(0);
      expect(examples.negative.length).toBeGreaterThan(0);
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

  it('defaultRules() is the catalog, the pack and the bundled (empty) custom rules, loaded once', () => {
    // Act
    const first = defaultRules();
    const second = defaultRules();

    // Assess
    expect(first.map((r) => r.id)).toEqual([...rules, ...packRules()].map((r) => r.id));
    expect(second).toBe(first);
    expect(JSON.parse(readFileSync(resolve(repoRoot, 'shared/rules/custom-rules.json'), 'utf8'))).toEqual([]);
  });
});

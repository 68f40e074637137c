import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildSigmaBundle, bundleText } from '#cli/rules-bundle.ts';
import { defaultRules } from '#shared/rules/load.ts';
import { bundledSigmaRules, loadSigmaSources } from '#shared/rules/sigma/bundled.ts';
import { SIGMA_BUNDLE_FILE } from '#shared/rules/sigma/collections.cjs';
import { parseSigmaFiles, SigmaError } from '#shared/rules/sigma/index.ts';

const root = resolve(import.meta.dirname, '../..');
const dir = 'shared/rules/sigma/sigmahq';
const files = readdirSync(join(root, dir))
  .filter((f) => f.endsWith('.yml'))
  .sort();
const sources = files.map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(root, dir, f), 'utf8') }));

/**
 * SigmaHQ rules trailwatch leaves out, with the reason it gives. Empty: every one of the 57 loads. A rule
 * added here must carry the exact message, so a change in what is rejected, or why, fails this test.
 */
const REJECTED: Record<string, string> = {};

describe('SigmaHQ CloudTrail rules, vendored', () => {
  it('are the 57 files of the rule set, unmodified, with the licence and attribution beside them', () => {
    // Prepare
    const sums = readFileSync(join(root, dir, 'SHA256SUMS'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+\*?/));

    // Assess
    expect(files).toHaveLength(57);
    expect(sums.map(([, f]) => f).sort()).toEqual(files);
    for (const [sum, f] of sums) {
      expect(
        createHash('sha256')
          .update(readFileSync(join(root, dir, f)))
          .digest('hex'),
        f,
      ).toBe(sum);
    }
    expect(readFileSync(join(root, dir, 'LICENSE.Detection.Rules.md'), 'utf8')).toContain(
      'Detection Rule License (DRL) 1.1',
    );
    const attribution = readFileSync(join(root, dir, 'ATTRIBUTION.md'), 'utf8');
    expect(attribution).toContain('https://github.com/SigmaHQ/sigma');
    expect(attribution).toContain('8eaafff1f2845a696050e05e72ba1140ee190698');
  });

  it('all load, or are rejected with a precise reason; at least 55 load', () => {
    // Act
    const { rules, rejected } = parseSigmaFiles(sources);

    // Assess
    expect(Object.fromEntries(rejected.map((e) => [e.file, e.message]))).toEqual(REJECTED);
    expect(rules.length).toBeGreaterThanOrEqual(55);
    expect(rules.length + rejected.length).toBe(57);
    for (const r of rules) {
      expect(r.sigma?.author, r.origin).toMatch(/\S/);
      expect(r.id).toBe(r.sigma?.id);
      expect(r.metricName).toMatch(/^Sigma_aws_/);
    }
    expect(new Set(rules.map((r) => r.metricName)).size).toBe(rules.length);
  });

  it('map level to severity: informational and low to LOW, then MEDIUM, HIGH, CRITICAL', () => {
    // Act
    const { rules } = parseSigmaFiles(sources);

    // Assess
    for (const r of rules) {
      expect(r.severity).toBe(
        { low: 'LOW', medium: 'MEDIUM', high: 'HIGH', critical: 'CRITICAL' }[r.sigma!.level as string],
      );
    }
  });

  it('a vendored rule that cannot run is left out and listed; a custom one stops the load', () => {
    // Prepare
    const bad = { file: 'x/bad.yml', text: sources[0].text.replace('product: aws', 'product: gcp') };

    // Act
    const vendored = loadSigmaSources([
      { ...sources[1], vendored: true },
      { ...bad, vendored: true },
    ]);

    // Assess
    expect(vendored.rules).toHaveLength(1);
    expect(vendored.rejected.map((e) => e.file)).toEqual(['x/bad.yml']);
    expect(vendored.rejected[0].message).toMatch(
      /^x\/bad\.yml: rule [0-9a-f-]+ ".+": logsource: expected product: aws, service: cloudtrail/,
    );
    expect(() => loadSigmaSources([{ ...bad, vendored: false }])).toThrow(SigmaError);
  });

  it('the bundle the functions load is the folders as they are, and the catalog carries its rules', () => {
    // Act
    const bundle = buildSigmaBundle(root);
    const loaded = bundledSigmaRules();

    // Assess
    expect(readFileSync(join(root, SIGMA_BUNDLE_FILE), 'utf8'), 'run npm run rules:bundle').toBe(
      bundleText(bundle),
    );
    expect(bundle.rejected).toEqual([]);
    expect(loaded.rules.map((r) => r.id)).toEqual(bundle.rules.map((r) => r.id));
    const ids = new Set(defaultRules().map((r) => r.id));
    for (const r of bundle.rules) expect(ids.has(r.id)).toBe(true);
  });
});

/**
 * `npm run rules:bundle` (and the first step of `npm run build`): gathers the Sigma files of
 * shared/rules/sigma/collections.cjs, unmodified, into shared/rules/sigma/bundle.json, which the Lambdas and
 * the CLI import and deploy/rule-alarms.cjs reads. A custom rule that does not load stops it with the reason.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { bundleSources, loadSigmaSources, type SigmaBundle } from '#shared/rules/sigma/bundled.ts';
import { SIGMA_BUNDLE_FILE, SIGMA_COLLECTIONS } from '#shared/rules/sigma/collections.cjs';
import { SigmaError } from '#shared/rules/sigma/errors.ts';
import { sigmaDocuments } from '#shared/rules/sigma/load-sigma.ts';

/** Parsed documents; a vendored file that is not valid YAML keeps none, and the loader says why from its text. */
function documentsOf(file: string, text: string, vendored: boolean): unknown[] {
  try {
    return sigmaDocuments(file, text);
  } catch (err) {
    if (vendored && err instanceof SigmaError) return [];
    throw err;
  }
}

/** The bundle the files under `root` make. Throws SigmaError for a non-vendored rule that does not load. */
export function buildSigmaBundle(root: string): SigmaBundle {
  const files: SigmaBundle['files'] = [];
  for (const c of SIGMA_COLLECTIONS) {
    const names = readdirSync(join(root, c.dir))
      .filter((n) => /\.ya?ml$/i.test(n))
      .sort();
    for (const n of names) {
      const file = `${c.dir}/${n}`;
      const text = readFileSync(join(root, c.dir, n), 'utf8');
      files.push({ collection: c.dir, file, text, documents: documentsOf(file, text, c.vendored) });
    }
  }
  const partial: SigmaBundle = { generatedBy: 'npm run rules:bundle', files, rules: [], rejected: [] };
  const { rules, rejected } = loadSigmaSources(bundleSources(partial));
  return {
    ...partial,
    rules: rules.map((r) => ({
      id: r.id,
      title: r.title,
      severity: r.severity,
      metricName: r.metricName,
      file: r.origin,
    })),
    rejected: rejected.map((e) => ({
      file: e.file ?? '',
      ruleId: e.ruleId ?? null,
      title: e.ruleTitle ?? null,
      reason: e.message,
    })),
  };
}

export function bundleText(bundle: SigmaBundle): string {
  return `${JSON.stringify(bundle, null, 2)}\n`;
}

if (import.meta.main) {
  const root = resolve(import.meta.dirname, '..');
  const bundle = buildSigmaBundle(root);
  writeFileSync(join(root, SIGMA_BUNDLE_FILE), bundleText(bundle));
  process.stdout.write(
    `${SIGMA_BUNDLE_FILE}: ${bundle.files.length} files, ${bundle.rules.length} rules, ${bundle.rejected.length} left out\n`,
  );
}

/**
 * The Sigma rules a deployment carries, from shared/rules/sigma/bundle.json (the folders of
 * collections.cjs, texts unmodified, bundled by `npm run rules:bundle`).
 */
import type { Rule } from '#shared/rules/rule-types.ts';
import bundleJson from '#shared/rules/sigma/bundle.json' with { type: 'json' };
import { SIGMA_COLLECTIONS } from '#shared/rules/sigma/collections.cjs';
import { SigmaError } from '#shared/rules/sigma/errors.ts';
import { parseSigmaFile, type SigmaSource } from '#shared/rules/sigma/load-sigma.ts';

export interface SigmaBundle {
  generatedBy: string;
  /** Each file's text as written, and its YAML documents parsed (what the functions load). */
  files: { collection: string; file: string; text: string; documents: unknown[] }[];
  /** What deploy/rule-alarms.cjs needs of each alerting rule. */
  rules: { id: string; title: string; severity: string; metricName: string; file: string }[];
  /** Vendored rules left out, with why. */
  rejected: { file: string; ruleId: string | null; title: string | null; reason: string }[];
}

const CUSTOM_DIR = 'shared/rules/sigma/custom';

/** The bundle's files as loader sources, each with its collection's source and licence. */
export function bundleSources(
  bundle: SigmaBundle,
  options: { custom?: boolean } = {},
): (SigmaSource & { vendored: boolean })[] {
  return bundle.files
    .filter((f) => options.custom !== false || f.collection !== CUSTOM_DIR)
    .map((f) => {
      const c = SIGMA_COLLECTIONS.find((x) => x.dir === f.collection);
      if (!c)
        throw new SigmaError(
          'collection',
          `one of ${SIGMA_COLLECTIONS.map((x) => x.dir).join(', ')}`,
          f.collection,
          { file: f.file },
        );
      return {
        file: f.file,
        text: f.text,
        documents: f.documents,
        source: `${c.source}, ${f.file}`,
        ...(c.license ? { license: c.license } : {}),
        vendored: c.vendored,
      };
    });
}

/**
 * Rules of the given sources: a vendored rule trailwatch cannot run is left out and returned in `rejected`;
 * any other throws {@link SigmaError}.
 */
export function loadSigmaSources(sources: (SigmaSource & { vendored: boolean })[]): {
  rules: Rule[];
  rejected: SigmaError[];
} {
  const rules: Rule[] = [];
  const rejected: SigmaError[] = [];
  for (const src of sources) {
    try {
      rules.push(...parseSigmaFile(src));
    } catch (err) {
      if (!(err instanceof SigmaError) || !src.vendored) throw err;
      rejected.push(err);
    }
  }
  return { rules, rejected };
}

/** The bundled Sigma rules (with the custom folder unless `custom: false`). */
export function bundledSigmaRules(options: { custom?: boolean } = {}): {
  rules: Rule[];
  rejected: SigmaError[];
} {
  return loadSigmaSources(bundleSources(bundleJson as SigmaBundle, options));
}

/**
 * The layers hold: shared/ is the domain the Lambdas run (it imports neither the functions nor the CLI, and
 * only its adapters talk to AWS), the adapters import nothing from the functions, and nothing under shared/
 * is code that only the CLI reaches.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const CODE = /\.(ts|cjs)$/;

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

/** Import specifiers of a file: static and dynamic imports, re-exports, require. */
function specifiers(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:\bfrom\s+|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm,
  ))
    out.push(m[1]);
  return out;
}

/** A specifier as a path in the repository, or undefined for a package. */
function resolveSpecifier(from: string, spec: string): string | undefined {
  if (spec.startsWith('#')) {
    const [alias, ...rest] = spec.slice(1).split('/');
    return join(alias, ...rest);
  }
  if (spec.startsWith('.')) return relative(root, resolve(root, dirname(from), spec));
  return undefined;
}

const layers = {
  shared: filesUnder('shared').filter((f) => CODE.test(f) && !f.endsWith('.d.cts')),
  functions: filesUnder('functions').filter((f) => CODE.test(f)),
  cli: filesUnder('cli').filter((f) => CODE.test(f)),
};

describe('architecture', () => {
  it('shared/ imports nothing from functions/ or cli/', () => {
    const wrong = layers.shared.flatMap((f) =>
      specifiers(f)
        .map((s) => resolveSpecifier(f, s))
        .filter((p): p is string => p !== undefined && /^(functions|cli)\//.test(p))
        .map((p) => `${f} -> ${p}`),
    );
    expect(wrong).toEqual([]);
  });

  it('only shared/adapters/ talks to AWS, and the domain uses no Lambda tooling', () => {
    const domain = layers.shared.filter((f) => !f.startsWith('shared/adapters/'));
    const wrong = domain.flatMap((f) =>
      specifiers(f)
        .filter((s) => /^@aws-sdk\/|^@aws-lambda-powertools\/|^@middy\/|^aws-lambda$/.test(s))
        .map((s) => `${f} -> ${s}`),
    );
    expect(wrong).toEqual([]);
    // The adapters do talk to AWS: the rule above is not vacuous.
    expect(
      layers.shared.some(
        (f) => f.startsWith('shared/adapters/') && specifiers(f).some((s) => s.startsWith('@aws-sdk/')),
      ),
    ).toBe(true);
  });

  it('adapters import nothing from the functions', () => {
    const adapters = layers.shared.filter((f) => f.startsWith('shared/adapters/'));
    const wrong = adapters.flatMap((f) =>
      specifiers(f)
        .map((s) => resolveSpecifier(f, s))
        .filter((p): p is string => p?.startsWith('functions/') === true)
        .map((p) => `${f} -> ${p}`),
    );
    expect(adapters.length).toBeGreaterThan(0);
    expect(wrong).toEqual([]);
  });

  it('every code file under shared/ is reached from a Lambda entry (none is only the CLI’s)', () => {
    const entries = [
      'functions/ingest.ts',
      'functions/verify.ts',
      'functions/detect.ts',
      'functions/watchdog.ts',
    ];
    const seen = new Set<string>();
    const queue = [...entries];
    while (queue.length > 0) {
      const f = queue.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      if (!CODE.test(f)) continue;
      for (const s of specifiers(f)) {
        const p = resolveSpecifier(f, s);
        if (p && !seen.has(p)) queue.push(p);
      }
    }
    const unreached = layers.shared.filter((f) => !seen.has(f));
    expect(unreached).toEqual([]);
    expect(seen.has('shared/pipeline/ingest-log-files.ts')).toBe(true);
  });

  it('no two source files share a base name across functions/, shared/ and cli/', () => {
    // index.ts (an area's public surface) and errors.ts (an area's error class) are names by convention.
    const conventional = new Set(['index', 'errors']);
    const byName = new Map<string, string[]>();
    for (const f of [...layers.functions, ...layers.shared, ...layers.cli]) {
      const base = f
        .split('/')
        .pop()!
        .replace(/\.(d\.cts|ts|cjs)$/, '');
      if (conventional.has(base)) continue;
      byName.set(base, [...(byName.get(base) ?? []), f]);
    }
    const clashes = [...byName].filter(([, files]) => files.length > 1);
    expect(clashes).toEqual([]);
  });
});

/**
 * What a rule matches: its filter pattern, and its `fieldsDiffer` comparisons when it has them. The one
 * place ingest, the examples check and `rules test` turn a rule into a record test.
 */
import { compileGetter } from '#shared/rules/pattern/compile.ts';
import { compilePattern, type Matcher, parsePattern } from '#shared/rules/pattern/index.ts';
import type { Rule } from '#shared/rules/rule-types.ts';

/** Throws PatternError when a selector of `fieldsDiffer` is not a plain one (`$.a.b[0]`, no wildcard). */
export function compileFieldsDiffer(pairs: readonly (readonly [string, string])[]): Matcher {
  const tests = pairs.map(([a, b]) => {
    const getA = compileGetter(selectorPath(a));
    const getB = compileGetter(selectorPath(b));
    return (r: unknown) => {
      const x = getA(r);
      if (typeof x !== 'string' && typeof x !== 'number') return false;
      return getB(r) !== x;
    };
  });
  return (r) => tests.every((t) => t(r));
}

/** The path of a lone selector, read with the filter-pattern grammar (`$.a` → `{ $.a NOT EXISTS }`). */
export function selectorPath(selector: string): readonly (string | number)[] {
  const node = parsePattern(`{ ${selector} NOT EXISTS }`);
  if (node.type !== 'notExists') throw new TypeError(`not a lone selector: ${selector}`);
  if (node.path.some((s) => typeof s === 'object'))
    throw new TypeError(`a compared selector cannot hold a wildcard: ${selector}`);
  return node.path as (string | number)[];
}

export function ruleMatcher(rule: Pick<Rule, 'pattern' | 'fieldsDiffer'>): Matcher {
  const pattern = compilePattern(rule.pattern).test;
  if (!rule.fieldsDiffer || rule.fieldsDiffer.length === 0) return pattern;
  const differ = compileFieldsDiffer(rule.fieldsDiffer);
  return (r) => pattern(r) && differ(r);
}

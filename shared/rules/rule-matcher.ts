/**
 * What a rule matches: its filter pattern, and its `fieldsDiffer` comparisons when it has them; for a Sigma
 * rule its detection, and for a count rule the events it counts. The one place ingest, the examples check
 * and `rules test` turn a rule into a record test.
 */
import { compileGetter, wildcardShape } from '#shared/rules/pattern/compile.ts';
import { compilePattern, type Matcher, type Node, parsePattern } from '#shared/rules/pattern/index.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import { sigmaMatcher } from '#shared/rules/sigma/index.ts';

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

export function ruleMatcher(rule: Pick<Rule, 'pattern' | 'fieldsDiffer' | 'sigma'>): Matcher {
  if (rule.sigma) return sigmaMatcher(rule.sigma).match;
  const pattern = compilePattern(rule.pattern).test;
  if (!rule.fieldsDiffer || rule.fieldsDiffer.length === 0) return pattern;
  const differ = compileFieldsDiffer(rule.fieldsDiffer);
  return (r) => pattern(r) && differ(r);
}

/**
 * The lower-cased `eventName` (or `eventSource`) values of which a record must carry one for the rule to
 * match, when its pattern or detection says so plainly: the evaluator tries the rule only on such records.
 * Undefined when the rule may match any record.
 */
export interface RuleDispatch {
  eventNames?: ReadonlySet<string>;
  eventSources?: ReadonlySet<string>;
}

export function ruleDispatch(rule: Pick<Rule, 'pattern' | 'sigma'>): RuleDispatch {
  if (rule.sigma) {
    const { eventNames, eventSources } = sigmaMatcher(rule.sigma);
    return eventNames ? { eventNames } : eventSources ? { eventSources } : {};
  }
  const ast = compilePattern(rule.pattern).ast;
  const eventNames = requiredValues(ast, 'eventName');
  if (eventNames) return { eventNames };
  const eventSources = requiredValues(ast, 'eventSource');
  return eventSources ? { eventSources } : {};
}

/**
 * Values one of which the top-level `field` must hold (as text, lower-cased) for `node` to hold: from
 * `$.field = "X"` without wildcards (`X` and the number X both match it, and String of either is `X`), a
 * conjunction holding such a condition, or a disjunction made of them only.
 */
function requiredValues(node: Node, field: string): Set<string> | undefined {
  switch (node.type) {
    case 'compare': {
      const { path, op, value } = node;
      if (path.length !== 1 || path[0] !== field || op !== '=' || value.kind !== 'string') return undefined;
      const shape = wildcardShape(value.value);
      return shape.kind === 'exact' ? new Set([shape.text.toLowerCase()]) : undefined;
    }
    case 'and': {
      let best: Set<string> | undefined;
      for (const item of node.items) {
        const set = requiredValues(item, field);
        if (set && (!best || set.size < best.size)) best = set;
      }
      return best;
    }
    case 'or': {
      const out = new Set<string>();
      for (const item of node.items) {
        const set = requiredValues(item, field);
        if (!set) return undefined;
        for (const v of set) out.add(v);
      }
      return out;
    }
    default:
      return undefined;
  }
}

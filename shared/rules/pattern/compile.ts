/**
 * Compiles a filter-pattern syntax tree into one closure per node, so a record is tested without
 * re-reading the pattern, allocating, or building regular expressions.
 *
 * Semantics (CloudWatch Logs metric filters on JSON events; see the README section "Filter patterns"):
 *
 * - A selector resolves `$.a.b[0]` step by step: a property needs a JSON object that owns it, an index
 *   needs an array long enough. Anything else (missing key, `null` or a string on the way, array where an
 *   object was expected) means the field does not exist.
 * - `=`, `!=`, `<`, `>`, `<=`, `>=` only ever match when the field exists and holds a string or a number
 *   (CloudWatch: "the selector must point to a value node"). So `!=` does NOT match a missing field, nor a
 *   null, boolean, object or array: `{ $.additionalEventData.MFAUsed != "Yes" }` is false for a record
 *   without `MFAUsed`, exactly as CloudWatch's metric filters behave (its Logs Insights `!=` differs).
 *   Write `($.f NOT EXISTS || $.f != "x")` to also catch absent fields.
 * - String values (quoted or bare): a leading `*` matches any prefix, a trailing `*` any suffix, `*` alone
 *   any value; an inner `*` is a literal star. A number field is compared as its decimal text (`String(n)`),
 *   so `$.status = 4*` matches 404.
 * - Number values (bare tokens such as `22`, `-1.5`, `10e3`) compare numerically; a string field takes
 *   part when its whole text is a number in the same grammar (`"22"` = 22), otherwise `=` and relational
 *   operators are false and `!=` is true (the field exists and does not equal the number).
 * - `%regex%` matches anywhere in the string (or the decimal text of a number) unless anchored.
 * - `NOT EXISTS` is true only when the field is absent (a `null` field exists); `IS NULL` only for `null`;
 *   `IS TRUE` / `IS FALSE` only for JSON booleans (not the strings "true"/"false").
 * - `&&` binds tighter than `||`; records of any shape (including non-objects) never throw.
 * - Wildcards: `$.a[*]` steps into every element of an array, `$.*` into every property value of an object
 *   (anything else yields nothing). A selector with wildcards points at every value it reaches, and a
 *   condition holds when ONE of them satisfies it (`$.a[*] != "x"` holds when some element is a value
 *   other than "x"); `NOT EXISTS` holds when it reaches none. `$.['cluster.name']` is the property
 *   named `cluster.name`, not a path.
 */
import type { Compare, Literal, Node, Path, Segment, Wildcard } from '#shared/rules/pattern/ast.ts';
import { isNumberText } from '#shared/rules/pattern/parser.ts';

export type Matcher = (record: unknown) => boolean;
type Getter = (root: unknown) => unknown;
type ValueTest = (v: unknown) => boolean;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keys a plain object inherits: they need an own-property check, others are read directly. */
function inherited(key: string): boolean {
  return key in Object.prototype;
}

function propStep(key: string): Getter {
  if (inherited(key)) return (v) => (isObject(v) && Object.hasOwn(v, key) ? v[key] : undefined);
  return (v) => (isObject(v) ? v[key] : undefined);
}

function indexStep(i: number): Getter {
  return (v) => (Array.isArray(v) && i < v.length ? v[i] : undefined);
}

function isWildcard(seg: Segment): seg is Wildcard {
  return typeof seg === 'object';
}

export function hasWildcard(path: Path): boolean {
  return path.some(isWildcard);
}

/** Every value a path with wildcards reaches, in document order. */
function compileCollector(path: Path): (root: unknown) => unknown[] {
  const steps = path.map((seg): ((v: unknown, out: unknown[]) => void) => {
    if (typeof seg === 'number') {
      return (v, out) => {
        if (Array.isArray(v) && seg < v.length) out.push(v[seg]);
      };
    }
    if (typeof seg === 'string') {
      return (v, out) => {
        if (isObject(v) && Object.hasOwn(v, seg)) out.push(v[seg]);
      };
    }
    if (seg.any === 'element') {
      return (v, out) => {
        if (Array.isArray(v)) for (const x of v) out.push(x);
      };
    }
    return (v, out) => {
      if (isObject(v)) for (const k of Object.keys(v)) out.push(v[k]);
    };
  });
  return (root) => {
    let cur: unknown[] = [root];
    for (const step of steps) {
      const next: unknown[] = [];
      for (const v of cur) step(v, next);
      if (next.length === 0) return next;
      cur = next;
    }
    return cur;
  };
}

/** A matcher that applies `test` to the value `path` points at, or to any of them with wildcards. */
export function compileAt(path: Path, test: (v: unknown) => boolean): Matcher {
  if (!hasWildcard(path)) {
    const get = compileGetter(path);
    return (r) => test(get(r));
  }
  const collect = compileCollector(path);
  return (r) => collect(r).some(test);
}

/** `undefined` means "does not exist": parsed JSON never holds `undefined`. Paths without wildcards only. */
export function compileGetter(path: Path): Getter {
  const plain = path.every((k) => typeof k === 'string' && !inherited(k));
  if (plain && path.length === 1) {
    const [a] = path as string[];
    return (r) => (isObject(r) ? r[a] : undefined);
  }
  if (plain && path.length === 2) {
    const [a, b] = path as string[];
    return (r) => {
      if (!isObject(r)) return undefined;
      const x = r[a];
      return isObject(x) ? x[b] : undefined;
    };
  }
  if (plain && path.length === 3) {
    const [a, b, c] = path as string[];
    return (r) => {
      if (!isObject(r)) return undefined;
      const x = r[a];
      if (!isObject(x)) return undefined;
      const y = x[b];
      return isObject(y) ? y[c] : undefined;
    };
  }
  const steps = path.map((k) => {
    if (typeof k === 'number') return indexStep(k);
    if (typeof k === 'string') return propStep(k);
    throw new TypeError('compileGetter: a path with wildcards has no single value; use compileAt');
  });
  return (r) => {
    let v: unknown = r;
    for (const step of steps) {
      v = step(v);
      if (v === undefined) return undefined;
    }
    return v;
  };
}

/** Splits a string literal into its wildcard form. */
export function wildcardShape(value: string): {
  kind: 'exact' | 'prefix' | 'suffix' | 'contains';
  text: string;
} {
  let text = value;
  const lead = text.startsWith('*');
  if (lead) text = text.slice(1);
  const trail = text.endsWith('*');
  if (trail) text = text.slice(0, -1);
  if (lead && trail) return { kind: 'contains', text };
  if (lead) return { kind: 'suffix', text };
  if (trail) return { kind: 'prefix', text };
  return { kind: 'exact', text };
}

function stringTest(value: string): (s: string) => boolean {
  const { kind, text } = wildcardShape(value);
  switch (kind) {
    case 'exact':
      return (s) => s === text;
    case 'prefix':
      return (s) => s.startsWith(text);
    case 'suffix':
      return (s) => s.endsWith(text);
    case 'contains':
      return text === '' ? () => true : (s) => s.includes(text);
  }
}

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && isNumberText(v)) return Number(v);
  return Number.NaN;
}

function isValueNode(v: unknown): v is string | number {
  return typeof v === 'string' || typeof v === 'number';
}

/** The test for `=`; `!=` is "a value node that fails it". */
function equalityTest(lit: Literal): ValueTest {
  switch (lit.kind) {
    case 'string': {
      const t = stringTest(lit.value);
      return (v) => (typeof v === 'string' ? t(v) : typeof v === 'number' && t(String(v)));
    }
    case 'number': {
      const n = lit.value;
      return (v) => toNumber(v) === n;
    }
    case 'regex': {
      const re = new RegExp(lit.source);
      return (v) => (typeof v === 'string' ? re.test(v) : typeof v === 'number' && re.test(String(v)));
    }
  }
}

function valueTest(node: Compare): ValueTest {
  const { op, value } = node;
  if (op === '=') return equalityTest(value);
  if (op === '!=') {
    const eq = equalityTest(value);
    return (v) => isValueNode(v) && !eq(v);
  }
  // The parser only lets numbers through here.
  const n = value.kind === 'number' ? value.value : Number.NaN;
  switch (op) {
    case '<':
      return (v) => toNumber(v) < n;
    case '>':
      return (v) => toNumber(v) > n;
    case '<=':
      return (v) => toNumber(v) <= n;
    case '>=':
      return (v) => toNumber(v) >= n;
  }
}

function compileCompare(node: Compare): Matcher {
  return compileAt(node.path, valueTest(node));
}

function allOf(fs: Matcher[]): Matcher {
  if (fs.length === 1) return fs[0];
  if (fs.length === 2) {
    const [a, b] = fs;
    return (r) => a(r) && b(r);
  }
  return (r) => {
    for (const f of fs) if (!f(r)) return false;
    return true;
  };
}

function anyOf(fs: Matcher[]): Matcher {
  if (fs.length === 1) return fs[0];
  if (fs.length === 2) {
    const [a, b] = fs;
    return (r) => a(r) || b(r);
  }
  return (r) => {
    for (const f of fs) if (f(r)) return true;
    return false;
  };
}

function isExactEquality(n: Node): n is Compare & { value: { kind: 'string'; value: string } } {
  return (
    n.type === 'compare' &&
    n.op === '=' &&
    n.value.kind === 'string' &&
    wildcardShape(n.value.value).kind === 'exact'
  );
}

/**
 * `($.eventName = A) || ($.eventName = B) || ...`, the shape of most CIS rules, becomes one Set lookup:
 * exact string equalities on the same selector inside one `||` are merged.
 */
function compileOr(items: Node[]): Matcher {
  const groups = new Map<string, { path: Path; values: string[] }>();
  const rest: Node[] = [];
  for (const item of items) {
    if (isExactEquality(item)) {
      const key = JSON.stringify(item.path);
      const g = groups.get(key) ?? { path: item.path, values: [] };
      g.values.push(item.value.value);
      groups.set(key, g);
    } else {
      rest.push(item);
    }
  }
  const fs: Matcher[] = [];
  for (const g of groups.values()) {
    if (g.values.length < 3) {
      for (const v of g.values) {
        fs.push(
          compileCompare({
            type: 'compare',
            path: g.path,
            op: '=',
            value: { kind: 'string', value: v, quoted: true },
          }),
        );
      }
      continue;
    }
    const set = new Set(g.values);
    fs.push(
      compileAt(g.path, (v) =>
        typeof v === 'string' ? set.has(v) : typeof v === 'number' && set.has(String(v)),
      ),
    );
  }
  for (const n of rest) fs.push(compileNode(n));
  return anyOf(fs);
}

export function compileNode(node: Node): Matcher {
  switch (node.type) {
    case 'compare':
      return compileCompare(node);
    case 'notExists': {
      const exists = compileAt(node.path, (v) => v !== undefined);
      return (r) => !exists(r);
    }
    case 'isNull':
      return compileAt(node.path, (v) => v === null);
    case 'isBoolean': {
      const want = node.value;
      return compileAt(node.path, (v) => v === want);
    }
    case 'and':
      return allOf(node.items.map(compileNode));
    case 'or':
      return compileOr(node.items);
  }
}

/**
 * A deliberately plain interpreter of the pattern tree: it walks the tree for every record and builds
 * regular expressions on the fly. Too slow for ingest; it exists as an independent statement of the
 * semantics (see compile.ts) that the compiled matchers are checked against.
 */
import type { Literal, Node, Path } from '#shared/rules/pattern/ast.ts';

/** Every value the path reaches: one at most without wildcards, any number with them. */
function lookup(record: unknown, path: Path): unknown[] {
  let found: unknown[] = [record];
  for (const seg of path) {
    const next: unknown[] = [];
    for (const cur of found) {
      const isObj = cur !== null && typeof cur === 'object' && !Array.isArray(cur);
      if (typeof seg === 'number') {
        if (Array.isArray(cur) && seg < cur.length) next.push(cur[seg]);
      } else if (typeof seg === 'string') {
        if (isObj && Object.hasOwn(cur, seg)) next.push((cur as Record<string, unknown>)[seg]);
      } else if (seg.any === 'element') {
        if (Array.isArray(cur)) next.push(...cur);
      } else if (isObj) {
        next.push(...Object.values(cur as Record<string, unknown>));
      }
    }
    found = next;
  }
  return found;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function wildcardRegExp(value: string): RegExp {
  let body = value;
  let lead = '';
  let trail = '';
  if (body.startsWith('*')) {
    lead = '[\\s\\S]*';
    body = body.slice(1);
  }
  if (body.endsWith('*')) {
    trail = '[\\s\\S]*';
    body = body.slice(0, -1);
  }
  return new RegExp(`^${lead}${escapeRegExp(body)}${trail}$`);
}

function asNumber(v: string | number): number {
  if (typeof v === 'number') return v;
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v) ? Number.parseFloat(v) : Number.NaN;
}

function equals(v: string | number, lit: Literal): boolean {
  const text = typeof v === 'number' ? `${v}` : v;
  if (lit.kind === 'string') return wildcardRegExp(lit.value).test(text);
  if (lit.kind === 'regex') return new RegExp(lit.source).test(text);
  return asNumber(v) === lit.value;
}

/** A condition on a selector holds when one of the values it reaches satisfies it. */
export function evaluateReference(node: Node, record: unknown): boolean {
  switch (node.type) {
    case 'and':
      return node.items.every((n) => evaluateReference(n, record));
    case 'or':
      return node.items.some((n) => evaluateReference(n, record));
    case 'notExists':
      return lookup(record, node.path).length === 0;
    case 'isNull':
      return lookup(record, node.path).some((v) => v === null);
    case 'isBoolean':
      return lookup(record, node.path).some((v) => v === node.value);
    case 'compare':
      return lookup(record, node.path).some((v) => compareOne(node, v));
  }
}

function compareOne(node: Extract<Node, { type: 'compare' }>, v: unknown): boolean {
  if (typeof v !== 'string' && typeof v !== 'number') return false;
  switch (node.op) {
    case '=':
      return equals(v, node.value);
    case '!=':
      return !equals(v, node.value);
    default: {
      const x = asNumber(v);
      const n = node.value.kind === 'number' ? node.value.value : Number.NaN;
      if (node.op === '<') return x < n;
      if (node.op === '>') return x > n;
      if (node.op === '<=') return x <= n;
      return x >= n;
    }
  }
}

/**
 * A deliberately plain interpreter of the pattern tree: it walks the tree for every record and builds
 * regular expressions on the fly. Too slow for ingest; it exists as an independent statement of the
 * semantics (see compile.ts) that the compiled matchers are checked against.
 */
import type { Literal, Node, Path } from '#shared/rules/pattern/ast.ts';

type Lookup = { found: false } | { found: true; value: unknown };

function lookup(record: unknown, path: Path): Lookup {
  let cur: unknown = record;
  for (const seg of path) {
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) return { found: false };
      cur = cur[seg];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return { found: false };
      if (!Object.hasOwn(cur, seg)) return { found: false };
      cur = (cur as Record<string, unknown>)[seg];
    }
  }
  return { found: true, value: cur };
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

export function evaluateReference(node: Node, record: unknown): boolean {
  switch (node.type) {
    case 'and':
      return node.items.every((n) => evaluateReference(n, record));
    case 'or':
      return node.items.some((n) => evaluateReference(n, record));
    case 'notExists':
      return !lookup(record, node.path).found;
    case 'isNull': {
      const r = lookup(record, node.path);
      return r.found && r.value === null;
    }
    case 'isBoolean': {
      const r = lookup(record, node.path);
      return r.found && r.value === node.value;
    }
    case 'compare': {
      const r = lookup(record, node.path);
      if (!r.found) return false;
      const v = r.value;
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
  }
}

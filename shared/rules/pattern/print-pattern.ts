/** Prints a pattern tree back as filter-pattern text that parses to the same tree. */
import type { Literal, Node, Path, Segment } from '#shared/rules/pattern/ast.ts';

function formatSegment(k: Segment): string {
  if (typeof k === 'number') return `[${k}]`;
  if (typeof k === 'object') return k.any === 'element' ? '[*]' : '.*';
  return /^[A-Za-z0-9_-]+$/.test(k) ? `.${k}` : `.['${k.replace(/[\\']/g, '\\$&')}']`;
}

export function formatPath(path: Path): string {
  return `$${path.map(formatSegment).join('')}`;
}

function formatLiteral(lit: Literal): string {
  switch (lit.kind) {
    case 'string':
      return `"${lit.value.replace(/[\\"]/g, '\\$&')}"`;
    case 'number':
      return lit.text;
    case 'regex':
      return `%${lit.source}%`;
  }
}

function formatNode(node: Node): string {
  switch (node.type) {
    case 'compare':
      return `${formatPath(node.path)} ${node.op} ${formatLiteral(node.value)}`;
    case 'notExists':
      return `${formatPath(node.path)} NOT EXISTS`;
    case 'isNull':
      return `${formatPath(node.path)} IS NULL`;
    case 'isBoolean':
      return `${formatPath(node.path)} IS ${node.value ? 'TRUE' : 'FALSE'}`;
    case 'and':
    case 'or':
      return node.items
        .map((n) => (n.type === 'and' || n.type === 'or' ? `(${formatNode(n)})` : formatNode(n)))
        .join(node.type === 'and' ? ' && ' : ' || ');
  }
}

export function formatPattern(node: Node): string {
  return `{ ${formatNode(node)} }`;
}

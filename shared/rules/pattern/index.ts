/**
 * CloudWatch Logs JSON filter patterns: parse once, test records fast.
 *
 *   const p = compilePattern('{ $.eventName = "ConsoleLogin" && $.additionalEventData.MFAUsed != "Yes" }');
 *   p.test(record) // boolean, never throws
 */
import type { Node } from '#shared/rules/pattern/ast.ts';
import { compileNode, type Matcher } from '#shared/rules/pattern/compile.ts';
import { parsePattern } from '#shared/rules/pattern/parser.ts';

export type { Literal, Node, Operator, Path } from '#shared/rules/pattern/ast.ts';
export type { Matcher } from '#shared/rules/pattern/compile.ts';
export { PatternError } from '#shared/rules/pattern/errors.ts';
export { MAX_PATTERN_LENGTH, MAX_REGEX_PER_PATTERN, parsePattern } from '#shared/rules/pattern/parser.ts';
export { formatPattern } from '#shared/rules/pattern/print-pattern.ts';
export { evaluateReference } from '#shared/rules/pattern/reference.ts';

export interface CompiledPattern {
  readonly source: string;
  readonly ast: Node;
  readonly test: Matcher;
}

const cache = new Map<string, CompiledPattern>();
const CACHE_LIMIT = 1000;

/** Parses and compiles a pattern; throws PatternError. Compiled patterns are cached by their text. */
export function compilePattern(source: string): CompiledPattern {
  const hit = cache.get(source);
  if (hit) return hit;
  const ast = parsePattern(source);
  const compiled: CompiledPattern = { source, ast, test: compileNode(ast) };
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(source, compiled);
  return compiled;
}

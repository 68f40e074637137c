/**
 * The syntax tree of a CloudWatch Logs JSON filter pattern (`{ $.a.b = "x" && ... }`).
 * Produced by {@link parsePattern}, consumed by the compiler, the reference interpreter and the printer.
 */

/**
 * A wildcard step: `[*]` is any element of an array, `.*` any property value of an object. A selector with
 * wildcards can point at several values; a condition holds when one of them satisfies it.
 */
export type Wildcard = { readonly any: 'element' | 'property' };

/**
 * Property names, array indices and wildcards after `$`, e.g. `$.a[0].b` → `['a', 0, 'b']`,
 * `$.['cluster.name']` → `['cluster.name']`, `$.list[*].id` → `['list', {any: 'element'}, 'id']`.
 */
export type Segment = string | number | Wildcard;
export type Path = readonly Segment[];

export const ANY_ELEMENT: Wildcard = Object.freeze({ any: 'element' });
export const ANY_PROPERTY: Wildcard = Object.freeze({ any: 'property' });

export type EqualityOperator = '=' | '!=';
export type RelationalOperator = '<' | '>' | '<=' | '>=';
export type Operator = EqualityOperator | RelationalOperator;

/**
 * A value on the right of an operator.
 * - `string`: quoted or bare text; a leading and/or trailing `*` is a wildcard, an inner `*` is literal.
 * - `number`: a bare token that reads as a number (`22`, `-1.5`, `+1000`, `10e3`); `text` keeps its spelling.
 * - `regex`: `%...%`, matched anywhere in the value (unanchored unless it uses `^`/`$`).
 */
export type Literal =
  | { kind: 'string'; value: string; quoted: boolean }
  | { kind: 'number'; value: number; text: string }
  | { kind: 'regex'; source: string };

export interface Compare {
  type: 'compare';
  path: Path;
  op: Operator;
  value: Literal;
}

export interface NotExists {
  type: 'notExists';
  path: Path;
}

export interface IsNull {
  type: 'isNull';
  path: Path;
}

export interface IsBoolean {
  type: 'isBoolean';
  path: Path;
  value: boolean;
}

export interface And {
  type: 'and';
  items: Node[];
}

export interface Or {
  type: 'or';
  items: Node[];
}

export type Condition = Compare | NotExists | IsNull | IsBoolean;
export type Node = Condition | And | Or;

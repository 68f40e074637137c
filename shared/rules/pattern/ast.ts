/**
 * The syntax tree of a CloudWatch Logs JSON filter pattern (`{ $.a.b = "x" && ... }`).
 * Produced by {@link parsePattern}, consumed by the compiler, the reference interpreter and the printer.
 */

/** Property names and array indices after `$`, e.g. `$.a[0].b` → `['a', 0, 'b']`. */
export type Path = readonly (string | number)[];

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

import { RulesError } from '#shared/rules/errors.ts';

/** A filter pattern that cannot be used, with where (1-based column) and what went wrong. */
export class PatternError extends RulesError {
  readonly pattern: string;
  /** 1-based column of the offending character (pattern length + 1 for "end of pattern"). */
  readonly column: number;
  readonly expected: string;
  readonly found: string;

  constructor(
    pattern: string,
    column: number,
    expected: string,
    found: string,
    options?: { cause?: unknown },
  ) {
    super(`column ${column}: expected ${expected}, found ${found}`, options);
    this.pattern = pattern;
    this.column = column;
    this.expected = expected;
    this.found = found;
  }

  /** The pattern with a caret under the offending column, for terminals. */
  excerpt(): string {
    return `${this.pattern}\n${' '.repeat(Math.max(0, this.column - 1))}^`;
  }
}

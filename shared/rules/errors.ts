/**
 * The base of every error of the rules area (a rule, an exception, a filter pattern or a Sigma file that
 * cannot be used; count state that cannot be read), so a caller can tell "the rules are wrong" from any
 * other failure with one `instanceof`.
 */
export class RulesError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A problem with one entry of a rules or exceptions file: which file, and which entry when known. */
export class RuleFileError extends RulesError {
  readonly file: string;
  readonly entryId: string | undefined;
  constructor(message: string, file: string, entryId?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.file = file;
    this.entryId = entryId;
  }
}

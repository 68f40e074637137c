/**
 * A Sigma rule trailwatch cannot run as written: which file, which rule (id and title, when the file got that
 * far), which feature, and what was expected against what was found. Raised at load, never at match time.
 * The compiler does not know the file: it throws without one and the loader adds it with {@link SigmaError.at}.
 */
import { RulesError } from '#shared/rules/errors.ts';

export interface SigmaPlace {
  file?: string;
  ruleId?: string;
  ruleTitle?: string;
}

export class SigmaError extends RulesError {
  readonly file: string | undefined;
  readonly ruleId: string | undefined;
  readonly ruleTitle: string | undefined;
  /** The Sigma feature at fault, e.g. `modifier base64`, `condition`, `logsource`. */
  readonly feature: string;
  readonly expected: string;
  readonly found: string;

  constructor(
    feature: string,
    expected: string,
    found: string,
    place: SigmaPlace = {},
    options?: { cause?: unknown },
  ) {
    const rule =
      place.ruleId || place.ruleTitle
        ? `rule ${place.ruleId ?? '(no id)'}${place.ruleTitle ? ` "${place.ruleTitle}"` : ''}: `
        : '';
    super(
      `${place.file ? `${place.file}: ` : ''}${rule}${feature}: expected ${expected}, found ${found}`,
      options,
    );
    this.file = place.file;
    this.ruleId = place.ruleId;
    this.ruleTitle = place.ruleTitle;
    this.feature = feature;
    this.expected = expected;
    this.found = found;
  }

  /** The same error, placed in a file and rule (places already known are kept). */
  at(place: SigmaPlace): SigmaError {
    return new SigmaError(
      this.feature,
      this.expected,
      this.found,
      {
        file: this.file ?? place.file,
        ruleId: this.ruleId ?? place.ruleId,
        ruleTitle: this.ruleTitle ?? place.ruleTitle,
      },
      { cause: this.cause },
    );
  }
}

/** A short description of a YAML value for "found ..." in messages. */
export function describeYaml(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (v instanceof Date) return `the date ${v.toISOString().slice(0, 10)}`;
  return typeof v === 'object' ? 'a mapping' : `${typeof v} ${String(v)}`;
}

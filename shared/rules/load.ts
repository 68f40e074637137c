/**
 * Loads and validates rules: the built-in catalog, the trailwatch pack, the bundled Sigma rules (SigmaHQ's
 * CloudTrail rules, the count rules, shared/rules/sigma/custom/) plus custom rules (a JSON array in a file, or a Sigma YAML file;
 * the bundled default is shared/rules/custom-rules.json, an empty list). Every problem is reported with the
 * file, the rule and, for patterns, the column; for Sigma, the feature, what was expected and what was found.
 */
import { readFile } from 'node:fs/promises';
import { alarmLogicalId, defaultMetricName } from '#shared/metric-names.cjs';
import catalogJson from '#shared/rules/catalog.json' with { type: 'json' };
import bundledCustomJson from '#shared/rules/custom-rules.json' with { type: 'json' };
import { RuleFileError } from '#shared/rules/errors.ts';
import bundledExceptionsJson from '#shared/rules/exceptions.json' with { type: 'json' };
import { ExceptionError, ExceptionSet, validateExceptions } from '#shared/rules/exceptions.ts';
import packJson from '#shared/rules/pack.json' with { type: 'json' };
import { compilePattern, PatternError } from '#shared/rules/pattern/index.ts';
import { ruleMatcher, selectorPath } from '#shared/rules/rule-matcher.ts';
import { type Rule, type RuleExamples, SEVERITIES, type Severity } from '#shared/rules/rule-types.ts';
import { bundledSigmaRules } from '#shared/rules/sigma/bundled.ts';
import { parseSigmaFile, SigmaError } from '#shared/rules/sigma/index.ts';

export const CATALOG_FILE = 'shared/rules/catalog.json';
export const PACK_FILE = 'shared/rules/pack.json';
export const DEFAULT_CUSTOM_RULES_FILE = 'shared/rules/custom-rules.json';

/** A rule that cannot be used: its file and id. */
export class RuleError extends RuleFileError {
  get ruleId(): string | undefined {
    return this.entryId;
  }
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const METRIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;
export const MAX_TITLE_LENGTH = 60;
const KEYS = new Set([
  'id',
  'title',
  'severity',
  'description',
  'pattern',
  'fieldsDiffer',
  'metricName',
  'source',
  'examples',
]);

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function checkExamples(rule: Rule, examples: unknown, fail: (msg: string) => never): void {
  if (typeof examples !== 'object' || examples === null || Array.isArray(examples)) {
    fail(
      `"examples" must be an object {"positive": [...], "negative": [...]}, found ${describeValue(examples)}`,
    );
  }
  const test = ruleMatcher(rule);
  for (const side of ['positive', 'negative'] as const) {
    const list = (examples as Partial<RuleExamples>)[side] ?? [];
    if (!Array.isArray(list)) fail(`"examples.${side}" must be an array, found ${describeValue(list)}`);
    list.forEach((ex, i) => {
      const name = typeof ex?.name === 'string' ? ex.name : `#${i + 1}`;
      if (typeof ex !== 'object' || ex === null || !('record' in ex)) {
        fail(`example ${name} in "examples.${side}" must be {"name": ..., "record": {...}}`);
      }
      const matched = test(ex.record);
      if (side === 'positive' && !matched)
        fail(`positive example "${name}" should match the pattern but does not`);
      if (side === 'negative' && matched)
        fail(`negative example "${name}" should not match the pattern but does`);
    });
  }
}

function checkFieldsDiffer(
  raw: unknown,
  fail: (msg: string, cause?: unknown) => never,
): [string, string][] | undefined {
  if (raw === undefined) return undefined;
  const shape = '"fieldsDiffer" must be a non-empty array of selector pairs such as [["$.a", "$.b"]]';
  if (!Array.isArray(raw) || raw.length === 0) fail(`${shape}, found ${describeValue(raw)}`);
  return raw.map((pair: unknown, i) => {
    if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((x) => typeof x === 'string')) {
      fail(`${shape}, found ${describeValue(pair)} at #${i + 1}`);
    }
    for (const selector of pair as string[]) {
      try {
        selectorPath(selector);
      } catch (err) {
        const why =
          err instanceof PatternError ? `${err.expected}, found ${err.found}` : (err as Error).message;
        fail(
          `"fieldsDiffer" #${i + 1}: ${JSON.stringify(selector)} is not a selector such as $.a.b[0] (${why})`,
          err,
        );
      }
    }
    return [pair[0], pair[1]] as [string, string];
  });
}

/** Validates the rules of one file (an array of rule objects). */
export function validateRuleFile(input: unknown, file: string, origin = file): Rule[] {
  if (!Array.isArray(input)) {
    throw new RuleError(`${file}: expected a JSON array of rules, found ${describeValue(input)}`, file);
  }
  return input.map((raw: unknown, index) => {
    const where = `${file}: rule #${index + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new RuleError(`${where}: expected an object, found ${describeValue(raw)}`, file);
    }
    const r = raw as Record<string, unknown>;
    const id = r.id;
    if (typeof id !== 'string' || !ID.test(id)) {
      throw new RuleError(
        `${where}: "id" must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, found ${describeValue(id)}`,
        file,
      );
    }
    const fail: (msg: string, cause?: unknown) => never = (msg, cause) => {
      throw new RuleError(`${file}: rule "${id}": ${msg}`, file, id, { cause });
    };
    for (const k of Object.keys(r)) {
      if (!KEYS.has(k)) fail(`unknown field "${k}" (expected ${[...KEYS].join(', ')})`);
    }
    if (typeof r.title !== 'string' || r.title.length > MAX_TITLE_LENGTH || !PRINTABLE_ASCII.test(r.title)) {
      fail(
        `"title" must be 1-${MAX_TITLE_LENGTH} printable ASCII characters (it becomes an SNS subject), found ${describeValue(r.title)}`,
      );
    }
    if (typeof r.severity !== 'string' || !(SEVERITIES as readonly string[]).includes(r.severity)) {
      fail(`"severity" must be one of ${SEVERITIES.join(', ')}, found ${describeValue(r.severity)}`);
    }
    if (typeof r.description !== 'string' || r.description.trim() === '') {
      fail(`"description" must be a non-empty string, found ${describeValue(r.description)}`);
    }
    if (typeof r.pattern !== 'string') fail(`"pattern" must be a string, found ${describeValue(r.pattern)}`);
    try {
      compilePattern(r.pattern);
    } catch (err) {
      if (err instanceof PatternError)
        fail(`invalid pattern at column ${err.column}: expected ${err.expected}, found ${err.found}`, err);
      throw err;
    }
    const metricName = r.metricName ?? defaultMetricName(id);
    if (typeof metricName !== 'string' || !METRIC_NAME.test(metricName)) {
      fail(`"metricName" must be 1-128 letters, digits, '.', '_' or '-', found ${describeValue(metricName)}`);
    }
    if (r.source !== undefined && typeof r.source !== 'string')
      fail(`"source" must be a string, found ${describeValue(r.source)}`);
    const fieldsDiffer = checkFieldsDiffer(r.fieldsDiffer, fail);
    const rule: Rule = {
      id,
      title: r.title,
      severity: r.severity as Severity,
      description: r.description,
      pattern: r.pattern,
      ...(fieldsDiffer ? { fieldsDiffer } : {}),
      metricName,
      source: (r.source as string | undefined) ?? `custom rules file ${file}`,
      origin,
    };
    if (r.examples !== undefined) checkExamples(rule, r.examples, fail);
    return rule;
  });
}

/** Merges rule sets, rejecting duplicate ids, metric names and alarm ids across files. */
export function mergeRules(sets: Rule[][]): Rule[] {
  const byId = new Map<string, Rule>();
  const byMetric = new Map<string, Rule>();
  const byAlarm = new Map<string, Rule>();
  const all: Rule[] = [];
  const where = (r: Rule) =>
    r.origin === 'catalog' ? CATALOG_FILE : r.origin === 'pack' ? PACK_FILE : r.origin;
  for (const rule of sets.flat()) {
    const dupId = byId.get(rule.id);
    if (dupId) {
      throw new RuleError(
        `${where(rule)}: rule "${rule.id}": id already defined in ${where(dupId)}`,
        where(rule),
        rule.id,
      );
    }
    const dupMetric = byMetric.get(rule.metricName) ?? byAlarm.get(alarmLogicalId(rule.metricName));
    if (dupMetric) {
      throw new RuleError(
        `${where(rule)}: rule "${rule.id}": metric name "${rule.metricName}" clashes with rule "${dupMetric.id}" (${where(dupMetric)}); set a distinct "metricName"`,
        where(rule),
        rule.id,
      );
    }
    byId.set(rule.id, rule);
    byMetric.set(rule.metricName, rule);
    byAlarm.set(alarmLogicalId(rule.metricName), rule);
    all.push(rule);
  }
  return all;
}

/** The built-in catalog (CloudWatch.1-14, CIS 4.1 and 4.15). */
export function catalogRules(): Rule[] {
  return validateRuleFile(catalogJson, CATALOG_FILE, 'catalog');
}

/** The trailwatch pack: what CIS does not look for, each rule with real example records. */
export function packRules(): Rule[] {
  return validateRuleFile(packJson, PACK_FILE, 'pack');
}

let defaults: Rule[] | undefined;

/**
 * Catalog, pack, the bundled custom-rules.json and the bundled Sigma rules: what a deployment evaluates.
 * Validated once per process; a custom Sigma rule that cannot run stops the function at load, like a bad
 * pattern.
 */
export function defaultRules(): Rule[] {
  defaults ??= mergeRules([
    catalogRules(),
    packRules(),
    validateRuleFile(bundledCustomJson, DEFAULT_CUSTOM_RULES_FILE),
    sigmaRules({ custom: true }),
  ]);
  return defaults;
}

/** The bundled Sigma rules as {@link RuleError}s on failure. */
function sigmaRules(options: { custom: boolean }): Rule[] {
  try {
    return bundledSigmaRules(options).rules;
  } catch (err) {
    if (err instanceof SigmaError)
      throw new RuleError(err.message, err.file ?? '', err.ruleId, { cause: err });
    throw err;
  }
}

/** True for a file `loadRules` reads as Sigma YAML. */
export function isSigmaFile(file: string): boolean {
  return /\.ya?ml$/i.test(file);
}

/**
 * Catalog, pack, SigmaHQ and count rules, plus the custom rules in `rulesFile` (instead of the bundled custom
 * rules, JSON and Sigma, when given): a JSON array of rules, or Sigma YAML (`.yml` / `.yaml`).
 * Throws {@link RuleError} naming the file, the rule and, for patterns, the column.
 */
export async function loadRules(options: { rulesFile?: string } = {}): Promise<Rule[]> {
  if (options.rulesFile === undefined) return defaultRules();
  const file = options.rulesFile;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new RuleError(`${file}: cannot read the rules file: ${(err as Error).message}`, file, undefined, {
      cause: err,
    });
  }
  if (isSigmaFile(file)) {
    let custom: Rule[];
    try {
      custom = parseSigmaFile({ file, text });
    } catch (err) {
      if (err instanceof SigmaError) throw new RuleError(err.message, file, err.ruleId, { cause: err });
      throw err;
    }
    return mergeRules([catalogRules(), packRules(), sigmaRules({ custom: false }), custom]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RuleError(`${file}: not valid JSON: ${(err as Error).message}`, file, undefined, {
      cause: err,
    });
  }
  return mergeRules([
    catalogRules(),
    packRules(),
    validateRuleFile(json, file),
    sigmaRules({ custom: false }),
  ]);
}

export const DEFAULT_EXCEPTIONS_FILE = 'shared/rules/exceptions.json';

/**
 * The exceptions a deployment applies: the bundled shared/rules/exceptions.json, or `exceptionsFile`.
 * Checked against `rules` (an exception naming no loaded rule is refused). Throws {@link ExceptionError}
 * naming the file and the entry.
 */
export async function loadExceptions(
  rules: readonly Rule[],
  options: { exceptionsFile?: string } = {},
): Promise<ExceptionSet> {
  const ids = new Set(rules.map((r) => r.id));
  const file = options.exceptionsFile;
  if (file === undefined)
    return new ExceptionSet(validateExceptions(bundledExceptionsJson, DEFAULT_EXCEPTIONS_FILE, ids));
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const what = err instanceof SyntaxError ? 'not valid JSON' : 'cannot read the exceptions file';
    throw new ExceptionError(`${file}: ${what}: ${(err as Error).message}`, file, undefined, { cause: err });
  }
  return new ExceptionSet(validateExceptions(json, file, ids));
}

let bundledExceptions: ExceptionSet | undefined;

/** The bundled exceptions, checked against the default rules once per process. */
export function defaultExceptions(): ExceptionSet {
  bundledExceptions ??= new ExceptionSet(
    validateExceptions(
      bundledExceptionsJson,
      DEFAULT_EXCEPTIONS_FILE,
      new Set(defaultRules().map((r) => r.id)),
    ),
  );
  return bundledExceptions;
}

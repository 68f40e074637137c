/**
 * Exceptions as data: known-good activity a rule should not alert on (a Terraform role changing IAM, a
 * break-glass procedure), named with a reason and, if temporary, an expiry. An exception applies to the
 * match of any rule it names, whatever the rule's kind, because the evaluator asks it after a rule matched
 * and before the match is counted; a suppressed match is counted apart and never alerts.
 *
 * A file holds a JSON array of entries:
 *
 *   { "id": "terraform-iam", "rules": ["CloudWatch.4"] | "*", "reason": "...", "expires": "2027-01-31",
 *     "principalArn": "arn:aws:sts::*:assumed-role/terraform-*", "account": "111122223333",
 *     "region": "eu-west-1", "sourceIp": "10.0.0.0/8", "userAgent": "*Terraform*", "eventName": "PutRolePolicy" }
 *
 * Every condition given must hold (each may be one value or a list of alternatives); at least one is required,
 * since an exception without conditions would silence the whole rule. `principalArn` and `userAgent` are
 * globs (`*` is any run of characters); `principalArn` is tried on `userIdentity.arn` and on the role behind a
 * session (`userIdentity.sessionContext.sessionIssuer.arn`). `sourceIp` takes addresses and CIDR blocks
 * (IPv4 or IPv6). `expires` is an ISO date (the exception holds through that day, UTC) or date-time; once
 * past, the exception stops suppressing and the loader reports it.
 */
import { BlockList, isIP } from 'node:net';
import type { CloudTrailRecord } from '#shared/record.ts';
import { objectOf, recordAccount, textOf } from '#shared/record.ts';
import { RuleFileError } from '#shared/rules/errors.ts';

/** An exception that cannot be used: its file and id. */
export class ExceptionError extends RuleFileError {
  get exceptionId(): string | undefined {
    return this.entryId;
  }
}

export const CONDITIONS = [
  'principalArn',
  'account',
  'region',
  'sourceIp',
  'userAgent',
  'eventName',
] as const;
export type Condition = (typeof CONDITIONS)[number];

export interface RuleException {
  id: string;
  /** Rule ids, or `*` for every rule. */
  rules: string[] | '*';
  reason: string;
  /** ISO date or date-time; absent: never expires. */
  expires?: string;
  /** When it stops suppressing (parsed `expires`). */
  expiresAt?: Date;
  conditions: Partial<Record<Condition, string[]>>;
  /** The file that defined it. */
  origin: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;
const KEYS = new Set(['id', 'rules', 'reason', 'expires', ...CONDITIONS]);

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

/** `YYYY-MM-DD` holds through that day (UTC); a date-time is the instant itself. */
function expiryOf(text: string): Date | undefined {
  if (DATE_ONLY.test(text)) {
    const start = Date.parse(`${text}T00:00:00Z`);
    // Date.parse rolls 2026-02-30 over to March; a date that does not read back is not a date.
    if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== text) return undefined;
    return new Date(start + 24 * 3600 * 1000);
  }
  if (!DATE_TIME.test(text)) return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function checkCidr(value: string): boolean {
  const [addr, prefix, extra] = value.split('/');
  const family = isIP(addr);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Validates one exceptions file (a JSON array). `ruleIds`, when given, are the rules loaded: an exception
 * naming another rule is refused, as it would silence nothing. Errors are one line naming the file and entry.
 */
export function validateExceptions(
  input: unknown,
  file: string,
  ruleIds?: ReadonlySet<string>,
): RuleException[] {
  if (!Array.isArray(input)) {
    throw new ExceptionError(
      `${file}: expected a JSON array of exceptions, found ${describeValue(input)}`,
      file,
    );
  }
  const seen = new Set<string>();
  return input.map((raw: unknown, index) => {
    const where = `${file}: exception #${index + 1}`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ExceptionError(`${where}: expected an object, found ${describeValue(raw)}`, file);
    }
    const e = raw as Record<string, unknown>;
    if (typeof e.id !== 'string' || !ID.test(e.id)) {
      throw new ExceptionError(
        `${where}: "id" must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, found ${describeValue(e.id)}`,
        file,
      );
    }
    const id = e.id;
    const fail = (msg: string): never => {
      throw new ExceptionError(`${file}: exception "${id}": ${msg}`, file, id);
    };
    if (seen.has(id)) fail('id already used by another exception in this file');
    seen.add(id);
    for (const k of Object.keys(e)) {
      if (!KEYS.has(k)) fail(`unknown field "${k}" (expected ${[...KEYS].join(', ')})`);
    }
    let rules: string[] | '*';
    if (e.rules === '*') rules = '*';
    else if (Array.isArray(e.rules) && e.rules.length > 0 && e.rules.every((r) => typeof r === 'string')) {
      rules = e.rules as string[];
      const unknown = ruleIds ? rules.filter((r) => !ruleIds.has(r)) : [];
      if (unknown.length > 0)
        fail(`"rules" names ${unknown.map((r) => `"${r}"`).join(', ')}, which no loaded rule has`);
    } else {
      rules = fail(`"rules" must be "*" or a non-empty array of rule ids, found ${describeValue(e.rules)}`);
    }
    if (typeof e.reason !== 'string' || e.reason.trim() === '') {
      fail(`"reason" is required: say why this activity is expected, found ${describeValue(e.reason)}`);
    }
    let expiresAt: Date | undefined;
    if (e.expires !== undefined) {
      expiresAt = typeof e.expires === 'string' ? expiryOf(e.expires) : undefined;
      if (!expiresAt)
        fail(`"expires" must be an ISO date (2027-01-31) or date-time, found ${describeValue(e.expires)}`);
    }
    const conditions: Partial<Record<Condition, string[]>> = {};
    for (const c of CONDITIONS) {
      const v = e[c];
      if (v === undefined) continue;
      const list = typeof v === 'string' ? [v] : v;
      if (
        !Array.isArray(list) ||
        list.length === 0 ||
        !list.every((x) => typeof x === 'string' && x !== '')
      ) {
        fail(`"${c}" must be a non-empty string or array of strings, found ${describeValue(v)}`);
      }
      if (c === 'sourceIp') {
        const bad = (list as string[]).find((x) => !checkCidr(x));
        if (bad !== undefined)
          fail(`"sourceIp" must hold IP addresses or CIDR blocks, found ${JSON.stringify(bad)}`);
      }
      conditions[c] = list as string[];
    }
    if (Object.keys(conditions).length === 0) {
      fail(
        `at least one condition is required (${CONDITIONS.join(', ')}); without one the exception would silence the whole rule`,
      );
    }
    return {
      id,
      rules,
      reason: e.reason as string,
      ...(e.expires !== undefined ? { expires: e.expires as string, expiresAt } : {}),
      conditions,
      origin: file,
    };
  });
}

function globTest(glob: string): (s: string) => boolean {
  if (!glob.includes('*')) return (s) => s === glob;
  const body = glob
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
    .join('[\\s\\S]*');
  const re = new RegExp(`^${body}$`);
  return (s) => re.test(s);
}

type RecordTest = (record: CloudTrailRecord) => boolean;

function anyOf(values: readonly (string | undefined)[], tests: ((s: string) => boolean)[]): boolean {
  for (const v of values) if (v !== undefined && tests.some((t) => t(v))) return true;
  return false;
}

function conditionTest(c: Condition, values: string[]): RecordTest {
  switch (c) {
    case 'principalArn': {
      const tests = values.map(globTest);
      return (r) => {
        const who = objectOf(r.userIdentity);
        const issuer = objectOf(objectOf(who?.sessionContext)?.sessionIssuer);
        return anyOf([textOf(who?.arn), textOf(issuer?.arn)], tests);
      };
    }
    case 'userAgent': {
      const tests = values.map(globTest);
      return (r) => anyOf([textOf(r.userAgent)], tests);
    }
    case 'account': {
      const set = new Set(values);
      return (r) => {
        const a = recordAccount(r);
        return a !== undefined && set.has(a);
      };
    }
    case 'region': {
      const set = new Set(values);
      return (r) => set.has(textOf(r.awsRegion) ?? '');
    }
    case 'eventName': {
      const set = new Set(values);
      return (r) => set.has(textOf(r.eventName) ?? '');
    }
    case 'sourceIp': {
      const blocks = new BlockList();
      for (const v of values) {
        const [addr, prefix] = v.split('/');
        const family = isIP(addr) === 4 ? 'ipv4' : 'ipv6';
        if (prefix === undefined) blocks.addAddress(addr, family);
        else blocks.addSubnet(addr, Number(prefix), family);
      }
      return (r) => {
        const ip = textOf(r.sourceIPAddress);
        const family = ip ? isIP(ip) : 0;
        return family !== 0 && blocks.check(ip as string, family === 4 ? 'ipv4' : 'ipv6');
      };
    }
  }
}

interface CompiledException {
  exception: RuleException;
  test: RecordTest;
}

/** The exceptions in force at one moment, indexed by rule: what the evaluator asks after a rule matched. */
export class ActiveExceptions {
  private readonly byRule = new Map<string, CompiledException[]>();
  private readonly forAll: CompiledException[] = [];
  /** As given: what another thread needs to build the same set. */
  readonly list: readonly RuleException[];

  constructor(exceptions: readonly RuleException[]) {
    this.list = exceptions;
    for (const exception of exceptions) {
      const tests = Object.entries(exception.conditions).map(([c, v]) => conditionTest(c as Condition, v));
      const compiled = { exception, test: (r: CloudTrailRecord) => tests.every((t) => t(r)) };
      if (exception.rules === '*') this.forAll.push(compiled);
      else
        for (const id of exception.rules) {
          const list = this.byRule.get(id) ?? [];
          list.push(compiled);
          this.byRule.set(id, list);
        }
    }
  }

  get size(): number {
    return this.forAll.length + new Set([...this.byRule.values()].flat()).size;
  }

  /** The first exception (rule-specific ones first) that silences this match of `ruleId`, if any. */
  suppressing(ruleId: string, record: CloudTrailRecord): RuleException | undefined {
    for (const c of this.byRule.get(ruleId) ?? []) if (c.test(record)) return c.exception;
    for (const c of this.forAll) if (c.test(record)) return c.exception;
    return undefined;
  }
}

/**
 * Loaded exceptions across time: `at(now)` gives those in force, and reports each expired one once per load
 * (a function container, a CLI run) through `onExpired`, so the log says when an exception stopped working.
 */
export class ExceptionSet {
  readonly all: readonly RuleException[];
  private readonly reported = new Set<string>();
  private cache: { until: number; from: number; active: ActiveExceptions } | undefined;

  constructor(exceptions: readonly RuleException[]) {
    this.all = exceptions;
  }

  at(now: Date, onExpired?: (e: RuleException) => void): ActiveExceptions {
    const t = now.getTime();
    const live: RuleException[] = [];
    for (const e of this.all) {
      if (e.expiresAt && e.expiresAt.getTime() <= t) {
        if (!this.reported.has(e.id)) {
          this.reported.add(e.id);
          onExpired?.(e);
        }
      } else live.push(e);
    }
    // The next expiry bounds how long this set of live exceptions stays right.
    const until = Math.min(...live.map((e) => e.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY));
    if (this.cache && t >= this.cache.from && t < this.cache.until) return this.cache.active;
    const active = new ActiveExceptions(live);
    this.cache = { from: t, until, active };
    return active;
  }
}

/** The one-line log text for an exception found expired. */
export function expiredMessage(e: RuleException): string {
  return `exception "${e.id}" (${e.origin}) expired at ${e.expiresAt?.toISOString()} and no longer suppresses ${e.rules === '*' ? 'any rule' : e.rules.join(', ')}: renew or remove it`;
}

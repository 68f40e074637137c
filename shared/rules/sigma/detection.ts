/**
 * Compiles a Sigma rule's `detection` into one function over a CloudTrail record, once, at load. Everything the
 * rule may say is checked here; a feature trailwatch does not run is a {@link SigmaError}, never skipped.
 *
 * Semantics (the reference interpreter in test/unit/sigma-reference.ts states the same rules plainly):
 * - A field name with dots is a path into nested objects; arrays met on the way are walked into, and a field
 *   matches when any value it reaches matches. JSON null counts as absent.
 * - A value is compared as text: strings as they are, numbers and booleans as JSON prints them, objects as
 *   their JSON text (so `requestParameters|contains: 'Suspended'` looks inside the parameters, as SIEMs that
 *   keep them as a JSON string do).
 * - Plain values, wildcards (`*`, `?`; `\` escapes them and itself) and contains/startswith/endswith compare
 *   without case (both sides through toLowerCase), unless `cased`. `re` is case-sensitive unless `|re|i`, and
 *   unanchored (it matches anywhere in the text).
 * - A list of values is OR, `all` makes it AND; a list of mappings is OR; the fields of a mapping are AND.
 * - `null` matches an absent (or null) field; `exists: true|false`; `cidr` matches IPv4 and IPv6 text;
 *   `fieldref` compares with another field of the same record; `lt`/`lte`/`gt`/`gte` compare numbers.
 */
import { describeYaml, SigmaError } from '#shared/rules/sigma/errors.ts';

export type Matcher = (record: unknown) => boolean;

export interface CompiledDetection {
  match: Matcher;
  /** Lower-cased `eventName` values of which a record must carry one to match, when the rule requires it. */
  eventNames?: ReadonlySet<string>;
  /** The same for `eventSource`. */
  eventSources?: ReadonlySet<string>;
  /** Every field the detection reads, as written. */
  fields: string[];
}

export const SUPPORTED_MODIFIERS = [
  'contains',
  'startswith',
  'endswith',
  'all',
  're',
  'i',
  'm',
  's',
  'cidr',
  'exists',
  'fieldref',
  'cased',
  'lt',
  'lte',
  'gt',
  'gte',
] as const;
type Modifier = (typeof SUPPORTED_MODIFIERS)[number];
const SUPPORTED = new Set<string>(SUPPORTED_MODIFIERS);
/** Modifiers of the Sigma specification that trailwatch rejects, with why. */
const REJECTED: Record<string, string> = {
  base64: 'CloudTrail fields are not base64-encoded command lines',
  base64offset: 'CloudTrail fields are not base64-encoded command lines',
  utf16le: 'CloudTrail text is not UTF-16',
  utf16be: 'CloudTrail text is not UTF-16',
  utf16: 'CloudTrail text is not UTF-16',
  wide: 'CloudTrail text is not UTF-16',
  windash: 'a Windows command-line modifier',
  expand: 'placeholders need a mapping trailwatch does not have',
};
const SUPPORTED_LIST = SUPPORTED_MODIFIERS.join(', ');

// ---------------------------------------------------------------------------------------------- record access

/** Splits a Sigma field name into the path it reads. */
export function fieldPath(name: string): string[] {
  return name.split('.');
}

/** Keys an object inherits from Object.prototype: only for these must a lookup check the key is its own. */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

/** True when some value the path reaches (arrays walked into, null included) satisfies `pred`. */
export function someValue(
  node: unknown,
  path: readonly string[],
  pred: (v: unknown) => boolean,
  i = 0,
): boolean {
  // Plain objects all the way down are the common case: walk them without recursion.
  for (; i < path.length; i++) {
    if (Array.isArray(node)) {
      for (const el of node) if (someValue(el, path, pred, i)) return true;
      return false;
    }
    if (typeof node !== 'object' || node === null) return false;
    const key = path[i];
    const next = (node as Record<string, unknown>)[key];
    if (next === undefined || (INHERITED.has(key) && !Object.hasOwn(node, key))) return false;
    node = next;
  }
  if (Array.isArray(node)) {
    for (const el of node) if (someValue(el, path, pred, i)) return true;
    return false;
  }
  return pred(node);
}

/** The text a value is compared as; undefined for null (which only `null` matches). */
export function valueText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null || v === undefined) return undefined;
  return JSON.stringify(v);
}

const notNull = (v: unknown) => v !== null;

// -------------------------------------------------------------------------------------------------- wildcards

/** A Sigma string after escape processing: literal runs and wildcards. */
export type GlobPart = string | { wild: '*' | '?' };

/** Sigma's escaping: `\` before `*`, `?` or `\` makes it literal; before anything else it is itself. */
export function parseGlob(text: string): GlobPart[] {
  const parts: GlobPart[] = [];
  let lit = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') {
      const next = text[i + 1];
      if (next === '*' || next === '?' || next === '\\') {
        lit += next;
        i++;
      } else lit += c;
    } else if (c === '*' || c === '?') {
      if (lit) parts.push(lit);
      lit = '';
      parts.push({ wild: c });
    } else lit += c;
  }
  if (lit) parts.push(lit);
  return parts;
}

const isWild = (p: GlobPart | undefined, w: '*' | '?') => typeof p === 'object' && p.wild === w;

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** True when `t` has only ASCII characters (its toLowerCase is then plain A-Z folding, same length). */
function isAscii(t: string): boolean {
  for (let i = 0; i < t.length; i++) if (t.charCodeAt(i) > 127) return false;
  return true;
}

/** `t.toLowerCase()` equals `s` from `at` on for `s.length` characters, for ASCII `t`, without a new string. */
function foldedAt(t: string, at: number, s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    let c = t.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== s.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * The case-insensitive test of text against a lower-cased glob. Exact, prefix, suffix and substring globs on
 * ASCII text (nearly all of CloudTrail) compare character codes in place; anything else lower-cases the text.
 */
function foldedGlobTest(parts: GlobPart[]): (t: string) => boolean {
  const lowered = globTest(parts);
  const slow = (t: string) => lowered(t.toLowerCase());
  const star = (p: GlobPart | undefined) => isWild(p, '*');
  const lit = parts.filter((p): p is string => typeof p === 'string');
  if (lit.length !== 1) return slow;
  const s = lit[0];
  let inPlace: ((t: string) => boolean) | undefined;
  if (parts.length === 1) inPlace = (t) => t.length === s.length && foldedAt(t, 0, s);
  else if (parts.length === 2 && star(parts[1])) inPlace = (t) => t.length >= s.length && foldedAt(t, 0, s);
  else if (parts.length === 2 && star(parts[0]))
    inPlace = (t) => t.length >= s.length && foldedAt(t, t.length - s.length, s);
  else if (parts.length === 3 && star(parts[0]) && star(parts[2]))
    inPlace = (t) => {
      for (let at = 0; at + s.length <= t.length; at++) if (foldedAt(t, at, s)) return true;
      return false;
    };
  if (!inPlace) return slow;
  const fast = inPlace;
  return (t) => (isAscii(t) ? fast(t) : slow(t));
}

/** A test of (already case-folded) text against a glob, as plain string operations where it can. */
function globTest(parts: GlobPart[]): (t: string) => boolean {
  const literals = parts.filter((p): p is string => typeof p === 'string');
  const wilds = parts.length - literals.length;
  if (wilds === 0) {
    const s = literals.join('');
    return (t) => t === s;
  }
  if (parts.length === 1 && isWild(parts[0], '*')) return () => true;
  if (parts.every((p) => typeof p === 'string' || isWild(p, '*'))) {
    if (parts.length === 2 && isWild(parts[1], '*')) {
      const s = parts[0] as string;
      return (t) => t.startsWith(s);
    }
    if (parts.length === 2 && isWild(parts[0], '*')) {
      const s = parts[1] as string;
      return (t) => t.endsWith(s);
    }
    if (parts.length === 3 && isWild(parts[0], '*') && isWild(parts[2], '*')) {
      const s = parts[1] as string;
      return (t) => t.includes(s);
    }
  }
  const source = parts
    .map((p) => (typeof p === 'string' ? escapeRegex(p) : p.wild === '*' ? '[\\s\\S]*' : '[\\s\\S]'))
    .join('');
  const re = new RegExp(`^${source}$`);
  return (t) => re.test(t);
}

// ------------------------------------------------------------------------------------------------------ regex

/** True when `source` has a `|` outside groups and classes (then a prefix or suffix belongs to one branch). */
function hasTopLevelAlternation(source: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) return true;
  }
  return false;
}

/**
 * The same unanchored search without the backtracking a leading or trailing `.+` / `.*` costs (SigmaHQ writes
 * `'.+:assumed-role/aws:.+'`): searched anywhere, `.+X` matches exactly where `.X` does and `.*X` where `X`
 * does; at the end, `X.+` where `X.` does and `X.*` where `X` does.
 */
export function searchEquivalent(source: string): string {
  if (hasTopLevelAlternation(source)) return source;
  let s = source;
  if (/^\.[+*](?![?+*{])/.test(s)) s = s[1] === '+' ? `.${s.slice(2)}` : s.slice(2);
  const tail = /(^|[^\\])((?:\\\\)*)\.([+*])$/.exec(s);
  if (tail) s = s.slice(0, s.length - 2) + (tail[3] === '+' ? '.' : '');
  return s;
}

// ------------------------------------------------------------------------------------------------------- CIDR

interface IpRange {
  v6: boolean;
  base: bigint;
  mask: bigint;
}

function parseIpv4(s: string): bigint | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let n = 0n;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255 || (m[i].length > 1 && m[i][0] === '0')) return undefined;
    n = (n << 8n) | BigInt(octet);
  }
  return n;
}

function parseIpv6(s: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.length < 2) return undefined;
  let tail = s;
  let v4: bigint | undefined;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    v4 = parseIpv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = `${s.slice(0, lastColon + 1)}0:0`;
  }
  const halves = tail.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  let n = 0n;
  for (const g of all) {
    if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) | BigInt(Number.parseInt(g, 16));
  }
  if (v4 !== undefined) n = (n & ~0xffffffffn) | v4;
  return n;
}

/** An IP address as a number, with its family; undefined for anything else ("AWS Internal", host names). */
export function parseIp(s: string): { v6: boolean; n: bigint } | undefined {
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return { v6: false, n: v4 };
  const v6 = s.includes(':') ? parseIpv6(s) : undefined;
  return v6 === undefined ? undefined : { v6: true, n: v6 };
}

function parseCidr(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip) return undefined;
  const bits = ip.v6 ? 128 : 32;
  const lenText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bits) return undefined;
  const len = BigInt(lenText);
  const all = (1n << BigInt(bits)) - 1n;
  const mask = all ^ ((1n << (BigInt(bits) - len)) - 1n);
  return { v6: ip.v6, base: ip.n & mask, mask };
}

// ----------------------------------------------------------------------------------------------- field specs

interface FieldSpec {
  field: string;
  path: string[];
  modifiers: Modifier[];
  values: unknown[];
}

function fail(feature: string, expected: string, found: string): never {
  throw new SigmaError(feature, expected, found);
}

function parseKey(key: string): { field: string; modifiers: Modifier[] } {
  const [field, ...mods] = key.split('|');
  if (field === '') fail(`field "${key}"`, 'a field name before the modifiers', 'an empty name');
  for (const m of mods) {
    if (m in REJECTED)
      fail(`field "${key}"`, `a supported modifier (${SUPPORTED_LIST})`, `modifier ${m}: ${REJECTED[m]}`);
    if (!SUPPORTED.has(m))
      fail(`field "${key}"`, `a supported modifier (${SUPPORTED_LIST})`, `unknown modifier "${m}"`);
  }
  if (new Set(mods).size !== mods.length) fail(`field "${key}"`, 'each modifier once', 'a repeated modifier');
  return { field, modifiers: mods as Modifier[] };
}

function scalarValues(key: string, raw: unknown): unknown[] {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) fail(`field "${key}"`, 'a value or a non-empty list of values', 'an empty list');
  for (const v of list) {
    if (v !== null && !['string', 'number', 'boolean'].includes(typeof v)) {
      fail(`field "${key}"`, 'strings, numbers, booleans or null as values', describeYaml(v));
    }
  }
  return list;
}

type ValueTest = (v: unknown) => boolean;

function compileField(spec: FieldSpec): Matcher {
  const { field, path, modifiers: mods, values } = spec;
  const key = [field, ...mods].join('|');
  const has = (m: Modifier) => mods.includes(m);
  const where = `field "${key}"`;
  const position = ['contains', 'startswith', 'endswith'].filter((m) => has(m as Modifier));
  if (position.length > 1)
    fail(where, 'at most one of contains, startswith, endswith', position.join(' and '));
  const compare = (['lt', 'lte', 'gt', 'gte'] as const).filter((m) => has(m));
  const kinds = [
    has('re') && 're',
    has('cidr') && 'cidr',
    has('exists') && 'exists',
    has('fieldref') && 'fieldref',
    compare.length > 0 && compare.join(','),
  ].filter(Boolean);
  if (kinds.length > 1) fail(where, 'one of re, cidr, exists, fieldref, lt/lte/gt/gte', kinds.join(' with '));
  for (const flag of ['i', 'm', 's'] as const) {
    if (has(flag) && !has('re')) fail(where, `modifier ${flag} only after re`, `${flag} without re`);
  }
  const only = (allowed: Modifier[], kind: string) => {
    const extra = mods.filter((m) => m !== kind && !allowed.includes(m));
    if (extra.length)
      fail(
        where,
        `${kind} with ${allowed.join(', ') || 'no other modifier'}`,
        `${kind} with ${extra.join(', ')}`,
      );
  };
  const all = has('all');
  const anyOrAll = (tests: ValueTest[]): Matcher => {
    if (all) return (r) => tests.every((t) => someValue(r, path, t));
    if (tests.length === 1) {
      const t = tests[0];
      return (r) => someValue(r, path, t);
    }
    return (r) => someValue(r, path, (v) => tests.some((t) => t(v)));
  };
  const strings = (kind: string) =>
    values.map((v) => {
      if (typeof v !== 'string') fail(where, `a string value for ${kind}`, describeYaml(v));
      return v;
    });

  if (has('exists')) {
    only([], 'exists');
    if (values.length !== 1 || typeof values[0] !== 'boolean')
      fail(where, 'exists: true or exists: false', describeYaml(values.length === 1 ? values[0] : values));
    const want = values[0] as boolean;
    return (r) => someValue(r, path, notNull) === want;
  }
  if (values.includes(null) && mods.some((m) => m !== 'all')) {
    fail(where, 'null without modifiers', `null with ${mods.join(', ')}`);
  }
  if (has('re')) {
    only(['i', 'm', 's', 'all'], 're');
    const flags = (['i', 'm', 's'] as const).filter((f) => has(f)).join('');
    const tests = strings('re').map((source): ValueTest => {
      let re: RegExp;
      try {
        new RegExp(source, flags);
        re = new RegExp(searchEquivalent(source), flags);
      } catch (err) {
        throw new SigmaError(
          where,
          'a regular expression JavaScript accepts',
          `${JSON.stringify(source)} (${(err as Error).message})`,
          {},
          { cause: err },
        );
      }
      return (v) => {
        const t = valueText(v);
        return t !== undefined && re.test(t);
      };
    });
    return anyOrAll(tests);
  }
  if (has('cidr')) {
    only(['all'], 'cidr');
    const tests = strings('cidr').map((text): ValueTest => {
      const range = parseCidr(text);
      if (!range)
        fail(where, 'an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32', JSON.stringify(text));
      return (v) => {
        if (typeof v !== 'string') return false;
        const ip = parseIp(v);
        return ip !== undefined && ip.v6 === range.v6 && (ip.n & range.mask) === range.base;
      };
    });
    return anyOrAll(tests);
  }
  if (compare.length > 0) {
    only(['all'], compare[0]);
    const op = compare[0];
    const tests = values.map((limit): ValueTest => {
      if (typeof limit !== 'number') fail(where, `a number for ${op}`, describeYaml(limit));
      return (v) => {
        const n =
          typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
        if (Number.isNaN(n)) return false;
        return op === 'lt' ? n < limit : op === 'lte' ? n <= limit : op === 'gt' ? n > limit : n >= limit;
      };
    });
    return anyOrAll(tests);
  }
  const cased = has('cased');
  const fold = (s: string) => (cased ? s : s.toLowerCase());
  if (has('fieldref')) {
    only(['contains', 'startswith', 'endswith', 'cased', 'all'], 'fieldref');
    const how = position[0];
    const same = (a: string, b: string) =>
      how === 'contains'
        ? a.includes(b)
        : how === 'startswith'
          ? a.startsWith(b)
          : how === 'endswith'
            ? a.endsWith(b)
            : a === b;
    const refs = strings('fieldref').map(fieldPath);
    const pairs = (r: unknown, other: string[]) =>
      someValue(r, path, (v) => {
        const t = valueText(v);
        if (t === undefined) return false;
        const a = fold(t);
        return someValue(r, other, (w) => {
          const o = valueText(w);
          return o !== undefined && same(a, fold(o));
        });
      });
    if (all) return (r) => refs.every((p) => pairs(r, p));
    return (r) => refs.some((p) => pairs(r, p));
  }
  only(['contains', 'startswith', 'endswith', 'cased', 'all'], position[0] ?? 'a value');
  const how = position[0];
  const tests = values.map((value): ValueTest => {
    if (value === null) return () => false; // handled below: null is about absence, not a value
    let parts = parseGlob(fold(String(value)));
    if ((how === 'contains' || how === 'endswith') && !isWild(parts[0], '*'))
      parts = [{ wild: '*' }, ...parts];
    if ((how === 'contains' || how === 'startswith') && !isWild(parts.at(-1), '*'))
      parts = [...parts, { wild: '*' }];
    const test = cased ? globTest(parts) : foldedGlobTest(parts);
    return (v) => {
      const t = valueText(v);
      return t !== undefined && test(t);
    };
  });
  const nullAllowed = values.includes(null);
  const valueMatch = anyOrAll(tests.filter((_, i) => values[i] !== null));
  if (!nullAllowed) return valueMatch;
  const isNull: Matcher = (r) => !someValue(r, path, notNull);
  if (values.every((v) => v === null)) return isNull;
  if (all) fail(where, 'all without null among the values', 'null in a list with all');
  return (r) => isNull(r) || valueMatch(r);
}

// ------------------------------------------------------------------------------------------------- selections

interface Selection {
  match: Matcher;
  eventNames: Set<string> | null;
  eventSources: Set<string> | null;
  fields: string[];
}

/** The exact values a field must take (case-folded), when a spec says so plainly. */
function exactValues(spec: FieldSpec): Set<string> | null {
  // `cased` and `all` only narrow what a plain list matches: the values stay a necessary condition.
  if (spec.modifiers.some((m) => m !== 'cased' && m !== 'all')) return null;
  const out = new Set<string>();
  for (const v of spec.values) {
    if (typeof v !== 'string') return null;
    const parts = parseGlob(v);
    if (parts.some((p) => typeof p !== 'string')) return null;
    out.add(parts.join('').toLowerCase());
  }
  return out;
}

function compileMapping(name: string, mapping: Record<string, unknown>): Selection {
  const entries = Object.entries(mapping);
  if (entries.length === 0) fail(`search identifier "${name}"`, 'at least one field', 'an empty mapping');
  const specs: FieldSpec[] = entries.map(([key, raw]) => {
    const { field, modifiers } = parseKey(key);
    return { field, path: fieldPath(field), modifiers, values: scalarValues(key, raw) };
  });
  const matchers = specs.map(compileField);
  const req = (f: string) => {
    let set: Set<string> | null = null;
    for (const s of specs) if (s.field === f) set = intersect(set, exactValues(s));
    return set;
  };
  return {
    match: matchers.length === 1 ? matchers[0] : (r) => matchers.every((m) => m(r)),
    eventNames: req('eventName'),
    eventSources: req('eventSource'),
    fields: specs.map((s) => s.field),
  };
}

function compileSelection(name: string, raw: unknown): Selection {
  if (Array.isArray(raw)) {
    if (raw.length === 0)
      fail(`search identifier "${name}"`, 'a mapping or a list of mappings', 'an empty list');
    if (raw.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) {
      fail(
        `search identifier "${name}"`,
        'fields with values (a mapping or a list of mappings)',
        'keywords (values without a field): full-text search is not supported on CloudTrail records',
      );
    }
    const parts = raw.map((m) => compileMapping(name, m as Record<string, unknown>));
    return or(parts);
  }
  if (typeof raw !== 'object' || raw === null) {
    fail(
      `search identifier "${name}"`,
      'a mapping of fields to values or a list of mappings',
      describeYaml(raw),
    );
  }
  return compileMapping(name, raw as Record<string, unknown>);
}

function intersect(a: Set<string> | null, b: Set<string> | null): Set<string> | null {
  if (a === null) return b;
  if (b === null) return a;
  return new Set([...a].filter((x) => b.has(x)));
}

function union(a: Set<string> | null, b: Set<string> | null): Set<string> | null {
  return a === null || b === null ? null : new Set([...a, ...b]);
}

function or(parts: Selection[]): Selection {
  const ms = parts.map((p) => p.match);
  return {
    match: ms.length === 1 ? ms[0] : (r) => ms.some((m) => m(r)),
    eventNames: parts.map((p) => p.eventNames).reduce(union),
    eventSources: parts.map((p) => p.eventSources).reduce(union),
    fields: parts.flatMap((p) => p.fields),
  };
}

function and(parts: Selection[]): Selection {
  const ms = parts.map((p) => p.match);
  return {
    match: ms.length === 1 ? ms[0] : (r) => ms.every((m) => m(r)),
    eventNames: parts.map((p) => p.eventNames).reduce(intersect),
    eventSources: parts.map((p) => p.eventSources).reduce(intersect),
    fields: parts.flatMap((p) => p.fields),
  };
}

function not(p: Selection): Selection {
  const m = p.match;
  return { match: (r) => !m(r), eventNames: null, eventSources: null, fields: p.fields };
}

// -------------------------------------------------------------------------------------------------- condition

type Token = { text: string; at: number };

function tokenize(condition: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:([()])|([^\s()]+))/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  // biome-ignore lint/suspicious/noAssignInExpressions: the usual regex scanning loop
  while ((m = re.exec(condition)) !== null) {
    tokens.push({ text: m[1] ?? m[2], at: m.index + m[0].length - (m[1] ?? m[2]).length + 1 });
    end = re.lastIndex;
  }
  if (condition.slice(end).trim() !== '')
    fail('condition', 'a word or parenthesis', JSON.stringify(condition.slice(end)));
  return tokens;
}

const IDENT = /^[A-Za-z0-9_]+$/;
const IDENT_PATTERN = /^[A-Za-z0-9_*]+$/;

function namePattern(p: string): RegExp {
  return new RegExp(`^${p.split('*').map(escapeRegex).join('.*')}$`);
}

/** Parses and compiles a condition over compiled search identifiers. */
function compileCondition(condition: string, selections: Map<string, Selection>): Selection {
  const tokens = tokenize(condition);
  let i = 0;
  const where = (t: Token | undefined) => (t ? `"${t.text}" at column ${t.at}` : 'the end of the condition');
  const expect = (what: string): never => fail(`condition "${condition}"`, what, where(tokens[i]));

  const parseOr = (): Selection => {
    const parts = [parseAnd()];
    while (tokens[i]?.text === 'or') {
      i++;
      parts.push(parseAnd());
    }
    return parts.length === 1 ? parts[0] : or(parts);
  };
  const parseAnd = (): Selection => {
    const parts = [parseNot()];
    while (tokens[i]?.text === 'and') {
      i++;
      parts.push(parseNot());
    }
    return parts.length === 1 ? parts[0] : and(parts);
  };
  const parseNot = (): Selection => {
    if (tokens[i]?.text === 'not') {
      i++;
      return not(parseNot());
    }
    return parsePrimary();
  };
  const parsePrimary = (): Selection => {
    const t = tokens[i];
    if (!t) return expect('a search identifier, "1 of", "all of", "not" or "("');
    if (t.text === '(') {
      i++;
      const inner = parseOr();
      if (tokens[i]?.text !== ')') expect('")"');
      i++;
      return inner;
    }
    if (t.text === '|') {
      fail(
        `condition "${condition}"`,
        'a condition without aggregation',
        `"|" at column ${t.at}: aggregations are not supported, write a correlation rule (event_count, value_count)`,
      );
    }
    if (tokens[i + 1]?.text === 'of') {
      const quant = t.text;
      if (quant !== '1' && quant !== 'all') {
        fail(`condition "${condition}"`, '"1 of" or "all of"', `"${quant} of" at column ${t.at}`);
      }
      i += 2;
      const target = tokens[i];
      if (!target || !IDENT_PATTERN.test(target.text)) return expect('a name pattern or "them" after "of"');
      i++;
      const names =
        target.text === 'them'
          ? [...selections.keys()].filter((n) => !n.startsWith('_'))
          : [...selections.keys()].filter((n) => namePattern(target.text).test(n));
      if (names.length === 0) {
        fail(`condition "${condition}"`, `search identifiers matching "${target.text}"`, 'none');
      }
      const parts = names.map((n) => selections.get(n) as Selection);
      return quant === '1' ? or(parts) : and(parts);
    }
    if (['and', 'or', ')', 'of', 'them'].includes(t.text)) return expect('a search identifier');
    if (t.text === 'near')
      fail(`condition "${condition}"`, 'and, or, not, 1 of, all of', '"near": not supported');
    if (!IDENT.test(t.text)) {
      fail(`condition "${condition}"`, 'a search identifier (letters, digits, _)', where(t));
    }
    const sel = selections.get(t.text);
    if (!sel)
      fail(
        `condition "${condition}"`,
        `a search identifier defined in detection (${[...selections.keys()].join(', ')})`,
        `"${t.text}" at column ${t.at}`,
      );
    i++;
    return sel;
  };

  const result = parseOr();
  if (i < tokens.length) {
    if (tokens[i].text === '|') parsePrimary();
    if (tokens[i].text === 'near') {
      fail(
        `condition "${condition}"`,
        'and, or, not, 1 of, all of',
        `${where(tokens[i])}: near is not supported`,
      );
    }
    expect('"and", "or" or the end of the condition');
  }
  return result;
}

// -------------------------------------------------------------------------------------------------- detection

/** Compiles a rule's `detection` block. Throws {@link SigmaError} (without a file: the loader places it). */
export function compileDetection(detection: unknown): CompiledDetection {
  if (typeof detection !== 'object' || detection === null || Array.isArray(detection)) {
    fail('detection', 'a mapping of search identifiers and a condition', describeYaml(detection));
  }
  const d = detection as Record<string, unknown>;
  if ('timeframe' in d) {
    fail(
      'detection.timeframe',
      'no timeframe in a detection',
      'timeframe: write a correlation rule (event_count, value_count) with a timespan',
    );
  }
  const condition = d.condition;
  if (condition === undefined) fail('detection.condition', 'a condition', 'nothing');
  const conditions = Array.isArray(condition) ? condition : [condition];
  if (conditions.length === 0 || conditions.some((c) => typeof c !== 'string' || c.trim() === '')) {
    fail('detection.condition', 'a condition string (or a list of them)', describeYaml(condition));
  }
  const selections = new Map<string, Selection>();
  for (const [name, raw] of Object.entries(d)) {
    if (name === 'condition') continue;
    if (!IDENT.test(name))
      fail(`search identifier "${name}"`, 'a name of letters, digits and _', JSON.stringify(name));
    selections.set(name, compileSelection(name, raw));
  }
  if (selections.size === 0) fail('detection', 'at least one search identifier', 'only a condition');
  const compiled = or((conditions as string[]).map((c) => compileCondition(c, selections)));
  return {
    match: compiled.match,
    ...(compiled.eventNames ? { eventNames: compiled.eventNames } : {}),
    ...(compiled.eventSources ? { eventSources: compiled.eventSources } : {}),
    fields: [...new Set(compiled.fields)],
  };
}

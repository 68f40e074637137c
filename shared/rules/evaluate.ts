/**
 * Runs every rule over the records of one log file. Memory stays bounded however many records match:
 * per rule a count, a few sample records and capped tallies (principal, API, error code, source IP,
 * account, region) for storm summaries.
 *
 * Ingest use:
 *   const evaluator = new RuleEvaluator(defaultRules());
 *   for await (const batch of readLogRecords(body)) for (const r of batch) evaluator.onRecord(r);
 *   for (const m of evaluator.results()) metrics.addMetric(m.rule.metricName, 'Count', m.count);
 */

import { type CloudTrailRecord, objectOf, principalOf, recordAccount, textOf } from '#shared/record.ts';
import type { ActiveExceptions, RuleException } from '#shared/rules/exceptions.ts';
import type { Matcher } from '#shared/rules/pattern/index.ts';
import { ruleDispatch, ruleMatcher } from '#shared/rules/rule-matcher.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import { valueText } from '#shared/rules/sigma/detection.ts';
import { type Ranked, topOf } from '#shared/summary.ts';

export interface EvaluatorOptions {
  /** Sample records kept per rule (default 5). */
  sampleSize?: number;
  /** Distinct values tallied per dimension before the rest is counted as "(other)" (default 1000). */
  maxDistinct?: number;
  /** Entries in each ranked list of the results (default 10). */
  topN?: number;
  /** Exceptions in force: a match one of them names is counted as suppressed, not as a match. */
  exceptions?: ActiveExceptions;
}

/** Matches of one rule that exceptions silenced, by exception. */
export interface RuleSuppressions {
  rule: Rule;
  count: number;
  byException: { exception: RuleException; count: number; eventIds: string[] }[];
}

/** Event ids kept per exception and rule, to show what was silenced. */
const SUPPRESSED_IDS_KEPT = 20;

export interface RuleMatches {
  rule: Rule;
  count: number;
  /** Matching records that carry an errorCode: calls AWS refused, which changed nothing. */
  failed: number;
  /** Up to `sampleSize` matching records, favouring distinct principals. */
  samples: CloudTrailRecord[];
  principals: Ranked[];
  /** Distinct principals seen, at most `maxDistinct` (a lower bound once the tally overflows). */
  distinctPrincipals: number;
  /** `eventSource eventName` */
  apis: Ranked[];
  errorCodes: Ranked[];
  sourceIps: Ranked[];
  accounts: Ranked[];
  regions: Ranked[];
  firstEventTime: string | null;
  lastEventTime: string | null;
  /** Count rules: the group whose events crossed the threshold, and the window they did it in. */
  window?: CountWindow;
}

/** What a count rule saw in the window where a group crossed its threshold (across log files). */
export interface CountWindow {
  /** Group-by field -> value. */
  group: Record<string, string>;
  /** Matching events in the window (event_count), or distinct values of the counted field (value_count). */
  count: number;
  threshold: number;
  start: string;
  end: string;
  /** Log files whose events fall in the window. */
  files: number;
}

/** One group's events of a count rule in one log file: `[epoch second, counted value]` pairs, and a summary. */
export interface CountGroup {
  key: string;
  group: Record<string, string>;
  events: [number, string][];
  /** The group's matching records of this file, summarized like a rule's matches. */
  matches: RuleMatches;
}

export interface CountObservation {
  rule: Rule;
  groups: CountGroup[];
}

export const OTHER = '(other)';

/** A tally that stops adding keys after `max` distinct values, so a hostile file cannot grow it. */
class CappedCounter {
  private readonly counts = new Map<string, number>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  add(key: string | undefined): void {
    if (key === undefined) return;
    const n = this.counts.get(key);
    if (n !== undefined) this.counts.set(key, n + 1);
    else if (this.counts.size < this.max) this.counts.set(key, 1);
    else this.counts.set(OTHER, (this.counts.get(OTHER) ?? 0) + 1);
  }
  /** Distinct values counted by name (at most `max`; the overflow bucket is not one). */
  get distinct(): number {
    return this.counts.size - (this.counts.has(OTHER) ? 1 : 0);
  }
  top(n: number): Ranked[] {
    return topOf(this.counts, n);
  }
}

/** A rule's matches that exceptions silenced, by exception (event ids capped). */
class Silenced {
  count = 0;
  readonly byException = new Map<string, { exception: RuleException; count: number; eventIds: string[] }>();

  add(record: CloudTrailRecord, exception: RuleException): void {
    this.count++;
    let s = this.byException.get(exception.id);
    if (!s) {
      s = { exception, count: 0, eventIds: [] };
      this.byException.set(exception.id, s);
    }
    s.count++;
    const id = textOf(objectOf(record)?.eventID);
    if (id && s.eventIds.length < SUPPRESSED_IDS_KEPT) s.eventIds.push(id);
  }
}

class RuleState {
  readonly rule: Rule;
  readonly test: Matcher;
  count = 0;
  failed = 0;
  readonly samples: { record: CloudTrailRecord; principal: string }[] = [];
  readonly principals: CappedCounter;
  readonly apis: CappedCounter;
  readonly errorCodes: CappedCounter;
  readonly sourceIps: CappedCounter;
  readonly accounts: CappedCounter;
  readonly regions: CappedCounter;
  first: string | null = null;
  last: string | null = null;
  private distinctSamples = false;
  readonly silenced = new Silenced();

  constructor(rule: Rule, max: number, test?: Matcher) {
    this.rule = rule;
    this.test = test ?? ruleMatcher(rule);
    this.principals = new CappedCounter(max);
    this.apis = new CappedCounter(max);
    this.errorCodes = new CappedCounter(max);
    this.sourceIps = new CappedCounter(max);
    this.accounts = new CappedCounter(max);
    this.regions = new CappedCounter(max);
  }

  add(record: CloudTrailRecord, sampleSize: number): void {
    this.count++;
    const r = objectOf(record) ?? {};
    const principal = principalOf(record);
    this.principals.add(principal);
    const source = textOf(r.eventSource);
    const name = textOf(r.eventName);
    if (source || name) this.apis.add(`${source ?? '?'} ${name ?? '?'}`);
    const errorCode = textOf(r.errorCode);
    if (errorCode) this.failed++;
    this.errorCodes.add(errorCode);
    this.sourceIps.add(textOf(r.sourceIPAddress));
    this.accounts.add(recordAccount(record));
    this.regions.add(textOf(r.awsRegion));
    const time = textOf(r.eventTime);
    if (time) {
      if (this.first === null || time < this.first) this.first = time;
      if (this.last === null || time > this.last) this.last = time;
    }
    this.sample(record, principal, sampleSize);
  }

  /** Keeps the first records, then lets a new principal replace a sample of an over-represented one. */
  private sample(record: CloudTrailRecord, principal: string, size: number): void {
    if (this.samples.length < size) {
      this.samples.push({ record, principal });
      return;
    }
    // Samples of distinct principals only: no sample is over-represented, nothing will ever be replaced.
    if (this.distinctSamples) return;
    if (this.samples.some((s) => s.principal === principal)) return;
    this.distinctSamples = new Set(this.samples.map((s) => s.principal)).size === this.samples.length;
    if (this.distinctSamples) return;
    const perPrincipal = new Map<string, number>();
    for (const s of this.samples) perPrincipal.set(s.principal, (perPrincipal.get(s.principal) ?? 0) + 1);
    for (let i = this.samples.length - 1; i >= 0; i--) {
      if ((perPrincipal.get(this.samples[i].principal) ?? 0) > 1) {
        this.samples[i] = { record, principal };
        return;
      }
    }
  }
}

/** Samples ordered round-robin by principal, so the first few examples show different callers. */
function interleaveByPrincipal(
  samples: { record: CloudTrailRecord; principal: string }[],
): CloudTrailRecord[] {
  const groups = new Map<string, CloudTrailRecord[]>();
  for (const s of samples) {
    const g = groups.get(s.principal);
    if (g) g.push(s.record);
    else groups.set(s.principal, [s.record]);
  }
  const out: CloudTrailRecord[] = [];
  for (let i = 0; out.length < samples.length; i++) {
    for (const g of groups.values()) if (i < g.length) out.push(g[i]);
  }
  return out;
}

function summarize(s: RuleState, n: number): RuleMatches {
  return {
    rule: s.rule,
    count: s.count,
    failed: s.failed,
    samples: interleaveByPrincipal(s.samples),
    principals: s.principals.top(n),
    distinctPrincipals: s.principals.distinct,
    apis: s.apis.top(n),
    errorCodes: s.errorCodes.top(n),
    sourceIps: s.sourceIps.top(n),
    accounts: s.accounts.top(n),
    regions: s.regions.top(n),
    firstEventTime: s.first,
    lastEventTime: s.last,
  };
}

/** Caps that keep a count rule's per-file memory bounded whatever the file holds. */
const MAX_GROUPS = 1000;
const MAX_EVENTS_PER_GROUP = 5_000;
/** Counted events per count rule and file, over all groups. */
const MAX_EVENTS_PER_FILE = 20_000;
const GROUP_TALLY = 50;
const OVERFLOW_GROUP = '(other)';

/** A count rule's matches in one file, by group. */
class CountCollector {
  readonly rule: Rule;
  readonly test: Matcher;
  readonly silenced = new Silenced();
  private readonly groupBy: string[][];
  private readonly field: string[] | undefined;
  readonly groups = new Map<
    string,
    { group: Record<string, string>; events: [number, string][]; state: RuleState }
  >();
  private events = 0;

  constructor(rule: Rule) {
    this.rule = rule;
    const c = rule.sigma?.correlation;
    if (!c) throw new Error(`rule ${rule.id} is not a count rule`);
    this.test = ruleMatcher(rule);
    this.groupBy = c.groupBy.map((f) => f.split('.'));
    this.field = c.field?.split('.');
  }

  add(record: CloudTrailRecord, sampleSize: number): void {
    const time = Date.parse(textOf(objectOf(record)?.eventTime) ?? '');
    if (Number.isNaN(time)) return; // a record without a time cannot be placed in a window
    const values = this.groupBy.map((p) => firstText(record, p) ?? '');
    let key = JSON.stringify(values);
    if (!this.groups.has(key) && this.groups.size >= MAX_GROUPS) key = OVERFLOW_GROUP;
    let g = this.groups.get(key);
    if (!g) {
      const group: Record<string, string> = {};
      this.rule.sigma!.correlation!.groupBy.forEach((f, i) => {
        group[f] = key === OVERFLOW_GROUP ? OVERFLOW_GROUP : values[i];
      });
      g = { group, events: [], state: new RuleState(this.rule, GROUP_TALLY, this.test) };
      this.groups.set(key, g);
    }
    if (this.field) {
      // value_count: every value the field holds in this record is one counted value.
      const texts = allTexts(record, this.field);
      for (const v of texts) this.push(g.events, time, v);
      if (texts.length === 0) return;
    } else this.push(g.events, time, '');
    g.state.add(record, sampleSize);
  }

  /** Keeps an event while the caps allow: a hostile file cannot grow a rule's state without bound. */
  private push(events: [number, string][], time: number, value: string): void {
    if (events.length >= MAX_EVENTS_PER_GROUP || this.events >= MAX_EVENTS_PER_FILE) return;
    // Long values (attacker-chosen) are kept by their first 256 characters: the state stays small.
    events.push([Math.floor(time / 1000), value.length > 256 ? value.slice(0, 256) : value]);
    this.events++;
  }
}

function firstText(record: unknown, path: string[]): string | undefined {
  let v: unknown = record;
  for (const k of path) {
    while (Array.isArray(v)) v = v[0];
    const o = objectOf(v);
    if (!o || !Object.hasOwn(o, k)) return undefined;
    v = o[k];
  }
  while (Array.isArray(v)) v = v[0];
  return valueText(v);
}

function allTexts(record: unknown, path: string[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown, i: number): void => {
    if (out.length >= 1000) return;
    if (Array.isArray(v)) {
      for (const x of v) walk(x, i);
      return;
    }
    if (i === path.length) {
      const t = valueText(v);
      if (t !== undefined) out.push(t);
      return;
    }
    const o = objectOf(v);
    if (o && Object.hasOwn(o, path[i])) walk(o[path[i]], i + 1);
  };
  walk(record, 0);
  return out;
}

/** Lower-cased text of a top-level field for the rule index; undefined when it is not a plain value. */
function indexKey(v: unknown, cache: Map<string, string>): string | undefined {
  if (typeof v !== 'string') return typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  let k = cache.get(v);
  if (k === undefined) {
    if (cache.size > 4096) cache.clear();
    k = v.toLowerCase();
    cache.set(v, k);
  }
  return k;
}

interface Indexed<T> {
  always: T[];
  byName: Map<string, T[]>;
  bySource: Map<string, T[]>;
  /** Every indexed entry, for records whose eventName or eventSource is not plain text. */
  indexed: T[];
}

/**
 * Rules that require an eventName (or, failing that, an eventSource), Sigma rules and filter patterns alike
 * ({@link ruleDispatch}), are only tried on records that carry one of theirs: most rules are never evaluated
 * on most records.
 */
function indexRules<T extends { rule: Rule }>(entries: T[]): Indexed<T> {
  const ix: Indexed<T> = { always: [], byName: new Map(), bySource: new Map(), indexed: [] };
  const put = (m: Map<string, T[]>, k: string, e: T) => {
    const list = m.get(k);
    if (list) list.push(e);
    else m.set(k, [e]);
  };
  for (const e of entries) {
    const c = ruleDispatch(e.rule);
    if (c?.eventNames) for (const n of c.eventNames) put(ix.byName, n, e);
    else if (c?.eventSources) for (const n of c.eventSources) put(ix.bySource, n, e);
    else {
      ix.always.push(e);
      continue;
    }
    ix.indexed.push(e);
  }
  return ix;
}

export class RuleEvaluator {
  private readonly states: RuleState[];
  private readonly counters: CountCollector[];
  private readonly stateIndex: Indexed<RuleState>;
  private readonly countIndex: Indexed<CountCollector>;
  private readonly lower = new Map<string, string>();
  private readonly sampleSize: number;
  private readonly topN: number;
  private readonly exceptions: ActiveExceptions | undefined;
  private seen = 0;

  constructor(rules: readonly Rule[], options: EvaluatorOptions = {}) {
    const max = options.maxDistinct ?? 1000;
    this.sampleSize = Math.max(1, options.sampleSize ?? 5);
    this.topN = Math.max(1, options.topN ?? 10);
    this.states = rules.filter((r) => !r.sigma?.correlation).map((r) => new RuleState(r, max));
    this.counters = rules.filter((r) => r.sigma?.correlation).map((r) => new CountCollector(r));
    this.stateIndex = indexRules(this.states);
    this.countIndex = indexRules(this.counters);
    this.exceptions = options.exceptions && options.exceptions.size > 0 ? options.exceptions : undefined;
  }

  /** Records evaluated so far. */
  get records(): number {
    return this.seen;
  }

  onRecord(record: CloudTrailRecord): void {
    this.seen++;
    for (const s of this.stateIndex.always) this.hit(s, record);
    if (this.stateIndex.indexed.length === 0 && this.counters.length === 0) return;
    const r = objectOf(record);
    const name = indexKey(r?.eventName, this.lower);
    const source = indexKey(r?.eventSource, this.lower);
    for (const ix of [this.stateIndex, this.countIndex] as Indexed<RuleState | CountCollector>[]) {
      if (ix !== this.stateIndex) for (const s of ix.always) this.hit(s, record);
      if (name === undefined || source === undefined) {
        for (const s of ix.indexed) this.hit(s, record);
        continue;
      }
      const byName = ix.byName.get(name);
      if (byName) for (const s of byName) this.hit(s, record);
      const bySource = ix.bySource.get(source);
      if (bySource) for (const s of bySource) this.hit(s, record);
    }
  }

  /**
   * Every rule kind (filter pattern, pack, Sigma, count) meets the exceptions here, after its own test:
   * a silenced match is counted apart and never reaches a metric, a count window or an alert.
   */
  private hit(s: RuleState | CountCollector, record: CloudTrailRecord): void {
    if (!s.test(record)) return;
    const exception = this.exceptions?.suppressing(s.rule.id, record);
    if (exception) s.silenced.add(record, exception);
    else s.add(record, this.sampleSize);
  }

  /** Per rule with silenced matches (count rules included): how many, and which exception silenced them. */
  suppressions(): RuleSuppressions[] {
    return [...this.states, ...this.counters]
      .filter((s) => s.silenced.count > 0)
      .map((s) => ({
        rule: s.rule,
        count: s.silenced.count,
        byException: [...s.silenced.byException.values()],
      }));
  }

  /** One entry per rule that matched (every rule, zero counts included, with `includeUnmatched`). */
  results(options: { includeUnmatched?: boolean } = {}): RuleMatches[] {
    const n = this.topN;
    return this.states.filter((s) => s.count > 0 || options.includeUnmatched).map((s) => summarize(s, n));
  }

  /** What each count rule saw in this file, by group (rules without a match left out). */
  counts(): CountObservation[] {
    const n = this.topN;
    return this.counters
      .filter((c) => c.groups.size > 0)
      .map((c) => ({
        rule: c.rule,
        groups: [...c.groups.entries()]
          .filter(([, g]) => g.events.length > 0)
          .map(([key, g]) => ({ key, group: g.group, events: g.events, matches: summarize(g.state, n) })),
      }));
  }
}

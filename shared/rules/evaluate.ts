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
import { ruleMatcher } from '#shared/rules/rule-matcher.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
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
  suppressedCount = 0;
  readonly suppressed = new Map<string, { exception: RuleException; count: number; eventIds: string[] }>();

  constructor(rule: Rule, max: number) {
    this.rule = rule;
    this.test = ruleMatcher(rule);
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

  suppress(record: CloudTrailRecord, exception: RuleException): void {
    this.suppressedCount++;
    let s = this.suppressed.get(exception.id);
    if (!s) {
      s = { exception, count: 0, eventIds: [] };
      this.suppressed.set(exception.id, s);
    }
    s.count++;
    const id = textOf(objectOf(record)?.eventID);
    if (id && s.eventIds.length < SUPPRESSED_IDS_KEPT) s.eventIds.push(id);
  }

  /** Keeps the first records, then lets a new principal replace a sample of an over-represented one. */
  private sample(record: CloudTrailRecord, principal: string, size: number): void {
    if (this.samples.length < size) {
      this.samples.push({ record, principal });
      return;
    }
    if (this.samples.some((s) => s.principal === principal)) return;
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

export class RuleEvaluator {
  private readonly states: RuleState[];
  private readonly sampleSize: number;
  private readonly topN: number;
  private readonly exceptions: ActiveExceptions | undefined;
  private seen = 0;

  constructor(rules: readonly Rule[], options: EvaluatorOptions = {}) {
    const max = options.maxDistinct ?? 1000;
    this.sampleSize = Math.max(1, options.sampleSize ?? 5);
    this.topN = Math.max(1, options.topN ?? 10);
    this.states = rules.map((r) => new RuleState(r, max));
    this.exceptions = options.exceptions && options.exceptions.size > 0 ? options.exceptions : undefined;
  }

  /** Records evaluated so far. */
  get records(): number {
    return this.seen;
  }

  onRecord(record: CloudTrailRecord): void {
    this.seen++;
    const exceptions = this.exceptions;
    for (const s of this.states) {
      if (!s.test(record)) continue;
      const exception = exceptions?.suppressing(s.rule.id, record);
      if (exception) s.suppress(record, exception);
      else s.add(record, this.sampleSize);
    }
  }

  /** Per rule with silenced matches: how many, and which exception silenced them. */
  suppressions(): RuleSuppressions[] {
    return this.states
      .filter((s) => s.suppressedCount > 0)
      .map((s) => ({ rule: s.rule, count: s.suppressedCount, byException: [...s.suppressed.values()] }));
  }

  /** One entry per rule that matched (every rule, zero counts included, with `includeUnmatched`). */
  results(options: { includeUnmatched?: boolean } = {}): RuleMatches[] {
    const n = this.topN;
    return this.states
      .filter((s) => s.count > 0 || options.includeUnmatched)
      .map((s) => ({
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
      }));
  }
}

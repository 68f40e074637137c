/**
 * Count rules under batched ingest, without a state object written per file.
 *
 * CloudTrail delivers about one file per account-region every five minutes, so the per-file window state of
 * count-windows.ts (a GET and a conditional PUT per count rule for every file with a matching event) was most
 * of what ingest cost in a quiet organization. Batched ingest does this instead:
 *
 *   1. at ingest, the windows the batch's own files cross among themselves (one file's burst included) alert
 *      at once ({@link batchCrossings});
 *   2. every file's counted events ride in the batch's parked object ({@link parkCounts}), written anyway;
 *   3. the scheduled sweep, every five minutes, adds the new objects' events to what it kept of the recent
 *      ones and alerts the windows that span two batches or more and hold an event of a new one
 *      ({@link sweepCounts}): a burst that only several batches show together alerts at most one schedule
 *      period after its last file was ingested. A window one batch shows alone is left to step 1, so it is not
 *      sent twice.
 *
 * A file carried by two batches (a retry) counts once: the sweep keeps one entry per rule and file.
 */

import { crossingWindow, type WindowEvent, windowTest } from '#shared/rules/count-windows.ts';
import { type CountGroup, type CountObservation, OTHER, type RuleMatches } from '#shared/rules/evaluate.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import { type Ranked, topOf } from '#shared/summary.ts';

/** A group's matches in one file, as parked: without the rule (named by id) and with one sample record. */
export type ParkedMatches = Omit<RuleMatches, 'rule' | 'window'>;

/** A count group of one file (evaluate.ts), its matches as parked. */
export type ParkedGroup = Omit<CountGroup, 'matches'> & { matches: ParkedMatches };

/** One file's events of one count rule. */
export interface ParkedCount {
  rule: string;
  account: string;
  region: string;
  /** `bucket/key` of the log file. */
  source: string;
  groups: ParkedGroup[];
}

/** A group that crossed its rule's threshold, with the window and the files whose events are in it. */
export interface CountCrossing {
  rule: Rule;
  account: string;
  region: string;
  matches: RuleMatches;
  /** Files that contributed events (ingest charges a failed alert to them). */
  sources: string[];
  /** The sweep: the new batches whose events are in the crossing. */
  batches: string[];
}

/** Samples kept per group and file in a parked object: a message shows a few, the sweep merges many files. */
const PARKED_SAMPLES = 1;
const MERGED_TOP = 10;
const MERGED_SAMPLES = 5;

/** One file's count observations, with the rule named by id (what a batch evaluates and parks). */
export function parkCounts(
  source: string,
  account: string,
  region: string,
  observations: CountObservation[],
): ParkedCount[] {
  return observations.map((o) => ({
    rule: o.rule.id,
    account,
    region,
    source,
    groups: o.groups.map((g) => {
      const { rule: _rule, window: _window, ...matches } = g.matches;
      return { key: g.key, group: g.group, events: g.events, matches };
    }),
  }));
}

/** As written into a parked object: one sample per group (an alert at ingest shows them all). */
export function forParkedObject(counts: ParkedCount[]): ParkedCount[] {
  return counts.map((c) => ({
    ...c,
    groups: c.groups.map((g) => ({
      ...g,
      matches: { ...g.matches, samples: g.matches.samples.slice(0, PARKED_SAMPLES) },
    })),
  }));
}

function mergeRanked(lists: Ranked[][]): Ranked[] {
  const sum = new Map<string, number>();
  for (const l of lists) for (const r of l) sum.set(r.value, (sum.get(r.value) ?? 0) + r.count);
  return topOf(sum, MERGED_TOP);
}

/** The matches of several files of one group, as one: counts added, tallies merged, a few samples. */
export function mergeMatches(rule: Rule, list: ParkedMatches[]): RuleMatches {
  const principals = mergeRanked(list.map((m) => m.principals));
  const times = (f: (m: ParkedMatches) => string | null) =>
    list
      .map(f)
      .filter((t): t is string => t !== null)
      .sort();
  const first = times((m) => m.firstEventTime);
  const last = times((m) => m.lastEventTime);
  return {
    rule,
    count: list.reduce((n, m) => n + m.count, 0),
    failed: list.reduce((n, m) => n + m.failed, 0),
    samples: list.flatMap((m) => m.samples).slice(0, MERGED_SAMPLES),
    principals,
    distinctPrincipals: Math.max(
      principals.filter((p) => p.value !== OTHER).length,
      ...list.map((m) => m.distinctPrincipals),
    ),
    apis: mergeRanked(list.map((m) => m.apis)),
    errorCodes: mergeRanked(list.map((m) => m.errorCodes)),
    sourceIps: mergeRanked(list.map((m) => m.sourceIps)),
    accounts: mergeRanked(list.map((m) => m.accounts)),
    regions: mergeRanked(list.map((m) => m.regions)),
    firstEventTime: first[0] ?? null,
    lastEventTime: last.at(-1) ?? null,
  };
}

const iso = (t: number) => new Date(t * 1000).toISOString();

/** One group's events of one rule in one account-region, gathered over files. */
interface Gathered {
  rule: Rule;
  account: string;
  region: string;
  group: Record<string, string>;
  events: WindowEvent[];
  /** The matches a message about it shows (the sweep: the new files' only). */
  matches: ParkedMatches[];
}

/** One crossing per group that has a window passing the test, its matches merged. */
function crossingsOf(gathered: Iterable<Gathered>, batches: number): CountCrossing[] {
  const out: CountCrossing[] = [];
  for (const { rule, account, region, group, events, matches } of gathered) {
    const c = rule.sigma?.correlation;
    if (!c || matches.length === 0) continue;
    const w = crossingWindow(events, windowTest(c, batches));
    if (!w) continue;
    const inWindow = events.filter((e) => e.t >= w.start && e.t <= w.end);
    out.push({
      rule,
      account,
      region,
      matches: {
        ...mergeMatches(rule, matches),
        window: {
          group,
          count: w.count,
          threshold: c.threshold,
          start: iso(w.start),
          end: iso(w.end),
          files: w.files,
        },
      },
      sources: [...new Set(inWindow.map((e) => e.file))].sort(),
      batches: [...new Set(inWindow.filter((e) => e.mine).map((e) => e.batch ?? ''))].sort(),
    });
  }
  return out;
}

const groupId = (rule: string, account: string, region: string, key: string) =>
  `${rule}\u0000${account}/${region}\u0000${key}`;

/** The windows the files of one batch cross among themselves: ingest alerts them at once. */
export function batchCrossings(counts: ParkedCount[], rules: ReadonlyMap<string, Rule>): CountCrossing[] {
  const byGroup = new Map<string, Gathered>();
  for (const { rule: id, account, region, source, groups } of counts) {
    const rule = rules.get(id);
    if (!rule) continue;
    for (const group of groups) {
      const gid = groupId(id, account, region, group.key);
      let g = byGroup.get(gid);
      if (!g) {
        g = { rule, account, region, group: group.group, events: [], matches: [] };
        byGroup.set(gid, g);
      }
      for (const [t, v] of group.events) g.events.push({ t, v, file: source, mine: true });
      g.matches.push(group.matches);
    }
  }
  return crossingsOf(byGroup.values(), 1);
}

/** What the sweep keeps of one file's events of one rule. */
interface SweptEntry {
  rule: string;
  account: string;
  region: string;
  /** The parked object that carried it. */
  batch: string;
  /** Epoch second the sweep first read it: how long it is kept. */
  read: number;
  groups: Record<string, [number, string][]>;
}

/** The sweep's memory of the recent batches' count events, keyed by rule and file. */
export interface CountSweepState {
  entries: Record<string, SweptEntry>;
}

/**
 * How long after it was read a file's events are kept: a count window is 5 minutes, and files of the same
 * minutes are delivered within about 5 minutes of each other (CloudTrail's usual delay), often more in a
 * busy region; 20 minutes more covers a late file without keeping an organization's hour of events.
 */
export const SWEEP_KEEP_SECONDS = 20 * 60;
/** Events kept in all, newest files first: an organization under a flood cannot grow the sweep's object. */
const SWEEP_MAX_EVENTS = 1_000_000;

/**
 * Adds the new batches' events and returns the windows that span two batches or more and hold an event of a
 * new one. Entries of rules no longer loaded are dropped.
 */
export function sweepCounts(
  state: CountSweepState,
  fresh: (ParkedCount & { batch: string })[],
  rules: ReadonlyMap<string, Rule>,
  nowSeconds: number,
): CountCrossing[] {
  const freshKeys = new Set<string>();
  // Only the groups a new file touched can have a new crossing: gathered from every kept file below.
  const byGroup = new Map<string, Gathered>();
  for (const f of fresh) {
    const rule = rules.get(f.rule);
    if (!rule) continue;
    const key = `${f.rule}\u0000${f.source}`;
    freshKeys.add(key);
    state.entries[key] = {
      rule: f.rule,
      account: f.account,
      region: f.region,
      batch: f.batch,
      read: nowSeconds,
      groups: Object.fromEntries(f.groups.map((g) => [g.key, g.events])),
    };
    for (const g of f.groups) {
      const id = groupId(f.rule, f.account, f.region, g.key);
      const gathered = byGroup.get(id);
      if (gathered) gathered.matches.push(g.matches);
      else
        byGroup.set(id, {
          rule,
          account: f.account,
          region: f.region,
          group: g.group,
          events: [],
          matches: [g.matches],
        });
    }
  }
  prune(state, nowSeconds, rules, freshKeys);
  for (const [key, e] of Object.entries(state.entries)) {
    const source = key.slice(key.indexOf('\u0000') + 1);
    const mine = freshKeys.has(key);
    for (const [gk, events] of Object.entries(e.groups)) {
      const g = byGroup.get(groupId(e.rule, e.account, e.region, gk));
      if (!g) continue;
      for (const [t, v] of events) g.events.push({ t, v, file: source, mine, batch: e.batch });
    }
  }
  return crossingsOf(byGroup.values(), 2);
}

function prune(
  state: CountSweepState,
  nowSeconds: number,
  rules: ReadonlyMap<string, Rule>,
  fresh: Set<string>,
): void {
  const kept = Object.entries(state.entries)
    .filter(([k, e]) => rules.has(e.rule) && (fresh.has(k) || e.read >= nowSeconds - SWEEP_KEEP_SECONDS))
    .sort((a, b) => b[1].read - a[1].read);
  const entries: Record<string, SweptEntry> = {};
  let events = 0;
  for (const [k, e] of kept) {
    const n = Object.values(e.groups).reduce((sum, g) => sum + g.length, 0);
    if (!fresh.has(k) && events + n > SWEEP_MAX_EVENTS) break;
    entries[k] = e;
    events += n;
  }
  state.entries = entries;
}

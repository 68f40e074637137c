/**
 * Count rules across log files: "N matching events by the same principal within T minutes" needs the events
 * of earlier files. One state object per rule, account and region (`count-windows/<rule>/<account>/<region>.json`)
 * holds, per log file, the counted events of each group as `[epoch second, value]` pairs. A file's entry is
 * written under its own key, so applying the same file twice (a retry, a re-delivery before its commit)
 * replaces the entry instead of counting it again. Writes are conditional (If-Match / If-None-Match) and
 * retried on conflict, so concurrent invocations never lose each other's events.
 *
 * A group crosses when some window of `timespan` seconds holds `threshold` events (event_count) or distinct
 * values (value_count) and at least one of them comes from the file being applied: the file that completes
 * a burst alerts, whichever order the files arrive in.
 */
import { ObjectNotFoundError, type ObjectStore, PreconditionFailedError, readAll } from '#shared/ports.ts';
import { RulesError } from '#shared/rules/errors.ts';
import type { CountGroup, CountWindow } from '#shared/rules/evaluate.ts';
import type { Rule } from '#shared/rules/rule-types.ts';

type CountCorrelation = NonNullable<NonNullable<Rule['sigma']>['correlation']>;

export const COUNT_STATE_PREFIX = 'count-windows/';
const SCHEMA = 'trailwatch.count-window/1';
/** Events arriving this late (delivery delays) still meet the events they belong with. */
const LATENESS_SECONDS = 3600;
/** Files and events kept per state object, newest first, whatever their age: bound the object under a flood. */
const MAX_FILES = 500;
const MAX_EVENTS = 200_000;
const MAX_ATTEMPTS = 8;

interface FileEntry {
  /** Newest event second of the file. */
  at: number;
  groups: Record<string, [number, string][]>;
}

interface CountState {
  schema: string;
  files: Record<string, FileEntry>;
}

export class CountStateError extends RulesError {}

export function countStateKey(ruleId: string, account: string, region: string): string {
  return `${COUNT_STATE_PREFIX}${ruleId}/${account}/${region}.json`;
}

async function load(store: ObjectStore, key: string): Promise<{ state: CountState; etag?: string }> {
  try {
    const obj = await store.get(key);
    const chunks: Uint8Array[] = [];
    for await (const c of obj.body) chunks.push(c);
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CountState;
    if (parsed?.schema !== SCHEMA || typeof parsed.files !== 'object' || parsed.files === null) {
      throw new CountStateError(`${key}: expected a ${SCHEMA} object, found something else`);
    }
    return { state: parsed, ...(obj.etag ? { etag: obj.etag } : {}) };
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return { state: { schema: SCHEMA, files: {} } };
    if (err instanceof SyntaxError) throw new CountStateError(`${key}: not valid JSON`, { cause: err });
    throw err;
  }
}

/**
 * Drops files whose events are too old to share a window with the newest, then the oldest beyond the caps
 * (a flood of files written to the trail bucket cannot grow the object without bound). `current` stays.
 */
function prune(state: CountState, timespan: number, current: string): void {
  const entries = Object.entries(state.files);
  const newest = Math.max(...entries.map(([, f]) => f.at));
  const recent = entries
    .filter(([k, f]) => k === current || f.at >= newest - timespan - LATENESS_SECONDS)
    .sort((a, b) => (a[0] === current ? -1 : b[0] === current ? 1 : b[1].at - a[1].at));
  const keep: [string, FileEntry][] = [];
  let events = 0;
  for (const [k, f] of recent) {
    const n = Object.values(f.groups).reduce((sum, g) => sum + g.length, 0);
    if (k !== current && (keep.length >= MAX_FILES || events + n > MAX_EVENTS)) break;
    keep.push([k, f]);
    events += n;
  }
  state.files = Object.fromEntries(keep);
}

/** One counted event: its second, its counted value, its file, and the batch that carried the file. */
export interface WindowEvent {
  t: number;
  v: string;
  file: string;
  /** Whether the event is one the caller is deciding for (the file being applied, the new files of a sweep). */
  mine: boolean;
  batch?: string;
}

export interface WindowTest {
  timespan: number;
  threshold: number;
  /** value_count: distinct values count; event_count: events. */
  distinct: boolean;
  /** Distinct batches the window must span (default 1): what one batch shows alone was alerted at ingest. */
  batches?: number;
}

/**
 * The densest window of `timespan` seconds (half-open) that reaches the threshold, holds at least one event
 * of `mine` and spans `batches` batches; undefined when none does. Only the windows ending at each event and
 * reaching back as far as the timespan allows are tried: they hold the most of everything.
 */
export function crossingWindow(
  events: WindowEvent[],
  test: WindowTest,
): { count: number; start: number; end: number; files: number } | undefined {
  const sorted = [...events].sort((a, b) => a.t - b.t);
  let best: { count: number; lo: number; hi: number } | undefined;
  const values = new Map<string, number>();
  const batches = new Map<string, number>();
  const bump = (m: Map<string, number>, k: string, d: number) => {
    const n = (m.get(k) ?? 0) + d;
    if (n === 0) m.delete(k);
    else m.set(k, n);
  };
  let ours = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    bump(values, sorted[hi].v, 1);
    bump(batches, sorted[hi].batch ?? '', 1);
    if (sorted[hi].mine) ours++;
    while (sorted[hi].t - sorted[lo].t >= test.timespan) {
      bump(values, sorted[lo].v, -1);
      bump(batches, sorted[lo].batch ?? '', -1);
      if (sorted[lo].mine) ours--;
      lo++;
    }
    const count = test.distinct ? values.size : hi - lo + 1;
    if (count < test.threshold || ours === 0 || batches.size < (test.batches ?? 1)) continue;
    if (!best || count > best.count) best = { count, lo, hi };
  }
  if (!best) return undefined;
  const window = sorted.slice(best.lo, best.hi + 1);
  return {
    count: best.count,
    start: sorted[best.lo].t,
    end: sorted[best.hi].t,
    files: new Set(window.map((e) => e.file)).size,
  };
}

/**
 * Adds one file's groups to the rule's state and returns the groups that cross the threshold, each with
 * its window. Safe to repeat for the same file.
 */
export async function applyCounts(
  store: ObjectStore,
  args: { rule: Rule; account: string; region: string; sourceKey: string; groups: CountGroup[] },
): Promise<{ group: CountGroup; window: CountWindow }[]> {
  const c = args.rule.sigma?.correlation;
  if (!c) throw new CountStateError(`rule ${args.rule.id} is not a count rule`);
  const key = countStateKey(args.rule.id, args.account, args.region);
  const entry: FileEntry = { at: 0, groups: {} };
  for (const g of args.groups) {
    entry.groups[g.key] = g.events;
    for (const [t] of g.events) entry.at = Math.max(entry.at, t);
  }
  for (let attempt = 1; ; attempt++) {
    const { state, etag } = await load(store, key);
    state.files[args.sourceKey] = entry;
    prune(state, c.timespanSeconds, args.sourceKey);
    try {
      await store.put(key, JSON.stringify(state), {
        ...(etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag }),
        contentType: 'application/json',
      });
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= MAX_ATTEMPTS) {
        if (err instanceof PreconditionFailedError) {
          throw new CountStateError(`${key}: still changing after ${attempt} attempts`, { cause: err });
        }
        throw err;
      }
      continue;
    }
    return crossings(state, args.sourceKey, args.groups, c);
  }
}

/** A count rule's threshold test. */
export function windowTest(c: CountCorrelation, batches = 1): WindowTest {
  return { timespan: c.timespanSeconds, threshold: c.threshold, distinct: c.type === 'value_count', batches };
}

function crossings(
  state: CountState,
  sourceKey: string,
  groups: CountGroup[],
  c: CountCorrelation,
): { group: CountGroup; window: CountWindow }[] {
  const out: { group: CountGroup; window: CountWindow }[] = [];
  for (const g of groups) {
    const events: WindowEvent[] = [];
    for (const [file, f] of Object.entries(state.files)) {
      for (const [t, v] of f.groups[g.key] ?? []) events.push({ t, v, file, mine: file === sourceKey });
    }
    const w = crossingWindow(events, windowTest(c));
    if (!w) continue;
    out.push({
      group: g,
      window: {
        group: g.group,
        count: w.count,
        threshold: c.threshold,
        start: new Date(w.start * 1000).toISOString(),
        end: new Date(w.end * 1000).toISOString(),
        files: w.files,
      },
    });
  }
  return out;
}

/** The state of a rule for an account and region, for tests and inspection. */
export async function readCountState(
  store: ObjectStore,
  ruleId: string,
  account: string,
  region: string,
): Promise<Record<string, FileEntry>> {
  try {
    return (
      JSON.parse(
        (await readAll(store, countStateKey(ruleId, account, region))).toString('utf8'),
      ) as CountState
    ).files;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return {};
    throw err;
  }
}

/**
 * The shared state of anomaly detection for one account and region: per-minute counts of recent minutes,
 * hourly buckets for the baseline window, attribution tallies, which summaries were applied, and the open
 * insights. One JSON object per account+region in the state store, changed only by conditional writes.
 *
 * Applying summaries only adds integers to maps and inserts into sets, so concurrent or repeated
 * applications in any order reach the same state. Folding minutes into hours and forgetting old hours
 * happen in `foldState`, driven by an explicit `now`.
 */
import { createHash } from 'node:crypto';
import type { InsightRecord, InsightsOptions, InsightType } from '#shared/insights/insight-types.ts';
import { InsightsConflictError, InsightsError } from '#shared/insights/insight-types.ts';
import type { HourSource } from '#shared/insights/model.ts';
import { DAY_HOURS, HOUR_MINUTES, MINUTE_MS } from '#shared/insights/model.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { ObjectNotFoundError, PreconditionFailedError, readAll } from '#shared/ports.ts';
import type { LogFileSummary } from '#shared/summary.ts';

export const STATE_SCHEMA = 'trailwatch.insights-state/1';
export const STATE_PREFIX = 'insights/state/';

/** Series type codes, short because every series key carries one. */
export type TypeCode = 'C' | 'E' | 'R';

export const TYPE_CODES: Record<InsightType, TypeCode> = {
  ApiCallRateInsight: 'C',
  ApiErrorRateInsight: 'E',
  ApiReadRateInsight: 'R',
};

export const TYPE_NAMES: Record<TypeCode, InsightType> = {
  C: 'ApiCallRateInsight',
  E: 'ApiErrorRateInsight',
  R: 'ApiReadRateInsight',
};

/**
 * Reads that went through in a minute row: a refused read is the error-rate series' business, and counting it
 * here too would raise two insights for one burst of AccessDenied. Rows count errors per code for reads and
 * writes together; an API is nearly always one or the other, and when both appear, errors are taken from
 * the writes first (so reads are never under-counted by more than the writes' errors).
 */
export function succeededReads(reads: number, writes: number, errors?: Record<string, number>): number {
  if (!errors) return reads;
  let failed = 0;
  for (const n of Object.values(errors)) failed += n;
  return Math.max(0, reads - Math.max(0, failed - writes));
}

export interface SeriesState {
  t: TypeCode;
  s: string;
  n: string;
  /** errorCode, error-rate series only. */
  e?: string;
  /**
   * Unfolded minutes with calls, as flat sorted pairs `[minute, count, minute, count, ...]` (minute index =
   * ms / 60000). Flat number arrays keep the state small and quick to serialize.
   */
  m: number[];
  /** Folded hours with calls, as flat sorted triples `[hour, sum of counts, sum of squared counts, ...]`. */
  h: number[];
  /** First minute after the last insight of this series: earlier minutes never start a new one. */
  after?: number;
  /** Earliest minute whose count grew since the last detect (only windows reaching it can have changed). */
  d?: number;
  /**
   * The part of `m` (and of minutes already folded) that came from log files not yet found in a valid
   * digest, as flat sorted pairs like `m`. Detection counts it; the baseline (`h`, and `hourSource`) never
   * does, so a forged file can raise a rate but never lower what counts as unusual.
   */
  u?: number[];
}

/** Hours an unverified file's rows wait for verify (see foldState). */
export const UNVERIFIED_KEEP_HOURS = 24;

/** What one unverified log file added: taken into the baseline when verify finds it listed, else never. */
export interface UnverifiedFile {
  /** Delivery hour (hours since the epoch), to forget it with the baseline window. */
  h: number;
  /** `[series key, minute, count]` */
  rows: [string, number, number][];
}

/**
 * Counts by value of who called (p), with what (u), and the outcome (e, "null" for success). Values are
 * kept once in `InsightsState.values` and referred to by a short hash of their text, which keeps the state
 * small (user agents are long) and independent of the order in which values were first seen.
 */
export interface Tally {
  p: Record<string, number>;
  u: Record<string, number>;
  e: Record<string, number>;
}

export interface ApiHistory {
  s: string;
  n: string;
  /** 5-minute slots `[slot start minute, tally]`, sorted, for the last hour or so. */
  slots: [number, Tally][];
  /** Day index -> tally (top values only) for the baseline window. */
  days: [number, Tally][];
}

export interface OpenInsight {
  sharedEventID: string;
  series: string;
  /** First unusual minute. */
  start: number;
  /** Minute whose count started the insight. */
  trigger: number;
  /** Last unusual minute seen. */
  last: number;
  baselineAverage: number;
  baselineMinutes: number;
  expected: number;
  startAt: number;
  /** When the Start was produced (minute index). */
  emitted: number;
}

export interface ClosedInsight {
  sharedEventID: string;
  series: string;
  t: TypeCode;
  s: string;
  n: string;
  e?: string;
  start: number;
  end: number;
  baselineAverage: number;
  expected: number;
  average: number;
}

/** Records committed to state but not yet written as an Insights file (written on the next detect). */
export interface PendingFile {
  /** Minute index of the detect call that produced them: the file's timestamp. */
  emitted: number;
  records: InsightRecord[];
}

export interface InsightsState {
  schema: typeof STATE_SCHEMA;
  account: string;
  region: string;
  orgId?: string;
  /** First and last minute with events seen (event time). */
  coverage: [number, number] | null;
  /** Hours before this one live in `h` buckets, later minutes in `m`. */
  folded: number;
  /** Attribution slots before this minute are folded into day tallies. */
  slotsFolded: number;
  /** Hours before this one are forgotten. */
  horizon: number;
  series: Record<string, SeriesState>;
  apis: Record<string, ApiHistory>;
  /** Value hash -> value (principal ARN, user agent, error code) for the tallies. */
  values: Record<string, string>;
  /** Delivery hour -> sorted short hashes of the source keys of the summaries applied. */
  applied: Record<string, string[]>;
  open: Record<string, OpenInsight>;
  /** Insights ended within the baseline window, for reports. */
  history: ClosedInsight[];
  outbox: PendingFile[];
  /** Source hash -> what an unverified log file added (see {@link SeriesState.u}). */
  unverified?: Record<string, UnverifiedFile>;
  /**
   * Start/End messages decided by a committed change and not yet published: committed in the same write as
   * the change, so a failure after it can only delay them (see detect-and-notify.ts).
   */
  messages?: { id: string; notification: unknown }[];
  /**
   * Source hash -> hour (since the epoch) verify listed it in a valid digest, for log files not applied yet
   * (parked until the next fold): applied later, they are taken as verified. Forgotten with the baseline.
   */
  verifiedAhead?: Record<string, number>;
}

export function stateKey(account: string, region: string): string {
  return `${STATE_PREFIX}${account}/${region}.json`;
}

/**
 * Marks (empty objects) of the account-regions whose state needs the scheduled detect between folds: an open
 * insight to end, or messages or Insights files still to send. Written when the state gains one, deleted when
 * it has none left; the fold passes visit every state anyway and set the marks right.
 */
export const ACTIVE_PREFIX = 'insights/active/';

export function activeKey(account: string, region: string): string {
  return `${ACTIVE_PREFIX}${account}/${region}`;
}

/** Whether the state needs visits between folds (see {@link ACTIVE_PREFIX}). */
export function isActive(state: InsightsState): boolean {
  return Object.keys(state.open).length > 0 || (state.messages?.length ?? 0) > 0 || state.outbox.length > 0;
}

export function emptyState(account: string, region: string, orgId?: string): InsightsState {
  return {
    schema: STATE_SCHEMA,
    account,
    region,
    ...(orgId ? { orgId } : {}),
    coverage: null,
    folded: 0,
    slotsFolded: 0,
    horizon: 0,
    series: {},
    apis: {},
    values: {},
    applied: {},
    open: {},
    history: [],
    outbox: [],
  };
}

export function seriesKey(t: TypeCode, s: string, n: string, e?: string): string {
  return e === undefined ? `${t}|${s}|${n}` : `${t}|${s}|${n}|${e}`;
}

const SLOT_MINUTES = 5;
/** Attribution slots are kept this long (the Start of an insight looks at them), then folded into days. */
const SLOT_RETENTION_MINUTES = 45;
const DAY_TOP = 5;

export function valueId(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 10);
}

export function minuteOf(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text)) return undefined;
  const t = Date.parse(`${text.slice(0, 16)}:00Z`);
  return Number.isNaN(t) ? undefined : t / MINUTE_MS;
}

export function minuteIso(minute: number): string {
  return new Date(minute * MINUTE_MS).toISOString().replace('.000Z', 'Z');
}

/** Short, stable id of a summary's source object, for the applied sets. */
export function sourceHash(summary: LogFileSummary): string {
  return createHash('sha256')
    .update(`${summary.source.bucket}\u0000${summary.source.key}`)
    .digest('hex')
    .slice(0, 16);
}

/** Index of the first entry of a flat sorted array (entries of `width` numbers) whose key is >= `key`. */
export function lowerBound(list: number[], width: number, key: number): number {
  let lo = 0;
  let hi = list.length / width;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid * width] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo * width;
}

/** Adds `values` to the entry of `key`, inserting it in order when absent. */
function addEntry(list: number[], width: number, key: number, ...values: number[]): void {
  const i = lowerBound(list, width, key);
  if (i < list.length && list[i] === key) {
    for (let v = 0; v < values.length; v++) list[i + 1 + v] += values[v];
  } else {
    list.splice(i, 0, key, ...values);
  }
}

export function minuteCount(series: SeriesState, minute: number): number {
  const i = lowerBound(series.m, 2, minute);
  return i < series.m.length && series.m[i] === minute ? series.m[i + 1] : 0;
}

function pairCount(list: number[] | undefined, minute: number): number {
  if (!list) return 0;
  const i = lowerBound(list, 2, minute);
  return i < list.length && list[i] === minute ? list[i + 1] : 0;
}

/** The count of a minute that verified files made: what the baseline may learn from. */
export function verifiedCount(series: SeriesState, minute: number): number {
  return minuteCount(series, minute) - pairCount(series.u, minute);
}

/** Subtracts from a flat pair list, dropping entries that reach zero. */
function subtractEntry(list: number[], key: number, by: number): void {
  const i = lowerBound(list, 2, key);
  if (i >= list.length || list[i] !== key) return;
  list[i + 1] -= by;
  if (list[i + 1] <= 0) list.splice(i, 2);
}

/**
 * Takes an unverified file's counts into the baseline: verify found it listed in a valid digest. Counts of
 * minutes still unfolded are already in `m`; those of folded minutes join their hour.
 */
export function confirmSource(state: InsightsState, hash: string): boolean {
  const file = state.unverified?.[hash];
  if (!file) return false;
  const foldedMinute = state.folded * HOUR_MINUTES;
  for (const [key, minute, count] of file.rows) {
    const series = state.series[key];
    if (!series) continue;
    if (series.u) subtractEntry(series.u, minute, count);
    if (series.u?.length === 0) delete series.u;
    if (minute < foldedMinute && minute >= state.horizon * HOUR_MINUTES)
      addEntry(series.h, 3, Math.floor(minute / HOUR_MINUTES), count, count * count);
  }
  delete state.unverified![hash];
  return true;
}

/** Forgets an unverified file's counts entirely (it fell out of the window unverified). */
function dropSource(state: InsightsState, hash: string): void {
  const file = state.unverified?.[hash];
  if (!file) return;
  for (const [key, minute, count] of file.rows) {
    const series = state.series[key];
    if (!series) continue;
    if (series.u) subtractEntry(series.u, minute, count);
    if (series.u?.length === 0) delete series.u;
    subtractEntry(series.m, minute, count);
  }
  delete state.unverified![hash];
}

export function hourBucket(series: SeriesState, hour: number): [number, number] | undefined {
  const i = lowerBound(series.h, 3, hour);
  return i < series.h.length && series.h[i] === hour ? [series.h[i + 1], series.h[i + 2]] : undefined;
}

function bump(map: Record<string, number>, key: string | number, by: number): void {
  map[key] = (map[key] ?? 0) + by;
}

function newTally(): Tally {
  return { p: {}, u: {}, e: {} };
}

function addTally(into: Tally, from: Tally): void {
  for (const k of ['p', 'u', 'e'] as const) for (const [v, c] of Object.entries(from[k])) bump(into[k], v, c);
}

/**
 * The series counts of one minute row of a summary, as detection keeps them: calls (writes), reads that went
 * through, errors per code; Management events of the watched types only, zero counts left out.
 */
export function forEachSeriesCount(
  row: LogFileSummary['minutes'][number],
  o: InsightsOptions,
  add: (code: TypeCode, count: number, e?: string) => void,
): void {
  if (row.c !== 'Management') return;
  const put = (code: TypeCode, count: number, e?: string) => {
    if (count > 0) add(code, count, e);
  };
  if (o.types.includes('ApiCallRateInsight')) put('C', row.w);
  if (o.types.includes('ApiReadRateInsight')) put('R', succeededReads(row.r, row.w, row.e));
  if (o.types.includes('ApiErrorRateInsight') && row.e)
    for (const [code, count] of Object.entries(row.e)) put('E', count, code);
}

/** Whether a summary of this source was applied (in any delivery hour still kept). */
export function wasApplied(state: InsightsState, hash: string): boolean {
  for (const set of Object.values(state.applied)) if (set.includes(hash)) return true;
  return false;
}

export type ApplyOutcome = 'applied' | 'duplicate' | 'stale';

/**
 * Adds one summary to the state. Idempotent per source key; commutative with other summaries (only sums,
 * minima, maxima and set inserts), as long as `folded` does not move in between.
 */
export function applySummaryToState(
  state: InsightsState,
  summary: LogFileSummary,
  o: InsightsOptions,
): ApplyOutcome {
  const delivered = Date.parse(summary.deliveredAt);
  if (Number.isNaN(delivered)) {
    throw new InsightsError(
      `expected an ISO deliveredAt in the summary of ${summary.source.key}, found ${summary.deliveredAt}`,
    );
  }
  const deliveryHour = Math.floor(delivered / 3_600_000);
  if (deliveryHour < state.horizon) return 'stale';
  const hash = sourceHash(summary);
  const set = state.applied[deliveryHour] ?? [];
  if (set.includes(hash)) return 'duplicate';
  set.push(hash);
  set.sort();
  state.applied[deliveryHour] = set;

  const oldest = summary.oldestEventTime ? minuteOf(summary.oldestEventTime) : undefined;
  const newest = summary.newestEventTime ? minuteOf(summary.newestEventTime) : undefined;
  if (oldest !== undefined && newest !== undefined) {
    const from = Math.max(oldest, state.horizon * HOUR_MINUTES);
    if (from <= newest) {
      state.coverage = state.coverage
        ? [Math.min(state.coverage[0], from), Math.max(state.coverage[1], newest)]
        : [from, newest];
    }
  }

  const foldedMinute = state.folded * HOUR_MINUTES;
  const horizonMinute = state.horizon * HOUR_MINUTES;
  // Verify may have listed the file before it was applied (a parked file, see park-ticket.ts).
  const verifiedAhead = state.verifiedAhead?.[hash] !== undefined;
  if (verifiedAhead) {
    delete state.verifiedAhead![hash];
    if (Object.keys(state.verifiedAhead!).length === 0) delete state.verifiedAhead;
  }
  const pending: UnverifiedFile | undefined =
    summary.unverified && !verifiedAhead ? { h: deliveryHour, rows: [] } : undefined;
  // Per API: calls per 5-minute slot in this file, to place the file's attribution where its calls were.
  const slotsByApi = new Map<string, Map<number, number>>();
  for (const row of summary.minutes) {
    if (row.c !== 'Management') continue;
    const t = minuteOf(row.m);
    if (t === undefined || t < horizonMinute) continue;
    forEachSeriesCount(row, o, (code, count, e) => {
      const key = seriesKey(code, row.s, row.n, e);
      let series = state.series[key];
      if (!series) {
        series = { t: code, s: row.s, n: row.n, ...(e === undefined ? {} : { e }), m: [], h: [] };
        state.series[key] = series;
      }
      if (pending) {
        // Counted for detection while its minute is recent; kept out of the baseline until verified.
        pending.rows.push([key, t, count]);
        series.u ??= [];
        addEntry(series.u, 2, t, count);
        if (t >= foldedMinute) {
          addEntry(series.m, 2, t, count);
          series.d = series.d === undefined ? t : Math.min(series.d, t);
        }
      } else if (t >= foldedMinute) {
        addEntry(series.m, 2, t, count);
        series.d = series.d === undefined ? t : Math.min(series.d, t);
      } else {
        // Late data for an hour already folded: the sum stays exact; the minute's earlier count is gone,
        // so the square is a lower bound (under-states spread a little, never inflates it).
        addEntry(series.h, 3, Math.floor(t / HOUR_MINUTES), count, count * count);
      }
    });
    const apiKey = `${row.s}|${row.n}`;
    let slots = slotsByApi.get(apiKey);
    if (!slots) {
      slots = new Map();
      slotsByApi.set(apiKey, slots);
    }
    const slot = Math.floor(t / SLOT_MINUTES) * SLOT_MINUTES;
    slots.set(slot, (slots.get(slot) ?? 0) + row.r + row.w);
  }

  for (const api of summary.apis) {
    if (api.c !== 'Management') continue;
    const apiKey = `${api.s}|${api.n}`;
    const slots = slotsByApi.get(apiKey);
    if (!slots || slots.size === 0) continue;
    let best = Number.POSITIVE_INFINITY;
    let bestCount = -1;
    for (const [slot, count] of slots) {
      if (count > bestCount || (count === bestCount && slot < best)) {
        best = slot;
        bestCount = count;
      }
    }
    let attr = state.apis[apiKey];
    if (!attr) {
      attr = { s: api.s, n: api.n, slots: [], days: [] };
      state.apis[apiKey] = attr;
    }
    const tally: Tally = newTally();
    const intern = (into: Record<string, number>, list: { value: string; count: number }[]) => {
      for (const r of list) {
        const id = valueId(r.value);
        state.values[id] = r.value;
        bump(into, id, r.count);
      }
    };
    intern(tally.p, api.principals);
    intern(tally.u, api.userAgents);
    intern(tally.e, api.errorCodes);
    if (best >= state.slotsFolded) addTallyAt(attr.slots, best, tally);
    else {
      // Late (a parked file folded in): straight into its day, which keeps its top values only, as a
      // folded slot does, or the day tallies of a busy account would grow with every file.
      const day = Math.floor(best / (DAY_HOURS * HOUR_MINUTES));
      addTallyAt(attr.days, day, tally);
      const entry = attr.days.find((d) => d[0] === day);
      if (entry) entry[1] = capTally(entry[1], DAY_TOP);
    }
  }
  if (pending && pending.rows.length > 0) {
    // Kept in key order: the state must not depend on the order files arrived in.
    state.unverified = Object.fromEntries(
      [...Object.entries(state.unverified ?? {}), [hash, pending] as const].sort(([a], [b]) =>
        a < b ? -1 : 1,
      ),
    );
  }
  return 'applied';
}

/** Adds a tally to the entry for `at` of a sorted `[key, tally]` list. */
function addTallyAt(list: [number, Tally][], at: number, tally: Tally): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid][0] < at) lo = mid + 1;
    else hi = mid;
  }
  if (lo < list.length && list[lo][0] === at) addTally(list[lo][1], tally);
  else {
    const fresh = newTally();
    addTally(fresh, tally);
    list.splice(lo, 0, [at, fresh]);
  }
}

function capTally(t: Tally, n: number): Tally {
  const cap = (m: Record<string, number>) =>
    Object.fromEntries(
      Object.entries(m)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, n),
    );
  return { p: cap(t.p), u: cap(t.u), e: cap(t.e) };
}

/**
 * Moves minutes older than the retention into hourly buckets (never minutes of an open insight) and
 * forgets what fell out of the baseline window. Deterministic in (state, now).
 */
export function foldState(state: InsightsState, nowMinute: number, o: InsightsOptions): void {
  const windowHours = Math.round(o.baselineDays * DAY_HOURS);
  let target = Math.floor((nowMinute - o.minuteRetentionMinutes) / HOUR_MINUTES);
  for (const open of Object.values(state.open)) {
    target = Math.min(target, Math.floor((open.start - o.startLookbackMinutes) / HOUR_MINUTES));
  }
  const horizon = Math.max(
    state.horizon,
    Math.floor((nowMinute - o.minuteRetentionMinutes) / HOUR_MINUTES) - windowHours - 1,
  );
  const moved = target > state.folded || horizon > state.horizon;
  let slotTarget = nowMinute - SLOT_RETENTION_MINUTES;
  for (const open of Object.values(state.open))
    slotTarget = Math.min(slotTarget, open.start - o.startLookbackMinutes);
  slotTarget = Math.floor(slotTarget / SLOT_MINUTES) * SLOT_MINUTES;
  if (slotTarget > state.slotsFolded) {
    for (const api of Object.values(state.apis)) {
      const touched = new Set<number>();
      let cut = 0;
      while (cut < api.slots.length && api.slots[cut][0] < slotTarget) {
        const [t, tally] = api.slots[cut++];
        const day = Math.floor(t / (DAY_HOURS * HOUR_MINUTES));
        addTallyAt(api.days, day, tally);
        touched.add(day);
      }
      if (cut > 0) api.slots.splice(0, cut);
      for (const entry of api.days) if (touched.has(entry[0])) entry[1] = capTally(entry[1], DAY_TOP);
    }
    state.slotsFolded = slotTarget;
  }
  if (target > state.folded) {
    const limit = target * HOUR_MINUTES;
    for (const series of Object.values(state.series)) {
      const cut = lowerBound(series.m, 2, limit);
      for (let i = 0; i < cut; i += 2) {
        const c = series.m[i + 1] - pairCount(series.u, series.m[i]);
        if (c > 0) addEntry(series.h, 3, Math.floor(series.m[i] / HOUR_MINUTES), c, c * c);
      }
      if (cut > 0) series.m.splice(0, cut);
    }
    state.folded = target;
  }
  if (horizon > state.horizon) {
    state.horizon = horizon;
    for (const [hash, file] of Object.entries(state.unverified ?? {}))
      if (file.h < horizon) dropSource(state, hash);
    if (state.unverified && Object.keys(state.unverified).length === 0) delete state.unverified;
    if (state.verifiedAhead) {
      for (const [hash, h] of Object.entries(state.verifiedAhead))
        if (h < horizon) delete state.verifiedAhead[hash];
      if (Object.keys(state.verifiedAhead).length === 0) delete state.verifiedAhead;
    }
    const horizonDay = Math.floor(horizon / DAY_HOURS);
    for (const [key, series] of Object.entries(state.series)) {
      const hc = lowerBound(series.h, 3, horizon);
      if (hc > 0) series.h.splice(0, hc);
      const mc = lowerBound(series.m, 2, horizon * HOUR_MINUTES);
      if (mc > 0) series.m.splice(0, mc);
      if (series.u) {
        const uc = lowerBound(series.u, 2, horizon * HOUR_MINUTES);
        if (uc > 0) series.u.splice(0, uc);
        if (series.u.length === 0) delete series.u;
      }
      if (series.m.length === 0 && series.h.length === 0 && !series.u && !state.open[key])
        delete state.series[key];
    }
    for (const [key, api] of Object.entries(state.apis)) {
      let cut = 0;
      while (cut < api.days.length && api.days[cut][0] < horizonDay) cut++;
      if (cut > 0) api.days.splice(0, cut);
      if (api.slots.length === 0 && api.days.length === 0) delete state.apis[key];
    }
    for (const h of Object.keys(state.applied)) {
      if (Number(h) >= horizon) break;
      delete state.applied[h];
    }
    state.history = state.history.filter((c) => c.end >= horizon * HOUR_MINUTES);
    if (state.coverage) {
      const from = Math.max(state.coverage[0], horizon * HOUR_MINUTES);
      state.coverage = from <= state.coverage[1] ? [from, state.coverage[1]] : null;
    }
  }
  // Verify lists a file within about an hour of its delivery (the watchdog reports one still unlisted after
  // two): a file unlisted after a day never will be (a trail without log file validation, a file no digest
  // names). Its rows go then rather than with the baseline window, so such a trail's state stays as small as
  // a validated one's.
  const unverifiedCut = Math.floor(nowMinute / HOUR_MINUTES) - UNVERIFIED_KEEP_HOURS;
  let dropped = false;
  for (const [hash, file] of Object.entries(state.unverified ?? {})) {
    if (file.h >= unverifiedCut) continue;
    dropSource(state, hash);
    dropped = true;
  }
  if (state.unverified && Object.keys(state.unverified).length === 0) delete state.unverified;
  if (moved || dropped) collectValues(state);
}

/** Drops values no tally refers to any more. */
function collectValues(state: InsightsState): void {
  const used = new Set<string>();
  for (const api of Object.values(state.apis)) {
    for (const [, t] of [...api.slots, ...api.days]) {
      for (const k of ['p', 'u', 'e'] as const) for (const id in t[k]) used.add(id);
    }
  }
  for (const id of Object.keys(state.values)) if (!used.has(id)) delete state.values[id];
}

/** Hourly aggregates of one series from its folded buckets and its unfolded minutes. */
export function hourSource(state: InsightsState, series: SeriesState): HourSource {
  const unfolded = new Map<number, [number, number]>();
  for (let i = 0; i < series.m.length; i += 2) {
    const h = Math.floor(series.m[i] / HOUR_MINUTES);
    // The baseline learns only from verified files (see SeriesState.u).
    const c = series.m[i + 1] - pairCount(series.u, series.m[i]);
    if (c <= 0) continue;
    const b = unfolded.get(h) ?? [0, 0];
    b[0] += c;
    b[1] += c * c;
    unfolded.set(h, b);
  }
  const folded = new Map<number, [number, number]>();
  for (let i = 0; i < series.h.length; i += 3) folded.set(series.h[i], [series.h[i + 1], series.h[i + 2]]);
  const cov = state.coverage;
  return {
    hour(h) {
      return h >= state.folded ? unfolded.get(h) : folded.get(h);
    },
    observed(h) {
      if (!cov) return 0;
      const from = Math.max(h * HOUR_MINUTES, cov[0]);
      const to = Math.min(h * HOUR_MINUTES + HOUR_MINUTES - 1, cov[1]);
      return to >= from ? to - from + 1 : 0;
    },
  };
}

/** The attribution tally of one API over [from, to) minutes (recent slots) or over days (baseline). */
export function slotTally(api: ApiHistory | undefined, from: number, to: number): Tally {
  const out = newTally();
  if (!api) return out;
  for (const [s, t] of api.slots) if (s + SLOT_MINUTES > from && s < to) addTally(out, t);
  return out;
}

export function dayTally(api: ApiHistory | undefined, fromDay: number, toDay: number): Tally {
  const out = newTally();
  if (!api) return out;
  for (const [d, t] of api.days) if (d >= fromDay && d < toDay) addTally(out, t);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Storage: load, change, commit with If-Match / If-None-Match, retry with jittered backoff.

interface CacheEntry {
  etag: string;
  state: InsightsState;
  busy: boolean;
  /** Length of the state's JSON: what the entry is charged against the cache's budget. */
  bytes: number;
}

/**
 * Parsed states by store and key, reused while the stored ETag is unchanged (a warm Lambda container or a
 * replay skips re-parsing). An entry is lent to one operation at a time; a failed write drops it.
 * A scheduled detect shard visits thousands of account-regions in one container, so the cache keeps the
 * most recently used states up to a budget of JSON bytes (parsed, an object takes a few times that).
 */
const cache = new WeakMap<ObjectStore, { entries: Map<string, CacheEntry>; bytes: number }>();
export const STATE_CACHE_BYTES = 48 * 2 ** 20;

interface Loaded {
  state: InsightsState;
  etag: string | undefined;
  /** Length of the state's JSON as read. */
  bytes: number;
  entry?: CacheEntry;
}

async function load(store: ObjectStore, key: string, account: string, region: string): Promise<Loaded> {
  const entry = cache.get(store)?.entries.get(key);
  if (entry && !entry.busy) {
    const info = await store.head(key);
    if (info?.etag === entry.etag && !entry.busy) {
      entry.busy = true;
      // Used now: to the end of the order of last use.
      const entries = cache.get(store)?.entries;
      entries?.delete(key);
      entries?.set(key, entry);
      return { state: entry.state, etag: entry.etag, bytes: entry.bytes, entry };
    }
  }
  try {
    const obj = await store.get(key);
    const parts: Buffer[] = [];
    for await (const chunk of obj.body) parts.push(Buffer.from(chunk));
    const text = Buffer.concat(parts).toString('utf8');
    let state: InsightsState;
    try {
      state = JSON.parse(text) as InsightsState;
    } catch (err) {
      throw new InsightsError(
        `expected JSON insights state at ${store.location}/${key}, found unparsable text`,
        {
          cause: err,
        },
      );
    }
    if (state?.schema !== STATE_SCHEMA) {
      throw new InsightsError(
        `expected schema ${STATE_SCHEMA} at ${store.location}/${key}, found ${String(state?.schema)}`,
      );
    }
    return { state, etag: obj.etag, bytes: text.length };
  } catch (err) {
    if (err instanceof ObjectNotFoundError)
      return { state: emptyState(account, region), etag: undefined, bytes: 0 };
    throw err;
  }
}

function forget(store: ObjectStore, key: string): void {
  const c = cache.get(store);
  const entry = c?.entries.get(key);
  if (!c || !entry) return;
  c.entries.delete(key);
  c.bytes -= entry.bytes;
}

function remember(store: ObjectStore, key: string, etag: string, state: InsightsState, bytes: number): void {
  let c = cache.get(store);
  if (!c) {
    c = { entries: new Map(), bytes: 0 };
    cache.set(store, c);
  }
  // Re-inserted at the end: the Map's order is the order of last use, oldest first.
  forget(store, key);
  c.entries.set(key, { etag, state, busy: false, bytes });
  c.bytes += bytes;
  for (const [k, e] of c.entries) {
    if (c.bytes <= STATE_CACHE_BYTES || k === key) break;
    if (e.busy) continue;
    c.entries.delete(k);
    c.bytes -= e.bytes;
  }
}

/** How many states, and how many bytes of JSON, the cache holds for a store (for tests and the bench). */
export function stateCacheSize(store: ObjectStore): { states: number; bytes: number } {
  const c = cache.get(store);
  return { states: c?.entries.size ?? 0, bytes: c?.bytes ?? 0 };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Read-modify-write of one account+region state. `change` may run several times (once per attempt) and
 * returns false when there is nothing to write.
 */
export async function updateState<T>(
  store: ObjectStore,
  account: string,
  region: string,
  o: InsightsOptions,
  change: (state: InsightsState) => { write: boolean; result: T },
): Promise<T> {
  const key = stateKey(account, region);
  let lastError: unknown;
  for (let attempt = 0; attempt < o.maxAttempts; attempt++) {
    const loaded = await load(store, key, account, region);
    let committed = false;
    try {
      const { write, result } = change(loaded.state);
      if (!write) {
        committed = true;
        if (!loaded.entry && loaded.etag !== undefined)
          remember(store, key, loaded.etag, loaded.state, loaded.bytes);
        return result;
      }
      const body = JSON.stringify(loaded.state);
      const { etag } = await store.put(key, body, {
        ...(loaded.etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: loaded.etag }),
        contentType: 'application/json',
      });
      committed = true;
      remember(store, key, etag, loaded.state, body.length);
      return result;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      lastError = err;
    } finally {
      if (loaded.entry) {
        if (committed) loaded.entry.busy = false;
        // A failed attempt may have half-changed the lent object: forget it.
        else forget(store, key);
      }
    }
    const ceiling = Math.min(o.retryCapMs, o.retryBaseMs * 2 ** attempt);
    await sleep(Math.random() * ceiling);
  }
  throw new InsightsConflictError(
    `expected to update ${store.location}/${key} within ${o.maxAttempts} attempts, found a conflicting write every time`,
    { cause: lastError },
  );
}

/** Reads a state without changing it (reports, tests); undefined when there is none. */
export async function readState(
  store: ObjectStore,
  account: string,
  region: string,
): Promise<InsightsState | undefined> {
  try {
    return JSON.parse((await readAll(store, stateKey(account, region))).toString('utf8')) as InsightsState;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

/** Account and region of every active mark in the store. */
export async function listActive(store: ObjectStore): Promise<{ account: string; region: string }[]> {
  const out: { account: string; region: string }[] = [];
  for await (const info of store.list(ACTIVE_PREFIX)) {
    const m = /^insights\/active\/(\d{12})\/([a-z0-9-]+)$/.exec(info.key);
    if (m) out.push({ account: m[1], region: m[2] });
  }
  return out;
}

/** Account and region of every state object in the store. */
export async function listStates(store: ObjectStore): Promise<{ account: string; region: string }[]> {
  const out: { account: string; region: string }[] = [];
  for await (const info of store.list(STATE_PREFIX)) {
    const m = /^insights\/state\/(\d{12})\/([a-z0-9-]+)\.json$/.exec(info.key);
    if (m) out.push({ account: m[1], region: m[2] });
  }
  return out;
}

/**
 * Park tickets: for one account-region, how many calls a batch of its log files may add to each series and
 * window without any chance of starting an insight, so batched ingest can leave the state alone and park
 * the files' summaries for the scheduled detect to fold in later (shared/pipeline/ingest-batch.ts,
 * shared/pipeline/detect-shards.ts).
 *
 * A ticket must never be optimistic. A window starts an insight only if its sum reaches the window's floor,
 * `minRatio` times the expected sum and the tail threshold of the expected sum (detector.ts, findTrigger).
 * The ticket takes, per series and window, a lower bound of the three over the hours it is valid for: the
 * floor itself, and the other two from the smallest expected rate of those hours, halved (the model of an
 * hour depends only on hours at least two before it, which later files can raise but hardly lower), under
 * the thinnest tail there is (Poisson: the variance never falls below the mean). From it, it subtracts the
 * largest sum the state already holds in any window that new minutes could join. A batch whose own largest
 * window sums stay below what is left cannot start an insight, whatever the state does with them.
 *
 * What a ticket does not see: files parked by other batches or containers. Their sum may be unusual where
 * none alone is; the fold applies them together and starts that insight then, at its first unusual minute.
 */
import { readSeriesOptions } from '#shared/insights/detector.ts';
import type { InsightsOptions } from '#shared/insights/insight-types.ts';
import { HOUR_MINUTES, rateModel, tailThreshold } from '#shared/insights/model.ts';
import type { InsightsState, SeriesState, TypeCode } from '#shared/insights/state.ts';
import { forEachSeriesCount, hourSource, minuteOf, seriesKey, TYPE_NAMES } from '#shared/insights/state.ts';
import type { LogFileSummary } from '#shared/summary.ts';

/** Share of the smallest expected rate the ticket assumes, for what later files may change in the models. */
const EXPECTED_SAFETY = 0.5;
/** Minutes between a fold being due and the scheduled run that does it, and some slack. */
const FOLD_SLACK_MINUTES = 15;

export interface ParkTicket {
  /** Minutes a parked file's events may fall in: [from, until). Ingest stops using the ticket at `until`. */
  from: number;
  until: number;
  /** The state cannot start any insight before `until` (not warm yet): every series may take anything. */
  cold?: true;
  /** Per known series, per window of the options (same order): what a batch's window sums must stay below. */
  series: Record<string, number[]>;
  /** For series the state does not know yet, by type: the windows' floors. */
  floors: Record<TypeCode, number[]>;
}

/** Per series key, minute -> count: what a set of summaries would add. */
export type SeriesCounts = Map<string, Map<number, number>>;

function hourOf(minute: number): number {
  return Math.floor(minute / HOUR_MINUTES);
}

/** The largest sum of `w` consecutive minutes of a sparse minute -> count map (or sorted pair list). */
function maxWindowSum(points: [number, number][], w: number): number {
  let best = 0;
  let sum = 0;
  let lo = 0;
  for (let hi = 0; hi < points.length; hi++) {
    sum += points[hi][1];
    while (points[hi][0] - points[lo][0] >= w) sum -= points[lo++][1];
    if (sum > best) best = sum;
  }
  return best;
}

function pairs(m: number[], from: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < m.length; i += 2) if (m[i] >= from) out.push([m[i], m[i + 1]]);
  return out;
}

function floorsOf(o: InsightsOptions): Record<TypeCode, number[]> {
  const reads = readSeriesOptions(o);
  return {
    C: o.windows.map((w) => w.minCount),
    E: o.windows.map((w) => w.minCount),
    R: reads.windows.map((w) => w.minCount),
  };
}

/**
 * The ticket of a state at `nowMinute`, or undefined when the state must see every file (an insight is open,
 * or messages or Insights files wait in it; `ignorePending` when the caller is about to send those).
 */
export function parkTicket(
  state: InsightsState,
  nowMinute: number,
  o: InsightsOptions,
  options: { ignorePending?: boolean } = {},
): ParkTicket | undefined {
  if (Object.keys(state.open).length > 0) return undefined;
  if (!options.ignorePending && ((state.messages?.length ?? 0) > 0 || state.outbox.length > 0))
    return undefined;
  // The rest of this hour and the next; files may hold the previous hour's late minutes too.
  const from = (hourOf(nowMinute) - 1) * HOUR_MINUTES;
  const until = (hourOf(nowMinute) + 2) * HOUR_MINUTES;
  const floors = floorsOf(o);
  // Parked minutes can only pull the first minute seen back to `from`.
  const first = state.coverage ? Math.min(state.coverage[0], from) : from;
  const warm = first + o.minHistoryMinutes;
  if (!state.coverage || warm >= until) return { from, until, cold: true, series: {}, floors };
  const watched = new Set<string>(o.types);
  const series: Record<string, number[]> = {};
  for (const [key, s] of Object.entries(state.series)) {
    if (!watched.has(TYPE_NAMES[s.t])) continue;
    series[key] = seriesLimits(state, s, from, until, warm, o);
  }
  return { from, until, series, floors };
}

function seriesLimits(
  state: InsightsState,
  s: SeriesState,
  from: number,
  until: number,
  warm: number,
  o: InsightsOptions,
): number[] {
  const so = s.t === 'R' ? readSeriesOptions(o) : o;
  const src = hourSource(state, s);
  let expected = Number.POSITIVE_INFINITY;
  for (let h = hourOf(from); h <= hourOf(until - 1); h++)
    expected = Math.min(expected, rateModel(src, h, so).expected);
  expected *= EXPECTED_SAFETY;
  const lowest = Math.max(s.after ?? Number.NEGATIVE_INFINITY, warm);
  const maxW = Math.max(...so.windows.map((w) => w.minutes));
  const held = pairs(s.m, from - maxW + 1);
  return so.windows.map((win) => {
    let bound = win.minCount;
    // A window cut short by the warm-up or the last insight has a smaller expected sum: its floor only.
    if (lowest <= from - win.minutes + 1) {
      const mean = expected * win.minutes;
      bound = Math.max(bound, o.minRatio * mean, tailThreshold(mean, mean, o.alphaStart));
    }
    return bound - maxWindowSum(held, win.minutes);
  });
}

/** What these summaries would add to each watched series, per minute (as applySummaryToState counts it). */
export function seriesCounts(summaries: LogFileSummary[], o: InsightsOptions): SeriesCounts {
  const out: SeriesCounts = new Map();
  for (const summary of summaries) {
    for (const row of summary.minutes) {
      const t = minuteOf(row.m);
      forEachSeriesCount(row, o, (code, count, e) => {
        const key = seriesKey(code, row.s, row.n, e);
        let m = out.get(key);
        if (!m) {
          m = new Map();
          out.set(key, m);
        }
        // A minute that does not parse is kept as NaN: it fails the range check below, never parks.
        const at = t ?? Number.NaN;
        m.set(at, (m.get(at) ?? 0) + count);
      });
    }
  }
  return out;
}

/**
 * Whether files adding `counts` at `nowMinute` may be parked under `ticket`: the ticket is still valid, their
 * minutes are in its range and recent enough for the fold to see them minute by minute (not yet folded into
 * hours), and each series' window sums stay below the ticket's limits.
 */
export function mayPark(
  ticket: ParkTicket,
  counts: SeriesCounts,
  nowMinute: number,
  o: InsightsOptions,
): boolean {
  if (nowMinute >= ticket.until) return false;
  const oldest = Math.max(
    ticket.from,
    nowMinute - (o.minuteRetentionMinutes - o.foldMinutes - FOLD_SLACK_MINUTES),
  );
  for (const [key, byMinute] of counts) {
    const points = [...byMinute].sort((a, b) => a[0] - b[0]);
    for (const [t] of points) if (!(t >= oldest && t < ticket.until)) return false;
    if (ticket.cold) continue;
    const limits = ticket.series[key] ?? ticket.floors[key[0] as TypeCode];
    if (!limits) return false;
    const windows = key[0] === 'R' ? readSeriesOptions(o).windows : o.windows;
    for (let i = 0; i < windows.length; i++)
      if (maxWindowSum(points, windows[i].minutes) >= limits[i]) return false;
  }
  return true;
}

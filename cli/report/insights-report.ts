/**
 * A self-contained HTML report of insights: for each one, the per-minute rate with the expected rate and
 * the band up to the start threshold, and the Start and End marks. Inline SVG and CSS, plus one small
 * inline script that only records whether each chart was laid out; nothing is loaded from anywhere else
 * (the page's CSP forbids it), so it opens offline and the charts show even with scripts off.
 *
 * Sources, from one store (a folder or a bucket): Insights files (`CloudTrail-Insight/`), log-file
 * summaries (`*.summary.json`) for exact per-minute counts, and detection state (`insights/state/`) for
 * insights not yet written and for recent minutes when no summaries are at hand.
 */
import { gunzipSync } from 'node:zlib';
import { warmUpText } from '#cli/text-format.ts';
import { InsightsError, type WarmUp, warmUpOf } from '#shared/insights/index.ts';
import { parseInsightRecords } from '#shared/insights/insight-records.ts';
import type {
  AttributionValue,
  InsightRecord,
  InsightsOptions,
  InsightType,
} from '#shared/insights/insight-types.ts';
import { resolveOptions } from '#shared/insights/insight-types.ts';
import type { HourSource, RateModel } from '#shared/insights/model.ts';
import { HOUR_MINUTES, MINUTE_MS, rateModel } from '#shared/insights/model.ts';
import type { InsightsState, TypeCode } from '#shared/insights/state.ts';
import {
  hourBucket,
  hourSource,
  minuteCount,
  minuteIso,
  minuteOf,
  STATE_SCHEMA,
  TYPE_CODES,
  TYPE_NAMES,
} from '#shared/insights/state.ts';
import { classifyKey } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { readAll } from '#shared/ports.ts';
import type { LogFileSummary } from '#shared/summary.ts';
import { SUMMARY_SCHEMA } from '#shared/summary.ts';

export interface ReportInsight {
  sharedEventID: string;
  account: string;
  region: string;
  insightType: string;
  eventSource: string;
  eventName: string;
  errorCode?: string;
  /** Minute indexes. */
  start: number;
  end?: number;
  baselineAverage?: number;
  insightAverage?: number;
  principals: AttributionValue[];
  userAgents: AttributionValue[];
  errorCodes: AttributionValue[];
  /** Per-minute points of the chart: count and, where a model was available, expected and threshold. */
  points: { t: number; count: number; expected?: number; threshold?: number }[];
  /** Where the counts come from. */
  basis: 'summaries' | 'state' | 'records';
}

export interface ReportData {
  source: string;
  generatedAt: string;
  insights: ReportInsight[];
  summaries: number;
  states: number;
  insightFiles: number;
  /**
   * Per account+region: the history detection has seen and needs (from the state, else from the summaries),
   * so that a page without insights can say whether any was possible.
   */
  warmUp: WarmUp[];
}

const BEFORE = 90;
const AFTER = 45;

interface SeriesId {
  t: TypeCode;
  s: string;
  n: string;
  e?: string;
}

function seriesOf(type: string, s: string, n: string, e?: string): SeriesId | undefined {
  const t = TYPE_CODES[type as InsightType];
  return t ? { t, s, n, ...(t === 'E' && e !== undefined ? { e } : {}) } : undefined;
}

/** Per-minute counts of one series over all summaries of an account+region. */
function minutesFromSummaries(summaries: LogFileSummary[], id: SeriesId): Map<number, number> {
  const out = new Map<number, number>();
  for (const sum of summaries) {
    for (const row of sum.minutes) {
      if (row.c !== 'Management' || row.s !== id.s || row.n !== id.n) continue;
      const c = id.t === 'C' ? row.w : id.t === 'R' ? row.r : (row.e?.[id.e ?? ''] ?? 0);
      if (!c) continue;
      const t = minuteOf(row.m);
      if (t !== undefined) out.set(t, (out.get(t) ?? 0) + c);
    }
  }
  return out;
}

/** Hourly aggregates from complete per-minute counts, observed between the first and last event seen. */
function hoursFromMinutes(minutes: Map<number, number>, coverage: [number, number] | null): HourSource {
  const hours = new Map<number, [number, number]>();
  for (const [t, c] of minutes) {
    const h = Math.floor(t / HOUR_MINUTES);
    const b = hours.get(h) ?? [0, 0];
    b[0] += c;
    b[1] += c * c;
    hours.set(h, b);
  }
  return {
    hour: (h) => hours.get(h),
    observed(h) {
      if (!coverage) return 0;
      const from = Math.max(h * HOUR_MINUTES, coverage[0]);
      const to = Math.min(h * HOUR_MINUTES + HOUR_MINUTES - 1, coverage[1]);
      return to >= from ? to - from + 1 : 0;
    },
  };
}

function coverageOf(summaries: LogFileSummary[]): [number, number] | null {
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const s of summaries) {
    const a = s.oldestEventTime ? minuteOf(s.oldestEventTime) : undefined;
    const b = s.newestEventTime ? minuteOf(s.newestEventTime) : undefined;
    if (a !== undefined) from = Math.min(from, a);
    if (b !== undefined) to = Math.max(to, b);
  }
  return from <= to ? [from, to] : null;
}

function pointsFor(
  range: [number, number],
  minutes: (t: number) => number,
  src: HourSource | undefined,
  o: InsightsOptions,
): ReportInsight['points'] {
  const models = new Map<number, RateModel>();
  const points: ReportInsight['points'] = [];
  for (let t = range[0]; t <= range[1]; t++) {
    const p: ReportInsight['points'][number] = { t, count: minutes(t) };
    if (src) {
      const h = Math.floor(t / HOUR_MINUTES);
      let m = models.get(h);
      if (!m) {
        m = rateModel(src, h, o);
        models.set(h, m);
      }
      p.expected = m.expected;
      p.threshold = m.startAt;
    }
    points.push(p);
  }
  return points;
}

function attributionValues(r: InsightRecord | undefined, attribute: string): AttributionValue[] {
  return r?.insightDetails.insightContext.attributions?.find((a) => a.attribute === attribute)?.insight ?? [];
}

/** Reads everything the report needs from a store. */
const STATE_KEY_RE = /(^|\/)insights\/state\/\d{12}\/[a-z0-9-]+\.json$/;

type ReportKey = 'insight' | 'summary' | 'gzip-summary' | 'state';

function reportKind(key: string): ReportKey | undefined {
  if (classifyKey(key).kind === 'insight') return 'insight';
  if (key.endsWith('.summary.json')) return 'summary';
  if (STATE_KEY_RE.test(key)) return 'state';
  if (key.endsWith('.json.gz') && key.includes('summar')) return 'gzip-summary';
  return undefined;
}

/** Reads everything the report needs from a store (under `prefix`), calling `onProgress` per file read. */
export async function collectReport(
  store: ObjectStore,
  opts: {
    account?: string;
    region?: string;
    options?: Partial<InsightsOptions>;
    now?: Date;
    prefix?: string;
    onProgress?: (done: number, total: number) => void;
  } = {},
): Promise<ReportData> {
  const o = resolveOptions(opts.options);
  const records: InsightRecord[] = [];
  const summaries: LogFileSummary[] = [];
  const states: InsightsState[] = [];
  let insightFiles = 0;
  const wanted: { key: string; kind: ReportKey }[] = [];
  for await (const info of store.list(opts.prefix ?? '')) {
    const kind = reportKind(info.key);
    if (kind) wanted.push({ key: info.key, kind });
  }
  let done = 0;
  for (const { key, kind } of wanted) {
    const bytes = await readAll(store, key);
    try {
      if (kind === 'insight') {
        records.push(...parseInsightRecords(bytes));
        insightFiles++;
      } else if (kind === 'state') {
        const s = JSON.parse(bytes.toString('utf8')) as InsightsState;
        if (s?.schema === STATE_SCHEMA) states.push(s);
      } else {
        const text = (kind === 'gzip-summary' ? gunzipSync(bytes) : bytes).toString('utf8');
        const s = JSON.parse(text) as LogFileSummary;
        if (s?.schema === SUMMARY_SCHEMA) summaries.push(s);
      }
    } catch (err) {
      if (err instanceof InsightsError) throw new InsightsError(`${key}: ${err.message}`, { cause: err });
      throw new InsightsError(`${key}: expected a ${kind} in JSON, found ${(err as Error).message}`, {
        cause: err,
      });
    }
    opts.onProgress?.(++done, wanted.length);
  }
  const keep = (account: string, region: string) =>
    (!opts.account || opts.account === account) && (!opts.region || opts.region === region);

  const byId = new Map<string, ReportInsight>();
  const startRecords = new Map<string, InsightRecord>();
  const endRecords = new Map<string, InsightRecord>();
  for (const r of records) {
    if (!keep(r.recipientAccountId, r.awsRegion)) continue;
    (r.insightDetails.state === 'Start' ? startRecords : endRecords).set(r.sharedEventID, r);
  }
  for (const id of new Set([...startRecords.keys(), ...endRecords.keys()])) {
    const s = startRecords.get(id);
    const e = endRecords.get(id);
    const any = (s ?? e)!;
    const d = any.insightDetails;
    const start = s
      ? Date.parse(s.eventTime) / MINUTE_MS
      : Date.parse(e!.eventTime) / MINUTE_MS -
        (e!.insightDetails.insightContext.statistics.insightDuration || 0);
    byId.set(id, {
      sharedEventID: id,
      account: any.recipientAccountId,
      region: any.awsRegion,
      insightType: d.insightType,
      eventSource: d.eventSource,
      eventName: d.eventName,
      ...(d.errorCode !== undefined ? { errorCode: d.errorCode } : {}),
      start: Math.floor(start),
      ...(e ? { end: Math.floor(Date.parse(e.eventTime) / MINUTE_MS) } : {}),
      baselineAverage: any.insightDetails.insightContext.statistics.baseline.average,
      insightAverage: (e ?? s)!.insightDetails.insightContext.statistics.insight.average,
      principals: attributionValues(e ?? s, 'userIdentityArn'),
      userAgents: attributionValues(e ?? s, 'userAgent'),
      errorCodes: attributionValues(e ?? s, 'errorCode'),
      points: [],
      basis: 'records',
    });
  }
  for (const st of states) {
    if (!keep(st.account, st.region)) continue;
    for (const c of st.history) {
      if (byId.has(c.sharedEventID)) continue;
      byId.set(c.sharedEventID, {
        sharedEventID: c.sharedEventID,
        account: st.account,
        region: st.region,
        insightType: TYPE_NAMES[c.t],
        eventSource: c.s,
        eventName: c.n,
        ...(c.e !== undefined ? { errorCode: c.e } : {}),
        start: c.start,
        end: c.end,
        baselineAverage: c.baselineAverage,
        insightAverage: c.average,
        principals: [],
        userAgents: [],
        errorCodes: [],
        points: [],
        basis: 'records',
      });
    }
    for (const open of Object.values(st.open)) {
      if (byId.has(open.sharedEventID)) continue;
      const series = st.series[open.series];
      if (!series) continue;
      byId.set(open.sharedEventID, {
        sharedEventID: open.sharedEventID,
        account: st.account,
        region: st.region,
        insightType: TYPE_NAMES[series.t],
        eventSource: series.s,
        eventName: series.n,
        ...(series.e !== undefined ? { errorCode: series.e } : {}),
        start: open.start,
        baselineAverage: open.baselineAverage,
        principals: [],
        userAgents: [],
        errorCodes: [],
        points: [],
        basis: 'records',
      });
    }
  }

  const summariesByState = new Map<string, LogFileSummary[]>();
  for (const s of summaries) {
    const k = `${s.account}/${s.region}`;
    const list = summariesByState.get(k) ?? [];
    list.push(s);
    summariesByState.set(k, list);
  }
  const insights = [...byId.values()].sort(
    (a, b) => a.start - b.start || (a.eventName < b.eventName ? -1 : a.eventName > b.eventName ? 1 : 0),
  );
  for (const ins of insights) {
    const id = seriesOf(ins.insightType, ins.eventSource, ins.eventName, ins.errorCode);
    const last = ins.end ?? Math.floor((opts.now?.getTime() ?? Date.now()) / MINUTE_MS);
    const range: [number, number] = [ins.start - BEFORE, Math.min(last + AFTER, ins.start + 24 * 60)];
    const sums = summariesByState.get(`${ins.account}/${ins.region}`);
    const st = states.find((s) => s.account === ins.account && s.region === ins.region);
    if (id && sums && sums.length > 0) {
      const minutes = minutesFromSummaries(sums, id);
      ins.points = pointsFor(
        range,
        (t) => minutes.get(t) ?? 0,
        hoursFromMinutes(minutes, coverageOf(sums)),
        o,
      );
      ins.basis = 'summaries';
    } else if (id && st) {
      const key = id.e === undefined ? `${id.t}|${id.s}|${id.n}` : `${id.t}|${id.s}|${id.n}|${id.e}`;
      const series = st.series[key];
      if (series) {
        const src = hourSource(st, series);
        // Folded hours only keep sums: spread them evenly over their minutes.
        ins.points = pointsFor(
          range,
          (t) =>
            t >= st.folded * HOUR_MINUTES
              ? minuteCount(series, t)
              : (hourBucket(series, Math.floor(t / HOUR_MINUTES))?.[0] ?? 0) / 60,
          src,
          o,
        );
        ins.basis = 'state';
      }
    }
    if (ins.points.length === 0) {
      const to = ins.end ?? ins.start + 1;
      for (let t = range[0]; t <= range[1]; t++) {
        const inside = t >= ins.start && t < to;
        ins.points.push({
          t,
          count: inside ? (ins.insightAverage ?? 0) : (ins.baselineAverage ?? 0),
          ...(ins.baselineAverage !== undefined ? { expected: ins.baselineAverage } : {}),
        });
      }
    }
  }
  const warmUp: WarmUp[] = [];
  for (const st of states) if (keep(st.account, st.region)) warmUp.push(warmUpOf(st, o));
  for (const [place, sums] of summariesByState) {
    const [account, region] = place.split('/');
    if (!keep(account, region) || states.some((s) => s.account === account && s.region === region)) continue;
    warmUp.push(warmUpOf({ account, region, coverage: coverageOf(sums) }, o));
  }
  return {
    source: opts.prefix ? `${store.location}/${opts.prefix}` : store.location,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    insights,
    summaries: summaries.length,
    states: states.length,
    insightFiles,
    warmUp,
  };
}

/**
 * Why a page holds no insight for some account+region: detection was still warming up there. Places with
 * an insight (CloudTrail's own Insights files need no warm-up of ours) are left out.
 */
export function warmUpNote(data: ReportData): string | undefined {
  const cold = data.warmUp.filter(
    (w) => !w.ready && !data.insights.some((i) => i.account === w.account && i.region === w.region),
  );
  return cold.length > 0 ? `No insight was possible yet: ${warmUpText(cold)}.` : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Rendering

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function num(x: number | undefined): string {
  if (x === undefined) return '-';
  if (x === 0) return '0';
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

function hhmm(t: number): string {
  return minuteIso(t).slice(11, 16);
}

const W = 760;
const H = 220;
const M = { left: 44, right: 12, top: 14, bottom: 30 };

/** The chart of one insight: rate (path.rate), expected (path.expected), band (path.band), marks. */
export function chartSvg(ins: ReportInsight): string {
  const pts = ins.points;
  const t0 = pts[0]?.t ?? ins.start;
  const t1 = Math.max(pts[pts.length - 1]?.t ?? t0 + 1, t0 + 1);
  let top = 1;
  for (const p of pts) top = Math.max(top, p.count, p.threshold ?? 0);
  top *= 1.1;
  const x = (t: number) => M.left + ((t - t0) / (t1 - t0)) * (W - M.left - M.right);
  const y = (v: number) => H - M.bottom - (v / top) * (H - M.top - M.bottom);
  const f = (v: number) => v.toFixed(1);
  const rate = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(x(p.t))},${f(y(p.count))}`).join(' ');
  const modelled = pts.filter((p) => p.expected !== undefined);
  const expected = modelled
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${f(x(p.t))},${f(y(p.expected!))}`)
    .join(' ');
  const banded = modelled.filter((p) => p.threshold !== undefined);
  const band =
    banded.length > 0
      ? `${banded.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(x(p.t))},${f(y(p.threshold!))}`).join(' ')} ${[
          ...banded,
        ]
          .reverse()
          .map((p) => `L${f(x(p.t))},${f(y(p.expected!))}`)
          .join(' ')} Z`
      : '';
  const ticks: string[] = [];
  const step = Math.max(15, Math.ceil((t1 - t0) / 8 / 15) * 15);
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    ticks.push(
      `<line class="tick" x1="${f(x(t))}" y1="${H - M.bottom}" x2="${f(x(t))}" y2="${H - M.bottom + 4}"/>` +
        `<text x="${f(x(t))}" y="${H - M.bottom + 16}" text-anchor="middle">${hhmm(t)}</text>`,
    );
  }
  const mark = (t: number, cls: string, label: string) =>
    `<line class="${cls}" x1="${f(x(t))}" y1="${M.top}" x2="${f(x(t))}" y2="${H - M.bottom}"/>` +
    `<text class="${cls}" x="${f(x(t) + 3)}" y="${M.top + 10}">${label}</text>`;
  const title = `${ins.insightType} ${ins.eventSource} ${ins.eventName}${ins.errorCode ? ` ${ins.errorCode}` : ''}`;
  return [
    `<svg class="insight-chart" data-insight="${esc(ins.sharedEventID)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<title>${esc(title)}: calls per minute, expected rate and start threshold</title>`,
    `<rect class="plot" x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}"/>`,
    band ? `<path class="band" d="${band}"/>` : '',
    expected ? `<path class="expected" d="${expected}"/>` : '',
    `<path class="rate" d="${rate}"/>`,
    mark(ins.start, 'start', 'Start'),
    ins.end !== undefined ? mark(ins.end, 'end', 'End') : '',
    `<line class="axis" x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}"/>`,
    `<text x="${M.left - 4}" y="${M.top + 4}" text-anchor="end">${num(top)}</text>`,
    `<text x="${M.left - 4}" y="${H - M.bottom}" text-anchor="end">0</text>`,
    ...ticks,
    '</svg>',
  ].join('');
}

function table(values: AttributionValue[]): string {
  if (values.length === 0) return '<p class="none">none recorded</p>';
  return `<table>${values.map((v) => `<tr><td>${esc(v.value)}</td><td class="n">${num(v.average)}/min</td></tr>`).join('')}</table>`;
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin:0 0 4px}
.insight{border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:16px 0;max-width:800px}
.meta{color:#57606a;margin:0 0 8px}
svg .plot{fill:#f6f8fa}svg .band{fill:#d8e8fb;stroke:none}svg .expected{fill:none;stroke:#0969da;stroke-dasharray:4 3}
svg .rate{fill:none;stroke:#cf222e;stroke-width:1.5}svg line.start{stroke:#1a7f37;stroke-width:2}svg line.end{stroke:#8250df;stroke-width:2}
svg text{font-size:10px;fill:#57606a}svg text.start{fill:#1a7f37}svg text.end{fill:#8250df}svg .axis,svg .tick{stroke:#8c959f}
.cols{display:flex;gap:24px;flex-wrap:wrap}.cols>div{min-width:240px}
table{border-collapse:collapse}td{padding:1px 8px 1px 0;font-size:12px;word-break:break-all}td.n{white-space:nowrap;text-align:right}
.none{color:#8c959f;font-size:12px}
.warmup{border-left:4px solid #bf8700;padding:4px 10px;background:#fff8c5;max-width:780px}
.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:18px;height:3px;vertical-align:middle;margin-right:4px}
`;

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function renderReport(data: ReportData): string {
  const note = warmUpNote(data);
  const items = data.insights.map((ins) => {
    const title = `${ins.insightType}: ${ins.eventSource} ${ins.eventName}${ins.errorCode ? ` (${ins.errorCode})` : ''}`;
    const window =
      ins.end !== undefined
        ? `${minuteIso(ins.start)} to ${minuteIso(ins.end)} (${ins.end - ins.start} min)`
        : `since ${minuteIso(ins.start)} (open)`;
    return `<section class="insight" id="i-${esc(ins.sharedEventID)}">
<h2>${esc(title)}</h2>
<p class="meta">Account ${esc(ins.account)}, ${esc(ins.region)}; ${esc(window)}; baseline average ${num(ins.baselineAverage)}/min, insight average ${num(ins.insightAverage)}/min; counts from ${ins.basis}.</p>
${chartSvg(ins)}
<div class="cols"><div><h3>Top principals</h3>${table(ins.principals)}</div><div><h3>Top user agents</h3>${table(ins.userAgents)}</div><div><h3>Outcomes</h3>${table(ins.errorCodes)}</div></div>
</section>`;
  });
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>trailwatch insights: ${data.insights.length} insight${data.insights.length === 1 ? '' : 's'}</title>
<style>${CSS}</style></head>
<body>
<h1>trailwatch insights</h1>
<p class="meta">${data.insights.length} insight${data.insights.length === 1 ? '' : 's'} from ${esc(data.source)}: ${plural(data.insightFiles, 'Insights file')}, ${plural(data.summaries, 'log-file summary', 'log-file summaries')}, ${plural(data.states, 'detection state')}. Generated ${esc(data.generatedAt)}.</p>
<p class="legend"><span><i style="background:#cf222e"></i>calls (or errors) per minute</span><span><i style="background:#0969da"></i>expected at that hour</span><span><i style="background:#d8e8fb;height:10px"></i>up to the start threshold</span><span><i style="background:#1a7f37"></i>Start</span><span><i style="background:#8250df"></i>End</span></p>
${note ? `<p class="warmup">${esc(note)}</p>\n` : ''}${items.join('\n')}
<p id="render-status">${data.insights.length} charts</p>
<script>
(function () {
  var charts = document.querySelectorAll('svg.insight-chart');
  var ok = 0;
  for (var i = 0; i < charts.length; i++) {
    var path = charts[i].querySelector('path.rate');
    var length = path ? path.getTotalLength() : 0;
    var box = charts[i].getBoundingClientRect();
    if (length > 0 && box.width > 0 && box.height > 0) {
      charts[i].setAttribute('data-rendered', 'true');
      charts[i].setAttribute('data-path-length', length.toFixed(1));
      ok++;
    }
  }
  document.getElementById('render-status').textContent = ok + ' of ' + charts.length + ' charts rendered';
})();
</script>
</body></html>
`;
}

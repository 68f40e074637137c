/**
 * An audit as one self-contained HTML page to hand to an auditor: the query, the verdict at the top, the
 * holes with their causes, per account-region a timeline strip of verified, missing and failed hours, and
 * the results table. Nothing is fetched from elsewhere (a CSP forbids it); the strips are inline SVG.
 */
import { toRow } from '#cli/lookup/row.ts';
import { esc } from '#cli/report/insights-report.ts';
import { displayDate } from '#shared/digest/verdict.ts';
import type { HourState, PlaceCoverage } from './coverage.ts';
import { hourCounts, queryText, verdictSentence } from './render-text.ts';
import type { AuditResult } from './run-audit.ts';

const COLOURS: Record<HourState, string> = {
  verified: '#2da44e',
  missing: '#d4a72c',
  failed: '#cf222e',
  pending: '#afb8c1',
};

/** Cells as wide as fit about 1000 px, between 4 and 20 px. */
const cellWidth = (hours: number) => Math.max(4, Math.min(20, Math.floor(1000 / Math.max(hours, 1))));
const STRIP_H = 22;
const LABEL_H = 14;

/** One account-region's hours as a strip of cells, one per hour, coloured by state, a day tick every 24. */
export function timelineSvg(p: PlaceCoverage): string {
  const CELL = cellWidth(p.hours.length);
  const width = Math.max(p.hours.length * CELL, CELL);
  const cells = p.hours
    .map(
      (h, i) =>
        `<rect class="hour ${h.state}" x="${i * CELL}" y="0" width="${CELL - 1}" height="${STRIP_H}" fill="${COLOURS[h.state]}"><title>${displayDate(h.start)} ${h.state}</title></rect>`,
    )
    .join('');
  const ticks = p.hours
    .map((h, i) => ({ h, i }))
    .filter(({ h, i }) => h.start.getUTCHours() === 0 && (p.hours.length - i) * CELL >= 30)
    .map(
      ({ h, i }) =>
        `<text x="${i * CELL}" y="${STRIP_H + LABEL_H - 3}">${h.start.toISOString().slice(5, 10)}</text>`,
    )
    .join('');
  return `<svg class="timeline" data-place="${esc(`${p.account}/${p.region}`)}" data-hours="${p.hours.length}" viewBox="0 0 ${width} ${STRIP_H + LABEL_H}" width="${width}" height="${STRIP_H + LABEL_H}" role="img" aria-label="${esc(`${p.account} ${p.region}`)} hours" xmlns="http://www.w3.org/2000/svg">${cells}${ticks}</svg>`;
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff;max-width:1100px}
h1{font-size:20px;margin:0 0 8px}h2{font-size:16px;margin:20px 0 6px}
.verdict{border-radius:6px;padding:12px 16px;font-size:16px;margin:8px 0 12px;border:2px solid}
.verdict b{font-size:22px;display:block}
.verdict.proven{background:#dafbe1;border-color:#2da44e}.verdict.not-proven{background:#ffebe9;border-color:#cf222e}
.verdict.unverifiable{background:#fff8c5;border-color:#bf8700}
.meta{color:#57606a;margin:0 0 4px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #d0d7de;font-size:12px;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;word-break:break-word;min-width:12em}
th{background:#f6f8fa}td.no{color:#cf222e;font-weight:600}td.yes{color:#1a7f37}
.place{margin:8px 0 14px}.place p{margin:0 0 2px;font-size:13px}.strip{overflow-x:auto}
svg.timeline text{font-size:9px;fill:#57606a}
.legend span{margin-right:14px;font-size:12px}.legend i{display:inline-block;width:12px;height:12px;vertical-align:middle;margin-right:4px}
`;

const VERDICT_CLASS = { PROVEN: 'proven', 'NOT PROVEN': 'not-proven', UNVERIFIABLE: 'unverifiable' } as const;

export function renderHtml(r: AuditResult, generatedAt: Date = new Date()): string {
  const holes =
    r.holes.length === 0
      ? '<p class="meta">None: every account-region-hour of the range is covered by valid, chained digests.</p>'
      : `<table id="holes"><tr><th>hole</th><th>account</th><th>region</th><th>from</th><th>to</th><th>cause</th><th>could hide</th></tr>${r.holes
          .map(
            (h) =>
              `<tr><td>${esc(h.kind)}</td><td>${esc(h.account)}</td><td>${esc(h.region)}</td><td>${displayDate(h.from)}</td><td>${displayDate(h.to)}</td><td class="wrap">${esc(h.cause)}</td><td class="wrap">${esc(h.hides)}</td></tr>`,
          )
          .join('')}</table>`;
  const places = r.places
    .map((p) => {
      const c = hourCounts(p);
      return `<div class="place"><p><b>${esc(p.account)} ${esc(p.region)}</b>: ${c.verified} verified, ${c.missing} missing, ${c.failed} failed${c.pending ? `, ${c.pending} pending` : ''} hours; ${p.digests} digests</p><div class="strip">${timelineSvg(p)}</div></div>`;
    })
    .join('\n');
  const rows = r.results.map((f) => ({ ...toRow(f), proven: f.proven, logFile: f.file.key }));
  const results =
    rows.length === 0
      ? '<p class="meta" id="no-results">No matching event.</p>'
      : `<table id="results"><tr><th>time</th><th>account</th><th>region</th><th>user</th><th>event</th><th>resources</th><th>source IP</th><th>error</th><th>event ID</th><th>verified</th></tr>${rows
          .map(
            (x) =>
              `<tr><td>${esc(x.eventTime ?? '')}</td><td>${esc(x.account ?? '')}</td><td>${esc(x.region ?? '')}</td><td class="wrap">${esc(x.principalArn ?? x.username ?? '')}</td><td>${esc(`${(x.eventSource ?? '').replace(/\.amazonaws\.com$/, '')}:${x.eventName ?? ''}`)}</td><td class="wrap">${esc(x.resources.join(' '))}</td><td>${esc(x.sourceIPAddress ?? '')}</td><td>${esc(x.errorCode ?? '')}</td><td>${esc(x.eventID ?? '')}</td><td class="${x.proven ? 'yes' : 'no'}" title="${esc(x.logFile)}">${x.proven ? 'yes' : 'NO'}</td></tr>`,
          )
          .join('')}</table>`;
  const legend = (Object.keys(COLOURS) as HourState[])
    .map((s) => `<span><i style="background:${COLOURS[s]}"></i>${s}</span>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>trailwatch audit: ${esc(r.verdict)}</title>
<style>${CSS}</style></head>
<body>
<h1>trailwatch audit</h1>
<div id="verdict" class="verdict ${VERDICT_CLASS[r.verdict]}"><b>${esc(r.verdict)}</b>${esc(verdictSentence(r).replace(/^[A-Z ]+: /, ''))}</div>
<p class="meta" id="query">Query: ${esc(queryText(r.query))}</p>
<p class="meta">Source: ${esc(r.source)}${r.trailArn ? `; trail ${esc(r.trailArn)}` : ''}. Checked ${r.stats.digests.valid + r.stats.digests.invalid} digests (${r.stats.digests.invalid} INVALID), ${r.stats.logFiles.valid + r.stats.logFiles.invalid} log files (${r.stats.logFiles.invalid} INVALID). Generated ${displayDate(generatedAt)} by trailwatch.</p>
<h2>Holes</h2>
${holes}
<h2>Coverage, one cell an hour</h2>
<p class="legend">${legend}</p>
${places}
<h2>Results</h2>
${results}
</body></html>
`;
}

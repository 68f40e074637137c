/** An audit's answer as text for a terminal, and as one JSON document for programs. */
import { tableColumns } from '#cli/commands/lookup.ts';
import { toRow } from '#cli/lookup/row.ts';
import { displayText, formatTable, type TableColumn } from '#cli/output.ts';
import { n, plural } from '#cli/text-format.ts';
import { displayDate } from '#shared/digest/verdict.ts';
import type { HourState, PlaceCoverage } from './coverage.ts';
import type { AuditFinding, AuditQuery, AuditResult } from './run-audit.ts';

/** The query in one line: what was asked, over which range. */
export function queryText(q: AuditQuery): string {
  const f = q.filter;
  const kind = f.readOnly === undefined ? '' : f.readOnly ? 'read-only ' : 'mutating ';
  const what = f.eventName ?? (f.eventSource || f.readOnly !== undefined ? `any ${kind}call` : 'any event');
  const parts = [
    f.eventName && kind ? `${kind}${what}` : what,
    f.eventSource && `to ${f.eventSource}`,
    f.resourceName && `on ${f.resourceName}`,
    f.resourceType && `(${f.resourceType})`,
    f.username && `by ${f.username}`,
    f.eventId && `event ID ${f.eventId}`,
    f.accessKeyId && `with access key ${f.accessKeyId}`,
    q.account && `in account ${q.account}`,
    q.regions && `in ${q.regions.join(', ')}`,
  ].filter(Boolean);
  return `${parts.join(' ')}, ${displayDate(q.start)} to ${displayDate(q.end)}`;
}

export function hourCounts(p: PlaceCoverage): Record<HourState, number> {
  const c: Record<HourState, number> = { verified: 0, missing: 0, failed: 0, pending: 0 };
  for (const h of p.hours) c[h.state]++;
  return c;
}

/** The verdict's one sentence. */
export function verdictSentence(r: AuditResult): string {
  const hours = r.places.reduce((s, p) => s + p.hours.length, 0);
  const found = r.results.length === 0 ? 'no matching event' : plural(r.results.length, 'matching event');
  if (r.verdict === 'PROVEN') {
    return `PROVEN: ${found}, and that is the whole truth: all ${plural(hours, 'account-region-hour')} are covered by valid, chained digests and every log file checks`;
  }
  if (r.verdict === 'UNVERIFIABLE') {
    return `UNVERIFIABLE: ${found}, but no digest covers any of it (log file validation was off): files may have been deleted, altered or added without trace`;
  }
  return `NOT PROVEN: ${found}, but ${plural(r.holes.length, 'hole')} in the record could hide events`;
}

const STRIP: Record<HourState, string> = { verified: '█', missing: '░', failed: 'X', pending: '·' };
/** Which state a day shows when its hours differ: the worst. */
const WORST: HourState[] = ['failed', 'missing', 'pending', 'verified'];
/** Over this many hours, the text strip has one mark a day. */
const HOURLY_UP_TO = 7 * 24;

/** The strip's marks: one an hour, or for long ranges one a day (its worst hour). */
export function stripMarks(p: PlaceCoverage): { marks: string; unit: 'hour' | 'day' } {
  if (p.hours.length <= HOURLY_UP_TO)
    return { marks: p.hours.map((h) => STRIP[h.state]).join(''), unit: 'hour' };
  const days = new Map<string, Set<HourState>>();
  for (const h of p.hours) {
    const day = h.start.toISOString().slice(0, 10);
    const set = days.get(day) ?? new Set<HourState>();
    set.add(h.state);
    days.set(day, set);
  }
  const marks = [...days.values()].map((set) => STRIP[WORST.find((s) => set.has(s)) ?? 'verified']).join('');
  return { marks, unit: 'day' };
}

const RESULT_COLUMN: TableColumn<{ proven: boolean }> = {
  header: 'VERIFIED',
  cell: (r) => (r.proven ? 'yes' : 'NO'),
  min: 8,
};

export function renderText(r: AuditResult, width = 120): string {
  const out: string[] = [];
  out.push(`Query     ${displayText(queryText(r.query))}`);
  out.push(`Source    ${displayText(r.source)}${r.trailArn ? ` (trail ${r.trailArn})` : ''}`);
  out.push(`Verdict   ${verdictSentence(r)}`);
  out.push('');
  for (const h of r.holes) {
    out.push(
      `  ${h.kind.padEnd(17)} ${h.account} ${h.region} ${displayDate(h.from)} to ${displayDate(h.to)}: ${displayText(h.cause)}`,
    );
    out.push(`  ${''.padEnd(17)} could hide: ${h.hides}`);
  }
  if (r.holes.length > 0) out.push('');
  const unit = r.places[0] ? stripMarks(r.places[0]).unit : 'hour';
  out.push(
    `Coverage  per account-region, one mark a${unit === 'hour' ? 'n hour' : ' day (its worst hour)'} (${STRIP.verified} verified, ${STRIP.missing} missing, ${STRIP.failed} failed, ${STRIP.pending} pending)`,
  );
  for (const p of r.places) {
    const c = hourCounts(p);
    out.push(
      `  ${p.account} ${p.region.padEnd(14)} ${n(c.verified)} verified, ${n(c.missing)} missing, ${n(c.failed)} failed${c.pending ? `, ${n(c.pending)} pending` : ''} (${plural(p.digests, 'digest')})`,
    );
    const strip = stripMarks(p).marks;
    for (let i = 0; i < strip.length; i += 72) out.push(`    ${strip.slice(i, i + 72)}`);
  }
  out.push('');
  out.push(
    `Checked   ${plural(r.stats.digests.valid + r.stats.digests.invalid, 'digest')} (${n(r.stats.digests.invalid)} INVALID), ` +
      `${plural(r.stats.logFiles.valid + r.stats.logFiles.invalid, 'log file')} (${n(r.stats.logFiles.invalid)} INVALID); ` +
      `read ${plural(r.stats.records, 'record')} from ${plural(r.stats.filesRead, 'log file')}`,
  );
  out.push('');
  if (r.results.length === 0) {
    out.push('Results   none');
  } else {
    out.push(
      `Results   ${plural(r.results.length, 'event')} (VERIFIED: its log file is vouched for by a valid digest)`,
    );
    const rows = r.results.map((f) => ({ ...toRow(f), proven: f.proven }));
    const columns = [...tableColumns(rows), RESULT_COLUMN] as TableColumn<(typeof rows)[number]>[];
    for (const line of formatTable(rows, columns, { width })) out.push(line);
  }
  return `${out.join('\n')}\n`;
}

function findingJson(f: AuditFinding): Record<string, unknown> {
  return { ...toRow(f), logFile: f.file.key, proven: f.proven, hour: f.hour };
}

export function auditJson(r: AuditResult): Record<string, unknown> {
  const q = r.query;
  return {
    verdict: r.verdict,
    summary: verdictSentence(r),
    query: {
      ...q.filter,
      startTime: displayDate(q.start),
      endTime: displayDate(q.end),
      ...(q.account ? { account: q.account } : {}),
      ...(q.regions ? { regions: q.regions } : {}),
    },
    source: r.source,
    trailArn: r.trailArn ?? null,
    holes: r.holes.map((h) => ({
      kind: h.kind,
      account: h.account,
      region: h.region,
      from: displayDate(h.from),
      to: displayDate(h.to),
      cause: h.cause,
      hides: h.hides,
      files: h.files,
    })),
    coverage: r.places.map((p) => ({
      account: p.account,
      region: p.region,
      digests: p.digests,
      hours: hourCounts(p),
      timeline: p.hours.map((h) => ({ hour: displayDate(h.start), state: h.state })),
    })),
    results: r.results.map(findingJson),
    stats: r.stats,
  };
}

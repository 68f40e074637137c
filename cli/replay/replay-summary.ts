/** The summary a person reads at the end of a replay. */
import { relative } from 'node:path';
import type { ReplayReport } from '#cli/replay/local-pipeline.ts';
import { bytes, n, plural, warmUpText } from '#cli/text-format.ts';

export function formatReport(r: ReplayReport, title = 'trailwatch replay'): string {
  const lines: string[] = [];
  const span = r.firstEvent && r.lastEvent ? ` (${r.firstEvent} → ${r.lastEvent})` : '';
  lines.push(
    `${title}: ${plural(r.accounts.length, 'account')}, ${plural(r.regions.length, 'region')} [${r.regions.join(', ')}]${span}`,
    '',
  );
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(14)}${text}`);
  const f = r.logFiles;
  row(
    'Log files',
    `${n(f.ingested)} ingested · ${n(f.duplicate)} already seen · ${n(f.rejected)} rejected · ${n(f.skipped)} skipped`,
  );
  row('Records', `${n(r.records)} (${bytes(r.uncompressedBytes)} uncompressed, ${n(r.badRecords)} unusable)`);
  const dv = r.digestVerdicts;
  row(
    'Digests',
    dv.valid + dv.invalid > 0
      ? `${n(r.digests)} delivered · ${n(dv.valid)} valid · ${n(dv.invalid)} INVALID (${n(dv.logFilesChecked)} log file hashes checked)`
      : `${n(r.digests)} delivered (not verified: no public keys; give --public-keys)`,
  );
  for (const f of dv.failures.slice(0, 5)) row('  INVALID', `${f.type} ${f.key}: ${f.reason}`);
  if (r.ignored > 0) row('Other objects', `${n(r.ignored)} ignored (not CloudTrail log or digest files)`);
  for (const rej of r.rejections.slice(0, 5)) row('  rejected', `${rej.key}: ${rej.reason}`);
  if (r.tampered > 0)
    row('Tampered', `${n(r.tampered)} CloudTrail objects rewritten, deleted or empty (CRITICAL alerts)`);
  if (r.badKeys.length > 0)
    row('Bad keys', `${n(r.badKeys.length)} skipped (no folder can hold them safely)`);
  for (const b of r.badKeys.slice(0, 5))
    row('  skipped', `${JSON.stringify(b.key.slice(0, 120))}: ${b.reason}`);
  const starts = r.insights.filter((e) => e.kind === 'start');
  // A trail shorter than the warm-up can open no insight: "0 started" alone reads as "nothing unusual".
  const cold = r.warmUp.filter((w) => !w.ready);
  if (starts.length === 0 && r.insights.length === 0 && cold.length > 0 && cold.length === r.warmUp.length) {
    row('Insights', `0 started: ${warmUpText(cold)}`);
  } else {
    row('Insights', `${n(starts.length)} started · ${n(r.insights.length - starts.length)} ended`);
    if (cold.length > 0) row('', `still warming up: ${warmUpText(cold)}`);
  }
  for (const e of starts.slice(0, 8)) {
    const api = `${e.eventSource.replace(/\.amazonaws\.com$/, '')}:${e.eventName}`;
    const lag = Math.round((Date.parse(e.emittedAt) - Date.parse(e.start)) / 60_000);
    row(
      '',
      `${e.insightType.replace('Insight', '')} ${api}${e.errorCode ? ` (${e.errorCode})` : ''} in ${e.region} from ${e.start}, detected ${lag} min later`,
    );
  }
  const bySubject = new Map<string, number>();
  for (const m of r.notifications) bySubject.set(m.subject, (bySubject.get(m.subject) ?? 0) + 1);
  const where = relative(process.cwd(), r.outDir) || '.';
  row('Notifications', `${n(r.notifications.length)} → ${where}/notifications.jsonl`);
  const rank = (subject: string) =>
    ['[CRITICAL]', '[HIGH]', '[MEDIUM]', '[LOW]'].findIndex((p) => subject.startsWith(p));
  const ordered = [...bySubject].sort((a, b) => rank(a[0]) - rank(b[0]) || b[1] - a[1]);
  for (const [subject, count] of ordered.slice(0, 12)) row('', `${count > 1 ? `${count}× ` : ''}${subject}`);
  if (bySubject.size > 12) row('', `… and ${bySubject.size - 12} more subjects`);
  row('Metrics', `${n(r.metricsLines)} EMF documents → ${where}/metrics.jsonl`);
  row('State', `summaries, verdicts and detector state under ${where}/`);
  const rate = r.seconds > 0 ? ` (${n(Math.round(r.records / r.seconds))} records/s)` : '';
  lines.push(
    '',
    `Took ${r.seconds.toFixed(1)} s for ${plural(r.deliveries, 'delivery', 'deliveries')}${rate}.`,
  );
  return lines.join('\n');
}

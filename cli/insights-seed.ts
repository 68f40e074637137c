/**
 * Seeding: at deployment the detectors start with a full baseline instead of a warm-up. The log files of
 * the last days are summarized into the state store (the same summaries ingest writes, so a later
 * re-delivery of those files is recognised and raises no alert about the past), then folded into the
 * baselines in delivery order without opening insights on history.
 */
import { deliveriesOf } from '#cli/replay/local-pipeline.ts';
import { seedBaselines } from '#shared/insights/index.ts';
import { classifyKey, type TrailKey } from '#shared/keys.ts';
import {
  commitSummary,
  readAndEvaluate,
  recordRejection,
  summaryKeyFor,
} from '#shared/pipeline/ingest-log-files.ts';
import { noMetrics, type ObjectStore, readAll } from '#shared/ports.ts';
import type { LogFileSummary } from '#shared/summary.ts';

export interface SeedResult {
  files: number;
  summaries: number;
  rejected: number;
  applied: number;
  places: { account: string; region: string }[];
}

export async function seedFromHistory(args: {
  source: ObjectStore;
  bucket: string;
  prefix: string;
  state: ObjectStore;
  now: Date;
  days: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<SeedResult> {
  const since = args.now.getTime() - args.days * 86_400_000;
  const logs = (await deliveriesOf(args.source, args.prefix)).filter(
    (d) => d.time && d.time.getTime() >= since && d.time <= args.now && classifyKey(d.key).kind === 'log',
  );
  const summaries: LogFileSummary[] = [];
  let rejected = 0;
  let done = 0;
  for (const d of logs) {
    const file = { bucket: args.bucket, key: classifyKey(d.key) as TrailKey, size: d.size };
    const summaryKey = summaryKeyFor(file.bucket, file.key.key);
    if (await args.state.head(summaryKey)) {
      summaries.push(JSON.parse((await readAll(args.state, summaryKey)).toString('utf8')) as LogFileSummary);
    } else if (d.size > 0) {
      // The same read and commit as ingest, without its alerts: history raises no alert about the past.
      const read = await readAndEvaluate(args.source, file, []);
      if (read.status === 'read') {
        await commitSummary(args.state, noMetrics, read.summary);
        summaries.push(read.summary);
      } else if (read.status === 'unreadable') {
        await recordRejection(args.state, noMetrics, file, read);
        rejected++;
      }
    }
    args.onProgress?.(++done, logs.length);
  }
  const applied = await seedBaselines(args.state, summaries, { now: args.now });
  return {
    files: logs.length,
    summaries: summaries.length,
    rejected,
    applied: applied.applied,
    places: applied.groups,
  };
}

/**
 * `trailwatch insights report`: one self-contained HTML page with a chart per insight (rate, expected
 * rate, start-threshold band, Start and End marks), from a folder holding Insights files, log-file
 * summaries and/or detection state.
 */
import { stat, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { collectReport, renderReport } from '#cli/report/insights-report.ts';
import { InsightsError } from '#shared/insights/index.ts';

function isoTime(value: string): Date {
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new InvalidArgumentError(
      `expected an ISO 8601 time such as 2026-03-10T12:00:00Z, found "${value}"`,
    );
  return new Date(t);
}

export async function writeReport(opts: {
  source: string;
  out: string;
  account?: string;
  region?: string;
  now?: Date;
}): Promise<{ insights: number; charts: number }> {
  const info = await stat(opts.source).catch(() => undefined);
  if (!info?.isDirectory())
    throw new InsightsError(`expected --source to be a folder, found ${opts.source} missing or not a folder`);
  const data = await collectReport(new FsObjectStore(opts.source), {
    ...(opts.account ? { account: opts.account } : {}),
    ...(opts.region ? { region: opts.region } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  const html = renderReport(data);
  await writeFile(opts.out, html);
  return { insights: data.insights.length, charts: (html.match(/<svg class="insight-chart"/g) ?? []).length };
}

export function register(program: Command): void {
  const insights = program
    .command('insights')
    .description('Insights-style anomaly detection: baselines and reports');
  insights
    .command('seed')
    .description(
      'build the anomaly baselines from the last days of log files, so detection starts with no warm-up',
    )
    .requiredOption(
      '--source <folder|s3://bucket[/prefix]>',
      'the trail: a folder laid out like the bucket, or the bucket',
    )
    .requiredOption(
      '--state <folder|s3://bucket>',
      'the state store the deployed functions use (the stack output StateBucketName)',
    )
    .option('--days <n>', 'days of history', (v) => Number.parseInt(v, 10), 7)
    .option('--now <time>', 'the end of the history (default: now)', isoTime)
    .action(async (opts: { source: string; state: string; days: number; now?: Date }) => {
      const { openSource } = await import('#cli/source.ts');
      const { ProgressBar } = await import('#cli/progress.ts');
      const { seedFromHistory } = await import('#cli/insights-seed.ts');
      const source = await openSource(opts.source);
      const state = await openSource(opts.state);
      const bar = new ProgressBar('seed');
      const r = await seedFromHistory({
        source: source.store,
        bucket: source.bucket,
        prefix: source.prefix,
        state: state.store,
        now: opts.now ?? new Date(),
        days: opts.days,
        onProgress: (done, total) => {
          bar.start(total);
          bar.update(done);
        },
      });
      bar.done();
      process.stdout.write(
        `seeded ${r.places.length} account/region baselines from ${r.summaries} of ${r.files} log files (${r.rejected} unreadable) into ${state.description}\n`,
      );
    });
  insights
    .command('report')
    .description('Write an HTML page with a chart per insight (rate, expected band, Start and End)')
    .requiredOption(
      '--source <folder>',
      'folder laid out like a bucket: Insights files, *.summary.json, insights/state/',
    )
    .requiredOption('--out <file>', 'HTML file to write, e.g. report.html')
    .option('--account <id>', 'only this account')
    .option('--region <region>', 'only this region')
    .option('--now <time>', 'end of the chart for insights still open (default: now)', isoTime)
    .action(async (opts: { source: string; out: string; account?: string; region?: string; now?: Date }) => {
      try {
        const r = await writeReport(opts);
        process.stdout.write(
          `${opts.out}: ${r.insights} insight${r.insights === 1 ? '' : 's'}, ${r.charts} charts\n`,
        );
      } catch (err) {
        if (!(err instanceof InsightsError) && !(err instanceof SyntaxError)) throw err;
        process.stderr.write(`error: ${err.message}\n`);
        process.exitCode = 2;
      }
    });
}

/**
 * `trailwatch insights report`: one self-contained HTML page with a chart per insight (rate, expected
 * rate, start-threshold band, Start and End marks), from a folder or bucket holding Insights files,
 * log-file summaries and/or detection state. `trailwatch insights seed`: baselines from history.
 */

import { stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { CliError } from '#cli/errors.ts';
import { positiveInteger } from '#cli/option-parsers.ts';
import { ProgressBar, progressCallback } from '#cli/progress.ts';
import { collectReport, renderReport, warmUpNote } from '#cli/report/insights-report.ts';
import { openSource } from '#cli/source.ts';
import { timeOption } from '#cli/time.ts';
import { InsightsError } from '#shared/insights/index.ts';

const REGION_HELP = 'for an S3 source: its region (default: AWS_REGION, else AWS_DEFAULT_REGION)';

export async function writeReport(opts: {
  source: string;
  out: string;
  account?: string;
  region?: string;
  now?: Date;
}): Promise<{ insights: number; charts: number; note?: string }> {
  const out = resolve(opts.out);
  if ((await stat(out).catch(() => undefined))?.isDirectory()) {
    throw new CliError(`--out ${out}: is a folder; expected the HTML file to write, e.g. report.html`);
  }
  // `--region` is this command's filter, so an S3 source's region comes from the environment alone.
  const source = await openSource(opts.source, { expect: 'folder', regionOption: false });
  const bar = new ProgressBar('report');
  let data: Awaited<ReturnType<typeof collectReport>>;
  try {
    data = await collectReport(source.store, {
      prefix: source.prefix,
      ...(opts.account ? { account: opts.account } : {}),
      ...(opts.region ? { region: opts.region } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      onProgress: progressCallback(bar),
    });
  } catch (err) {
    if (err instanceof InsightsError) {
      throw new CliError(`--source ${source.description}: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    bar.done();
  }
  if (data.insightFiles + data.summaries + data.states === 0) {
    throw new CliError(
      `--source ${source.description}: no Insights files, log-file summaries (*.summary.json) or detection state (insights/state/); expected the --out folder of trailwatch replay, or a trail with CloudTrail-Insight files`,
    );
  }
  const html = renderReport(data);
  try {
    await writeFile(out, html);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`--out ${out}: cannot be written (${code ?? (err as Error).message})`, { cause: err });
  }
  const note = warmUpNote(data);
  return {
    insights: data.insights.length,
    charts: (html.match(/<svg class="insight-chart"/g) ?? []).length,
    ...(note ? { note } : {}),
  };
}

export function register(program: Command): void {
  const insights = program.command('insights').description(COMMAND_DESCRIPTIONS.insights);
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
    .option('--region <region>', REGION_HELP)
    .option('--days <n>', 'days of history', positiveInteger('the days'), 7)
    .option('--now <time>', 'the end of the history (default: now): ISO 8601, a date, -2h, -7d')
    .action(async (opts: { source: string; state: string; region?: string; days: number; now?: string }) => {
      const { seedFromHistory } = await import('#cli/insights-seed.ts');
      const now = timeOption('--now', opts.now, 'end') ?? new Date();
      const region = opts.region ? { region: opts.region } : {};
      const source = await openSource(opts.source, region);
      const state = await openSource(opts.state, { flag: '--state', expect: 'output', ...region });
      const bar = new ProgressBar('seed');
      let r: Awaited<ReturnType<typeof seedFromHistory>>;
      try {
        r = await seedFromHistory({
          source: source.store,
          bucket: source.bucket,
          prefix: source.prefix,
          state: state.store,
          now,
          days: opts.days,
          onProgress: progressCallback(bar),
        });
      } finally {
        bar.done();
      }
      if (r.files === 0) {
        throw new CliError(
          `--source ${source.description}: no log file delivered in the ${opts.days} days before ${now.toISOString()}; give --now (the end of the trail) or more --days`,
        );
      }
      process.stdout.write(
        `seeded ${r.places.length} account/region baselines from ${r.summaries} of ${r.files} log files (${r.rejected} unreadable) into ${state.description}\n`,
      );
    });
  insights
    .command('report')
    .description('Write an HTML page with a chart per insight (rate, expected band, Start and End)')
    .requiredOption(
      '--source <folder>',
      'a folder laid out like a bucket (or s3://bucket[/prefix]): Insights files, *.summary.json, insights/state/',
    )
    .requiredOption('--out <file>', 'HTML file to write, e.g. report.html')
    .option('--account <id>', 'only this account')
    .option('--region <region>', 'only this region (an S3 source takes its region from AWS_REGION)')
    .option('--now <time>', 'end of the chart for insights still open (default: now): ISO 8601, a date, -2h')
    .action(
      async (opts: { source: string; out: string; account?: string; region?: string; now?: string }) => {
        const now = timeOption('--now', opts.now, 'end');
        const r = await writeReport({
          source: opts.source,
          out: opts.out,
          ...(opts.account ? { account: opts.account } : {}),
          ...(opts.region ? { region: opts.region } : {}),
          ...(now ? { now } : {}),
        });
        process.stdout.write(
          `${opts.out}: ${r.insights} insight${r.insights === 1 ? '' : 's'}, ${r.charts} charts${r.note ? `. ${r.note}` : ''}\n`,
        );
      },
    );
}

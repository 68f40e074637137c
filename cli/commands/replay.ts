import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ProgressBar } from '#cli/progress.ts';
import { replay } from '#cli/replay/local-pipeline.ts';
import { formatReport } from '#cli/replay/replay-summary.ts';
import { keysFor, openSource } from '#cli/source.ts';

export function register(program: Command): void {
  program
    .command('replay')
    .description('feed existing deliveries through the real handlers in delivery order, offline')
    .requiredOption(
      '--source <folder|s3://bucket[/prefix]>',
      'a folder laid out like the trail bucket, or an S3 bucket',
    )
    .requiredOption('--out <folder>', 'where the objects, metrics.jsonl and notifications.jsonl are written')
    .option(
      '--bucket <name>',
      "for a folder: the bucket name it mirrors (default: from a generated trail's manifest, else the folder name)",
    )
    .option('--public-keys <file>', 'ListPublicKeys-shaped JSON to check digest signatures against (offline)')
    .option('--log-level <level>', 'handler log level (DEBUG, INFO, WARN, ERROR, SILENT)', 'SILENT')
    .option('--json', 'print the report as JSON')
    .action(
      async (opts: {
        source: string;
        out: string;
        logLevel: string;
        json?: boolean;
        publicKeys?: string;
        bucket?: string;
      }) => {
        const source = await openSource(opts.source, opts.bucket);
        const bar = new ProgressBar('replay');
        const report = await replay({
          source: source.store,
          sourceBucket: source.bucket,
          prefix: source.prefix,
          keys: await keysFor(source, opts.publicKeys),
          out: resolve(opts.out),
          logLevel: opts.logLevel.toUpperCase() as 'SILENT',
          onProgress: (done, total) => {
            bar.start(total);
            bar.update(done);
          },
        });
        bar.done();
        if (opts.json) {
          const { notifications, ...rest } = report;
          process.stdout.write(`${JSON.stringify({ ...rest, notifications: notifications.length })}\n`);
        } else {
          process.stdout.write(`${formatReport(report)}\n`);
        }
      },
    );
}

/** `trailwatch replay`: existing deliveries through the real handlers, offline, with a report of what they found. */

import { type Command, InvalidArgumentError, Option } from 'commander';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { CliError } from '#cli/errors.ts';
import { ProgressBar, progressCallback } from '#cli/progress.ts';
import { replay } from '#cli/replay/local-pipeline.ts';
import { formatReport } from '#cli/replay/replay-summary.ts';
import { cliErrorIn, keysFor, openSource, outputFolder } from '#cli/source.ts';
import { ExceptionError, type ExceptionSet } from '#shared/rules/exceptions.ts';
import { defaultRules, loadExceptions } from '#shared/rules/load.ts';

/** The exceptions ingest applies, from `file` instead of the bundled ones when given; bad ones in one line. */
async function exceptionsFor(file: string | undefined): Promise<ExceptionSet | undefined> {
  if (file === undefined) return undefined;
  try {
    return await loadExceptions(defaultRules(), { exceptionsFile: file });
  } catch (err) {
    if (err instanceof ExceptionError) throw new CliError(err.message, { cause: err });
    throw err;
  }
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

function logLevel(v: string): LogLevel {
  const level = v.toUpperCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new InvalidArgumentError(`expected one of ${LOG_LEVELS.join(', ')}, found '${v}'`);
  }
  return level as LogLevel;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description(COMMAND_DESCRIPTIONS.replay)
    .requiredOption(
      '--source <folder|s3://bucket[/prefix]>',
      'a folder laid out like the trail bucket, or an S3 bucket',
    )
    .requiredOption('--out <folder>', 'where the objects, metrics.jsonl and notifications.jsonl are written')
    .option(
      '--bucket <name>',
      "for a folder: the bucket name it mirrors (default: from a generated trail's manifest, else the folder name)",
    )
    .option(
      '--region <region>',
      'for an S3 source: its region (default: AWS_REGION, else AWS_DEFAULT_REGION)',
    )
    .option(
      '--public-keys <file>',
      'ListPublicKeys-shaped JSON to check digest signatures against (offline); a public-keys.json inside the source is never used',
    )
    .option(
      '--exceptions <file>',
      'exceptions JSON file to apply instead of the bundled shared/rules/exceptions.json (try one on history)',
    )
    .addOption(
      new Option('--log-level <level>', `handler log level (${LOG_LEVELS.join(', ')})`)
        .argParser(logLevel)
        .default('SILENT'),
    )
    .option(
      '--workers <n>',
      'threads that evaluate the records of large files while the main one reads them (0: none, 1: one; default: one when a core is free); the outputs are the same',
      (v: string) => {
        if (v !== '0' && v !== '1') throw new InvalidArgumentError(`expected 0 or 1, found '${v}'`);
        return Number(v);
      },
    )
    .option('--json', 'print the report as JSON')
    .action(
      async (opts: {
        source: string;
        out: string;
        logLevel: LogLevel;
        json?: boolean;
        publicKeys?: string;
        bucket?: string;
        region?: string;
        exceptions?: string;
        workers?: number;
      }) => {
        const exceptions = await exceptionsFor(opts.exceptions);
        const source = await openSource(opts.source, {
          ...(opts.bucket ? { bucket: opts.bucket } : {}),
          ...(opts.region ? { region: opts.region } : {}),
        });
        const out = await outputFolder('--out', opts.out);
        // Only keys given with --public-keys or CloudTrail's own: never a public-keys.json inside the source.
        const keys = await keysFor(source, opts.publicKeys);
        const bar = new ProgressBar('replay');
        let report: Awaited<ReturnType<typeof replay>>;
        try {
          report = await replay({
            source: source.store,
            sourceBucket: source.bucket,
            prefix: source.prefix,
            keys,
            out,
            logLevel: opts.logLevel,
            ...(exceptions ? { exceptions } : {}),
            ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
            onProgress: progressCallback(bar),
          });
        } catch (err) {
          // The handlers wrap a store failure in a retry error; the user needs the line it started from.
          throw cliErrorIn(err) ?? err;
        } finally {
          bar.done();
        }
        if (opts.json) {
          const { notifications, ...rest } = report;
          process.stdout.write(`${JSON.stringify({ ...rest, notifications: notifications.length })}\n`);
        } else {
          process.stdout.write(`${formatReport(report)}\n`);
        }
      },
    );
}

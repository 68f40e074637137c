/**
 * `trailwatch validate`: `aws cloudtrail validate-logs` with the same options, lines and exit codes, and
 * the checks it misses (docs/cloudtrail-format.md sections 2.4 and 2.5). Reads the trail bucket in S3,
 * or a local mirror of it (`--source DIR`, signatures in `KEY.metadata.json` sidecars).
 *
 * Exit 0: everything checked is valid; 1: something is INVALID, or CloudTrail says digests the bucket lacks
 * were delivered; 2: it could not validate (cli/errors.ts). trailwatch's own lines (the digest gap after the
 * newest digest and its summary line) are added to the AWS CLI's, never in place of them, so that on an
 * untouched trail the output is the AWS CLI's, byte for byte.
 */

import type { Command } from 'commander';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { EXIT } from '#cli/errors.ts';
import { ProgressBar, progressCallback } from '#cli/progress.ts';
import { cliErrorIn, keysFor, openSource } from '#cli/source.ts';
import { plural } from '#cli/text-format.ts';
import { timeRange } from '#cli/time.ts';
import { ValidateError } from '#cli/validate/errors.ts';
import type { GapCauseKind, TrailStatusSource } from '#cli/validate/trail-status.ts';
import {
  type DigestGapEvent,
  parseTrailArn,
  type ValidationSummary,
  validateTrail,
} from '#cli/validate/validate-trail.ts';
import { DigestError } from '#shared/digest/errors.ts';
import type { PublicKeySource } from '#shared/digest/public-keys.ts';
import { displayDate, type FileVerdict, verdictLine } from '#shared/digest/verdict.ts';
import type { ObjectStore } from '#shared/ports.ts';

export interface ValidateOptions {
  trailArn: string;
  startTime: string;
  endTime?: string;
  s3Bucket?: string;
  s3Prefix?: string;
  accountId?: string;
  /** Source region(s) whose chains are walked: `us-east-1`, `us-east-1,eu-west-1` or `all`. */
  region?: string;
  publicKeys?: string;
  source?: string;
  verbose?: boolean;
  json?: boolean;
  concurrency?: string;
  deliveryDelay?: string;
}

export interface Output {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Draw a progress bar on stderr (only ever on a terminal). */
  progress?: boolean;
}

const processOutput: Output = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  progress: true,
};

const REGION_RE = /^[a-z]{2,}(?:-[a-z0-9]+){1,4}$/;

function nonNegative(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new ValidateError(`${flag}: expected a number of 0 or more, found '${text}'`);
  }
  return n;
}

interface Target {
  store: ObjectStore;
  bucket: string;
  /** Key prefix before AWSLogs/. */
  prefix?: string;
  resolveStore?: (bucket: string) => ObjectStore | undefined;
  /** CloudTrail's view of the trail: asked only with S3 access, where the bucket is the trail's own. */
  trailStatus?: TrailStatusSource;
  keysFrom: Parameters<typeof keysFor>[0];
}

const S3_URL = /^s3:\/\/([^/]+)\/?(.*)$/;

async function openTarget(opts: ValidateOptions): Promise<Target> {
  // --source takes what every command's --source takes: a folder, or s3://bucket[/prefix] (as --s3-bucket).
  const url = opts.source ? S3_URL.exec(opts.source) : null;
  if (opts.source && !url) {
    // The bucket the mirror stands for: given, or the one a generated sample trail records, or the folder's name.
    const source = await openSource(opts.source, {
      flag: '--source',
      expect: 'trail',
      ...(opts.s3Bucket ? { bucket: opts.s3Bucket } : {}),
    });
    return { store: source.store, bucket: source.bucket, prefix: opts.s3Prefix, keysFrom: source };
  }
  const bucket = url ? url[1] : opts.s3Bucket;
  if (bucket) {
    // --region names the source region walked, as in the AWS CLI, where it is also the clients' region; here
    // it is the bucket's region only when the environment names none, since the bucket may sit elsewhere.
    const fallback =
      !process.env.AWS_REGION && !process.env.AWS_DEFAULT_REGION && opts.region && REGION_RE.test(opts.region)
        ? opts.region
        : undefined;
    const source = await openSource(`s3://${bucket}`, {
      flag: url ? '--source' : '--s3-bucket',
      expect: 'folder',
      ...(fallback ? { region: fallback } : {}),
    });
    const { S3ObjectStore, s3Client } = await import('#shared/adapters/s3-object-store.ts');
    const { CloudTrailTrailStatus } = await import('#cli/adapters/cloudtrail-trail-status.ts');
    const stores = new Map<string, ObjectStore>([[bucket, source.store]]);
    const storeFor = (b: string) => {
      let s = stores.get(b);
      if (!s) {
        s = new S3ObjectStore(s3Client(), b);
        stores.set(b, s);
      }
      return s;
    };
    return {
      store: source.store,
      bucket,
      prefix: opts.s3Prefix ?? (url?.[2] || undefined),
      resolveStore: storeFor,
      trailStatus: new CloudTrailTrailStatus(),
      keysFrom: source,
    };
  }
  throw new ValidateError(
    'expected --s3-bucket BUCKET (or --source DIR for a local copy of the bucket): ' +
      'trailwatch does not look the bucket up from the trail',
  );
}

/**
 * The keys digests are checked against: the `--public-keys` file when given, else CloudTrail's
 * ListPublicKeys. A key file inside a local copy is not trusted on its own: whoever could edit the copy
 * could plant one.
 */
export async function openPublicKeys(
  file: string | undefined,
  keysFrom: Parameters<typeof keysFor>[0],
): Promise<PublicKeySource> {
  if (file) {
    const keys = await keysFor(keysFrom, file);
    if (keys) return keys;
  }
  const { cloudTrailPublicKeys } = await import('#shared/adapters/cloudtrail-public-keys.ts');
  const source = cloudTrailPublicKeys();
  return {
    publicKeys: (region, start, end) =>
      source.publicKeys(region, start, end).catch((err: Error) => {
        throw new DigestError(`${err.message} (without AWS access, give the keys with --public-keys FILE)`, {
          cause: err,
        });
      }),
  };
}

/** The command's time range: the one grammar of cli/time.ts; no --end-time is now, as in the AWS CLI. */
function timesOf(opts: ValidateOptions, now: Date): { start: Date; end: Date } {
  const range = timeRange(
    { flag: '--start-time', text: opts.startTime },
    { flag: '--end-time', text: opts.endTime },
    now,
  );
  if (!range.start) throw new ValidateError('--start-time: expected a time, found none');
  const end = range.end ?? now;
  if (range.start.getTime() > end.getTime()) {
    throw new ValidateError(
      `--start-time ${range.start.toISOString()} is after now (the default --end-time): expected a start in the past`,
    );
  }
  return { start: range.start, end };
}

/** The first line of a failure and of its cause, when the cause adds something. */
function failureLine(e: Error): string {
  const cause =
    e.cause instanceof Error && !e.message.includes(e.cause.message) ? ` (${e.cause.message})` : '';
  return `${e.message}${cause}`.split('\n')[0];
}

/** Expected failures leave as {@link CliError}s (exit 2, one line); anything else as it came. */
export function asCliError(err: unknown): unknown {
  const cli = cliErrorIn(err);
  if (cli) return cli;
  if (err instanceof DigestError) return new ValidateError(failureLine(err), { cause: err });
  return err;
}

const CAUSE_LABEL: Record<GapCauseKind, string> = {
  unknown: 'stopped, or the newest digests deleted',
  'status-unavailable': 'stopped, or the newest digests deleted; trail status unavailable',
  stopped: 'trail stopped logging',
  restarted: 'trail stopped logging, started again later',
  'trail-deleted': 'trail deleted',
  'not-delivering': 'trail not delivering digests',
  'digests-deleted': 'digests DELETED',
};

/** trailwatch's own line for the digest gap after the newest digest. */
export function digestGapLine(g: DigestGapEvent): string {
  return `Digest gap: no digest after ${displayDate(g.from)} (through ${displayDate(g.to)}) in ${g.region}: ${g.cause.reason}`;
}

function jsonDigestGap(g: DigestGapEvent): Record<string, unknown> {
  const iso = (d: Date | undefined) => (d ? displayDate(d) : null);
  const status = g.cause.status;
  return {
    type: 'digest-gap',
    region: g.region,
    bucket: g.bucket,
    from: displayDate(g.from),
    to: displayDate(g.to),
    missingDigests: g.missing,
    firstMissingKey: g.firstMissingKey,
    cause: g.cause.kind,
    reason: g.cause.reason,
    digestsDeleted: g.cause.digestsDeleted,
    ...(status
      ? {
          trailStatus: {
            isLogging: status.isLogging,
            latestDeliveryTime: iso(status.latestDeliveryTime),
            latestDigestDeliveryTime: iso(status.latestDigestDeliveryTime),
            startLoggingTime: iso(status.startLoggingTime),
            stopLoggingTime: iso(status.stopLoggingTime),
          },
        }
      : {}),
    ...(g.cause.changes
      ? {
          changes: g.cause.changes.map((c) => ({
            eventName: c.eventName,
            time: displayDate(c.time),
            actor: c.actor,
            sourceIp: c.sourceIp ?? null,
          })),
        }
      : {}),
  };
}

/** The AWS CLI's status writer: errors on stderr each followed by a blank line, valid lines only when verbose. */
class TextPrinter {
  private readonly out: Output;
  private readonly verbose: boolean;
  private readonly bar: ProgressBar | undefined;
  private lastWasDoubleSpace = true;

  constructor(out: Output, verbose: boolean, bar: ProgressBar | undefined) {
    this.out = out;
    this.verbose = verbose;
    this.bar = bar;
  }

  status(message: string, isError: boolean): void {
    if (isError) {
      this.bar?.done();
      this.out.stderr(this.lastWasDoubleSpace ? `${message}\n\n` : `\n${message}\n\n`);
      this.lastWasDoubleSpace = true;
    } else if (this.verbose) {
      this.bar?.done();
      this.lastWasDoubleSpace = false;
      this.out.stdout(`${message}\n`);
    }
  }

  summary(s: ValidationSummary): void {
    const w = (t: string) => this.out.stdout(t);
    if (!this.lastWasDoubleSpace) w('\n');
    w(`Results requested for ${displayDate(s.requestedStart)} to ${displayDate(s.requestedEnd)}\n`);
    const all = s.digests.valid + s.digests.invalid + s.backfillDigests.valid + s.backfillDigests.invalid;
    if (all === 0) {
      w('No digests found\n');
      return;
    }
    if (!s.foundStart || !s.foundEnd) w('No valid digests found in range\n');
    else w(`Results found for ${displayDate(s.foundStart)} to ${displayDate(s.foundEnd)}:\n`);
    const ratio = (t: { valid: number; invalid: number }, name: string) => {
      const total = t.valid + t.invalid;
      if (total === 0) return;
      w(`\n${t.valid}/${total} ${name} files valid`);
      if (t.invalid > 0) w(`, ${t.invalid}/${total} ${name} files INVALID`);
    };
    ratio(s.digests, 'digest');
    ratio(s.backfillDigests, 'backfill digest');
    ratio(s.logs, 'log');
    w('\n');
    // The AWS CLI's summary ends above; a digest gap is not among its files, so it is said after them.
    for (const g of s.digestGaps) {
      w(
        `\nDigest gap in ${g.region}: ${plural(g.missing, 'hourly digest')} missing after ${displayDate(g.from)} (${CAUSE_LABEL[g.cause.kind]})\n`,
      );
    }
  }
}

function jsonVerdict(v: FileVerdict): Record<string, unknown> {
  return {
    type: v.type,
    bucket: v.bucket,
    key: v.key,
    status: v.status,
    reason: v.reason,
    ...(v.detail ? { detail: v.detail } : {}),
    ...(v.backfill ? { backfill: true } : {}),
    ...(v.inferred ? { inferred: true } : {}),
  };
}

/**
 * Runs the command; returns the exit code: 0 all valid, 1 anything invalid. What stops it from validating
 * (an option, a source, a region, an endpoint) throws a CliError: one line, exit 2.
 */
export async function runValidate(opts: ValidateOptions, out: Output = processOutput): Promise<number> {
  const bar = !opts.json && out.progress ? new ProgressBar('validate') : undefined;
  try {
    const { start, end } = timesOf(opts, new Date());
    try {
      parseTrailArn(opts.trailArn);
    } catch (err) {
      throw new ValidateError(
        `--trail-arn ${opts.trailArn}: expected arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`,
        { cause: err },
      );
    }
    const concurrency = Math.floor(nonNegative(opts.concurrency, '--concurrency', 16)) || 1;
    const deliveryDelayMs = nonNegative(opts.deliveryDelay, '--delivery-delay', 60) * 60_000;
    const target = await openTarget(opts);
    const keys = await openPublicKeys(opts.publicKeys, target.keysFrom);
    const regions =
      opts.region === 'all'
        ? ('all' as const)
        : opts.region
            ?.split(',')
            .map((r) => r.trim())
            .filter(Boolean);
    const printer = new TextPrinter(out, opts.verbose === true, bar);
    let exit: number = EXIT.ok;
    for await (const event of validateTrail({
      store: target.store,
      bucket: target.bucket,
      resolveStore: target.resolveStore,
      keys,
      trailArn: opts.trailArn,
      start,
      end,
      prefix: target.prefix,
      accountId: opts.accountId,
      regions,
      concurrency,
      deliveryDelayMs,
      ...(target.trailStatus ? { trailStatus: target.trailStatus } : {}),
      onProgress: bar ? progressCallback(bar) : undefined,
    })) {
      switch (event.type) {
        case 'start':
          if (!opts.json) {
            out.stdout(
              `Validating log files for trail ${event.trailArn} between ${displayDate(event.start)} and ${displayDate(event.end)}\n\n`,
            );
          }
          break;
        case 'digest':
        case 'log':
          if (event.status === 'invalid') exit = EXIT.findings;
          if (opts.json) out.stdout(`${JSON.stringify(jsonVerdict(event))}\n`);
          else printer.status(verdictLine(event), event.status === 'invalid');
          break;
        case 'gap': {
          if (opts.json) {
            out.stdout(
              `${JSON.stringify({ type: 'gap', region: event.region, from: displayDate(event.from), to: displayDate(event.to), ...(event.backfill ? { backfill: true } : {}) })}\n`,
            );
          } else {
            const what = event.backfill ? '(backfill) ' : '';
            printer.status(
              `${what}No log files were delivered by CloudTrail between ${displayDate(event.from)} and ${displayDate(event.to)}`,
              true,
            );
          }
          break;
        }
        case 'digest-gap':
          // The AWS CLI says nothing about the hours after the newest digest and exits 0 when all it checked
          // is valid: a stopped trail, or one whose cause cannot be told, keeps that exit code (the gap is
          // stated, and repeated in the summary). Digests CloudTrail says it delivered and the bucket lacks
          // were deleted: that is the finding a digest deleted inside the chain is, so it exits 1.
          if (event.cause.digestsDeleted) exit = EXIT.findings;
          if (opts.json) out.stdout(`${JSON.stringify(jsonDigestGap(event))}\n`);
          else printer.status(digestGapLine(event), true);
          break;
        case 'summary':
          bar?.done();
          if (opts.json) {
            out.stdout(
              `${JSON.stringify({
                type: 'summary',
                trailArn: event.trailArn,
                requestedStart: displayDate(event.requestedStart),
                requestedEnd: displayDate(event.requestedEnd),
                foundStart: event.foundStart ? displayDate(event.foundStart) : null,
                foundEnd: event.foundEnd ? displayDate(event.foundEnd) : null,
                digestFiles: event.digests,
                backfillDigestFiles: event.backfillDigests,
                logFiles: event.logs,
                digestGaps: event.digestGaps.length,
                valid: event.ok,
              })}\n`,
            );
          } else {
            printer.summary(event);
          }
          break;
      }
    }
    return exit;
  } catch (err) {
    bar?.done();
    throw asCliError(err);
  }
}

export function register(program: Command): void {
  program
    .command('validate')
    .description(COMMAND_DESCRIPTIONS.validate)
    .requiredOption('--trail-arn <arn>', 'the trail, arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME')
    .requiredOption(
      '--start-time <time>',
      'validate log files delivered from this time: ISO 8601 (UTC unless a zone is given), a date, -2h, -7d, Unix seconds',
    )
    .option('--end-time <time>', 'until this time, same forms (default: now; a date alone is its end)')
    .option('--s3-bucket <bucket>', 'the trail bucket (required unless --source is given)')
    .option('--s3-prefix <prefix>', 'key prefix before AWSLogs/')
    .option('--account-id <id>', 'account to validate (organization trails; default: from the trail ARN)')
    .option(
      '--region <region>',
      'source region(s) whose digests are walked: R, R1,R2 or all (default: from the trail ARN); ' +
        'R is also the bucket region when AWS_REGION and AWS_DEFAULT_REGION are unset',
    )
    .option(
      '--public-keys <file>',
      'ListPublicKeys JSON file (default: CloudTrail ListPublicKeys in the region)',
    )
    .option(
      '--source <dir|s3://bucket[/prefix]>',
      'a local copy of the bucket instead of S3 (--s3-bucket then names the bucket it copies), or the bucket',
    )
    .option('--concurrency <n>', 'log files fetched and hashed at once', '16')
    .option(
      '--delivery-delay <minutes>',
      'how late an hourly digest may arrive before it counts as missing',
      '60',
    )
    .option('--verbose', 'also print valid files')
    .option('--json', 'one JSON object per line per file or digest gap, then a summary object')
    .action(async (opts: ValidateOptions) => {
      process.exitCode = await runValidate(opts);
    });
}

/**
 * `trailwatch validate`: `aws cloudtrail validate-logs` with the same options, lines and exit codes, and
 * the checks it misses (../shared/docs/cloudtrail-reference.md section 2). Reads the trail bucket in S3,
 * or a local mirror of it (`--source DIR`, signatures in `KEY.metadata.json` sidecars).
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { ProgressBar } from '#cli/progress.ts';
import { type ValidationSummary, validateTrail } from '#cli/validate/validate-trail.ts';
import { DigestError } from '#shared/digest/errors.ts';
import {
  type PublicKeySource,
  parsePublicKeyList,
  StaticPublicKeySource,
} from '#shared/digest/public-keys.ts';
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

/** Exit codes: the AWS CLI v1's. */
export const EXIT_VALID = 0;
export const EXIT_INVALID = 1;
export const EXIT_ERROR = 255;

/** Like the AWS CLI: a time without a zone is UTC; a bare date is its midnight. */
export function parseCliTime(text: string, what: string): Date {
  let t = text.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) t += 'T00:00:00Z';
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(t)) t = `${t.replace(' ', 'T')}Z`;
  const d = new Date(t);
  if (!/^\d{4}-\d{2}-\d{2}/.test(t) || Number.isNaN(d.getTime())) {
    throw new DigestError(`Unable to parse date value: ${text} (expected ${what} like 2026-03-05T10:00:00Z)`);
  }
  return d;
}

function positiveInt(text: string | undefined, what: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0)
    throw new DigestError(`expected ${what} to be a non-negative number, found ${text}`);
  return n;
}

interface Target {
  store: ObjectStore;
  bucket: string;
  resolveStore?: (bucket: string) => ObjectStore | undefined;
}

async function openTarget(opts: ValidateOptions): Promise<Target> {
  if (opts.source) {
    const root = resolve(opts.source);
    const store = new FsObjectStore(root);
    // The bucket the mirror stands for: given, or the one a generated sample trail records, or the folder's name.
    let bucket = opts.s3Bucket;
    if (!bucket) {
      try {
        const manifest = JSON.parse(await readFile(join(root, 'trailwatch-manifest.json'), 'utf8'));
        bucket = typeof manifest?.scenario?.bucket === 'string' ? manifest.scenario.bucket : undefined;
      } catch {
        bucket = undefined;
      }
    }
    return { store, bucket: bucket ?? basename(root) };
  }
  if (opts.s3Bucket) {
    const { S3ObjectStore, s3Client } = await import('#shared/adapters/s3-object-store.ts');
    const stores = new Map<string, ObjectStore>();
    const storeFor = (b: string) => {
      let s = stores.get(b);
      if (!s) {
        s = new S3ObjectStore(s3Client(), b);
        stores.set(b, s);
      }
      return s;
    };
    return { store: storeFor(opts.s3Bucket), bucket: opts.s3Bucket, resolveStore: storeFor };
  }
  throw new DigestError(
    'expected --s3-bucket BUCKET (or --source DIR for a local copy of the bucket): ' +
      'trailwatch does not look the bucket up from the trail',
  );
}

async function openKeys(opts: ValidateOptions): Promise<PublicKeySource> {
  if (opts.publicKeys) {
    let text: string;
    try {
      text = await readFile(opts.publicKeys, 'utf8');
    } catch (err) {
      throw new DigestError(`expected a ListPublicKeys JSON file at ${opts.publicKeys}, could not read it`, {
        cause: err,
      });
    }
    return new StaticPublicKeySource(parsePublicKeyList(text));
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

/** Runs the command; returns the exit code (0 all valid, 1 anything invalid, 255 could not validate). */
export async function runValidate(opts: ValidateOptions, out: Output = processOutput): Promise<number> {
  const bar = !opts.json && out.progress ? new ProgressBar('validate') : undefined;
  try {
    const start = parseCliTime(opts.startTime, '--start-time');
    const end = opts.endTime ? parseCliTime(opts.endTime, '--end-time') : new Date();
    if (start.getTime() > end.getTime()) {
      throw new DigestError('Invalid time range specified: start-time must occur before end-time');
    }
    const target = await openTarget(opts);
    const keys = await openKeys(opts);
    const regions =
      opts.region === 'all'
        ? ('all' as const)
        : opts.region
            ?.split(',')
            .map((r) => r.trim())
            .filter(Boolean);
    const printer = new TextPrinter(out, opts.verbose === true, bar);
    let exit = EXIT_VALID;
    for await (const event of validateTrail({
      store: target.store,
      bucket: target.bucket,
      resolveStore: target.resolveStore,
      keys,
      trailArn: opts.trailArn,
      start,
      end,
      prefix: opts.s3Prefix,
      accountId: opts.accountId,
      regions,
      concurrency: positiveInt(opts.concurrency, '--concurrency', 16) || 1,
      deliveryDelayMs: positiveInt(opts.deliveryDelay, '--delivery-delay', 60) * 60_000,
      onProgress: bar
        ? (done, total) => {
            bar.start(total);
            bar.update(done);
          }
        : undefined,
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
          if (event.status === 'invalid') exit = EXIT_INVALID;
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
    const e = err as Error;
    const cause =
      e?.cause instanceof Error && !e.message.includes(e.cause.message) ? ` (${e.cause.message})` : '';
    out.stderr(`${err instanceof DigestError ? e.message : `${e?.name}: ${e?.message}`}${cause}\n`);
    return EXIT_ERROR;
  }
}

export function register(program: Command): void {
  program
    .command('validate')
    .description(
      'validate CloudTrail digest and log files of a trail (aws cloudtrail validate-logs, plus what it misses)',
    )
    .requiredOption('--trail-arn <arn>', 'the trail, arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME')
    .requiredOption(
      '--start-time <time>',
      'validate log files delivered from this UTC time, e.g. 2026-03-05T00:00:00Z',
    )
    .option('--end-time <time>', 'until this UTC time (default: now)')
    .option('--s3-bucket <bucket>', 'the trail bucket (required unless --source is given)')
    .option('--s3-prefix <prefix>', 'key prefix before AWSLogs/')
    .option('--account-id <id>', 'account to validate (organization trails; default: from the trail ARN)')
    .option(
      '--region <region>',
      'source region(s) whose digests are walked: R, R1,R2 or all (default: from the trail ARN)',
    )
    .option(
      '--public-keys <file>',
      'ListPublicKeys JSON file (default: CloudTrail ListPublicKeys in the region)',
    )
    .option(
      '--source <dir>',
      'a local copy of the bucket instead of S3 (--s3-bucket then names the bucket it copies)',
    )
    .option('--concurrency <n>', 'log files fetched and hashed at once', '16')
    .option(
      '--delivery-delay <minutes>',
      'how late an hourly digest may arrive before it counts as missing',
      '60',
    )
    .option('--verbose', 'also print valid files')
    .option('--json', 'one JSON object per line per file, then a summary object')
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : EXIT_ERROR);
    })
    .action(async (opts: ValidateOptions) => {
      process.exitCode = await runValidate(opts);
    });
}

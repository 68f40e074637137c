/**
 * `trailwatch generate`: write a deterministic sample trail (log files, signed digests, public key) into a
 * folder laid out like the trail bucket, and/or one very large log file for stress tests.
 */

import { readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { CliError } from '#cli/errors.ts';
import {
  demoScenario,
  GeneratorError,
  generateTrail,
  type InjectedBurst,
  MANIFEST_KEY,
  PUBLIC_KEYS_KEY,
  type TrailScenario,
  writeLargeLogFile,
} from '#cli/generator/index.ts';
import { ProgressBar, progressCallback } from '#cli/progress.ts';
import { outputFolder } from '#cli/source.ts';
import { timeOption } from '#cli/time.ts';
import type { PutOptions } from '#shared/ports.ts';

interface GenerateOptions {
  out?: string;
  seed?: number;
  start?: string;
  hours?: number;
  days?: number;
  regions?: string[];
  accounts?: string[];
  eventsPerMinute?: number;
  prefix?: string;
  orgId?: string;
  bucket?: string;
  trailName?: string;
  homeRegion?: string;
  digests: boolean;
  deployBurst: boolean;
  securityEvents: boolean;
  bursts?: string;
  stopLogging?: string[];
  force?: boolean;
  largeFile?: string;
  sizeMb?: number;
}

function integer(what: string, min: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`expected ${what} as an integer >= ${min}, found ${v}`);
    return n;
  };
}

function positive(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n))
    throw new InvalidArgumentError(`expected a positive number, found ${v}`);
  return n;
}

function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A folder store that counts what goes into it, for the summary line. */
class CountingFsStore extends FsObjectStore {
  bytes = 0;
  objects = 0;

  override put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    this.objects++;
    this.bytes += typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    return super.put(key, body, options);
  }
}

/** Demo bursts are kept when they still fit the trail the options describe. */
function fittingBursts(s: Omit<TrailScenario, 'bursts'>): InjectedBurst[] {
  const start = Date.parse(s.start);
  const end = start + s.hours * 3_600_000;
  return demoScenario.bursts.filter((b) => {
    const t = Date.parse(b.start);
    return (
      (b.region === undefined || s.regions.includes(b.region)) && t >= start && t + b.minutes * 60_000 <= end
    );
  });
}

/** `--start` in the grammar of every time option, written as the scenario keeps it (UTC, no milliseconds). */
function startOf(text: string | undefined): string | undefined {
  const t = timeOption('--start', text, 'start');
  return t ? t.toISOString().replace('.000Z', 'Z') : undefined;
}

async function scenarioFrom(o: GenerateOptions): Promise<TrailScenario> {
  if (o.hours !== undefined && o.days !== undefined)
    throw new GeneratorError('give --hours or --days, not both');
  const accounts = o.accounts ?? demoScenario.accounts;
  const regions = o.regions ?? demoScenario.regions;
  const base: Omit<TrailScenario, 'bursts'> = {
    seed: o.seed ?? demoScenario.seed,
    start: startOf(o.start) ?? demoScenario.start,
    hours: o.hours ?? (o.days !== undefined ? o.days * 24 : demoScenario.hours),
    accounts,
    regions,
    bucket: o.bucket ?? (o.accounts ? `trailwatch-sample-trail-${accounts[0]}` : demoScenario.bucket),
    ...(o.prefix ? { prefix: o.prefix.endsWith('/') ? o.prefix : `${o.prefix}/` } : {}),
    ...(o.orgId ? { orgId: o.orgId } : {}),
    trailName: o.trailName ?? demoScenario.trailName,
    homeRegion:
      o.homeRegion ?? (regions.includes(demoScenario.homeRegion) ? demoScenario.homeRegion : regions[0]),
    eventsPerMinute: o.eventsPerMinute ?? demoScenario.eventsPerMinute,
    digests: o.digests,
    recurringDeployBurst: o.deployBurst,
    securityEvents: o.securityEvents,
  };
  let bursts: InjectedBurst[];
  if (o.bursts) {
    let text: string;
    try {
      text = await readFile(o.bursts, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new GeneratorError(
        `--bursts ${resolve(o.bursts)}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code})`}; expected a JSON array of bursts`,
        { cause: err },
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new GeneratorError(`expected a JSON array of bursts in ${o.bursts}, found invalid JSON`, {
        cause: err,
      });
    }
    if (!Array.isArray(parsed)) throw new GeneratorError(`expected a JSON array of bursts in ${o.bursts}`);
    bursts = parsed as InjectedBurst[];
  } else {
    bursts = fittingBursts(base);
  }
  const loggingStops = (o.stopLogging ?? []).map((text) => {
    const [start, minutes, principalArn] = text.split(',').map((p) => p.trim());
    const bad = () =>
      new GeneratorError(
        `--stop-logging ${text}: expected TIME,MINUTES[,PRINCIPAL_ARN], e.g. 2026-03-06T21:30Z,120`,
      );
    let at: Date | undefined;
    try {
      at = timeOption('--stop-logging', start, 'start');
    } catch {
      throw bad();
    }
    if (!at || !/^\d+$/.test(minutes ?? '')) throw bad();
    const iso = at.toISOString().replace('.000Z', 'Z');
    return { start: iso, minutes: Number(minutes), ...(principalArn ? { principalArn } : {}) };
  });
  return { ...base, bursts, ...(loggingStops.length > 0 ? { loggingStops } : {}) };
}

/** Refuses to mix a new trail into an old one; with --force, removes only what generate writes. */
async function prepareFolder(
  dir: string,
  prefix: string | undefined,
  force: boolean | undefined,
): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  if (entries.length === 0) return;
  if (!force) {
    throw new GeneratorError(
      `expected an empty or new folder at ${dir}, found ${entries.length} entries (use --force to replace an earlier sample trail)`,
    );
  }
  // The earlier trail may have used another prefix: its manifest says which.
  const prefixes = new Set([prefix ?? '']);
  try {
    const earlier = JSON.parse(await readFile(join(dir, MANIFEST_KEY), 'utf8')) as {
      scenario?: { prefix?: string };
    };
    prefixes.add(earlier.scenario?.prefix ?? '');
  } catch {
    // No readable manifest: only the new prefix's files can be known to be ours.
  }
  for (const p of prefixes) {
    await rm(join(dir, ...p.split('/').filter(Boolean), 'AWSLogs'), { recursive: true, force: true });
  }
  await rm(join(dir, PUBLIC_KEYS_KEY), { force: true });
  await rm(join(dir, MANIFEST_KEY), { force: true });
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description(COMMAND_DESCRIPTIONS.generate)
    .option('--out <dir>', 'folder to write the trail into (laid out like the trail bucket)')
    .option(
      '--seed <n>',
      'random seed: the same options and seed give the same bytes',
      integer('the seed', 0),
    )
    .option(
      '--start <time>',
      'first hour of the trail (a whole hour): ISO 8601 (UTC unless a zone is given), a date',
    )
    .option('--hours <n>', 'length of the trail in hours', integer('hours', 1))
    .option('--days <n>', 'length of the trail in days', integer('days', 1))
    .option('--regions <list>', 'comma-separated regions', list)
    .option('--accounts <list>', 'comma-separated 12-digit account ids', list)
    .option(
      '--events-per-minute <n>',
      'mean events per minute per account and region at the weekday peak',
      positive,
    )
    .option('--prefix <p>', 'key prefix before AWSLogs/')
    .option('--org-id <o-...>', 'organization trail layout AWSLogs/<org-id>/<account>/...')
    .option('--bucket <name>', 'trail bucket name written into the digests')
    .option('--trail-name <name>', 'trail name in digest file names')
    .option('--home-region <region>', "the trail's home region")
    .option('--no-digests', 'write no digest files')
    .option('--no-deploy-burst', 'leave out the weekday 10:00 UTC deploy burst')
    .option('--no-security-events', 'leave out the scheduled security events')
    .option('--bursts <file>', 'JSON array of injected bursts (default: the demo bursts that fit the trail)')
    .option(
      '--stop-logging <time,minutes[,arn]>',
      'stop the trail: StopLogging at TIME by ARN (default carol), nothing delivered for MINUTES, then StartLogging (repeatable)',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option('--force', 'replace an earlier sample trail in --out')
    .option('--large-file <path>', 'also (or only) write one large log file (.json.gz) here')
    .option('--size-mb <n>', 'uncompressed size of --large-file in MB', positive, 100)
    .action(async (o: GenerateOptions) => {
      try {
        await run(o);
      } catch (err) {
        // A scenario that cannot make a trail is a usage problem: say which field.
        if (err instanceof GeneratorError) throw new CliError(err.message, { cause: err });
        throw err;
      }
    });
}

async function run(o: GenerateOptions): Promise<void> {
  if (!o.out && !o.largeFile) throw new GeneratorError('give --out <dir>, --large-file <path>, or both');
  if (o.out) {
    const dir = await outputFolder('--out', o.out);
    const scenario = await scenarioFrom(o);
    await prepareFolder(dir, scenario.prefix, o.force);
    const store = new CountingFsStore(dir);
    const bar = new ProgressBar('generate');
    const t = performance.now();
    const trail = await generateTrail(scenario, store, progressCallback(bar)).finally(() => bar.done());
    const seconds = (performance.now() - t) / 1000;
    const logs = trail.deliveries.filter((d) => d.kind === 'log');
    const records = logs.reduce((n, d) => n + (d.records ?? 0), 0);
    process.stdout.write(
      [
        `Wrote a sample trail to ${dir} in ${seconds.toFixed(1)} s`,
        `  ${scenario.accounts.length} account(s) x ${scenario.regions.length} region(s), ${scenario.hours} h from ${scenario.start}, seed ${scenario.seed}`,
        `  ${logs.length} log files, ${records} records`,
        `  ${trail.deliveries.length - logs.length} digest files${scenario.digests ? `, signed with key ${trail.signingKeyFingerprint}` : ''}`,
        `  ${scenario.bursts.length} injected burst(s)${scenario.recurringDeployBurst ? ', weekday deploy bursts' : ''}${scenario.securityEvents ? ', security events' : ''}`,
        `  ${store.objects} objects, ${mb(store.bytes)} (compressed); ${PUBLIC_KEYS_KEY} and ${MANIFEST_KEY} at the root`,
        '',
      ].join('\n'),
    );
  }
  if (o.largeFile) {
    const path = resolve(o.largeFile);
    const t = performance.now();
    const r = await writeLargeLogFile(path, {
      targetBytes: Math.round((o.sizeMb ?? 100) * 1e6),
      seed: o.seed ?? demoScenario.seed,
      account: o.accounts?.[0],
      region: o.regions?.[0],
    }).catch((err: NodeJS.ErrnoException) => {
      if (typeof err.code !== 'string' || !err.syscall) throw err;
      throw new GeneratorError(
        `--large-file ${path}: cannot be written (${err.code}); expected a file path in an existing folder`,
        {
          cause: err,
        },
      );
    });
    process.stdout.write(
      `Wrote ${path}: ${r.records} records, ${mb(r.uncompressedBytes)} uncompressed, ${mb(r.compressedBytes)} gzip'd, in ${((performance.now() - t) / 1000).toFixed(1)} s\n`,
    );
  }
}

/**
 * `trailwatch lookup`: the filters of CloudTrail's Event history, over a trail's own log files (a folder
 * laid out like the bucket, or the bucket itself), for as far back as the bucket keeps them; with
 * `--engine athena`, the same filters as one query on the Athena table (cli/athena/).
 */

import { type Command, InvalidArgumentError, Option } from 'commander';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { CliError } from '#cli/errors.ts';
import {
  arnResource,
  LookupError,
  type LookupFilter,
  resourceId,
  TEXT_ATTRIBUTES,
} from '#cli/lookup/filter.ts';
import { MAX_CACHE_BYTES } from '#cli/lookup/index-cache.ts';
import { folderBytes, folderReader, SummaryIndex } from '#cli/lookup/index-check.ts';
import { DEFAULT_WORKERS } from '#cli/lookup/read-pool.ts';
import {
  CSV_HEADER,
  type LineFormat,
  type LookupEvent,
  type LookupRow,
  renderLine,
  toRow,
} from '#cli/lookup/row.ts';
import {
  DEFAULT_CONCURRENCY,
  type LookupOrder,
  type LookupStats,
  lookup,
  type RenderedLines,
} from '#cli/lookup/scan.ts';
import { eventFilterOptions, nonEmpty, positiveInteger } from '#cli/option-parsers.ts';
import {
  displayText,
  formatTable,
  OUTPUT_FORMATS,
  type OutputFormat,
  type TableColumn,
  terminalWidth,
} from '#cli/output.ts';
import { ProgressBar } from '#cli/progress.ts';
import { openSource } from '#cli/source.ts';
import { n, plural } from '#cli/text-format.ts';
import { timeRange } from '#cli/time.ts';

/** Where the lookup runs: over the log files themselves, or as one SQL query on Athena. */
export interface AthenaEngineOptions {
  workgroup: string;
  database: string;
  table: string;
  /** Partition values to read (all projected ones when empty). */
  accounts: string[];
  regions: string[];
}

export interface LookupCommandOptions {
  /** A folder or bucket (engine `local`); empty for Athena. */
  source: string;
  engine?: { kind: 'athena' } & AthenaEngineOptions;
  /** For an S3 source: its region. */
  region?: string;
  filter: LookupFilter;
  output: OutputFormat;
  maxResults?: number;
  order: LookupOrder;
  concurrency: number;
  /** Worker threads that gunzip and parse (0: none). */
  workers?: number;
  /** Where ingest keeps its summaries (the state bucket, or replay's --out): their indexes skip files. */
  state?: string;
  /** Table only: add the credential and client columns. */
  detail?: boolean;
}

export interface Io {
  /** Bytes are written only to the process's own stdout (see {@link writeRendered}). */
  stdout: { write(s: string | Uint8Array): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean; columns?: number };
}

const service = (source: string | null) => (source ?? '').replace(/\.amazonaws\.com$/, '');

/**
 * The caller as the USER column shows it: for an assumed role (an SSO session among them) the session name,
 * which names the person (`AWSReservedSSO_Admin_abc/alice@example.com` → `alice@example.com`), with the role
 * after it in parentheses; for everyone else the user name as the row has it.
 */
export function userCell(row: LookupRow, width = Number.POSITIVE_INFINITY): string | null {
  const m = row.principalArn ? /:assumed-role\/([^/]+)\/([^/]+)$/.exec(row.principalArn) : null;
  if (!m) return row.username;
  const [, role, session] = m;
  const both = `${session} (${role})`;
  // The role is the first thing to give up: the session name is who did it.
  return Array.from(both).length <= width ? both : session;
}

const USER_WANT = 24;
/** A session name longer than this is cut before a column is dropped for it. */
const USER_WANT_MAX = 64;

/** The table keeps who, what, when, on which resource and from where; json and csv carry every field. */
export const TABLE_COLUMNS: TableColumn<LookupRow>[] = [
  { header: 'TIME', cell: (r) => r.eventTime, min: 20 },
  { header: 'ACCOUNT', cell: (r) => r.account, min: 12, max: 12, dropOrder: 2 },
  { header: 'REGION', cell: (r) => r.region, min: 9, want: 14, max: 16, dropOrder: 3 },
  // No `max`: an e-mail as session name is long, and it is the column people read first.
  {
    header: 'USER',
    cell: (r) => userCell(r),
    narrow: (r, width) => userCell(r, width),
    min: 10,
    want: USER_WANT,
  },
  {
    header: 'EVENT',
    cell: (r) => (r.eventSource ? `${service(r.eventSource)}:${r.eventName ?? ''}` : r.eventName),
    min: 16,
    want: 30,
    max: 48,
  },
  {
    header: 'RESOURCES',
    // A user and its login profile share a name: shown once.
    cell: (r) => [...new Set(r.resources.map((x) => resourceLabel(x.name)))].join(', '),
    min: 9,
    want: 24,
    max: 48,
    hideWhenEmpty: true,
  },
  { header: 'SOURCE IP', cell: (r) => r.sourceIPAddress, min: 9, want: 15, max: 39 },
  { header: 'ERROR', cell: (r) => r.errorCode, min: 5, want: 14, max: 32, dropOrder: 1, hideWhenEmpty: true },
];

/** A resource as the table shows it: an ARN by its id (`role/admin` → `admin`), anything else as written. */
export function resourceLabel(name: string): string {
  return name.startsWith('arn:') ? resourceId(name) : name;
}

/**
 * With `--detail`, what an investigation asks next: with which credentials (access key, the role or user
 * that issued a session, MFA) and through which client.
 */
export const DETAIL_COLUMNS: TableColumn<LookupRow>[] = [
  { header: 'ACCESS KEY', cell: (r) => r.accessKeyId, min: 10, want: 20, max: 20, dropOrder: 4 },
  {
    header: 'ISSUER',
    cell: (r) => (r.sessionIssuer ? arnResource(r.sessionIssuer) : null),
    min: 8,
    want: 24,
    max: 48,
    dropOrder: 4,
    hideWhenEmpty: true,
  },
  {
    header: 'MFA',
    cell: (r) => (r.mfaAuthenticated === null ? null : r.mfaAuthenticated ? 'yes' : 'no'),
    min: 3,
    max: 3,
    dropOrder: 4,
    hideWhenEmpty: true,
  },
  { header: 'USER AGENT', cell: (r) => r.userAgent, min: 10, want: 30, max: 80, dropOrder: 5 },
];

/**
 * The columns for these rows: USER wants room for the longest name it shows without the role, so that on a
 * terminal too narrow for everything, less wanted columns (region, account) go before a session name is cut.
 */
export function tableColumns(rows: LookupRow[], detail = false): TableColumn<LookupRow>[] {
  let longest = 0;
  for (const row of rows) longest = Math.max(longest, Array.from(userCell(row, 0) ?? '').length);
  const want = Math.min(USER_WANT_MAX, Math.max(USER_WANT, longest));
  const columns = TABLE_COLUMNS.map((c) => (c.header === 'USER' ? { ...c, want } : c));
  return detail ? [...columns, ...DETAIL_COLUMNS] : columns;
}

/** The rows a lookup prints, in every output format; returns how many. */
export function writeRows(
  events: LookupEvent[],
  opts: Pick<LookupCommandOptions, 'output' | 'detail'>,
  io: Io,
): number {
  const { output } = opts;
  if (output === 'csv' || output === 'json') {
    return writeLines(
      events.map((e) => renderLine(e, output)),
      output,
      io,
    );
  }
  if (events.length === 0) return 0;
  const rows = events.map(toRow);
  // Piped without COLUMNS, nothing limits the width: nothing is cut.
  const width = terminalWidth(io.stdout, Number.POSITIVE_INFINITY);
  const chunks: string[] = [];
  for (const line of formatTable(rows, tableColumns(rows, opts.detail), { width })) chunks.push(`${line}\n`);
  writeChunks(chunks, io);
  return rows.length;
}

/** Lines {@link renderLine} made, after the CSV header; returns how many. */
export function writeLines(lines: string[], format: LineFormat, io: Io): number {
  if (format === 'csv') io.stdout.write(CSV_HEADER);
  writeChunks(lines, io);
  return lines.length;
}

/**
 * Lines a lookup rendered, after the CSV header; returns how many. The process's own stdout gets their bytes as
 * they are (no decoding and encoding again); any other writer (a test's) gets text.
 */
export function writeRendered(rendered: RenderedLines, format: LineFormat, io: Io): number {
  if (format === 'csv') io.stdout.write(CSV_HEADER);
  const raw = io.stdout === process.stdout;
  for (const chunk of rendered.chunks()) io.stdout.write(raw ? chunk : chunk.toString('utf8'));
  return rendered.length;
}

function writeChunks(chunks: string[], io: Io): void {
  for (let i = 0; i < chunks.length; i += 1000) io.stdout.write(chunks.slice(i, i + 1000).join(''));
}

/** Runs a lookup and writes its output; returns the exit code. */
export async function runLookup(opts: LookupCommandOptions, io: Io = process): Promise<number> {
  if (opts.engine?.kind === 'athena') {
    const { runAthenaLookup } = await import('#cli/athena/athena-lookup.ts');
    return runAthenaLookup(opts, opts.engine, io);
  }
  const region = opts.region ? { region: opts.region } : {};
  const source = await openSource(opts.source, region);
  const state = opts.state
    ? // A state store mirrors no trail bucket: naming it spares a search for a digest through every summary.
      await openSource(opts.state, { flag: '--state', expect: 'folder', bucket: source.bucket, ...region })
    : undefined;
  const bar = new ProgressBar('lookup', io.stderr);
  const started = Date.now();
  let result: Awaited<ReturnType<typeof lookup>>;
  try {
    result = await lookup({
      store: source.store,
      prefix: source.prefix,
      filter: opts.filter,
      order: opts.order,
      concurrency: opts.concurrency,
      workers: opts.workers ?? DEFAULT_WORKERS,
      // csv and json lines are made as files are read; the table needs the rows (its widths come from all).
      ...(opts.output === 'csv' || opts.output === 'json' ? { render: opts.output } : {}),
      ...(source.s3 ? {} : { readBytes: folderBytes(source.description) }),
      ...(state
        ? {
            index: new SummaryIndex(
              state.store,
              source.bucket,
              state.prefix,
              state.s3 ? undefined : folderReader(state.description),
              // Lookup writes nothing to a state bucket; a state folder keeps each day's indexes together.
              state.s3 ? undefined : folderReader(state.description, MAX_CACHE_BYTES),
            ),
          }
        : {}),
      ...(opts.maxResults !== undefined ? { maxResults: opts.maxResults } : {}),
      onUnreadable: (key, reason) => {
        bar.clear();
        io.stderr.write(`trailwatch lookup: cannot read ${displayText(key)}: ${displayText(reason)}\n`);
      },
      onFile: (stats) => {
        bar.start(stats.logFiles - stats.skippedBeforeStart, !stats.listed);
        // Formatting numbers costs more than reading a file the index skips: only for a bar that shows.
        if (io.stderr.isTTY)
          bar.update(
            stats.filesRead + stats.unreadableFiles + stats.skippedByIndex,
            `${n(stats.matched)} matching`,
          );
      },
    });
  } catch (err) {
    // No trail where the source points, or a filter that contradicts itself: the user fixes the command.
    if (err instanceof LookupError) throw new CliError(err.message, { cause: err });
    throw err;
  } finally {
    bar.done();
  }

  const shown =
    opts.output === 'csv' || opts.output === 'json'
      ? result.rendered
        ? writeRendered(result.rendered, opts.output, io)
        : writeLines(result.lines, opts.output, io)
      : writeRows(result.events, opts, io);
  io.stderr.write(`${summary(shown, result.stats, opts, (Date.now() - started) / 1000)}\n`);
  return 0;
}

function summary(shown: number, s: LookupStats, opts: LookupCommandOptions, seconds: number): string {
  const events =
    shown < s.matched
      ? `${n(shown)} of ${plural(s.matched, 'matching event')} shown`
      : `${plural(shown, 'event')} matched`;
  const stale = s.indexMissing + s.indexStale + s.indexCorrupt;
  const extra = [
    s.skippedBeforeStart > 0 ? `${n(s.skippedBeforeStart)} skipped as delivered before the start time` : '',
    opts.state ? `${n(s.skippedByIndex)} skipped by their index` : '',
    stale > 0
      ? `${n(stale)} read in full for want of a usable index (${n(s.indexMissing)} missing, ${n(s.indexStale)} stale, ${n(s.indexCorrupt)} corrupt)`
      : '',
    s.unreadableFiles > 0 ? `${n(s.unreadableFiles)} unreadable` : '',
  ].filter(Boolean);
  return (
    `${events}; read ${plural(s.records, 'record')} from ${plural(s.filesRead, 'log file')}` +
    `${extra.length > 0 ? ` (${extra.join(', ')})` : ''} in ${plural(s.dayFolders, 'day folder')} of ${opts.source}` +
    ` in ${seconds.toFixed(1)} s`
  );
}

/** Options as commander hands them over, after each option's own parsing. */
export interface RawOptions extends Omit<LookupFilter, 'startTime' | 'endTime'> {
  source?: string;
  engine?: 'local' | 'athena';
  workgroup?: string;
  database?: string;
  table?: string;
  account?: string;
  awsRegion?: string;
  region?: string;
  /** Parsed later, against the current time (relative times such as -2h). */
  startTime?: string;
  endTime?: string;
  output: OutputFormat;
  maxResults?: number;
  newestFirst?: boolean;
  concurrency: number;
  workers?: number;
  state?: string;
  detail?: boolean;
}

/** Turns parsed command-line options into a lookup; throws a {@link CliError} for bad times and contradictions. */
export function commandOptions(raw: RawOptions, now: Date = new Date()): LookupCommandOptions {
  const { start: startTime, end: endTime } = timeRange(
    { flag: '--start-time', text: raw.startTime },
    { flag: '--end-time', text: raw.endTime },
    now,
  );
  const filter: LookupFilter = {
    ...(startTime ? { startTime } : {}),
    ...(endTime ? { endTime } : {}),
  };
  for (const k of TEXT_ATTRIBUTES) {
    if (raw[k] !== undefined) filter[k] = raw[k];
  }
  if (raw.readOnly !== undefined) filter.readOnly = raw.readOnly;
  const engine = engineOptions(raw);
  return {
    source: raw.source ?? '',
    ...(engine ? { engine } : {}),
    ...(raw.region ? { region: raw.region } : {}),
    filter,
    output: raw.output,
    ...(raw.maxResults !== undefined ? { maxResults: raw.maxResults } : {}),
    order: raw.newestFirst ? 'newest-first' : 'oldest-first',
    concurrency: raw.concurrency,
    ...(raw.workers !== undefined ? { workers: raw.workers } : {}),
    ...(raw.state ? { state: raw.state } : {}),
    ...(raw.detail ? { detail: true } : {}),
  };
}

const list = (v?: string) =>
  (v ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/** Athena's options, checked; undefined for a lookup over log files (which takes none of them). */
function engineOptions(raw: RawOptions): LookupCommandOptions['engine'] {
  if (raw.engine !== 'athena') {
    if (!raw.source) {
      throw new CliError(
        "required option '--source <folder|s3://bucket[/prefix]>' not specified (or --engine athena)",
      );
    }
    for (const [flag, v] of [
      ['--workgroup', raw.workgroup],
      ['--database', raw.database],
      ['--table', raw.table],
      ['--account', raw.account],
      ['--aws-region', raw.awsRegion],
    ] as const) {
      if (v !== undefined)
        throw new CliError(
          `${flag} is for --engine athena; a lookup over --source reads every account and region under it`,
        );
    }
    return undefined;
  }
  if (!raw.workgroup)
    throw new CliError('--engine athena needs --workgroup <name>, the Athena workgroup to run the query in');
  if (raw.source)
    throw new CliError('--source reads log files and --engine athena queries the table: give one of them');
  if (raw.state)
    throw new CliError('--state lets a lookup over --source skip log files; --engine athena reads no files');
  const accounts = list(raw.account);
  for (const a of accounts)
    if (!/^\d{12}$/.test(a)) throw new CliError(`--account: expected 12-digit account IDs, found '${a}'`);
  return {
    kind: 'athena',
    workgroup: raw.workgroup,
    database: raw.database ?? 'trailwatch',
    table: raw.table ?? 'cloudtrail_logs',
    accounts,
    regions: list(raw.awsRegion),
  };
}

export function register(program: Command): void {
  const command = program
    .command('lookup')
    .description(COMMAND_DESCRIPTIONS.lookup)
    .option(
      '--source <folder|s3://bucket[/prefix]>',
      'a folder laid out like the trail bucket, or an S3 bucket (required unless --engine athena)',
    )
    .addOption(
      new Option('--engine <engine>', 'local: read the log files; athena: one SQL query on the Athena table')
        .choices(['local', 'athena'])
        .default('local'),
    )
    .option('--workgroup <name>', 'athena: the workgroup to run the query in')
    .option('--database <name>', 'athena: the Glue database (default trailwatch)')
    .option('--table <name>', 'athena: the table (default cloudtrail_logs)')
    .option('--account <ids>', 'athena: only these accounts (comma-separated), read as partitions')
    .option('--aws-region <regions>', 'athena: only these regions (comma-separated), read as partitions')
    .option(
      '--region <region>',
      'for an S3 source: its region (default: AWS_REGION, else AWS_DEFAULT_REGION)',
    )
    .option(
      '--start-time <time>',
      'events at or after: ISO 8601 (UTC unless a zone is given), a date, -2h, -7d',
      nonEmpty,
    )
    .option('--end-time <time>', 'events at or before (a date alone means the end of that day)', nonEmpty);
  eventFilterOptions(command, {
    eventName: 'StopLogging',
    eventSource: 'cloudtrail.amazonaws.com',
    resourceType: 'AWS::IAM::Role',
  })
    .addOption(new Option('--output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'))
    .option(
      '--max-results <n>',
      'show at most N events (the oldest, or the newest with --newest-first)',
      positiveInteger('a count'),
    )
    .option('--newest-first', 'sort the newest events first, as the console does')
    .option('--detail', 'table: add access key, session issuer, MFA and user agent columns')
    .option('--concurrency <n>', 'log files read at once', positiveInteger('a count'), DEFAULT_CONCURRENCY)
    .option(
      '--state <folder|s3://bucket[/prefix]>',
      "where ingest keeps its state (the state bucket, or replay's --out): each file's index there lets lookup skip files that cannot match",
    )
    .option(
      '--workers <n>',
      'threads that decompress and parse (0: none)',
      (v: string) => {
        if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number of 0 or more');
        return Number(v);
      },
      DEFAULT_WORKERS,
    )
    .action(async (raw: RawOptions) => {
      // `head` closing the pipe is not an error of the lookup.
      process.stdout.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EPIPE') process.exit(0);
        throw err;
      });
      process.exitCode = await runLookup(commandOptions(raw));
      // Nothing is left to do once the output is out: exiting now spares the wait for the runtime's own
      // background work (a garbage collection a short lookup had started, ~10 ms of its end).
      await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
      process.exit();
    });
}

/** Resolves once what was written to the stream so far is out (writes to a pipe are asynchronous on macOS). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

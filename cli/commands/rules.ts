/**
 * `trailwatch rules list` and `trailwatch rules test`: inspect the rule catalog (filter patterns and Sigma
 * rules) and try a filter pattern or a rule on CloudTrail files (a folder or a bucket), printing matches the
 * way CloudWatch's TestMetricFilter does. A count rule (Sigma correlation) is tested on the events it counts.
 *
 * `rules test` reads every `*.json.gz` and `*.json` file under the source whatever its name, as a pattern is
 * often tried on exported or downloaded logs: a `{"Records": [...]}` document, gzip'd or not, or a bare
 * array of records.
 */

import { gunzipSync } from 'node:zlib';
import { type Command, Option } from 'commander';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { CliError } from '#cli/errors.ts';
import { ProgressBar, progressCallback } from '#cli/progress.ts';
import { openSource, type Source } from '#cli/source.ts';
import { timeRange } from '#cli/time.ts';
import { LogFileError, readLogRecords } from '#shared/logfile/read.ts';
import { readAll } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { principalOf } from '#shared/record.ts';
import { ExceptionError, expiredMessage, type RuleException } from '#shared/rules/exceptions.ts';
import { loadExceptions, loadRules, RuleError } from '#shared/rules/load.ts';
import {
  type CompiledPattern,
  compilePattern,
  type Matcher,
  PatternError,
} from '#shared/rules/pattern/index.ts';
import { ruleMatcher } from '#shared/rules/rule-matcher.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import { bundledSigmaRules } from '#shared/rules/sigma/bundled.ts';

export interface TestMatch {
  /** 1-based position of the record among all records read, like TestMetricFilter's eventNumber. */
  eventNumber: number;
  file: string;
  eventMessage: string;
  extractedValues: Record<string, string>;
}

export interface TestReport {
  pattern: string;
  source: string;
  filesScanned: number;
  recordsScanned: number;
  /** Records left out by --start-time / --end-time. */
  recordsOutsideWindow: number;
  /** Files that could not be read as CloudTrail logs (skipped). */
  unreadableFiles: { file: string; error: string }[];
  matches: TestMatch[];
  /** Matching records an exception silenced (`--rule` with exceptions): what ingest would not alert on. */
  suppressed: (TestMatch & { exception: string; reason: string })[];
}

/** What `testPattern` runs: a filter pattern, or a rule with its field comparisons and its exceptions. */
export interface TestTarget {
  source: string;
  test: Matcher;
  /** The exception that silences a matching record, if any. */
  suppressing?: (record: CloudTrailRecord) => RuleException | undefined;
}

/** A file under the source that holds no CloudTrail records: skipped and reported, like a corrupt one. */
export class NotRecordsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Keys of the files `rules test` reads under a prefix, in key order; digests are not logs. */
export async function logFileKeys(source: Source): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of source.store.list(source.prefix)) {
    if (!/\.json(?:\.gz)?$/.test(o.key) || o.key.includes('CloudTrail-Digest/')) continue;
    keys.push(o.key);
  }
  return keys;
}

export async function* recordsOf(source: Source, key: string): AsyncGenerator<CloudTrailRecord[]> {
  if (key.endsWith('.gz')) {
    const obj = await source.store.get(key);
    yield* readLogRecords(obj.body, { compression: 'auto', sizeHint: obj.size });
    return;
  }
  // Plain .json may be a bare array of records, which the streaming reader does not take.
  let bytes = await readAll(source.store, key);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const doc: unknown = JSON.parse(bytes.toString('utf8'));
  if (Array.isArray(doc)) yield doc as CloudTrailRecord[];
  else if (doc && typeof doc === 'object' && Array.isArray((doc as { Records?: unknown }).Records)) {
    yield (doc as { Records: CloudTrailRecord[] }).Records;
  } else {
    throw new NotRecordsError('not CloudTrail records: expected {"Records": [...]} or an array of records');
  }
}

/**
 * Runs a pattern over every record under the source. Times are inclusive at both ends, as in lookup.
 * Throws a {@link CliError} when no file under the source holds CloudTrail records.
 */
export async function testPattern(
  pattern: CompiledPattern | TestTarget,
  source: Source,
  window: { start?: Date; end?: Date } = {},
  onProgress?: (done: number, total: number) => void,
): Promise<TestReport> {
  const report: TestReport = {
    pattern: pattern.source,
    source: source.description,
    filesScanned: 0,
    recordsScanned: 0,
    recordsOutsideWindow: 0,
    unreadableFiles: [],
    matches: [],
    suppressed: [],
  };
  const keys = await logFileKeys(source);
  for (const key of keys) {
    report.filesScanned++;
    const file = key.slice(source.prefix.length);
    try {
      await scanFile(key, file);
    } catch (err) {
      if (!(err instanceof LogFileError || err instanceof SyntaxError || err instanceof NotRecordsError))
        throw err;
      report.unreadableFiles.push({ file, error: (err as Error).message });
    }
    onProgress?.(report.filesScanned, keys.length);
  }
  if (report.filesScanned > 0 && report.unreadableFiles.length === report.filesScanned) {
    const first = report.unreadableFiles[0];
    const none =
      report.filesScanned === 1
        ? 'its only .json file holds no CloudTrail records'
        : `none of its ${report.filesScanned} .json files holds CloudTrail records`;
    throw new CliError(`--source ${source.description}: ${none} (${first.file}: ${first.error})`);
  }
  return report;

  async function scanFile(key: string, file: string): Promise<void> {
    const start = window.start?.getTime();
    const end = window.end?.getTime();
    for await (const batch of recordsOf(source, key)) {
      for (const record of batch) {
        report.recordsScanned++;
        if (start !== undefined || end !== undefined) {
          const t = typeof record?.eventTime === 'string' ? Date.parse(record.eventTime) : Number.NaN;
          const inside =
            !Number.isNaN(t) && (start === undefined || t >= start) && (end === undefined || t <= end);
          if (!inside) {
            report.recordsOutsideWindow++;
            continue;
          }
        }
        if (pattern.test(record)) {
          const match = {
            eventNumber: report.recordsScanned,
            file,
            eventMessage: JSON.stringify(record),
            extractedValues: {},
          };
          const exception = 'suppressing' in pattern ? pattern.suppressing?.(record) : undefined;
          if (exception)
            report.suppressed.push({ ...match, exception: exception.id, reason: exception.reason });
          else report.matches.push(match);
        }
      }
    }
  }
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  '))
    .join('\n');
}

function field(record: Record<string, unknown>, key: string): string {
  const v = record[key];
  return typeof v === 'string' ? v : '-';
}

/** The columns every table of matched events starts with: number, time, API, principal. */
function eventCells(eventNumber: number, r: Record<string, unknown>): string[] {
  return [
    String(eventNumber),
    field(r, 'eventTime'),
    `${field(r, 'eventSource')} ${field(r, 'eventName')}`,
    principalOf(r),
  ];
}

function matchTable(report: TestReport): string {
  const rows = [['#', 'EVENT TIME', 'EVENT', 'PRINCIPAL', 'SOURCE IP', 'FILE']];
  for (const m of report.matches) {
    const r = JSON.parse(m.eventMessage) as Record<string, unknown>;
    rows.push([...eventCells(m.eventNumber, r), field(r, 'sourceIPAddress'), m.file]);
  }
  const summary = `${report.matches.length} of ${report.recordsScanned - report.recordsOutsideWindow} events matched in ${report.filesScanned} files`;
  const outside = report.recordsOutsideWindow
    ? ` (${report.recordsOutsideWindow} outside the time window)`
    : '';
  const skipped = report.unreadableFiles.map((f) => `\nskipped ${f.file}: ${f.error}`).join('');
  return `${report.matches.length ? `${table(rows)}\n\n` : ''}${summary}${outside}${suppressedTable(report)}${skipped}`;
}

/** What exceptions silenced, each line naming the exception and its reason. */
function suppressedTable(report: TestReport): string {
  if (report.suppressed.length === 0) return '';
  const rows = [['#', 'EVENT TIME', 'EVENT', 'PRINCIPAL', 'EVENT ID', 'EXCEPTION', 'REASON']];
  for (const m of report.suppressed) {
    const r = JSON.parse(m.eventMessage) as Record<string, unknown>;
    rows.push([...eventCells(m.eventNumber, r), field(r, 'eventID'), m.exception, m.reason]);
  }
  return `\n\n${report.suppressed.length} more matched but were suppressed by exceptions (no alert):\n${table(rows)}`;
}

function listTable(rules: Rule[]): string {
  const rows = table([
    ['ID', 'SEVERITY', 'METRIC', 'TITLE'],
    ...rules.map((r) => [r.id, r.severity, r.metricName, r.title]),
  ]);
  const sigma = rules.filter((r) => r.sigma);
  const counts = sigma.filter((r) => r.sigma?.correlation).length;
  const leftOut = bundledSigmaRules({ custom: false })
    .rejected.map((e) => `\nleft out: ${e.message}`)
    .join('');
  const origins = ['catalog', 'pack'].map((o) => [o, rules.filter((r) => r.origin === o).length] as const);
  const custom = rules.length - sigma.length - origins.reduce((n, [, k]) => n + k, 0);
  const parts = [...origins, ...(custom > 0 ? [['custom', custom] as const] : [])].map(
    ([o, k]) => `${k} ${o}`,
  );
  return `${rows}\n\n${rules.length - sigma.length} filter-pattern rules (${parts.join(', ')}), ${sigma.length - counts} Sigma rules, ${counts} count rules${leftOut}`;
}

/** What `rules test --rule` runs on each record: the rule's own test, named by its pattern or its Sigma origin. */
function ruleTest(rule: Rule): TestTarget {
  const source = rule.sigma
    ? `Sigma rule ${rule.id} "${rule.title}" by ${rule.sigma.author}${rule.sigma.correlation ? ' (the events it counts)' : ''}`
    : rule.pattern;
  return { source, test: ruleMatcher(rule) };
}

/** The rules, with a rules file that cannot be used said in one line naming the file and the rule. */
async function rulesFrom(file: string | undefined): Promise<Rule[]> {
  try {
    return await loadRules({ rulesFile: file });
  } catch (err) {
    if (err instanceof RuleError) throw new CliError(err.message, { cause: err });
    throw err;
  }
}

async function exceptionsFrom(rules: Rule[], file: string | undefined) {
  try {
    return await loadExceptions(rules, file === undefined ? {} : { exceptionsFile: file });
  } catch (err) {
    if (err instanceof ExceptionError) throw new CliError(err.message, { cause: err });
    throw err;
  }
}

function compiled(text: string): CompiledPattern {
  try {
    return compilePattern(text);
  } catch (err) {
    if (!(err instanceof PatternError)) throw err;
    throw new CliError(`invalid filter pattern at ${err.message} in '${text}'`, { cause: err });
  }
}

export function register(program: Command): void {
  const rules = program.command('rules').description(COMMAND_DESCRIPTIONS.rules);

  rules
    .command('list')
    .description('List the catalog and custom rules')
    .option(
      '--rules <file>',
      'custom rules: a JSON file, or a Sigma .yml file (instead of the bundled custom rules)',
    )
    .option(
      '--exceptions <file>',
      'exceptions JSON file to check against the rules (default: the bundled shared/rules/exceptions.json)',
    )
    .option('--json', 'print the rules as JSON')
    .action(async (opts: { rules?: string; exceptions?: string; json?: boolean }) => {
      const list = await rulesFrom(opts.rules);
      // `npm run deploy` runs this first: a bad exceptions file stops the deployment, as a bad rule does.
      await exceptionsFrom(list, opts.exceptions);
      process.stdout.write(`${opts.json ? JSON.stringify(list, null, 2) : listTable(list)}\n`);
    });

  rules
    .command('test')
    .description('Print the records under a folder that a filter pattern matches (like TestMetricFilter)')
    .option(
      '--pattern <pattern>',
      'CloudWatch Logs JSON filter pattern, e.g. \'{ $.eventName = "StopLogging" }\'',
    )
    .option('--rule <id>', 'test a rule of the catalog (or of --rules) instead of --pattern')
    .option('--rules <file>', 'custom rules JSON or Sigma .yml file, for --rule')
    .option(
      '--exceptions <file>',
      'exceptions JSON file for --rule (default: the bundled shared/rules/exceptions.json); silenced matches are listed apart',
    )
    .requiredOption(
      '--source <folder|s3://bucket[/prefix]>',
      'CloudTrail log files (*.json.gz, or *.json records), in a folder or a bucket',
    )
    .option(
      '--region <region>',
      'for an S3 source: its region (default: AWS_REGION, else AWS_DEFAULT_REGION)',
    )
    .option(
      '--start-time <time>',
      'only events at or after: ISO 8601 (UTC unless a zone is given), a date, -2h, -7d',
    )
    .option('--end-time <time>', 'only events at or before (a date alone means the end of that day)')
    .addOption(new Option('--output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(
      async (opts: {
        pattern?: string;
        rule?: string;
        rules?: string;
        exceptions?: string;
        source: string;
        region?: string;
        startTime?: string;
        endTime?: string;
        output: 'table' | 'json';
      }) => {
        if (opts.pattern !== undefined && opts.rule !== undefined) {
          throw new CliError('give --pattern or --rule, not both');
        }
        if (opts.exceptions !== undefined && opts.rule === undefined) {
          throw new CliError('--exceptions applies to --rule <id>');
        }
        let target: CompiledPattern | TestTarget | undefined;
        if (opts.pattern !== undefined) target = compiled(opts.pattern);
        if (opts.rule !== undefined) {
          const list = await rulesFrom(opts.rules);
          const rule = list.find((r) => r.id === opts.rule);
          if (!rule) {
            throw new CliError(
              `--rule ${opts.rule}: no such rule in ${opts.rules ?? 'the catalog'}; known: ${list.map((r) => r.id).join(', ')}`,
            );
          }
          const active = (await exceptionsFrom(list, opts.exceptions)).at(new Date(), (e) =>
            process.stderr.write(`trailwatch: warning: ${expiredMessage(e)}\n`),
          );
          target = { ...ruleTest(rule), suppressing: (record) => active.suppressing(rule.id, record) };
        }
        if (target === undefined) throw new CliError('give --pattern <pattern> or --rule <id>');
        const pattern = target;
        const window = timeRange(
          { flag: '--start-time', text: opts.startTime },
          { flag: '--end-time', text: opts.endTime },
        );
        const source = await openSource(opts.source, {
          expect: 'json',
          ...(opts.region ? { region: opts.region } : {}),
        });
        const bar = new ProgressBar('rules test');
        let report: TestReport;
        try {
          report = await testPattern(pattern, source, window, progressCallback(bar));
        } finally {
          bar.done();
        }
        process.stdout.write(
          `${opts.output === 'json' ? JSON.stringify(report, null, 2) : matchTable(report)}\n`,
        );
      },
    );
}

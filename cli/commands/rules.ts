/**
 * `trailwatch rules list` and `trailwatch rules test`: inspect the rule catalog and try a filter pattern on
 * local CloudTrail files, printing matches the way CloudWatch's TestMetricFilter does.
 */
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { LogFileError, readLogRecords } from '#shared/logfile/read.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { principalOf } from '#shared/record.ts';
import { loadRules, RuleError } from '#shared/rules/load.ts';
import { type CompiledPattern, compilePattern, PatternError } from '#shared/rules/pattern/index.ts';
import type { Rule } from '#shared/rules/rule-types.ts';

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
}

function isoTime(value: string): string {
  const t = Date.parse(value);
  if (Number.isNaN(t))
    throw new InvalidArgumentError(
      `expected an ISO 8601 time such as 2024-08-01T12:00:00Z, found "${value}"`,
    );
  return new Date(t).toISOString();
}

/** CloudTrail log files under a folder: `*.json.gz`, and `*.json` (a `{"Records": [...]}` or a bare array). */
async function* logFiles(root: string): AsyncGenerator<string> {
  const entries = (await readdir(root, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    const path = join(root, e.name);
    if (e.isDirectory()) {
      if (e.name === 'CloudTrail-Digest') continue;
      yield* logFiles(path);
    } else if (
      e.isFile() &&
      (e.name.endsWith('.json.gz') || e.name.endsWith('.json')) &&
      !e.name.endsWith('.metadata.json')
    ) {
      yield path;
    }
  }
}

async function* recordsOf(path: string): AsyncGenerator<CloudTrailRecord[]> {
  if (path.endsWith('.gz')) {
    yield* readLogRecords(createReadStream(path, { highWaterMark: 1 << 20 }), { compression: 'gzip' });
    return;
  }
  const doc: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (Array.isArray(doc)) yield doc as CloudTrailRecord[];
  else if (doc && typeof doc === 'object' && Array.isArray((doc as { Records?: unknown }).Records)) {
    yield (doc as { Records: CloudTrailRecord[] }).Records;
  }
}

/** Runs a pattern over every record under `source`. */
export async function testPattern(
  pattern: CompiledPattern,
  source: string,
  window: { start?: string; end?: string } = {},
): Promise<TestReport> {
  const report: TestReport = {
    pattern: pattern.source,
    source,
    filesScanned: 0,
    recordsScanned: 0,
    recordsOutsideWindow: 0,
    unreadableFiles: [],
    matches: [],
  };
  for await (const path of logFiles(source)) {
    report.filesScanned++;
    const file = relative(source, path) || path;
    try {
      await scanFile(path, file);
    } catch (err) {
      if (!(err instanceof LogFileError || err instanceof SyntaxError)) throw err;
      report.unreadableFiles.push({ file, error: (err as Error).message });
    }
  }
  return report;

  async function scanFile(path: string, file: string): Promise<void> {
    for await (const batch of recordsOf(path)) {
      for (const record of batch) {
        report.recordsScanned++;
        if (window.start || window.end) {
          const t = typeof record?.eventTime === 'string' ? Date.parse(record.eventTime) : Number.NaN;
          const inside =
            !Number.isNaN(t) &&
            (!window.start || t >= Date.parse(window.start)) &&
            (!window.end || t < Date.parse(window.end));
          if (!inside) {
            report.recordsOutsideWindow++;
            continue;
          }
        }
        if (pattern.test(record)) {
          report.matches.push({
            eventNumber: report.recordsScanned,
            file,
            eventMessage: JSON.stringify(record),
            extractedValues: {},
          });
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

function matchTable(report: TestReport): string {
  const rows = [['#', 'EVENT TIME', 'EVENT', 'PRINCIPAL', 'SOURCE IP', 'FILE']];
  for (const m of report.matches) {
    const r = JSON.parse(m.eventMessage) as Record<string, unknown>;
    rows.push([
      String(m.eventNumber),
      field(r, 'eventTime'),
      `${field(r, 'eventSource')} ${field(r, 'eventName')}`,
      principalOf(r),
      field(r, 'sourceIPAddress'),
      m.file,
    ]);
  }
  const summary = `${report.matches.length} of ${report.recordsScanned - report.recordsOutsideWindow} events matched in ${report.filesScanned} files`;
  const outside = report.recordsOutsideWindow
    ? ` (${report.recordsOutsideWindow} outside the time window)`
    : '';
  const skipped = report.unreadableFiles.map((f) => `\nskipped ${f.file}: ${f.error}`).join('');
  return `${report.matches.length ? `${table(rows)}\n\n` : ''}${summary}${outside}${skipped}`;
}

function listTable(rules: Rule[]): string {
  return table([
    ['ID', 'SEVERITY', 'METRIC', 'TITLE'],
    ...rules.map((r) => [r.id, r.severity, r.metricName, r.title]),
  ]);
}

/** Prints a usage problem to stderr and sets exit code 2 (1 stays "ran, found something wrong"). */
function reportError(err: unknown): void {
  if (err instanceof PatternError) {
    process.stderr.write(`error: invalid filter pattern at ${err.message}\n${err.excerpt()}\n`);
  } else if (err instanceof RuleError) {
    process.stderr.write(`error: ${err.message}\n`);
  } else if (
    typeof (err as NodeJS.ErrnoException)?.code === 'string' &&
    (err as NodeJS.ErrnoException).syscall
  ) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
  } else {
    throw err;
  }
  process.exitCode = 2;
}

export function register(program: Command): void {
  const rules = program
    .command('rules')
    .description('List the rule catalog or test a filter pattern on local log files');

  rules
    .command('list')
    .description('List the catalog and custom rules')
    .option(
      '--rules <file>',
      'custom rules JSON file (instead of the bundled shared/rules/custom-rules.json)',
    )
    .option('--json', 'print the rules as JSON')
    .action(async (opts: { rules?: string; json?: boolean }) => {
      try {
        const list = await loadRules({ rulesFile: opts.rules });
        process.stdout.write(`${opts.json ? JSON.stringify(list, null, 2) : listTable(list)}\n`);
      } catch (err) {
        reportError(err);
      }
    });

  rules
    .command('test')
    .description('Print the records under a folder that a filter pattern matches (like TestMetricFilter)')
    .option(
      '--pattern <pattern>',
      'CloudWatch Logs JSON filter pattern, e.g. \'{ $.eventName = "StopLogging" }\'',
    )
    .option('--rule <id>', 'test a rule of the catalog (or of --rules) instead of --pattern')
    .option('--rules <file>', 'custom rules JSON file, for --rule')
    .requiredOption('--source <folder>', 'folder of CloudTrail log files (*.json.gz, or *.json records)')
    .option('--start-time <time>', 'only events at or after this ISO 8601 time', isoTime)
    .option('--end-time <time>', 'only events before this ISO 8601 time', isoTime)
    .addOption(new Option('--output <format>', 'output format').choices(['table', 'json']).default('table'))
    .action(
      async (opts: {
        pattern?: string;
        rule?: string;
        rules?: string;
        source: string;
        startTime?: string;
        endTime?: string;
        output: 'table' | 'json';
      }) => {
        try {
          let text = opts.pattern;
          if (opts.rule !== undefined) {
            const list = await loadRules({ rulesFile: opts.rules });
            const rule = list.find((r) => r.id === opts.rule);
            if (!rule)
              throw new RuleError(
                `no rule "${opts.rule}"; known: ${list.map((r) => r.id).join(', ')}`,
                opts.rules ?? 'catalog',
              );
            text = rule.pattern;
          }
          if (text === undefined) {
            process.stderr.write('error: give --pattern or --rule\n');
            process.exitCode = 2;
            return;
          }
          const report = await testPattern(compilePattern(text), opts.source, {
            start: opts.startTime,
            end: opts.endTime,
          });
          process.stdout.write(
            `${opts.output === 'json' ? JSON.stringify(report, null, 2) : matchTable(report)}\n`,
          );
        } catch (err) {
          reportError(err);
        }
      },
    );
}

/**
 * Benchmark: `trailwatch lookup` over the generated sample trail next to DuckDB (read_json over the .json.gz
 * files, given the columns) and `zcat | jq`, for a full scan, a user query and needle queries (one event ID,
 * one access key); and replay of one 200 MB log file next to a naive gunzip + JSON.parse.
 *
 *   npm run bench -- lookup          (BENCH_RUNS=5 by default; BENCH_QUICK=1 for 1 run and a 50 MB file)
 *
 * Every figure is the wall time of a whole process (start-up included), the median of the runs, measured in
 * one run of this script on the same files; lookup runs the bundle the package installs (dist/). Peak memory
 * is the process's own maxRSS (worker threads included), reported by a preloaded hook as it exits. Before the
 * first run: the trail is generated (`trailwatch generate`) and replayed once (`trailwatch replay`), which
 * writes the summaries, and with them the per-file indexes, that `lookup --state` reads. It prints figures
 * and ratios and never fails on timing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { INDEX_CACHE_SCHEMA } from '#cli/lookup/index-cache.ts';
import { INDEX_FIELDS, INDEX_SCHEMA, PAIR_FIELD } from '#shared/logfile/file-index.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { largeLogFile } from '#test/bench/large-file.ts';

const root = resolve(import.meta.dirname, '../..');
const bench = join(root, '.trailwatch', 'bench');
const trail = join(bench, 'trail');
const state = join(bench, 'trail-state');
const node = process.execPath;
const quick = process.env.BENCH_QUICK === '1';
const runs = Math.max(1, Number(process.env.BENCH_RUNS) || (quick ? 1 : 5));
const cli = join(root, 'dist', 'trailwatch.js');
const rssHook = join(bench, 'report-rss.mjs');

interface Timed {
  seconds: number;
  rows: number;
  maxRssMB: number;
  error?: string;
}

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ');

/** Runs a command line once; rows are the output lines (less a header when `header`). */
function once(cmd: string, args: string[], header: boolean, env: NodeJS.ProcessEnv = {}): Timed {
  const t = performance.now();
  const r = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, ...env },
  });
  const seconds = (performance.now() - t) / 1000;
  const rss = /^maxrss (\d+)$/m.exec(r.stderr ?? '');
  if (r.status !== 0) {
    const why = (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-2).join(' ').slice(0, 200);
    return { seconds, rows: 0, maxRssMB: 0, error: why };
  }
  const lines = r.stdout.split('\n').filter((l) => l !== '').length;
  return { seconds, rows: Math.max(0, lines - (header ? 1 : 0)), maxRssMB: rss ? Number(rss[1]) / 1024 : 0 };
}

/**
 * The median of `runs` runs of each method after a warm-up of each (it fills the page cache for every method
 * alike). The methods take turns, one run of each per round, so that a change in the machine's load falls on
 * all of them alike rather than on whichever ran last.
 */
function timedTogether(methods: (() => Timed)[]): Timed[] {
  for (const m of methods) m();
  const all: Timed[][] = methods.map(() => []);
  for (let r = 0; r < runs; r++) for (const [i, m] of methods.entries()) all[i].push(m());
  return all.map((list) => {
    const failed = list.find((t) => t.error);
    if (failed) return failed;
    const mid = [...list].sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)];
    return { ...mid, maxRssMB: Math.max(...list.map((t) => t.maxRssMB)) };
  });
}

function logFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/_CloudTrail_[^/]*\.json\.gz$/.test(e.name)) out.push(p);
    }
  };
  walk(join(trail, 'AWSLogs'));
  return out.sort();
}

function ensureTrail(): void {
  if (!existsSync(join(trail, 'trailwatch-manifest.json'))) {
    process.stderr.write('generating the sample trail (cached in .trailwatch/bench/trail) ...\n');
    execFileSync(node, [join(root, 'cli/trailwatch.ts'), 'generate', '--out', trail, '--force'], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  // The summaries must hold the index this code reads: replay again when its schema or fields changed.
  const stamp = join(state, 'bench-index-schema');
  const wanted = `${INDEX_SCHEMA} ${[...INDEX_FIELDS, PAIR_FIELD].join(',')} ${INDEX_CACHE_SCHEMA} layout`;
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted) {
    process.stderr.write('replaying the trail once to write summaries and indexes ...\n');
    rmSync(state, { recursive: true, force: true });
    execFileSync(node, [cli, 'replay', '--source', trail, '--out', state], {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    writeFileSync(stamp, wanted);
  }
}

interface Queries {
  user: { username: string; eventName: string };
  eventId: string;
  accessKeyId: string;
}

/** Queries taken from the trail itself, so that they fit whatever the generator writes. */
function pickQueries(files: string[]): Queries {
  const pairs = new Map<string, number>();
  const keys = new Map<string, number>();
  let middle: CloudTrailRecord | undefined;
  files.forEach((f, i) => {
    const { Records } = JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as {
      Records: CloudTrailRecord[];
    };
    if (i === Math.floor(files.length / 2)) middle = Records[Math.floor(Records.length / 2)];
    for (const r of Records) {
      const u = r.userIdentity;
      if (u?.accessKeyId) keys.set(u.accessKeyId, (keys.get(u.accessKeyId) ?? 0) + 1);
      if (u?.type !== 'IAMUser' || !u.userName) continue;
      const pair = `${u.userName}\u0000${r.eventName}`;
      pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
    }
  });
  const [pair] = [...pairs].sort((a, b) => b[1] - a[1])[0];
  const [username, eventName] = pair.split('\u0000');
  const [accessKeyId] = [...keys].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))[0];
  return { user: { username, eventName }, eventId: middle?.eventID ?? '', accessKeyId };
}

const COLUMNS = `r.eventTime, r.recipientAccountId, r.awsRegion, r.eventSource, r.eventName, r.userIdentity.userName,
  r.userIdentity.arn, r.userIdentity.accessKeyId, r.sourceIPAddress, r.userAgent, r.readOnly, r.errorCode, r.eventID`;
const RECORD_TYPE = `STRUCT(eventTime VARCHAR, recipientAccountId VARCHAR, awsRegion VARCHAR, eventSource VARCHAR,
  eventName VARCHAR, eventID VARCHAR, sourceIPAddress VARCHAR, userAgent VARCHAR, readOnly BOOLEAN, errorCode VARCHAR,
  userIdentity STRUCT(type VARCHAR, userName VARCHAR, arn VARCHAR, principalId VARCHAR, accessKeyId VARCHAR,
    invokedBy VARCHAR, sessionContext STRUCT(sessionIssuer STRUCT(userName VARCHAR))))[]`;

function duckSql(where: string): string {
  const glob = join(trail, 'AWSLogs/*/CloudTrail/*/*/*/*/*.json.gz');
  return `SELECT ${COLUMNS} FROM (SELECT unnest(Records) AS r FROM read_json('${glob}',
    columns={Records: '${RECORD_TYPE.replace(/\s+/g, ' ')}'}, format='auto', compression='gzip'))
    ${where ? `WHERE ${where}` : ''} ORDER BY r.eventTime, r.eventID`;
}

const sq = (s: string) => `'${s.replace(/'/g, "''")}'`;
const jqs = (s: string) => JSON.stringify(s);

async function benchLookup(): Promise<void> {
  ensureTrail();
  const files = logFiles();
  const q = pickQueries(files);
  const duckScript = join(root, 'test/bench/duckdb-query.ts');
  const listFile = join(bench, 'trail-files.txt');
  writeFileSync(listFile, `${files.join('\0')}\0`);
  const jq = (select: string) => [
    '-c',
    `xargs -0 zcat < ${listFile} | jq -r '.Records[] | ${select}[.eventTime, .eventName, .userIdentity.userName, .eventID] | @csv'`,
  ];

  const queries = [
    { name: 'full scan (every event, csv)', lookup: [] as string[], duck: '', jq: '' },
    {
      name: `user query (--username ${q.user.username} --event-name ${q.user.eventName})`,
      lookup: ['--username', q.user.username, '--event-name', q.user.eventName],
      duck: `r.userIdentity.userName = ${sq(q.user.username)} AND r.eventName = ${sq(q.user.eventName)}`,
      jq: `select(.userIdentity.userName == ${jqs(q.user.username)} and .eventName == ${jqs(q.user.eventName)}) | `,
    },
    {
      name: 'needle: --event-id',
      lookup: ['--event-id', q.eventId],
      duck: `r.eventID = ${sq(q.eventId)}`,
      jq: `select(.eventID == ${jqs(q.eventId)}) | `,
    },
    {
      name: 'needle: --access-key-id',
      lookup: ['--access-key-id', q.accessKeyId],
      duck: `r.userIdentity.accessKeyId = ${sq(q.accessKeyId)}`,
      jq: `select(.userIdentity.accessKeyId == ${jqs(q.accessKeyId)}) | `,
    },
  ];

  console.log(
    `${files.length} log files, ${runs} runs each after a warm-up, the methods taking turns, median wall time of the whole process in seconds (rows found); load average before: ${load()}\n`,
  );
  const col = 17;
  console.log(
    `  ${'query'.padEnd(58)}${['lookup --state', 'lookup (no index)', 'DuckDB', 'zcat | jq'].map((h) => h.padStart(col)).join('')}   DuckDB/lookup  jq/lookup  no-index/index  full scan/this`,
  );
  let fullScan: Timed | undefined;
  for (const query of queries) {
    const base = [cli, 'lookup', '--source', trail, ...query.lookup, '--output', 'csv'];
    const [indexed, scanned, duck, jqRun] = timedTogether([
      () => once(node, [...base, '--state', state], true),
      () => once(node, base, true),
      () => once(node, [duckScript, duckSql(query.duck)], true),
      () => once('sh', jq(query.jq), false),
    ]);
    const cell = (t: Timed) => (t.error ? 'FAILED' : `${t.seconds.toFixed(2)} (${t.rows})`).padStart(col);
    const ratio = (a: Timed, b: Timed) =>
      a.error || b.error ? '-' : `${(a.seconds / b.seconds).toFixed(2)}x`;
    // How many times faster than lookup's own full scan (the needles' goal is 10x).
    fullScan ??= indexed;
    const againstScan = indexed === fullScan ? '' : ratio(fullScan, indexed);
    console.log(
      `  ${query.name.padEnd(58)}${[indexed, scanned, duck, jqRun].map(cell).join('')}   ${ratio(duck, indexed).padStart(13)}  ${ratio(jqRun, indexed).padStart(9)}  ${ratio(scanned, indexed).padStart(14)}  ${againstScan.padStart(14)}`,
    );
    for (const [what, t] of [
      ['lookup --state', indexed],
      ['lookup', scanned],
      ['DuckDB', duck],
      ['jq', jqRun],
    ] as const) {
      if (t.error) console.log(`    ${what} failed: ${t.error}`);
    }
  }
  console.log(`\n  load average after: ${load()}`);
}

async function benchReplay(): Promise<void> {
  const mb = quick ? 50 : 200;
  const { file, key } = await largeLogFile(bench, mb);
  // A folder holding that one file, laid out as the bucket.
  const folder = join(bench, `replay-${mb}mb`);
  const placed = join(folder, key);
  if (!existsSync(placed)) {
    mkdirSync(dirname(placed), { recursive: true });
    linkSync(file, placed);
  }
  const out = join(bench, `replay-${mb}mb-out`);
  const naive = join(root, 'test/bench/naive-parse.ts');
  const hook = ['--import', rssHook];
  const replayArgs = [...hook, cli, 'replay', '--source', folder, '--out', out];
  const replayOnce = (extra: string[]) => () => {
    rmSync(out, { recursive: true, force: true });
    return once(node, [...replayArgs, ...extra], false);
  };
  const [replay, twoThreads, oneThread, parse] = timedTogether([
    replayOnce([]),
    replayOnce(['--workers', '1']),
    replayOnce(['--workers', '0']),
    () => once(node, [...hook, naive, file], false),
  ]);
  console.log(
    `\n## Replay of one ${mb} MB log file (whole process, median of ${runs}, the methods taking turns; load average ${load()})\n`,
  );
  console.log('  method                                   seconds   peak RSS MB');
  for (const [name, t] of [
    ['trailwatch replay (dist/, all rules)', replay],
    ['  the same, --workers 1 (two threads)', twoThreads],
    ['  the same, --workers 0 (one thread)', oneThread],
    ['naive: gunzipSync + JSON.parse', parse],
  ] as const) {
    console.log(
      `  ${name.padEnd(40)}${(t.error ? 'FAILED' : t.seconds.toFixed(2)).padStart(8)}${t.maxRssMB.toFixed(0).padStart(14)}${t.error ? `   ${t.error}` : ''}`,
    );
  }
  for (const [name, t] of [
    ['replay', replay],
    ['replay --workers 1', twoThreads],
    ['replay --workers 0', oneThread],
  ] as const) {
    if (t.error || parse.error) continue;
    console.log(
      `  ratio: ${name} runs at ${(parse.seconds / t.seconds).toFixed(2)}x the naive speed, with ${(t.maxRssMB / parse.maxRssMB).toFixed(2)}x its peak memory`,
    );
  }
}

mkdirSync(bench, { recursive: true });
writeFileSync(
  rssHook,
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the hook's own template, written as text
  "process.on('exit', () => process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\\n`));\n",
);
// The figures must be of the bundle the current sources make.
execFileSync(node, [join(root, 'cli/build.ts')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
console.log(`machine: ${machine()}\n`);
if (process.argv[2] !== 'replay') await benchLookup();
if (process.argv[2] !== 'lookup-only') await benchReplay();

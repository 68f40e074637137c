/**
 * `npm run bench`: every benchmark, each next to the obvious alternative in the same run, printing figures
 * and ratios. Never fails on timing. `npm run bench -- ingest` runs one part; BENCH_QUICK=1 uses small files.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultRules } from '#shared/rules/load.ts';
import { largeLogFile } from '#test/bench/large-file.ts';

const root = resolve(import.meta.dirname, '../..');
const cacheDir = join(root, '.trailwatch', 'bench');
const node = process.execPath;
const only = process.argv[2];
const quick = process.env.BENCH_QUICK === '1';

function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.versions.node}`;
}

interface Result {
  method: string;
  seconds: number;
  cpuSeconds: number;
  maxRssMB: number;
  records: number;
  uncompressedBytes: number;
  /** Loading and compiling the rules, once per process (left out of `seconds`). */
  rulesLoadMs?: number;
  /** rule-passes: least CPU seconds of warm passes of the CIS catalog, and of every rule. */
  cisSeconds?: number;
  allSeconds?: number;
  error?: string;
}

function runWorker(method: string, file: string, key: string): Result {
  const r = spawnSync(
    node,
    ['--max-old-space-size=8192', join(root, 'test/bench/ingest-worker.ts'), method, file, key],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Result;
  } catch {
    const why = (r.stderr || r.stdout || `exit ${r.status}`)
      .trim()
      .split('\n')
      .slice(-2)
      .join(' ')
      .slice(0, 200);
    return { method, seconds: 0, cpuSeconds: 0, maxRssMB: 0, records: 0, uncompressedBytes: 0, error: why };
  }
}

function ensureFile(mb: number): Promise<{ file: string; key: string }> {
  return largeLogFile(cacheDir, mb);
}

const mbps = (r: Result) => (r.seconds > 0 ? r.uncompressedBytes / 1e6 / r.seconds : 0);
const fmt = (v: number, d = 1) => v.toFixed(d);

async function benchIngest(): Promise<void> {
  const sizes = quick ? [20, 50] : [200, 1000];
  console.log(`\n## Ingest throughput and peak memory (${machine()})\n`);
  for (const mb of sizes) {
    const { file, key } = await ensureFile(mb);
    const methods = [
      'gunzip',
      'trailwatch',
      'trailwatch-cis',
      'trailwatch-rules',
      'json-parse',
      'json-parse-only',
    ];
    const results = methods.map((m) => runWorker(m, file, key));
    const byMethod = Object.fromEntries(results.map((r) => [r.method, r]));
    console.log(
      `${mb} MB uncompressed (${fmt(statSync(file).size / 1e6)} MB gzip), ${results.find((r) => r.records)?.records ?? '?'} records`,
    );
    console.log('  method              MB/s    seconds   cpu s   peak RSS MB   note');
    for (const r of results) {
      const note = r.error
        ? `FAILED: ${r.error}`
        : r.method === 'json-parse-only'
          ? 'JSON.parse call alone, on the decompressed string'
          : r.method === 'trailwatch-cis'
            ? `CIS / Security Hub catalog only (loaded in ${fmt(r.rulesLoadMs ?? 0, 0)} ms)`
            : r.method === 'trailwatch-rules'
              ? `every rule: CIS, pack, custom, Sigma and count rules (loaded in ${fmt(r.rulesLoadMs ?? 0, 0)} ms)`
              : '';
      console.log(
        `  ${r.method.padEnd(18)}${fmt(mbps(r)).padStart(6)}${fmt(r.seconds, 2).padStart(11)}${fmt(r.cpuSeconds, 2).padStart(8)}${fmt(r.maxRssMB, 0).padStart(14)}   ${note}`,
      );
    }
    const tw = byMethod.trailwatch;
    const jp = byMethod['json-parse'];
    const jpo = byMethod['json-parse-only'];
    const rules = byMethod['trailwatch-rules'];
    const cis = byMethod['trailwatch-cis'];
    if (tw && !tw.error) {
      if (jp && !jp.error) {
        console.log(
          `  ratio trailwatch / json-parse: throughput ${fmt(mbps(tw) / mbps(jp), 2)}x, peak memory ${fmt(tw.maxRssMB / jp.maxRssMB, 2)}x`,
        );
      }
      if (jpo && !jpo.error)
        console.log(`  ratio trailwatch / JSON.parse alone: throughput ${fmt(mbps(tw) / mbps(jpo), 2)}x`);
      if (rules && !rules.error)
        console.log(
          `  rules cost: ingest with all rules runs at ${fmt(mbps(rules) / mbps(tw), 2)}x the rate without`,
        );
      const passes = runWorker('rule-passes', file, key);
      if (!passes.error && passes.cisSeconds !== undefined && passes.allSeconds !== undefined) {
        const mb = passes.uncompressedBytes / 1e6;
        const withCis = mb / (tw.cpuSeconds + passes.cisSeconds);
        const withAll = mb / (tw.cpuSeconds + passes.allSeconds);
        console.log(
          `  rule evaluation alone, warm (least CPU of 5 passes): CIS ${fmt(passes.cisSeconds * 1000, 0)} ms, all ${defaultRules().length} rules ${fmt(passes.allSeconds * 1000, 0)} ms;` +
            ` ingest CPU-bound at CIS only ${fmt(withCis)} MB/s, every rule ${fmt(withAll)} MB/s: ${fmt(100 * (1 - withAll / withCis))}% of throughput`,
        );
      }
      if (rules && !rules.error && cis && !cis.error)
        console.log(
          `  CIS only ${fmt(mbps(cis))} MB/s, all ${defaultRules().length} rules (catalog, pack, Sigma) ${fmt(mbps(rules))} MB/s: the rules beyond CIS cost ${fmt(100 * (1 - mbps(rules) / mbps(cis)))}% of throughput; by CPU time (steadier on a shared machine) ${fmt(cis.cpuSeconds, 2)} s vs ${fmt(rules.cpuSeconds, 2)} s, ${fmt(100 * (1 - cis.cpuSeconds / rules.cpuSeconds))}%`,
        );
    }
    console.log('');
  }
}

async function benchScript(name: string, script: string): Promise<void> {
  const path = join(root, 'test/bench', script);
  if (!existsSync(path)) {
    console.log(`\n## ${name}: no benchmark script (${script})`);
    return;
  }
  console.log(`\n## ${name}\n`);
  try {
    execFileSync(node, [path], { cwd: root, stdio: 'inherit', env: { ...process.env } });
  } catch (err) {
    console.log(`${name} benchmark failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

console.log(`trailwatch benchmarks on ${machine()}`);
if (!only || only === 'ingest') await benchIngest();
if (!only || only === 'validate') await benchScript('Digest validation', 'validate.ts');
if (!only || only === 'insights') await benchScript('Insights cost', 'insights.ts');
if (!only || only === 'cli') await benchScript('CLI start-up', 'cli.ts');
if (!only || only === 'lookup')
  await benchScript('Lookup and replay against DuckDB, jq and JSON.parse', 'lookup.ts');
if (!only || only === 'org') await benchScript('Organization scale', 'org.ts');

/**
 * Benchmark: start-up of the `trailwatch` command, the bundle the package installs (dist/trailwatch.js, built
 * here first) next to the TypeScript entry `npm run trailwatch` runs (cli/trailwatch.ts, types stripped by
 * Node).
 *
 *   npx node test/bench/cli.ts [--runs 11]
 *
 * Wall time of whole child processes, median and fastest of the runs after one warm-up each. It prints
 * figures and never fails on timing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '../..');
const node = process.execPath;
const { values } = parseArgs({ options: { runs: { type: 'string', default: '11' } } });
const runs = Math.max(1, Number(values.runs) || 11);

const entries = [
  { name: 'built JS (dist/trailwatch.js)', file: join(root, 'dist/trailwatch.js') },
  { name: 'TypeScript (cli/trailwatch.ts)', file: join(root, 'cli/trailwatch.ts') },
];
const commandLines = [['--help'], ['lookup', '--help'], ['--version']];

function once(file: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(node, [file, ...args], { cwd: root, encoding: 'utf8' });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return ms;
}

function timed(file: string, args: string[]): { median: number; fastest: number } {
  once(file, args);
  const times = Array.from({ length: runs }, () => once(file, args)).sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], fastest: times[0] };
}

// The figures must be of the bundle the current sources make.
execFileSync(node, [join(root, 'cli/build.ts')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });

console.log(`wall time of one process, median (fastest) of ${runs} runs after a warm-up, ms\n`);
const col = 34;
console.log(`  ${'command'.padEnd(26)}${entries.map((e) => e.name.padStart(col)).join('')}   ratio TS / JS`);
for (const args of commandLines) {
  const [js, ts] = entries.map((e) => timed(e.file, args));
  const cell = (t: { median: number; fastest: number }) =>
    `${t.median.toFixed(0)} (${t.fastest.toFixed(0)})`.padStart(col);
  console.log(
    `  ${`trailwatch ${args.join(' ')}`.padEnd(26)}${cell(js)}${cell(ts)}   ${(ts.median / js.median).toFixed(1)}x`,
  );
}

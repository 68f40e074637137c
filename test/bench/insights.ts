/**
 * CPU cost of Insights-style detection per 100,000 events, and what it would cost on Lambda, next to
 * CloudTrail Insights' price. `npx node test/bench/insights.ts` (BENCH_QUICK=1 for a short run).
 *
 * Measured with process.cpuUsage (user + system), never wall time, on generated trails replayed file by
 * file the way the pipeline sees them: parse (for context), summary building (ingest's share), then
 * apply + detect with the state object read from and written to an in-memory store (one conditional
 * write per file, as in production).
 */
import { cpus } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { generateTrail, type TrailScenario } from '#cli/generator/index.ts';
import { detect } from '#shared/insights/index.ts';
import { readAll } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { type LogFileSummary, SummaryBuilder } from '#shared/summary.ts';

const quick = process.env.BENCH_QUICK === '1';

/** Lambda prices (us-east-1) per GB-second, and the memory assumed. */
const ARM_PER_GB_S = 0.0000133334;
const X86_PER_GB_S = 0.0000166667;
/** 1769 MB is one full vCPU: CPU-bound work then takes as long as its CPU time, so duration = CPU time. */
const MEMORY_MB = 1769;
const INSIGHTS_PER_100K = 0.35;
/** S3 request prices: the state object is read (HEAD, and GET when another container changed it) and written per file. */
const S3_PUT = 0.005 / 1000;
const S3_GET = 0.0004 / 1000;

interface Run {
  name: string;
  scenario: TrailScenario;
}

function scenario(over: Partial<TrailScenario>): TrailScenario {
  return {
    seed: 11,
    start: '2026-03-02T00:00:00Z',
    hours: 24,
    accounts: ['111122223333'],
    regions: ['us-east-1'],
    bucket: 'trailwatch-bench',
    trailName: 'management-events',
    homeRegion: 'us-east-1',
    eventsPerMinute: 20,
    digests: false,
    recurringDeployBurst: true,
    bursts: [],
    securityEvents: false,
    ...over,
  };
}

const runs: Run[] = quick
  ? [
      { name: 'quiet account (20 events/min at peak)', scenario: scenario({ hours: 48 }) },
      {
        name: 'busy account (400 events/min at peak)',
        scenario: scenario({ hours: 6, eventsPerMinute: 400 }),
      },
    ]
  : [
      { name: 'quiet account (20 events/min at peak)', scenario: scenario({ hours: 9 * 24 }) },
      {
        name: 'busy account (400 events/min at peak)',
        scenario: scenario({ hours: 36, eventsPerMinute: 400 }),
      },
    ];

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1e6;
}

const usd = (x: number) => (x < 0.01 ? `$${x.toPrecision(2)}` : `$${x.toFixed(4)}`);

console.log(`# Insights-style detection: CPU and cost per 100,000 events`);
console.log(`${cpus().length} x ${cpus()[0]?.model ?? 'CPU'}, Node ${process.versions.node}\n`);

for (const run of runs) {
  const trail = new MemoryObjectStore('trail');
  process.stderr.write(`generating ${run.name}, ${run.scenario.hours} h ...\n`);
  const generated = await generateTrail(run.scenario, trail);
  const files: { deliveredAt: string; key: string; records: CloudTrailRecord[] }[] = [];
  let parse = 0;
  for (const d of generated.deliveries) {
    if (d.kind !== 'log') continue;
    const gz = await readAll(trail, d.key);
    const t = process.cpuUsage();
    const records = (JSON.parse(gunzipSync(gz).toString('utf8')) as { Records: CloudTrailRecord[] }).Records;
    parse += cpuSeconds(t);
    files.push({ deliveredAt: d.deliveredAt, key: d.key, records });
  }
  const events = files.reduce((n, f) => n + f.records.length, 0);

  let summarize = 0;
  let detecting = 0;
  let insights = 0;
  const state = new MemoryObjectStore('state');
  for (const f of files) {
    const t0 = process.cpuUsage();
    const b = new SummaryBuilder(new Date(f.deliveredAt));
    for (const r of f.records) b.add(r);
    const summary: LogFileSummary = b.build({
      source: { bucket: run.scenario.bucket, key: f.key, size: 0 },
      account: run.scenario.accounts[0],
      region: run.scenario.regions[0],
      bytes: 0,
      badRecords: { invalid: 0, oversized: 0 },
    });
    summarize += cpuSeconds(t0);
    const t1 = process.cpuUsage();
    const r = await detect(state, {
      account: summary.account,
      region: summary.region,
      now: new Date(f.deliveredAt),
      summaries: [summary],
    });
    detecting += cpuSeconds(t1);
    insights += r.records.length;
  }
  const stateBytes = (await state.head('insights/state/111122223333/us-east-1.json'))?.size ?? 0;
  const per100k = (x: number) => (x / events) * 100_000;
  const cpu = per100k(summarize + detecting);
  const gbs = cpu * (MEMORY_MB / 1024);
  const filesPer100k = per100k(files.length);
  const s3 = filesPer100k * (S3_PUT + S3_GET);
  console.log(`## ${run.name}`);
  console.log(
    `${events} events in ${files.length} files (${(events / files.length).toFixed(0)} events per file), ${insights} Insights records, state object ${(stateBytes / 1024).toFixed(0)} KiB`,
  );
  console.log('per 100,000 events        CPU seconds');
  console.log(
    `  gunzip + JSON.parse     ${per100k(parse).toFixed(3).padStart(8)}   (ingest does this anyway; not counted below)`,
  );
  console.log(`  summary building        ${per100k(summarize).toFixed(3).padStart(8)}`);
  console.log(
    `  apply + detect + state  ${per100k(detecting).toFixed(3).padStart(8)}   (${((detecting / files.length) * 1000).toFixed(2)} ms per file)`,
  );
  console.log(`  total                   ${cpu.toFixed(3).padStart(8)}`);
  console.log(
    `Lambda at ${MEMORY_MB} MB (1 vCPU, so duration = CPU time): ${gbs.toFixed(3)} GB-s per 100,000 events`,
  );
  console.log(
    `  arm64  ${usd(gbs * ARM_PER_GB_S).padStart(11)}   x86_64  ${usd(gbs * X86_PER_GB_S).padStart(11)}`,
  );
  console.log(`  + S3 requests for the state object (1 PUT + 1 HEAD/GET per file): ${usd(s3)}`);
  console.log(
    `  CloudTrail Insights: ${usd(INSIGHTS_PER_100K)} per 100,000 events analyzed per type (write events are analyzed by both types: ${usd(2 * INSIGHTS_PER_100K)})`,
  );
  console.log(
    `  ratio (arm64 compute + S3 vs Insights, one type): 1 : ${(INSIGHTS_PER_100K / (gbs * ARM_PER_GB_S + s3)).toFixed(0)}\n`,
  );
}

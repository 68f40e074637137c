/**
 * The naive way to read a log file, the baseline of the replay benchmark (test/bench/lookup.ts): gunzip it
 * whole, decode it, JSON.parse it, and touch every record. Usage: node test/bench/naive-parse.ts FILE.json.gz
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const doc = JSON.parse(gunzipSync(readFileSync(process.argv[2] ?? '')).toString('utf8')) as {
  Records: { eventName?: string }[];
};
const names = new Set<string>();
for (const r of doc.Records) if (r.eventName) names.add(r.eventName);
process.stdout.write(`${doc.Records.length} records, ${names.size} event names\n`);

/**
 * One benchmark method on one file, in its own process so that its peak RSS is its own.
 * Prints one JSON line: {method, seconds, cpuSeconds, maxRssMB, records, uncompressedBytes, error?}.
 * Methods: trailwatch (the real ingest's read step: streaming reader + summary + SHA-256), trailwatch-cis (the same plus
 * the CIS catalog's rules), trailwatch-rules (the same plus every default rule: catalog and pack), json-parse (gunzip the whole file, JSON.parse it, then the same summary), gunzip (streaming
 * gunzip alone, the floor).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createGunzip, gunzipSync } from 'node:zlib';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { classifyKey, type TrailKey } from '#shared/keys.ts';
import { readAndEvaluate } from '#shared/pipeline/ingest-log-files.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { SummaryBuilder } from '#shared/summary.ts';

const [method, file, key] = process.argv.slice(2);
const started = performance.now();
const cpu0 = process.cpuUsage();
let records = 0;
let uncompressedBytes = 0;
let error: string | undefined;
let oversized: number | undefined;

try {
  if (
    method === 'trailwatch' ||
    method === 'trailwatch-cis' ||
    method === 'trailwatch-rules' ||
    method === 'trailwatch-outcome'
  ) {
    const trailKey = classifyKey(key) as TrailKey;
    const load = await import('#shared/rules/load.ts');
    const rules =
      method === 'trailwatch-rules'
        ? load.defaultRules()
        : method === 'trailwatch-cis'
          ? load.catalogRules()
          : [];
    const source = {
      ...new FsObjectStore(dirname(file)),
      get: async () => ({ key, size: 1, body: createReadStream(file, { highWaterMark: 1 << 20 }) }),
      head: async () => undefined,
    } as unknown as FsObjectStore;
    const outcome = await readAndEvaluate(source, { bucket: 'bench', key: trailKey }, rules);
    if (outcome.status === 'unreadable') throw new Error(`ingest rejected: ${outcome.error.message}`);
    if (outcome.status !== 'read') throw new Error(`ingest ${outcome.status}`);
    records = outcome.summary.records;
    oversized = outcome.summary.badRecords.oversized;
    uncompressedBytes = outcome.summary.bytes;
  } else if (method === 'json-parse') {
    const text = gunzipSync(readFileSync(file)).toString('utf8');
    uncompressedBytes = Buffer.byteLength(text);
    const doc = JSON.parse(text) as { Records: CloudTrailRecord[] };
    const builder = new SummaryBuilder(new Date());
    for (const r of doc.Records) builder.add(r);
    records = doc.Records.length;
  } else if (method === 'json-parse-only') {
    const text = gunzipSync(readFileSync(file)).toString('utf8');
    uncompressedBytes = Buffer.byteLength(text);
    const t = performance.now();
    const doc = JSON.parse(text) as { Records: unknown[] };
    records = doc.Records.length;
    // Only the parse itself is timed for this method.
    const parseSeconds = (performance.now() - t) / 1000;
    process.stdout.write(
      `${JSON.stringify({ method, seconds: parseSeconds, cpuSeconds: parseSeconds, maxRssMB: process.resourceUsage().maxRSS / 1024, records, uncompressedBytes, file: basename(file) })}\n`,
    );
    process.exit(0);
  } else if (method === 'gunzip') {
    for await (const c of createReadStream(file, { highWaterMark: 1 << 20 }).pipe(
      createGunzip({ chunkSize: 1 << 20 }),
    )) {
      uncompressedBytes += (c as Buffer).length;
    }
  } else {
    throw new Error(`unknown method ${method}`);
  }
} catch (err) {
  error = (err as Error).message.slice(0, 200);
}
const seconds = (performance.now() - started) / 1000;
const c = process.cpuUsage(cpu0);
process.stdout.write(
  `${JSON.stringify({
    method,
    seconds,
    cpuSeconds: (c.user + c.system) / 1e6,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    records,
    uncompressedBytes,
    file: basename(file),
    ...(oversized !== undefined ? { oversized } : {}),
    ...(error ? { error } : {}),
  })}\n`,
);

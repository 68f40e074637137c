/**
 * One very large log file, for testing readers against files far bigger than memory: records are made,
 * serialised and compressed a chunk at a time, and the pipeline's backpressure keeps only a few chunks
 * alive at once.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { Rng } from './random.ts';
import { RecordFactory, serializeRecord } from './record-builder.ts';
import { demoScenario, GeneratorError, parseIso } from './scenario.ts';
import { NormalTraffic } from './traffic.ts';

const CHUNK_BYTES = 1 << 18;
const HEAD = '{"Records":[';
const TAIL = ']}';

export interface LargeFileOptions {
  targetBytes: number;
  seed: number;
  account?: string;
  region?: string;
  /** Delivery time; events fall in the 15 minutes before it. */
  time?: string;
  gzipLevel?: number;
}

/** Streams one log file of about targetBytes uncompressed to a local .json.gz path without holding it in memory. */
export async function writeLargeLogFile(
  path: string,
  opts: LargeFileOptions,
): Promise<{ records: number; uncompressedBytes: number; compressedBytes: number }> {
  if (!(opts.targetBytes > HEAD.length + TAIL.length)) {
    throw new GeneratorError(
      `expected targetBytes above ${HEAD.length + TAIL.length}, found ${opts.targetBytes}`,
    );
  }
  const account = opts.account ?? demoScenario.accounts[0];
  const region = opts.region ?? demoScenario.regions[0];
  const deliveredMs = parseIso(opts.time ?? '2026-03-05T14:05:00Z', 'time');
  const rng = new Rng(opts.seed, 'large-file', account, region);
  const traffic = new NormalTraffic(
    { ...demoScenario, seed: opts.seed, accounts: [account], regions: [region], bursts: [] },
    new RecordFactory(account, region, demoScenario.trailName),
  );
  const windowStart = Math.floor((deliveredMs - 15 * 60_000) / 1000) * 1000;
  const windowSeconds = 10 * 60;
  const target = opts.targetBytes;
  let records = 0;
  let bytes = 0;

  function* chunks(): Generator<string> {
    let chunk = HEAD;
    bytes = HEAD.length;
    for (;;) {
      const r = traffic.sample(rng, windowStart + rng.int(windowSeconds) * 1000);
      const text = (records === 0 ? '' : ',') + serializeRecord(r);
      // Stop before the record that would carry the file past its target (but write at least one).
      if (records > 0 && bytes + Buffer.byteLength(text) + TAIL.length > target) break;
      chunk += text;
      bytes += Buffer.byteLength(text);
      records++;
      if (chunk.length >= CHUNK_BYTES) {
        yield chunk;
        chunk = '';
      }
    }
    bytes += TAIL.length;
    yield chunk + TAIL;
  }

  await mkdir(dirname(path), { recursive: true });
  await pipeline(
    Readable.from(chunks(), { objectMode: false, highWaterMark: 1 }),
    createGzip({ level: opts.gzipLevel ?? 6 }),
    createWriteStream(path),
  );
  const compressedBytes = (await stat(path)).size;
  return { records, uncompressedBytes: bytes, compressedBytes };
}

/** The large generated log file the ingest and replay benchmarks read, made once and cached. */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeLargeLogFile } from '#cli/generator/index.ts';
import { logFileKey } from '#shared/keys.ts';

export async function largeLogFile(dir: string, mb: number): Promise<{ file: string; key: string }> {
  mkdirSync(dir, { recursive: true });
  const time = new Date('2026-03-05T14:05:00Z');
  const key = logFileKey({
    account: '111122223333',
    region: 'us-east-1',
    time,
    unique: `Bench${String(mb).padStart(11, '0')}`,
  });
  const file = join(dir, `ingest-${mb}mb.json.gz`);
  if (!existsSync(file)) {
    process.stderr.write(`generating a ${mb} MB log file (cached in .trailwatch/bench/) ...\n`);
    await writeLargeLogFile(file, {
      targetBytes: mb * 1_000_000,
      seed: 7,
      time: time.toISOString(),
      gzipLevel: 1,
    });
  }
  return { file, key };
}

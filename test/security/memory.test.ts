/**
 * Attack: gzip bombs where verify reads. A 1.5 MB object named like a digest (the gap search reads candidate
 * digests) used to inflate to gigabytes in memory; a listed log file inflating to 3 GiB used to be hashed
 * without a cap. Verify, in a child process of its own, must stay under 300 MB peak RSS (the function has
 * 512 MB). A memory bound, measured with process.resourceUsage().maxRSS; no timing is asserted.
 */
import { execFile } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { type GeneratedTrail, generateTrail } from '#cli/generator/index.ts';
import { classifyKey } from '#shared/keys.ts';
import { integrityScenario } from '#test/e2e/tamper.ts';
import { repoRoot } from '#test/support/logfiles.ts';

const dir = mkdtempSync(join(tmpdir(), 'trailwatch-bomb-'));
const trailDir = join(dir, 'trail');
let trail: GeneratedTrail;
let digestKey: string;
let bombLog: string;

/** A gzip file of `bytes` zero bytes, written streaming (the bomb is never in memory here either). */
async function zeros(path: string, bytes: number): Promise<void> {
  const block = Buffer.alloc(1 << 20);
  async function* source() {
    for (let left = bytes; left > 0; left -= block.length)
      yield left >= block.length ? block : block.subarray(0, left);
  }
  await pipeline(Readable.from(source()), createGzip({ level: 9 }), createWriteStream(path));
}

beforeAll(async () => {
  trail = await generateTrail(integrityScenario({ hours: 4 }), new FsObjectStore(trailDir));
  const digests = trail.deliveries.filter((d) => d.kind === 'digest');
  const newest = digests.at(-1)!;
  digestKey = newest.key;
  const store = new FsObjectStore(trailDir);
  // its predecessor deleted: verify searches back for the newest digest still in place...
  await store.delete(digests.at(-2)!.key);
  // ...and meets a 1.5 GB bomb named like the digest before it
  await zeros(join(trailDir, ...digests.at(-3)!.key.split('/')), 1536 * 1024 * 1024);
  // and the newest digest lists a log file that inflates to 3 GiB
  const listed = trail.deliveries.filter(
    (d) => d.kind === 'log' && classifyKey(d.key).kind === 'log' && d.deliveredAt <= newest.deliveredAt,
  );
  bombLog = listed.at(-1)!.key;
  await zeros(join(trailDir, ...bombLog.split('/')), 3 * 1024 * 1024 * 1024);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('attack: gzip bombs beside a digest', () => {
  it('verify of the digest stays under 300 MB peak RSS and reports the bomb and the gap', async () => {
    // Act
    const { stdout } = await promisify(execFile)(
      join(repoRoot, 'node_modules/.bin/node'),
      [
        join(repoRoot, 'test/security/memory-child.ts'),
        trailDir,
        join(dir, 'state'),
        trail.scenario.bucket,
        digestKey,
      ],
      { cwd: repoRoot, timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
    );
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!);
    // Assess
    process.stdout.write(`verify peak RSS: ${(out.maxRssBytes / 1024 / 1024).toFixed(0)} MB\n`);
    expect(out.maxRssBytes).toBeLessThan(300 * 1024 * 1024);
    const [outcome] = out.outcomes;
    expect(outcome.status).toBe('verified');
    const bomb = outcome.report.logs.find((l: { key: string }) => l.key === bombLog);
    expect(bomb).toMatchObject({ status: 'invalid', code: 'invalid-format' });
    expect(bomb.detail).toMatch(/more than \d+ bytes uncompressed/);
    expect(outcome.report.previous).toMatchObject({ status: 'invalid', code: 'not-found' });
    expect(outcome.report.gaps.length).toBeGreaterThanOrEqual(1);
    expect(out.alerts).toBe(1);
  }, 300_000);
});

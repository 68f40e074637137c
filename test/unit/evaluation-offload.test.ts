import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLargeLogFile } from '#cli/generator/index.ts';
import { EvaluationPool } from '#cli/replay/evaluation-pool.ts';
import { classifyKey, logFileKey, type TrailKey } from '#shared/keys.ts';
import { type ReadResult, readAndEvaluate } from '#shared/pipeline/ingest-log-files.ts';
import type { EvaluationOffload } from '#shared/pipeline/log-file-evaluation.ts';
import type { ObjectStore, StoredObject } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { ExceptionSet } from '#shared/rules/exceptions.ts';
import { defaultRules } from '#shared/rules/load.ts';
import { stratusDir, stratusRecords } from '#test/support/logfiles.ts';

/**
 * Replay evaluates a large file's records in a worker thread while the main thread reads them
 * (cli/replay/evaluation-pool.ts). These tests read the same files both ways and require the same result:
 * summary (with the lookup index), rule matches and their samples, count-rule groups, suppressions, hash,
 * and the same verdict for files that cannot be used.
 */

const rules = defaultRules();
/** Every file goes to the thread, whatever its size, in many small batches. */
const pool = new EvaluationPool(rules, { minBytes: 0, batchBytes: 64 * 1024 });
afterAll(() => pool.close());

const key = classifyKey(
  logFileKey({
    account: '111122223333',
    region: 'us-east-1',
    time: new Date('2024-08-01T00:00:00Z'),
    unique: 'Offload000000001',
  }),
) as TrailKey;

/** A store holding one object, handed out in chunks of `chunk` bytes (records then span chunks). */
function storeOf(body: Uint8Array, chunk = 1 << 20): ObjectStore {
  return {
    location: 'memory',
    async get(): Promise<StoredObject> {
      return {
        key: key.key,
        size: body.byteLength,
        etag: 'e1',
        lastModified: new Date(0),
        body: (async function* () {
          for (let at = 0; at < body.byteLength; at += chunk) yield body.subarray(at, at + chunk);
        })(),
      } as StoredObject;
    },
  } as unknown as ObjectStore;
}

async function bothWays(body: Uint8Array, options: { chunk?: number; exceptions?: ExceptionSet } = {}) {
  const active = options.exceptions?.at(new Date('2024-08-01T00:00:00Z'));
  const limits = { maxRecordBytes: 64 * 1024 };
  const read = (offload?: EvaluationOffload) =>
    readAndEvaluate(storeOf(body, options.chunk), { bucket: 'trail', key }, rules, limits, active, offload);
  const here = await read();
  let sessions = 0;
  const counted: EvaluationOffload = {
    open(...args) {
      const session = pool.open(...args);
      if (session) sessions++;
      return session;
    },
  };
  const offloaded = await read(counted);
  expect(sessions).toBe(1);
  return { here, offloaded };
}

function expectSame(here: ReadResult, offloaded: ReadResult): void {
  expect(offloaded).toEqual(here);
  // Same text once written (key order included), and the rules are the caller's own objects.
  expect(JSON.stringify(offloaded)).toBe(JSON.stringify(here));
  if (here.status === 'read' && offloaded.status === 'read') {
    offloaded.matches.forEach((m, i) => {
      expect(m.rule).toBe(here.matches[i].rule);
    });
  }
}

const stratus: CloudTrailRecord[] = readdirSync(stratusDir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .flatMap((f) => stratusRecords(f.replace(/\.json$/, '')));

describe('records evaluated in a worker thread', () => {
  it('give the same summary, index, matches, count groups and suppressions as in one thread, on the Stratus records', async () => {
    // Prepare: every real record, and an exception that silences some of the matches
    const body = gzipSync(JSON.stringify({ Records: stratus }));
    const exceptions = new ExceptionSet([
      {
        id: 'known-admin',
        rules: '*',
        reason: 'test',
        conditions: { eventName: ['StopLogging', 'DeleteTrail'] },
        origin: 'test',
      },
    ]);

    // Act
    const { here, offloaded } = await bothWays(body, { chunk: 4096, exceptions });

    // Assess
    expect(here.status).toBe('read');
    if (here.status !== 'read') return;
    expect(here.summary.records).toBe(stratus.length);
    expect(here.matches.length).toBeGreaterThan(5);
    expect(here.suppressed?.length).toBeGreaterThan(0);
    expectSame(here, offloaded);
  });

  it('give the same result on a generated file of several chunks', async () => {
    // Prepare
    const dir = mkdtempSync(join(tmpdir(), 'tw-offload-'));
    try {
      const file = join(dir, 'big.json.gz');
      const made = await writeLargeLogFile(file, {
        targetBytes: 6_000_000,
        seed: 3,
        time: '2024-08-01T00:00:00Z',
      });

      // Act
      const { here, offloaded } = await bothWays(readFileSync(file));

      // Assess
      expect(here.status === 'read' && here.summary.records).toBe(made.records);
      expectSame(here, offloaded);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('count malformed records the same way: bad JSON in a run and across chunks, non-objects, oversized', async () => {
    // Prepare: a plain JSON file read in small chunks, so that some records span chunks
    const good = stratus.slice(0, 40).map((r) => JSON.stringify(r));
    const big = JSON.stringify({ ...stratus[0], padding: 'x'.repeat(70 * 1024) });
    const elements = [
      ...good.slice(0, 10),
      '{"eventName": "Broken", }',
      '"a string"',
      '42',
      ...good.slice(10, 20),
      big,
      `{"eventName": "AlsoBroken", "pad": "${'y'.repeat(3000)}" "x": 1}`,
      '[1, 2]',
      ...good.slice(20),
    ];
    const body = Buffer.from(`{"Records":[${elements.join(',')}]}`);

    // Act
    const { here, offloaded } = await bothWays(body, { chunk: 997 });

    // Assess
    expect(here.status).toBe('read');
    if (here.status !== 'read') return;
    expect(here.summary.records).toBe(40);
    expect(here.summary.badRecords).toMatchObject({ invalid: 5, oversized: 1 });
    expectSame(here, offloaded);
  });

  it('reject a file that is not a log document with the same error', async () => {
    // Prepare: records first, then the document breaks off
    const body = gzipSync(
      `{"Records":[${stratus.map((r) => JSON.stringify(r)).join(',')}, {"eventName": "x"`,
    );

    // Act
    const { here, offloaded } = await bothWays(body, { chunk: 2048 });

    // Assess
    expect(here.status).toBe('unreadable');
    expect(offloaded.status).toBe('unreadable');
    if (here.status === 'unreadable' && offloaded.status === 'unreadable')
      expect(offloaded.error.message).toBe(here.error.message);
  });

  it('read the file again in the reading thread when the evaluation thread dies', async () => {
    // Prepare: a thread stopped after the first batches of a file
    const body = gzipSync(JSON.stringify({ Records: stratus }));
    const dying = new EvaluationPool(rules, { minBytes: 0, batchBytes: 16 * 1024 });
    let flushes = 0;
    const offload: EvaluationOffload = {
      open(...args) {
        const session = dying.open(...args);
        if (!session) throw new Error('expected the file to go to the thread');
        return {
          runs: session.runs,
          flush: async () => {
            if (++flushes === 3) await dying.close();
            return session.flush();
          },
          finish: (facts) => session.finish(facts),
          abort: () => session.abort(),
        };
      },
    };
    const read = (o?: EvaluationOffload) =>
      readAndEvaluate(storeOf(body, 4096), { bucket: 'trail', key }, rules, {}, undefined, o);

    // Act
    const here = await read();
    const recovered = await read(offload);

    // Assess
    expect(flushes).toBeGreaterThanOrEqual(3);
    expect(recovered.status).toBe('read');
    expectSame(here, recovered);
  });

  it('leave small files to the reading thread, and large ones when no core is free', () => {
    // Prepare
    const sized = new EvaluationPool(rules);
    const busy = new EvaluationPool(rules, { when: () => false });

    // Act, Assess
    expect(sized.open(1 << 20, rules, { deliveredAt: new Date() })).toBeUndefined();
    expect(sized.open(8 << 20, [...rules], { deliveredAt: new Date() })).toBeUndefined();
    expect(busy.open(8 << 20, rules, { deliveredAt: new Date() })).toBeUndefined();
  });
});

/**
 * Hostile input: a gzip bomb and a 100 MB single-line record are rejected with a clear verdict in bounded
 * memory (measured in a separate process, whose peak RSS is printed), and fuzzing shows that no byte
 * sequence or key makes the parsers throw anything but their own errors.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync as gz, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { sampleSigningKey } from '#cli/generator/index.ts';
import { StaticPublicKeySource } from '#shared/digest/public-keys.ts';
import { verifyDigest } from '#shared/digest/verify-digest.ts';
import { classifyKey, decodeEventKey, digestFileKey, logFileKey } from '#shared/keys.ts';
import { LogFileError, RecordScanner } from '#shared/logfile/scanner.ts';
import { compilePattern, PatternError } from '#shared/rules/pattern/index.ts';
import { repoRoot } from '#test/support/logfiles.ts';

const dir = mkdtempSync(join(tmpdir(), 'trailwatch-hostile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = logFileKey({
  account: '111122223333',
  region: 'us-east-1',
  time: new Date('2026-11-20T10:05:00Z'),
  unique: 'Hostile000000001',
});

interface WorkerResult {
  maxRssMB: number;
  records: number;
  uncompressedBytes: number;
  error?: string;
}

/** Runs the real ingest on one file in its own process and returns what it reports. */
function ingestInChild(file: string): WorkerResult {
  const out = execFileSync(
    join(repoRoot, 'node_modules/.bin/node'),
    [join(repoRoot, 'test/bench/ingest-worker.ts'), 'trailwatch-outcome', file, key],
    { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as WorkerResult;
}

describe('hostile input', () => {
  it('rejects a gzip bomb (10 MB inflating to 10 GiB) at the decompressed-size cap, in bounded memory', () => {
    // Prepare: a valid start, then 160 gzip members of 64 MiB of JSON white space each
    const spaces = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: 9 });
    const parts = [gzipSync('{"Records":['), ...Array.from({ length: 160 }, () => spaces)];
    const file = join(dir, 'bomb.json.gz');
    writeFileSync(file, Buffer.concat(parts));
    // Act
    const result = ingestInChild(file);
    // Assess
    console.log(
      `gzip bomb: ${(parts.reduce((n, p) => n + p.length, 0) / 1e6).toFixed(1)} MB on disk, peak RSS ${result.maxRssMB.toFixed(0)} MB, verdict: ${result.error}`,
    );
    expect(result.error).toMatch(/rejected.*decompressed size exceeds the cap of 2147483648 bytes/);
    expect(result.maxRssMB).toBeLessThan(300);
  });

  it("skips a 100 MB single-line record with a clear count, keeps the file's other records, in bounded memory", () => {
    // Prepare
    const line = `{"Records":[{"eventName":"A","eventTime":"2026-11-20T10:01:00Z","eventSource":"s3.amazonaws.com"},{"blob":"${'x'.repeat(100 * 1024 * 1024)}"},{"eventName":"B","eventTime":"2026-11-20T10:02:00Z","eventSource":"s3.amazonaws.com"}]}`;
    const file = join(dir, 'huge-record.json.gz');
    writeFileSync(file, gzipSync(line, { level: 1 }));
    // Act
    const result = ingestInChild(file) as WorkerResult & { oversized?: number };
    // Assess
    console.log(
      `100 MB record: peak RSS ${result.maxRssMB.toFixed(0)} MB, records kept ${result.records}, oversized ${result.oversized}`,
    );
    expect(result.error).toBeUndefined();
    expect(result.records).toBe(2);
    expect(result.oversized).toBe(1);
    expect(result.maxRssMB).toBeLessThan(300);
  });

  it('never throws anything but a LogFileError on arbitrary bytes, however they are chunked', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(`{"Records":[${s}`)),
          fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(s)),
        ),
        fc.integer({ min: 1, max: 50 }),
        (bytes, size) => {
          const scanner = new RecordScanner({ maxRecordBytes: 100 });
          try {
            for (let i = 0; i < bytes.length; i += size)
              scanner.push(Buffer.from(bytes.subarray(i, i + size)));
            scanner.end();
          } catch (err) {
            expect(err).toBeInstanceOf(LogFileError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('classifies any key without throwing, and only CloudTrail-shaped keys as CloudTrail files', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 40 }), (junk, prefix) => {
        const k = classifyKey(junk);
        if (!junk.includes('AWSLogs/')) expect(k.kind).toBe('other');
        const real = classifyKey(`${prefix.replace(/\s/g, '')}/${key}`);
        expect(['log', 'other']).toContain(real.kind);
        try {
          decodeEventKey(junk);
        } catch (err) {
          expect(err).toBeInstanceOf(URIError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but a PatternError on arbitrary pattern text, and compiled patterns never throw on any record', () => {
    const fragments = fc.constantFrom(
      '{',
      '}',
      '(',
      ')',
      '$.',
      'a',
      '.b',
      '[0]',
      '=',
      '!=',
      '>',
      '<=',
      '&&',
      '||',
      ' ',
      '"x*"',
      '*',
      '%ab%',
      'NOT EXISTS',
      'IS NULL',
      'IS TRUE',
      '12',
      '-3.5',
      '\\',
      '"',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 80 }),
          fc.array(fragments, { maxLength: 20 }).map((a) => a.join('')),
        ),
        fc.jsonValue(),
        (text, record) => {
          let compiled: ReturnType<typeof compilePattern> | undefined;
          try {
            compiled = compilePattern(text);
          } catch (err) {
            expect(err).toBeInstanceOf(PatternError);
            expect((err as Error).message).toMatch(/column \d+/);
          }
          if (compiled) expect(typeof compiled.test(record)).toBe('boolean');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('gives a digest made of arbitrary bytes an invalid verdict, never an exception', async () => {
    const { publicKeyDer, fingerprint } = sampleSigningKey();
    const keys = new StaticPublicKeySource([
      {
        value: publicKeyDer,
        validityStart: new Date(0),
        validityEnd: new Date('2100-01-01T00:00:00Z'),
        fingerprint,
      },
    ]);
    const key = digestFileKey({
      account: '111122223333',
      region: 'us-east-1',
      trailName: 't',
      homeRegion: 'us-east-1',
      endTime: new Date('2026-11-20T10:00:00Z'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
          fc.jsonValue().map((v) => gz(JSON.stringify(v))),
          fc
            .dictionary(
              fc.constantFrom(
                'awsAccountId',
                'digestEndTime',
                'digestS3Bucket',
                'digestS3Object',
                'logFiles',
                'previousDigestSignature',
              ),
              fc.jsonValue(),
            )
            .map((v) => gz(JSON.stringify(v))),
        ),
        fc.dictionary(fc.constantFrom('signature', 'signature-algorithm'), fc.string({ maxLength: 20 })),
        async (body, metadata) => {
          const store = new MemoryObjectStore('trail');
          await store.put(key, body, { metadata });
          const report = await verifyDigest(store, key, keys, { bucket: 'trail' });
          expect(report.digest.status).toBe('invalid');
          expect(report.digest.reason).toBeTruthy();
        },
      ),
      { numRuns: 300 },
    );
  });
});

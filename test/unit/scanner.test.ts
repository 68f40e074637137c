import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLogRecords } from '#shared/logfile/read.ts';
import { LogFormatError, LogLimitError, RecordScanner } from '#shared/logfile/scanner.ts';

function scanInChunks(text: string | Buffer, sizes: number[], limits = {}) {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const scanner = new RecordScanner(limits);
  const records: unknown[] = [];
  let at = 0;
  let k = 0;
  while (at < bytes.length) {
    const size = Math.max(1, sizes.length ? sizes[k++ % sizes.length] : bytes.length);
    records.push(...scanner.push(bytes.subarray(at, at + size)));
    at += size;
  }
  scanner.end();
  return { records, stats: scanner.stats };
}

async function readAllRecords(bytes: Buffer, chunk = 7) {
  const out: unknown[] = [];
  async function* body() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const it = readLogRecords(body());
  for (;;) {
    const r = await it.next();
    if (r.done) return { records: out, stats: r.value };
    out.push(...r.value);
  }
}

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const record = fc.dictionary(fc.string({ maxLength: 8 }), jsonValue, { maxKeys: 6 });

describe('RecordScanner', () => {
  it('yields exactly the records JSON.parse sees, however the bytes are chunked', () => {
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 20 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 10 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'Zz'), jsonValue, { maxKeys: 2 }),
        fc.boolean(),
        (records, sizes, extra, pretty) => {
          // Prepare
          const doc = { ...extra, Records: records };
          const text = pretty ? JSON.stringify(doc, null, 2) : JSON.stringify(doc);
          // Act
          const out = scanInChunks(text, sizes);
          // Assess
          expect(out.records).toEqual(JSON.parse(text).Records);
          expect(out.stats.records).toBe(records.length);
          expect(out.stats.invalidRecords).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('handles escapes and quotes split across chunk boundaries', () => {
    // Prepare
    const rec = { a: 'x\\"}{][\\\\', b: '"', c: '\\', d: 'é€😀' };
    const text = JSON.stringify({ Records: [rec, rec, rec] });
    for (let size = 1; size < 12; size++) {
      // Act
      const out = scanInChunks(text, [size]);
      // Assess
      expect(out.records).toEqual([rec, rec, rec]);
    }
  });

  it('decodes non-ASCII records in a run of complete records and in records split across chunks', () => {
    // Prepare
    const records = [{ a: 'ascii' }, { b: 'Zürich → 東京 😀' }, { c: 'plain' }];
    const text = JSON.stringify({ Records: records });
    // Act / Assess
    expect(scanInChunks(text, [text.length]).records).toEqual(records);
    expect(scanInChunks(text, [17]).records).toEqual(records);
  });

  it('counts elements that are not objects, and keeps the records around them', () => {
    // Prepare
    const text = '{"Records":[{"a":1}, 5, "s", [1,{"x":2}], null, {"b":2}, true]}';
    // Act
    const out = scanInChunks(text, [3]);
    // Assess
    expect(out.records).toEqual([{ a: 1 }, { b: 2 }]);
    expect(out.stats.invalidRecords).toBe(5);
  });

  it('counts a record that is not valid JSON and parses the others', () => {
    // Prepare
    const text = '{"Records":[{"a":1},{"b":tru},{"c":3}]}';
    // Act
    const out = scanInChunks(text, [1000]);
    // Assess
    expect(out.records).toEqual([{ a: 1 }, { c: 3 }]);
    expect(out.stats.invalidRecords).toBe(1);
  });

  it('skips a record over the size cap without buffering it, with its index and size', () => {
    // Prepare
    const big = { pad: 'x'.repeat(5000) };
    const text = JSON.stringify({ Records: [{ a: 1 }, big, { b: 2 }] });
    // Act
    const out = scanInChunks(text, [100], { maxRecordBytes: 1000 });
    // Assess
    expect(out.records).toEqual([{ a: 1 }, { b: 2 }]);
    expect(out.stats.oversizedRecords).toEqual([{ index: 1, bytes: JSON.stringify(big).length }]);
  });

  it.each([
    ['', /empty document/],
    ['[1,2]', /expected a JSON object/],
    ['{"Records":{}}', /"Records" to be an array/],
    ['{"records":[]}', /no "Records" key/],
    ['{"Records":[{"a":1}', /truncated JSON document/],
    ['{"Records":[{"a":1}]}{"Records":[]}', /unexpected data after the end/],
    ['{"Records":[{"a":1} {"b":2}]}', /expected ',' or '\]' after a record/],
    ['{"Records":[{"a":1},]}', /expected a record after ','/],
    ['{"Records":[],"Records":[]}', /second "Records"/],
  ])('rejects %j with a clear message', (text, message) => {
    // Act / Assess
    expect(() => scanInChunks(text, [4])).toThrow(LogFormatError);
    expect(() => scanInChunks(text, [4])).toThrow(message);
  });

  it('rejects a document past the decompressed size cap', () => {
    const text = JSON.stringify({ Records: [{ a: 'x'.repeat(100) }] });
    expect(() => scanInChunks(text, [10], { maxFileBytes: 50 })).toThrow(LogLimitError);
  });

  it('accepts an empty Records array and other top-level keys in any order', () => {
    expect(scanInChunks('{"x":[1,{"Records":[1]}],"Records":[],"y":"}"}', [2]).records).toEqual([]);
    expect(scanInChunks(' {"Records":[{"k":"v"}], "n": -1.5e3 } \n', [5]).records).toEqual([{ k: 'v' }]);
  });
});

describe('readLogRecords', () => {
  it('reads gzip and plain bodies alike', async () => {
    // Prepare
    const records = Array.from({ length: 50 }, (_, i) => ({ eventID: String(i), eventName: 'GetObject' }));
    const text = JSON.stringify({ Records: records });
    // Act
    const gz = await readAllRecords(gzipSync(text), 13);
    const plain = await readAllRecords(Buffer.from(text), 13);
    // Assess
    expect(gz.records).toEqual(records);
    expect(plain.records).toEqual(records);
    expect(gz.stats.bytes).toBe(Buffer.byteLength(text));
  });

  it('reports a truncated gzip stream as a format error', async () => {
    const gz = gzipSync(JSON.stringify({ Records: [{ a: 'x'.repeat(10000) }] }));
    await expect(readAllRecords(gz.subarray(0, gz.length - 20))).rejects.toThrow(/truncated gzip stream/);
  });

  it('reports non-gzip bytes when gzip is required', async () => {
    async function* body() {
      yield Buffer.from('PK\u0003\u0004 not a gzip file');
    }
    const it = readLogRecords(body(), { compression: 'gzip' });
    await expect(it.next()).rejects.toThrow(/not gzip data: expected the bytes 1f8b, found 504b/);
  });

  it('reports a gzip member appended after the document', async () => {
    const gz = Buffer.concat([gzipSync('{"Records":[]}'), gzipSync('{"Records":[{"a":1}]}')]);
    await expect(readAllRecords(gz)).rejects.toThrow(/unexpected data after the end/);
  });

  it('reads a file held whole as it reads the same bytes streamed: records, counts and errors', async () => {
    // Prepare
    const records = Array.from({ length: 300 }, (_, i) => ({ eventID: String(i), eventName: 'GetObject' }));
    const text = JSON.stringify({ Records: [...records, 7, { long: 'x'.repeat(100) }] });
    const gz = gzipSync(text);
    const corrupt = Buffer.from(gz);
    corrupt[corrupt.length - 6] ^= 0xff;
    // Inflates past what is inflated in one call (64 MiB): read as a stream instead.
    const big = gzipSync(JSON.stringify({ pad: 'x'.repeat(70 << 20), Records: records.slice(0, 3) }));
    const cases: [string, Buffer][] = [
      ['gzip', gz],
      ['plain', Buffer.from(text)],
      ['truncated', gz.subarray(0, gz.length - 20)],
      ['corrupt', corrupt],
      ['appended member', Buffer.concat([gz, gzipSync('{"Records":[]}')])],
      ['neither', Buffer.from('PK\u0003\u0004 not a gzip file')],
      ['big', big],
    ];
    const outcome = async (body: AsyncIterable<Uint8Array> | Uint8Array) => {
      const out: unknown[] = [];
      const it = readLogRecords(body);
      try {
        for (;;) {
          const r = await it.next();
          if (r.done) return { records: out, stats: r.value };
          out.push(...r.value);
        }
      } catch (err) {
        return { error: `${(err as Error).name}: ${(err as Error).message}` };
      }
    };
    for (const [name, bytes] of cases) {
      // Act
      const whole = await outcome(new Uint8Array(bytes));
      const streamed = await outcome(
        (async function* () {
          yield* [bytes.subarray(0, 1000), bytes.subarray(1000)];
        })(),
      );
      // Assess
      expect(whole, name).toEqual(streamed);
    }
    expect(await outcome(new Uint8Array(gz))).toMatchObject({
      records: [...records, { long: 'x'.repeat(100) }],
      stats: { invalidRecords: 1 },
    });
    expect(await outcome(corrupt)).toMatchObject({
      error: expect.stringMatching(/^LogFormatError: corrupt gzip/),
    });
  });
});

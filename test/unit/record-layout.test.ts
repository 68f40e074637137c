/**
 * A file's record layout (shared/logfile/record-layout.ts): ingest's scanner notes where each record lies, and
 * a lookup that reads the file again with it finds exactly the records, matches and counts a walk of the bytes
 * finds, on the real Stratus records written compact or pretty; bytes the layout does not describe (another
 * file, cut or padded, other separators, another top-level key, a record over the limit, spans that do not
 * decode) are walked instead, with the walk's own answer.
 */
import { readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LookupFilter } from '#cli/lookup/filter.ts';
import { matchFile } from '#cli/lookup/match-file.ts';
import { FileIndexBuilder, IndexFormatError, parseFileIndex } from '#shared/logfile/file-index.ts';
import { readLogRecords } from '#shared/logfile/read.ts';
import { type IndexLayout, layoutSpans, RecordLayoutBuilder } from '#shared/logfile/record-layout.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { stratusDir, stratusRecords } from '#test/support/logfiles.ts';

const techniques = readdirSync(stratusDir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length));

/** The layout ingest's read of these bytes notes (undefined when it writes none). */
async function layoutOf(bytes: Uint8Array, limits = {}): Promise<IndexLayout | undefined> {
  const recordLayout = new RecordLayoutBuilder();
  const it = readLogRecords(bytes, { compression: 'auto', recordLayout, limits });
  for (let n = await it.next(); !n.done; n = await it.next());
  return recordLayout.build();
}

async function read(bytes: Uint8Array, filter: LookupFilter, layout?: IndexLayout, limits = {}) {
  // matchFile takes the bytes' buffer for its own: each read gets a copy.
  const r = await matchFile(Uint8Array.from(bytes), filter, { ...(layout ? { layout } : {}), limits });
  const { laidOut, ...scan } = r.scan;
  return { records: r.matches.map((m) => m.record), seqs: r.matches.map((m) => m.seq), scan, laidOut };
}

/** Filters taken from the records themselves: each finds something. */
function filtersFor(records: CloudTrailRecord[]): LookupFilter[] {
  const r = records[Math.floor(records.length / 2)];
  const u = r.userIdentity;
  const out: LookupFilter[] = [{}, { eventName: r.eventName as string }, { eventId: r.eventID as string }];
  if (u?.accessKeyId) out.push({ accessKeyId: u.accessKeyId });
  if (u?.type === 'IAMUser' && u.userName)
    out.push({ username: u.userName, eventName: r.eventName as string });
  return out;
}

describe('a record layout', () => {
  it('finds in real records, compact or pretty, what walking the bytes finds', async () => {
    let laidOut = 0;
    for (const technique of techniques) {
      // Prepare
      const records = stratusRecords(technique);
      for (const text of [
        JSON.stringify({ Records: records }),
        JSON.stringify({ Records: records }, null, 2),
      ]) {
        const bytes = gzipSync(text);

        // Act
        const layout = await layoutOf(bytes);

        // Assess
        expect(layout, technique).toMatchObject({ records: records.length, bytes: Buffer.byteLength(text) });
        for (const filter of filtersFor(records)) {
          const walked = await read(bytes, filter);
          const found = await read(bytes, filter, layout);
          expect(found.laidOut, `${technique} ${JSON.stringify(filter)}`).toBe(true);
          expect(walked.laidOut).toBeUndefined();
          expect(found.records, `${technique} ${JSON.stringify(filter)}`).toEqual(walked.records);
          expect(found.seqs).toEqual(walked.seqs);
          expect(found.scan).toEqual(walked.scan);
          expect(found.records.length).toBeGreaterThan(0);
          laidOut++;
        }
      }
    }
    expect(laidOut).toBeGreaterThan(techniques.length * 6);
  });

  it('is kept in the index ingest writes, and an index whose layout does not parse is refused', async () => {
    // Prepare
    const records = stratusRecords(techniques[0]);
    const bytes = gzipSync(JSON.stringify({ Records: records }));
    const builder = new FileIndexBuilder();
    const it = readLogRecords(bytes, { recordLayout: builder.layout });
    for (let n = await it.next(); !n.done; n = await it.next()) for (const r of n.value) builder.add(r);

    // Act
    const index = JSON.parse(JSON.stringify(builder.build({ bucket: 'b', key: 'k', size: bytes.length })));
    const parsed = parseFileIndex(index);

    // Assess
    expect(parsed.layout).toEqual(await layoutOf(bytes));
    for (const spoiled of [{ ...index.layout, spans: '%%%%' }, { ...index.layout, records: 0 }, 'layout'])
      expect(() => parseFileIndex({ ...index, layout: spoiled })).toThrow(IndexFormatError);
  });

  it('is not written for a file with anything but records in its array, or none', async () => {
    const record = stratusRecords(techniques[0])[0];
    for (const text of [
      `{"Records":[1,${JSON.stringify(record)}]}`,
      `{"Records":["a",${JSON.stringify(record)}]}`,
      `{"Records":[${JSON.stringify(record)},{"broken":]}`,
      '{"Records":[]}',
    ]) {
      // Act
      let layout: IndexLayout | undefined;
      try {
        layout = await layoutOf(Buffer.from(text));
      } catch {
        layout = undefined;
      }

      // Assess
      expect(layout, text).toBeUndefined();
    }
    expect(await layoutOf(Buffer.from(JSON.stringify({ Records: [record] })), { maxRecordBytes: 100 })).toBe(
      undefined,
    );
  });

  it('is not trusted for bytes it does not describe: those are walked, with the walk answer', async () => {
    // Prepare
    const records = stratusRecords('aws.execution.ssm-send-command');
    const others = stratusRecords('aws.execution.ec2-user-data');
    const text = JSON.stringify({ Records: records });
    const layout = (await layoutOf(Buffer.from(text))) as IndexLayout;
    const first = JSON.stringify(records[0]);
    const variants: [string, string][] = [
      ['another file', JSON.stringify({ Records: others })],
      ['padded', `${text} `],
      ['cut short', text.slice(0, -1)],
      ['a space for a comma', text.replace(`${first},`, `${first} `)],
      ['another key first, same length', text.replace('{"Records":[', '{"Xecords":[')],
      ['a record opened otherwise', text.replace(`[${first}`, `[ ${first.slice(1)}`)],
    ];
    for (const [what, bytes] of variants) {
      // Act
      const walked = await read(gzipSync(bytes), { eventName: 'SendCommand' }).catch((e: Error) => e.message);
      const found = await read(gzipSync(bytes), { eventName: 'SendCommand' }, layout).catch(
        (e: Error) => e.message,
      );

      // Assess
      expect(bytes, what).not.toBe(text);
      expect(typeof found === 'string' || found.laidOut === undefined, what).toBe(true);
      expect(found, what).toEqual(walked);
    }
    // The same layout with spans that do not decode, or do not add up, is refused as well.
    const bytes = Buffer.from(text);
    expect(layoutSpans(bytes, layout)).toBeDefined();
    for (const spans of ['////', Buffer.from([1, 2]).toString('base64'), `${layout.spans.slice(0, -4)}`])
      expect(layoutSpans(bytes, { ...layout, spans })).toBeUndefined();
    // A record over the reader's limit: walked, and reported as the walk reports it.
    const limited = await read(gzipSync(text), {}, layout, { maxRecordBytes: 200 });
    expect(limited.laidOut).toBeUndefined();
    expect(limited.scan.oversizedRecords.length).toBe(records.length);
  });

  it('finds what the walk finds for any records, white space and escapes', async () => {
    const value = fc.oneof(
      fc.string(),
      fc.constantFrom('StopLogging', 'alice', '{"x":[1]}', 'a\\"b', '},{', ']}'),
      fc.integer(),
    );
    const recordArb = fc.record({
      eventName: fc.constantFrom('StopLogging', 'ConsoleLogin', 'Événement'),
      userIdentity: fc.record({ userName: fc.constantFrom('alice', 'bob', 'zoë') }),
      requestParameters: fc.dictionary(fc.string({ maxLength: 4 }), value, { maxKeys: 3 }),
    });
    const space = fc.constantFrom('', ' ', '\n  ', '\t');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(recordArb, space, space), { minLength: 1, maxLength: 8 }),
        space,
        fc.constantFrom<LookupFilter>({}, { eventName: 'StopLogging' }, { username: 'zoë' }),
        async (written, outer, filter) => {
          // Prepare
          const body = written.map(([r, a, b]) => `${a}${JSON.stringify(r)}${b}`).join(',');
          const text = `${outer}{${outer}"Records"${outer}:${outer}[${body}]${outer}}${outer}`;
          const bytes = gzipSync(text);

          // Act
          const layout = await layoutOf(bytes);
          const walked = await read(bytes, filter);
          const found = await read(bytes, filter, layout);

          // Assess
          expect(found.laidOut).toBe(true);
          expect(found.records).toEqual(walked.records);
          expect(found.scan).toEqual(walked.scan);
        },
      ),
      { numRuns: 300 },
    );
  });
});

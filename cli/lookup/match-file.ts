/**
 * One log file's matching records: read (gunzip when gzip), skip records whose bytes cannot match (the byte
 * prefilter the filter gives), parse the rest and keep those that match. The same function runs in the
 * lookup's worker threads and in the main thread, so both give the same answer.
 *
 * With `render`, each match is kept as the line the lookup prints for it, made here from the record, and the
 * record is dropped at once: a full scan then keeps (and a worker sends back) short lines, not every record
 * as an object tree, which is what made the garbage collector the largest cost of a scan.
 */

import type { TrailKey } from '#shared/keys.ts';
import { BytePrefilter } from '#shared/logfile/prefilter.ts';
import { readLogRecords, type ScanLimits, type ScanStats } from '#shared/logfile/read.ts';
import type { IndexLayout } from '#shared/logfile/record-layout.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { eventTimeMs, type LookupFilter, matchesFilter, prefilterGroups } from './filter.ts';
import { type LineFormat, renderLine } from './row.ts';

/** A matching record, with what the lookup sorts by. */
export interface Match {
  /** Position among the records parsed. */
  seq: number;
  /** eventTime in milliseconds, NaN when it has none that parses. */
  t: number;
  /** eventID, '' when it has none. */
  id: string;
  /** The record itself (without `render`)... */
  record?: CloudTrailRecord;
  /** ... or its output line (with `render`). */
  line?: string;
}

export interface FileMatches {
  /** Matching records in file order (empty with `render`: they are in `lines`). */
  matches: Match[];
  /** With `render`: the matches' lines, packed. */
  lines?: PackedLines;
  scan: ScanStats;
}

/**
 * A file's rendered matches in a few flat arrays rather than one object and one string per match: a worker
 * hands them over by transfer, not by cloning thousands of objects, and the main thread copies the lines'
 * bytes to the output without holding them as strings (encoding and collecting every line of a full scan as a
 * string was most of the main thread's time, in the garbage collector among others).
 */
export interface PackedLines {
  /** The lines' UTF-8 bytes, one after another in file order (a Buffer, but a plain array once transferred). */
  bytes: Uint8Array;
  /** Where line i ends in `bytes` (it starts where line i-1 ends, or at 0). */
  ends: Uint32Array;
  seqs: Uint32Array;
  times: Float64Array;
  ids: string[];
}

/** Packs rendered matches (each with its `line`). */
export function packLines(matches: readonly Match[]): PackedLines {
  const n = matches.length;
  const ends = new Uint32Array(n);
  const seqs = new Uint32Array(n);
  const times = new Float64Array(n);
  const ids = new Array<string>(n);
  let text = '';
  for (let i = 0; i < n; i++) {
    const m = matches[i];
    text += m.line as string;
    ends[i] = text.length;
    seqs[i] = m.seq;
    times[i] = m.t;
    ids[i] = m.id;
  }
  // Memory of its own (not Node's shared pool), so that it can be transferred.
  const bytes = Buffer.from(new ArrayBuffer(Buffer.byteLength(text)));
  bytes.write(text);
  // Offsets in characters are offsets in bytes only when every character is one byte.
  if (bytes.length !== text.length) {
    let at = 0;
    for (let i = 0; i < n; i++) {
      at += Buffer.byteLength(matches[i].line as string);
      ends[i] = at;
    }
  }
  return { bytes, ends, seqs, times, ids };
}

/** The buffers {@link PackedLines} can hand to another thread by transfer. */
export function transferablesOf(p: PackedLines): ArrayBuffer[] {
  return [p.bytes.buffer, p.ends.buffer, p.seqs.buffer, p.times.buffer] as ArrayBuffer[];
}

export interface MatchOptions {
  limits?: Partial<ScanLimits>;
  /** Compressed size, when known: small files get small gunzip buffers. */
  sizeHint?: number;
  /** Parse every record (the path the prefilter is checked against). */
  noPrefilter?: boolean;
  /** Where the records lie, from the file's index: bytes held whole that fit it are not walked. */
  layout?: IndexLayout;
  /** Sees every record parsed, matching or not (main thread only: a function does not cross to a worker). */
  onRecord?: (record: CloudTrailRecord) => void;
  /** Keep each match as its output line in this format, for the file it was read from, not as the record. */
  render?: { format: LineFormat; file: TrailKey };
}

/**
 * `body`: the file as a stream, or its bytes held whole (small gzip files are then inflated in one call).
 * Throws what {@link readLogRecords} throws; `found` receives the matches so far (kept by a caller that reports).
 */
export async function matchFile(
  body: AsyncIterable<Uint8Array> | Uint8Array,
  filter: LookupFilter,
  options: MatchOptions = {},
  found: Match[] = [],
): Promise<FileMatches> {
  const prefilter = options.noPrefilter ? undefined : BytePrefilter.of(prefilterGroups(filter));
  const it = readLogRecords(body, {
    // CloudTrail delivers gzip; `.json` copies of its files are plain JSON.
    compression: 'auto',
    ...(options.limits ? { limits: options.limits } : {}),
    ...(prefilter ? { prefilter } : {}),
    ...(options.sizeHint ? { sizeHint: options.sizeHint } : {}),
    ...(options.layout ? { layout: options.layout } : {}),
  });
  const { render, onRecord } = options;
  let seq = 0;
  for (;;) {
    const next = await it.next();
    if (next.done)
      return render
        ? { matches: [], lines: packLines(found), scan: next.value }
        : { matches: found, scan: next.value };
    for (const record of next.value) {
      onRecord?.(record);
      if (matchesFilter(record, filter)) {
        const t = eventTimeMs(record);
        const id = typeof record.eventID === 'string' ? record.eventID : '';
        found.push(
          render
            ? { seq, t, id, line: renderLine({ record, file: render.file }, render.format) }
            : { seq, t, id, record },
        );
      }
      seq++;
    }
  }
}

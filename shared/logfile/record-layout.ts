/**
 * Where each record of a log file lies in its uncompressed bytes, written by ingest with the file's index, so
 * that a lookup that reads the file again finds its records without walking every byte of it: it searches the
 * whole file for the bytes the filter needs (shared/logfile/prefilter.ts), and parses only the records they
 * land in. Walking the JSON structure byte by byte to find the records was a third of a filtered read.
 *
 * Written only for a clean file (every element of `Records` an object that parses and within the size
 * limits) of at most {@link LAYOUT_MAX_RECORDS} records and {@link LAYOUT_MAX_BYTES} bytes: CloudTrail writes
 * no other. Encoded as varints, per record the bytes since the previous one ended and its length, in base64:
 * about three bytes a record.
 *
 * Trusted only as far as the index it comes with (the same object: bucket, key, size, ETag), and then checked
 * against the bytes themselves ({@link layoutSpans}): the total length, `{"Records":[` before the first
 * record, `,` between records, `]}` after the last, each record opening with `{` and closing with `}`. Bytes
 * that fail a check are walked as if there were no layout.
 */

/** A file's record layout as an index holds it. */
export interface IndexLayout {
  /** Uncompressed bytes of the file. */
  bytes: number;
  records: number;
  /** Per record, varints of the gap before it and its length, base64. */
  spans: string;
}

/** Records a layout is written for at most (a larger file's is not worth its bytes in every summary). */
export const LAYOUT_MAX_RECORDS = 100_000;
/** Uncompressed bytes a layout is written for at most: larger files are streamed, never held whole. */
export const LAYOUT_MAX_BYTES = 64 << 20;

export class LayoutFormatError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Gathers the records' offsets as a scanner finds them (shared/logfile/scanner.ts). */
export class RecordLayoutBuilder {
  private offsets = new Uint32Array(256);
  private count = 0;
  private spoiled = false;
  private total = -1;

  /** A record found in bytes [start, end) of the file. */
  add(start: number, end: number): void {
    if (this.spoiled) return;
    if (this.count >= LAYOUT_MAX_RECORDS || end > LAYOUT_MAX_BYTES) {
      this.spoiled = true;
      return;
    }
    if (this.count * 2 + 2 > this.offsets.length) {
      const bigger = new Uint32Array(this.offsets.length * 2);
      bigger.set(this.offsets);
      this.offsets = bigger;
    }
    this.offsets[this.count * 2] = start;
    this.offsets[this.count * 2 + 1] = end;
    this.count++;
  }

  /** The scan's end: the layout holds only if every record was added and nothing else was found. */
  close(stats: {
    bytes: number;
    records: number;
    invalidRecords: number;
    oversizedRecords: unknown[];
  }): void {
    if (stats.invalidRecords > 0 || stats.oversizedRecords.length > 0 || stats.records !== this.count)
      this.spoiled = true;
    this.total = stats.bytes;
  }

  /** The layout, or undefined for a file that is not clean, too big, empty, or not scanned to its end. */
  build(): IndexLayout | undefined {
    if (this.spoiled || this.total < 0 || this.count === 0 || this.total > LAYOUT_MAX_BYTES) return undefined;
    const out = new Uint8Array(this.count * 10);
    let n = 0;
    const put = (v: number) => {
      while (v >= 0x80) {
        out[n++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      out[n++] = v;
    };
    let last = 0;
    for (let i = 0; i < this.count; i++) {
      const start = this.offsets[i * 2];
      const end = this.offsets[i * 2 + 1];
      put(start - last);
      put(end - start);
      last = end;
    }
    return {
      bytes: this.total,
      records: this.count,
      spans: Buffer.from(out.buffer, 0, n).toString('base64'),
    };
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A layout as an index holds it; throws {@link LayoutFormatError} for anything else. */
export function parseIndexLayout(v: unknown): IndexLayout {
  const o = v as Record<string, unknown> | null;
  if (
    typeof o !== 'object' ||
    o === null ||
    !Number.isInteger(o.bytes) ||
    (o.bytes as number) < 0 ||
    (o.bytes as number) > LAYOUT_MAX_BYTES ||
    !Number.isInteger(o.records) ||
    (o.records as number) < 1 ||
    (o.records as number) > LAYOUT_MAX_RECORDS ||
    typeof o.spans !== 'string' ||
    o.spans.length % 4 !== 0 ||
    !BASE64.test(o.spans)
  )
    throw new LayoutFormatError('index layout: expected {bytes, records, spans (base64)} within the limits');
  return { bytes: o.bytes as number, records: o.records as number, spans: o.spans };
}

/** Where each record starts and ends. */
export interface RecordSpans {
  starts: Uint32Array;
  ends: Uint32Array;
}

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Past white space from `i`, then `token` (one byte) expected: the position after it, or -1. */
function expect(bytes: Uint8Array, i: number, end: number, token: number): number {
  while (i < end && isSpace(bytes[i])) i++;
  return i < end && bytes[i] === token ? i + 1 : -1;
}

/** Whether bytes [i, end) are white space and then these single-byte tokens, each with white space around. */
function tokensOnly(bytes: Uint8Array, i: number, end: number, tokens: readonly number[]): boolean {
  for (const t of tokens) {
    i = expect(bytes, i, end, t);
    if (i < 0) return false;
  }
  while (i < end && isSpace(bytes[i])) i++;
  return i === end;
}

const RECORDS_KEY = Buffer.from('"Records"');

/**
 * The records' spans in `bytes` when the layout describes them (see the checks above), else undefined. A
 * layout whose varints do not decode, or do not add up, is refused the same way.
 */
export function layoutSpans(bytes: Uint8Array, layout: IndexLayout): RecordSpans | undefined {
  if (bytes.length !== layout.bytes) return undefined;
  const raw = Buffer.from(layout.spans, 'base64');
  const n = layout.records;
  const starts = new Uint32Array(n);
  const ends = new Uint32Array(n);
  let p = 0;
  const next = (): number => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (p >= raw.length || shift > 28) return -1;
      const b = raw[p++];
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
    }
  };
  let at = 0;
  for (let i = 0; i < n; i++) {
    const gap = next();
    const len = next();
    if (gap < 0 || len < 2) return undefined;
    const start = at + gap;
    const end = start + len;
    if (end > bytes.length || bytes[start] !== 0x7b || bytes[end - 1] !== 0x7d) return undefined;
    if (i > 0 && !tokensOnly(bytes, at, start, [0x2c])) return undefined;
    starts[i] = start;
    ends[i] = end;
    at = end;
  }
  if (p !== raw.length) return undefined;
  // Before the first record: `{ "Records" : [`.
  let h = expect(bytes, 0, starts[0], 0x7b);
  while (h >= 0 && h < starts[0] && isSpace(bytes[h])) h++;
  if (h < 0 || Buffer.compare(bytes.subarray(h, h + RECORDS_KEY.length), RECORDS_KEY) !== 0) return undefined;
  if (!tokensOnly(bytes, h + RECORDS_KEY.length, starts[0], [0x3a, 0x5b])) return undefined;
  // After the last: `] }`.
  if (!tokensOnly(bytes, at, bytes.length, [0x5d, 0x7d])) return undefined;
  return { starts, ends };
}

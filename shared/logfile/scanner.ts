/**
 * Finds the records of a CloudTrail log file (`{"Records":[{...},{...}]}`) in a stream of uncompressed
 * bytes without building the whole document.
 *
 * Why not a streaming JSON parser: those build every value token by token and run at 12-35 MB/s here, while
 * `JSON.parse` on a slice runs at 250+ MB/s. So the scanner only tracks structure (strings, nesting) to find
 * where each record begins and ends, and hands runs of complete records to `JSON.parse` in one call.
 * Memory stays bounded by one input chunk plus the largest record, which is capped.
 */

import { isAscii } from 'node:buffer';

import { DEFAULT_LIMITS, type ScanLimits } from '#shared/limits.ts';
import type { BytePrefilter } from '#shared/logfile/prefilter.ts';
import type { RecordLayoutBuilder } from '#shared/logfile/record-layout.ts';

export { DEFAULT_LIMITS, type ScanLimits };

export class LogFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The file is not a CloudTrail log document; nothing from it may be used. */
export class LogFormatError extends LogFileError {}

/** The file exceeds a configured cap (decompressed size). */
export class LogLimitError extends LogFileError {}

export interface ScanStats {
  bytes: number;
  /** Records found, parsed or not. */
  records: number;
  /** Records the prefilter showed cannot match, left unparsed (so not checked for valid JSON either). */
  filteredRecords: number;
  /** Array elements that are not objects, or objects that are not valid JSON. */
  invalidRecords: number;
  /** Records over `maxRecordBytes`, with their position in the array and size. */
  oversizedRecords: { index: number; bytes: number }[];
  /** The records were found by the file's layout (shared/logfile/record-layout.ts), not by walking its bytes. */
  laidOut?: true;
}

/**
 * A copy of the records' bytes as the scanner found them (a scanner given a {@link RecordRunsWriter}), so that
 * another thread can parse them too: their bytes in one buffer and, per piece, `[start, end, count]` in
 * `spans`. A piece of `count` > 0 is a run of that many complete records; `count` 0 is one record that spanned
 * chunks. {@link parseRecordRuns} parses them as the scanner does.
 */
export interface RecordRuns {
  bytes: Uint8Array;
  spans: Int32Array;
}

/**
 * Gathers the pieces a {@link RecordScanner} parses, copied (the chunk they lie in may be reused), into
 * batches of {@link RecordRuns}. A batch's buffer can be handed back once parsed ({@link reuse}): a large file
 * then runs through a few warm buffers instead of fresh memory for every chunk.
 */
export class RecordRunsWriter {
  private buffer: Uint8Array;
  private length = 0;
  private spans: number[] = [];
  private readonly spare: ArrayBuffer[] = [];

  constructor(capacity: number) {
    this.buffer = new Uint8Array(capacity);
  }

  /** Bytes gathered since the last {@link take}. */
  get size(): number {
    return this.length;
  }

  add(piece: Uint8Array, count: number): void {
    const need = this.length + piece.length;
    if (need > this.buffer.length) {
      const bigger = new Uint8Array(Math.max(need, this.buffer.length * 2));
      bigger.set(this.buffer.subarray(0, this.length));
      this.buffer = bigger;
    }
    this.buffer.set(piece, this.length);
    this.spans.push(this.length, need, count);
    this.length = need;
  }

  /** The batch gathered so far (its buffer is the caller's from now on), and a new one begun. */
  take(): RecordRuns {
    const runs = { bytes: this.buffer.subarray(0, this.length), spans: Int32Array.from(this.spans) };
    const capacity = this.buffer.length;
    let next = this.spare.pop();
    while (next && next.byteLength < capacity) next = this.spare.pop();
    this.buffer = next ? new Uint8Array(next) : new Uint8Array(capacity);
    this.length = 0;
    this.spans = [];
    return runs;
  }

  /** A batch's buffer, parsed and no longer needed, for the next batches. */
  reuse(buffer: ArrayBuffer): void {
    if (this.spare.length < 2) this.spare.push(buffer);
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

/** Where the scanner is, outside of strings. */
const enum_ = {
  /** Before the top-level `{`. */
  Start: 0,
  /** Inside the top-level object, expecting a key or `}`. */
  TopKey: 1,
  /** After a top-level key, expecting `:`. */
  TopColon: 2,
  /** After `:`, expecting a value. */
  TopValue: 3,
  /** Inside a top-level value that is not `Records` (skipped). */
  TopSkip: 4,
  /** After a top-level value, expecting `,` or `}`. */
  TopAfterValue: 5,
  /** Inside the Records array, expecting a record or `]`. */
  ArrayValue: 6,
  /** Inside a record (an object) or a non-object element. */
  Element: 7,
  /** After a record, expecting `,` or `]`. */
  ArrayAfterValue: 8,
  /** After the top-level `}`: only white space may follow. */
  Done: 9,
} as const;
type State = (typeof enum_)[keyof typeof enum_];

export class RecordScanner {
  readonly stats: ScanStats = {
    bytes: 0,
    records: 0,
    filteredRecords: 0,
    invalidRecords: 0,
    oversizedRecords: [],
  };
  private readonly limits: ScanLimits;
  private readonly prefilter: BytePrefilter | undefined;
  /** With a prefilter: where each record of the current run starts and ends. */
  private readonly runStarts: number[] = [];
  private readonly runEnds: number[] = [];
  private state: State = enum_.Start;
  private inString = false;
  /** The byte after a backslash is literal; the backslash may end a chunk. */
  private escaped = false;
  /** Nesting depth inside the current element or skipped value. */
  private depth = 0;
  private sawRecords = false;
  /** Key being read at the top level (keys are short; other strings are never copied). */
  private keyParts: Buffer[] | null = null;
  private currentKey = '';
  /** Parts of a record that began in an earlier chunk. */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private elementOversized = false;
  private elementIsObject = false;
  /** Elements of the Records array seen so far. */
  private elements = 0;
  private skipIsContainer = false;
  private bsChunk: Buffer | null = null;
  private bsPos = -1;
  /** Where a copy of the records' bytes goes, for another thread. */
  private readonly copyTo: RecordRunsWriter | undefined;
  /** Where each record lies, for the file's index. */
  private readonly layout: RecordLayoutBuilder | undefined;
  /** Where the current element began, counted from the file's first byte. */
  private elementAt = 0;

  /**
   * With a prefilter, records it shows cannot match are counted and skipped, never parsed. With `copyTo`
   * (and no prefilter), the bytes of every record parsed are also copied there, for another thread. With
   * `layout`, where each record lies is noted there.
   */
  constructor(
    limits: Partial<ScanLimits> = {},
    prefilter?: BytePrefilter,
    copyTo?: RecordRunsWriter,
    layout?: RecordLayoutBuilder,
  ) {
    if (prefilter && copyTo) throw new TypeError('a scanner copies its records only without a prefilter');
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.prefilter = prefilter;
    this.copyTo = copyTo;
    this.layout = layout;
  }

  private fail(message: string, at: number): never {
    throw new LogFormatError(`${message} at byte ${this.stats.bytes + at}`);
  }

  /**
   * Consumes one chunk and returns the records completed in it (parsed). Throws {@link LogFormatError} when
   * the bytes cannot be a CloudTrail log document.
   */
  push(chunk: Buffer): unknown[] {
    if (this.stats.bytes + chunk.length > this.limits.maxFileBytes) {
      throw new LogLimitError(
        `decompressed size exceeds the cap of ${this.limits.maxFileBytes} bytes (TRAILWATCH_MAX_FILE_BYTES)`,
      );
    }
    const out: unknown[] = [];
    // Offsets of complete records in this chunk, parsed together at the end.
    let runStart = -1;
    let runEnd = -1;
    let runCount = 0;
    let elementStart = -1;
    const len = chunk.length;
    let i = 0;

    const flushRun = () => {
      if (runCount > 0) this.parseRun(chunk, runStart, runEnd, runCount, out);
      runStart = -1;
      runCount = 0;
      this.runStarts.length = 0;
      this.runEnds.length = 0;
    };

    while (i < len) {
      if (this.inString) {
        i = this.skipString(chunk, i);
        continue;
      }
      const b = chunk[i];
      switch (this.state) {
        case enum_.Element: {
          if (b === QUOTE) {
            this.inString = true;
            i++;
            continue;
          }
          if (this.depth === 0) {
            // a scalar element (number, literal): not a record; ends where the array's grammar resumes
            if (b === COMMA || b === RBRACKET || b === RBRACE || isSpace(b)) {
              this.endElement(chunk, elementStart, i, false, out);
              elementStart = -1;
              this.state = enum_.ArrayAfterValue;
              continue;
            }
            i++;
            continue;
          }
          if (b === LBRACE || b === LBRACKET) this.depth++;
          else if (b === RBRACE || b === RBRACKET) {
            this.depth--;
            if (this.depth === 0) {
              const end = i + 1;
              const isRecord = this.elementIsObject && b === RBRACE;
              if (isRecord) this.layout?.add(this.elementAt, this.stats.bytes + end);
              if (
                isRecord &&
                elementStart >= 0 &&
                this.carryBytes === 0 &&
                end - elementStart <= this.limits.maxRecordBytes
              ) {
                // complete inside this chunk: join the run of records parsed together
                if (runStart < 0) runStart = elementStart;
                runEnd = end;
                runCount++;
                if (this.prefilter) {
                  this.runStarts.push(elementStart);
                  this.runEnds.push(end);
                }
                this.stats.records++;
                // Runs of a few dozen KiB parse several times faster than runs of a MiB (below).
                if (!this.prefilter && runEnd - runStart >= RUN_BYTES) flushRun();
              } else {
                flushRun();
                this.endElement(chunk, elementStart, end, isRecord, out);
              }
              elementStart = -1;
              this.state = enum_.ArrayAfterValue;
              i = end;
              continue;
            }
          }
          i++;
          continue;
        }
        case enum_.ArrayValue:
          if (isSpace(b)) break;
          if (b === RBRACKET) {
            if (this.elements > 0) this.fail("expected a record after ',', found ']'", i);
            this.state = enum_.TopAfterValue;
            break;
          }
          this.elements++;
          this.elementIsObject = b === LBRACE;
          this.elementOversized = false;
          elementStart = i;
          this.elementAt = this.stats.bytes + i;
          this.state = enum_.Element;
          if (b === QUOTE) {
            this.inString = true;
            this.depth = 0;
            i++;
            continue;
          }
          this.depth = b === LBRACE || b === LBRACKET ? 1 : 0;
          if (this.depth === 0) continue;
          break;
        case enum_.ArrayAfterValue:
          if (isSpace(b)) break;
          if (b === COMMA) this.state = enum_.ArrayValue;
          else if (b === RBRACKET) {
            flushRun();
            this.state = enum_.TopAfterValue;
          } else this.fail(`expected ',' or ']' after a record, found '${String.fromCharCode(b)}'`, i);
          break;
        case enum_.Start:
          if (isSpace(b) || (this.stats.bytes === 0 && i < 3 && (b === 0xef || b === 0xbb || b === 0xbf)))
            break;
          if (b !== LBRACE) this.fail(`expected a JSON object '{', found '${printable(b)}'`, i);
          this.state = enum_.TopKey;
          break;
        case enum_.TopKey:
          if (isSpace(b)) break;
          if (b === QUOTE) {
            this.keyParts = [];
            this.inString = true;
            i++;
            continue;
          }
          if (b === RBRACE) {
            this.state = enum_.Done;
            break;
          }
          this.fail(`expected a key or '}' in the top-level object, found '${printable(b)}'`, i);
          break;
        case enum_.TopColon:
          if (isSpace(b)) break;
          if (b !== COLON)
            this.fail(`expected ':' after key "${this.currentKey}", found '${printable(b)}'`, i);
          this.state = enum_.TopValue;
          break;
        case enum_.TopValue:
          if (isSpace(b)) break;
          if (this.currentKey === 'Records') {
            if (this.sawRecords) this.fail('found a second "Records" key', i);
            this.sawRecords = true;
            if (b !== LBRACKET) this.fail(`expected "Records" to be an array, found '${printable(b)}'`, i);
            this.state = enum_.ArrayValue;
            break;
          }
          this.state = enum_.TopSkip;
          this.skipIsContainer = b === LBRACE || b === LBRACKET;
          this.depth = this.skipIsContainer ? 1 : 0;
          if (b === QUOTE) {
            this.inString = true;
            i++;
            continue;
          }
          break;
        case enum_.TopSkip:
          if (b === QUOTE) {
            this.inString = true;
            i++;
            continue;
          }
          if (b === LBRACE || b === LBRACKET) this.depth++;
          else if (b === RBRACE || b === RBRACKET) {
            if (this.depth === 0) {
              // `}` ending the top-level object right after a scalar value
              this.state = enum_.TopAfterValue;
              continue;
            }
            this.depth--;
            if (this.depth === 0) this.state = enum_.TopAfterValue;
          } else if (this.depth === 0 && (b === COMMA || isSpace(b))) {
            this.state = enum_.TopAfterValue;
            continue;
          }
          break;
        case enum_.TopAfterValue:
          if (isSpace(b)) break;
          if (b === COMMA) this.state = enum_.TopKey;
          else if (b === RBRACE) this.state = enum_.Done;
          else this.fail(`expected ',' or '}' in the top-level object, found '${printable(b)}'`, i);
          break;
        case enum_.Done:
          if (!isSpace(b))
            this.fail(`unexpected data after the end of the JSON document ('${printable(b)}')`, i);
          break;
      }
      i++;
    }
    flushRun();
    // A record still open at the chunk's end is carried into the next chunk.
    if (this.state === enum_.Element && elementStart >= 0) this.carryPart(chunk.subarray(elementStart));
    else if (this.state === enum_.Element && elementStart < 0) this.carryPart(chunk);
    this.stats.bytes += len;
    return out;
  }

  /** Call after the last chunk: checks the document was complete. */
  end(): void {
    if (this.state !== enum_.Done) {
      throw new LogFormatError(
        this.state === enum_.Start
          ? 'empty document: expected {"Records":[...]}'
          : `truncated JSON document: ended after ${this.stats.bytes} bytes, inside ${this.where()}`,
      );
    }
    if (!this.sawRecords) throw new LogFormatError('no "Records" key in the document');
    this.layout?.close(this.stats);
  }

  private where(): string {
    if (
      this.state === enum_.Element ||
      this.state === enum_.ArrayValue ||
      this.state === enum_.ArrayAfterValue
    ) {
      return `record ${this.elements}`;
    }
    return 'the top-level object';
  }

  /** Moves `i` past string content; returns the new position. */
  private skipString(chunk: Buffer, i: number): number {
    const len = chunk.length;
    const keyStart = i;
    if (this.escaped) {
      this.escaped = false;
      i++;
    }
    while (i < len) {
      const q = chunk.indexOf(QUOTE, i);
      const end = q < 0 ? len : q;
      // Backslashes are rare: search once and reuse the answer until the scan passes it.
      if (this.bsChunk !== chunk || (this.bsPos >= 0 && this.bsPos < i)) {
        this.bsChunk = chunk;
        this.bsPos = chunk.indexOf(BACKSLASH, i);
      }
      const bs = this.bsPos;
      if (bs >= 0 && bs < end) {
        // skip the escaped byte; it may lie in the next chunk
        if (bs + 1 >= len) {
          this.escaped = true;
          i = len;
          break;
        }
        i = bs + 2;
        continue;
      }
      if (q < 0) {
        i = len;
        break;
      }
      this.inString = false;
      i = q + 1;
      break;
    }
    if (this.keyParts) {
      const stop = this.inString ? i : i - 1;
      if (stop > keyStart) this.keyParts.push(chunk.subarray(keyStart, stop));
      if (!this.inString) {
        this.currentKey = keyText(Buffer.concat(this.keyParts));
        this.keyParts = null;
        this.state = enum_.TopColon;
      }
    }
    if (!this.inString && this.state === enum_.TopSkip && !this.skipIsContainer) {
      // a top-level string value just ended
      this.state = enum_.TopAfterValue;
    }
    if (!this.inString && this.state === enum_.Element && this.depth === 0) {
      // a string element of the Records array: not a record
      this.stats.invalidRecords++;
      this.state = enum_.ArrayAfterValue;
      this.resetCarry();
    }
    return i;
  }

  private carryPart(part: Buffer): void {
    // Bytes are still counted once over the cap, so the report gives the record's true size.
    this.carryBytes += part.length;
    if (this.elementOversized) return;
    if (this.carryBytes > this.limits.maxRecordBytes) {
      this.elementOversized = true;
      this.carry = [];
      return;
    }
    // Copy: the caller may reuse the chunk's memory.
    this.carry.push(Buffer.from(part));
  }

  private resetCarry(): void {
    this.carry = [];
    this.carryBytes = 0;
    this.elementOversized = false;
  }

  /** An element that spanned chunks, was oversized or is not an object. */
  private endElement(chunk: Buffer, start: number, end: number, isObject: boolean, out: unknown[]): void {
    const tailBytes = start >= 0 ? end - start : end;
    const total = this.carryBytes + tailBytes;
    const index = this.elements - 1;
    if (this.elementOversized || total > this.limits.maxRecordBytes) {
      this.stats.oversizedRecords.push({ index, bytes: total });
      this.resetCarry();
      return;
    }
    if (!isObject || !this.elementIsObject) {
      this.stats.invalidRecords++;
      this.resetCarry();
      return;
    }
    const tail = start >= 0 ? chunk.subarray(start, end) : chunk.subarray(0, end);
    const bytes = this.carry.length > 0 ? Buffer.concat([...this.carry, tail]) : tail;
    this.resetCarry();
    if (this.prefilter && !this.prefilter.mayMatch(bytes, 0, bytes.length)) {
      this.stats.records++;
      this.stats.filteredRecords++;
      return;
    }
    this.copyTo?.add(bytes, 0);
    parseOne(bytes, 0, bytes.length, this.stats, out);
  }

  /** Parses `count` complete records lying in chunk[start, end) in one `JSON.parse` call. */
  private parseRun(chunk: Buffer, start: number, end: number, count: number, out: unknown[]): void {
    if (this.prefilter) {
      // Only the records that may match are decoded and parsed, together.
      parseSelected(chunk, this.runStarts, this.runEnds, count, this.prefilter, this.stats, out);
      return;
    }
    this.copyTo?.add(chunk.subarray(start, end), count);
    parseRun(chunk, start, end, count, this.stats, out);
  }
}

/**
 * Of `count` records lying in bytes (record i in [starts[i], ends[i])), those the prefilter shows may match,
 * decoded and parsed together; the others counted in `filteredRecords`. The records were counted in
 * `stats.records` when found; one that does not parse moves to `invalidRecords`.
 */
function parseSelected(
  bytes: Buffer,
  starts: ArrayLike<number>,
  ends: ArrayLike<number>,
  count: number,
  prefilter: BytePrefilter,
  stats: Pick<ScanStats, 'records' | 'invalidRecords' | 'filteredRecords'>,
  out: unknown[],
): void {
  const pass = prefilter.select(bytes, starts, ends, count);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) if (pass[i]) parts.push(decode(bytes, starts[i], ends[i]));
  stats.filteredRecords += count - parts.length;
  if (parts.length === 0) return;
  let parsed: unknown[] | undefined;
  try {
    parsed = JSON.parse(`[${parts.join(',')}]`) as unknown[];
  } catch {
    parsed = undefined;
  }
  if (parsed && parsed.length === parts.length) {
    for (const r of parsed) out.push(r);
    return;
  }
  for (const text of parts) {
    try {
      out.push(JSON.parse(text));
    } catch {
      stats.records--;
      stats.invalidRecords++;
    }
  }
}

/**
 * The records of a file whose every record's place is known (shared/logfile/record-layout.ts), parsed as a
 * {@link RecordScanner} parses them, without walking the bytes between: under a prefilter only those that may
 * match, else in runs of about {@link RUN_BYTES}. Counted in `stats` as the scanner counts them.
 */
export function parseSpans(
  bytes: Buffer,
  starts: ArrayLike<number>,
  ends: ArrayLike<number>,
  prefilter: BytePrefilter | undefined,
  stats: ScanStats,
): unknown[] {
  const n = starts.length;
  const out: unknown[] = [];
  stats.records += n;
  if (n === 0) return out;
  if (prefilter) {
    parseSelected(bytes, starts, ends, n, prefilter, stats, out);
    return out;
  }
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && ends[j] - starts[i] < RUN_BYTES) j++;
    parseRun(bytes, starts[i], ends[j], j - i + 1, stats, out);
    i = j + 1;
  }
  return out;
}

/**
 * UTF-8 decoding runs at a fraction of the speed of Latin-1's, and for ASCII the two agree: CloudTrail
 * records are nearly always ASCII, so check first (a SIMD scan) and take the fast path when it holds.
 */
function decode(chunk: Buffer, start: number, end: number): string {
  return chunk.toString(isAscii(chunk.subarray(start, end)) ? 'latin1' : 'utf8', start, end);
}

/**
 * Records parsed together, at most about this many bytes (a run ends with the record that crosses it).
 * Measured on generated records: JSON.parse with its decoding costs about a third as much on runs of 64 KiB
 * as on runs of 1 MiB: the text and the records stay in the young generation and in the cache, where a MiB
 * of text is a large object of its own, in fresh memory, every time.
 */
const RUN_BYTES = 64 * 1024;

/** Where a run is copied between `[` and `]`, so that its text is made once (`[${text}]` makes it twice). */
let scratch = Buffer.allocUnsafeSlow(2 * RUN_BYTES);

/** The text of `[` + bytes[start, end) + `]`. */
function decodeArray(bytes: Buffer, start: number, end: number): string {
  const n = end - start + 2;
  if (n > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(n, 2 * scratch.length));
  scratch[0] = LBRACKET;
  bytes.copy(scratch, 1, start, end);
  scratch[n - 1] = RBRACKET;
  return decode(scratch, 0, n);
}

/**
 * Parses `count` complete records lying in bytes[start, end) in one `JSON.parse` call. They were counted in
 * `stats.records` when found; a run that does not parse is parsed record by record, and the bad ones move
 * to `invalidRecords`.
 */
function parseRun(
  bytes: Buffer,
  start: number,
  end: number,
  count: number,
  stats: Pick<ScanStats, 'records' | 'invalidRecords'>,
  out: unknown[],
): void {
  let parsed: unknown[] | undefined;
  try {
    parsed = JSON.parse(decodeArray(bytes, start, end)) as unknown[];
  } catch {
    parsed = undefined;
  }
  if (parsed && parsed.length === count) {
    for (const r of parsed) out.push(r);
    return;
  }
  // One bad record spoils the run: find it by parsing each record on its own.
  stats.records -= count;
  for (const slice of splitRecords(bytes, start, end)) {
    try {
      out.push(JSON.parse(slice));
      stats.records++;
    } catch {
      stats.invalidRecords++;
    }
  }
}

/** One record that spanned chunks, not counted yet: a record if it parses, else an invalid one. */
function parseOne(
  bytes: Buffer,
  start: number,
  end: number,
  stats: Pick<ScanStats, 'records' | 'invalidRecords'>,
  out: unknown[],
): void {
  try {
    out.push(JSON.parse(bytes.toString('utf8', start, end)));
    stats.records++;
  } catch {
    stats.invalidRecords++;
  }
}

/**
 * The records of a {@link RecordRunsWriter}'s pieces, parsed as {@link RecordScanner.push} parses them, in
 * order; what parsing finds is counted in `stats` as the scanner counts it (runs were counted when found).
 */
export function parseRecordRuns(
  runs: RecordRuns,
  stats: Pick<ScanStats, 'records' | 'invalidRecords'>,
): unknown[] {
  const bytes = Buffer.from(runs.bytes.buffer, runs.bytes.byteOffset, runs.bytes.byteLength);
  const out: unknown[] = [];
  const { spans } = runs;
  for (let i = 0; i < spans.length; i += 3) {
    const count = spans[i + 2];
    if (count > 0) parseRun(bytes, spans[i], spans[i + 1], count, stats, out);
    else parseOne(bytes, spans[i], spans[i + 1], stats, out);
  }
  return out;
}

/**
 * A top-level key as JSON.parse (or jq) reads it: `"Rec\u006frds"` is `Records`. Keys are short and escapes
 * in them rare, so the full decoder runs only when there is a backslash.
 */
function keyText(raw: Buffer): string {
  if (!raw.includes(BACKSLASH)) return raw.toString('utf8');
  try {
    return JSON.parse(`"${raw.toString('utf8')}"`) as string;
  } catch {
    // Not a valid JSON string: the document is malformed, which JSON.parse of a record run would not see
    // here; such a key matches nothing.
    return raw.toString('utf8');
  }
}

/** Splits a run of `{...},{...}` into the text of each record (the slow path, for runs that failed). */
function splitRecords(chunk: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  let depth = 0;
  let inString = false;
  let recStart = -1;
  for (let i = start; i < end; i++) {
    const b = chunk[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === LBRACE || b === LBRACKET) {
      if (depth === 0) recStart = i;
      depth++;
    } else if (b === RBRACE || b === RBRACKET) {
      depth--;
      if (depth === 0) out.push(chunk.toString('utf8', recStart, i + 1));
    }
  }
  return out;
}

function printable(b: number): string {
  return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
}

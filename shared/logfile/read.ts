/**
 * Streams a log file's records: gunzip (1 MiB chunks) into the {@link RecordScanner}. Memory stays bounded
 * by a chunk, a run of parsed records and the largest record, whatever the file's size. With `compression:
 * 'auto'` a file that is plain JSON is read as it is, so `.json` and `.json.gz` files go the same way.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { BytePrefilter } from '#shared/logfile/prefilter.ts';
import { type IndexLayout, layoutSpans, type RecordLayoutBuilder } from '#shared/logfile/record-layout.ts';
import {
  DEFAULT_LIMITS,
  LogFormatError,
  parseSpans,
  type RecordRunsWriter,
  RecordScanner,
  type ScanLimits,
  type ScanStats,
} from '#shared/logfile/scanner.ts';
import type { CloudTrailRecord } from '#shared/record.ts';

export {
  LogFileError,
  LogFormatError,
  LogLimitError,
  parseRecordRuns,
  type RecordRuns,
  RecordRunsWriter,
  type ScanLimits,
  type ScanStats,
} from '#shared/logfile/scanner.ts';

export interface ReadOptions {
  /** `gzip` requires gzip bytes; `auto` looks at the magic bytes. */
  compression?: 'gzip' | 'none' | 'auto';
  limits?: Partial<ScanLimits>;
  /** Compressed size when known: small files get small buffers (fresh 1 MiB buffers per file cost page faults and GC). */
  sizeHint?: number;
  /** Fed every uncompressed byte, in order: the SHA-256 a digest lists for the file, computed in the same pass. */
  hash?: { update(bytes: Uint8Array): unknown };
  /** Records it shows cannot match are skipped unparsed (counted in `filteredRecords`). */
  prefilter?: BytePrefilter;
  /** Also copies every record's bytes here, for another thread to parse (not with a prefilter). */
  copyTo?: RecordRunsWriter;
  /** Notes where each record lies here, for the file's index. */
  recordLayout?: RecordLayoutBuilder;
  /**
   * Where the records lie, from the file's index: a file held whole whose bytes fit it is read without
   * walking them (shared/logfile/record-layout.ts); one whose bytes do not is walked as any other.
   */
  layout?: IndexLayout;
}

const CHUNK = 1 << 20;

/**
 * A file held whole and at most this big (compressed) is gunzipped in one call: for the tens of kilobytes
 * CloudTrail writes, setting up a stream costs more than the inflating.
 */
const WHOLE_MAX_BYTES = 4 << 20;
/** ... into at most this much memory; a file that inflates to more is streamed instead. */
const WHOLE_MAX_OUTPUT = 64 << 20;
/** Pieces a whole file is handed to the scanner in, so that no one parse builds the whole file's records. */
const WHOLE_PIECE = 4 << 20;

async function* prepend(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield first;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

/** Whether the first byte that is not JSON white space opens a JSON object or array. */
function startsLikeJson(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b || b === 0x5b;
  }
  // White space only so far: the scanner judges the rest.
  return true;
}

function isZlibError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** Throws {@link LogFormatError} when the first bytes are not what `compression` asks for. */
function checkHead(head: Uint8Array, compression: ReadOptions['compression']): boolean {
  const gzip = head[0] === 0x1f && head[1] === 0x8b;
  if (compression === 'gzip' && !gzip) {
    const found = Buffer.from(head.subarray(0, 2)).toString('hex');
    throw new LogFormatError(`not gzip data: expected the bytes 1f8b, found ${found}`);
  }
  if (compression === 'auto' && !gzip && !startsLikeJson(head)) {
    // Said here rather than by the scanner: "expected '{'" would hide that the file was taken for plain JSON.
    const found = Buffer.from(head.subarray(0, 4)).toString('hex');
    throw new LogFormatError(
      `neither gzip nor JSON: expected the gzip bytes 1f8b or a JSON document, found the bytes ${found}`,
    );
  }
  return gzip;
}

function gzipError(err: unknown): unknown {
  if (!isZlibError(err)) return err;
  const what =
    (err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR' ? 'truncated gzip stream' : 'corrupt gzip stream';
  return new LogFormatError(`${what}: ${(err as Error).message}`, { cause: err });
}

/**
 * The uncompressed bytes of a file held whole, in one call, or undefined when it is too big for that (then
 * streamed). Same checks and errors as the stream.
 */
function inflateWhole(bytes: Uint8Array, compression: ReadOptions['compression']): Buffer | undefined {
  const gzip = checkHead(bytes, compression);
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!gzip || compression === 'none') return view;
  if (bytes.byteLength > WHOLE_MAX_BYTES) return undefined;
  try {
    // One output buffer of the size the gzip trailer states (ISIZE, the size mod 2^32): a writer may state
    // anything there, so it only sizes the first buffer, within bounds; more than one are joined by a copy.
    const stated = bytes.byteLength >= 18 ? view.readUInt32LE(view.length - 4) : 0;
    const chunkSize = Math.min(WHOLE_MAX_OUTPUT, Math.max(1024, stated + 64));
    return gunzipSync(view, { maxOutputLength: WHOLE_MAX_OUTPUT, chunkSize });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw gzipError(err);
  }
}

async function* single(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * The uncompressed bytes of a body, gunzipped when it is gzip. A body held whole (a Uint8Array) is inflated in
 * one call when small enough.
 */
export async function* uncompressed(
  body: AsyncIterable<Uint8Array> | Uint8Array,
  compression: ReadOptions['compression'] = 'auto',
  sizeHint?: number,
): AsyncGenerator<Buffer> {
  if (body instanceof Uint8Array) {
    if (body.byteLength === 0) return;
    const whole = inflateWhole(body, compression);
    if (whole) {
      for (let at = 0; at < whole.length; at += WHOLE_PIECE)
        yield whole.subarray(at, Math.min(whole.length, at + WHOLE_PIECE));
      return;
    }
    yield* uncompressed(single(body), compression, sizeHint ?? body.byteLength);
    return;
  }
  const it = body[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length === 0) first = await it.next();
  if (first.done) return;
  const head = first.value;
  const gzip = checkHead(head, compression);
  const source = Readable.from(prepend(head, it), { objectMode: false });
  if (!gzip || compression === 'none') {
    for await (const c of source) yield c as Buffer;
    return;
  }
  // CloudTrail compresses about 8-10x; a buffer of ~16x the compressed size holds most files in one chunk.
  const chunkSize =
    sizeHint && sizeHint > 0
      ? Math.min(CHUNK, Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(sizeHint * 16))))
      : CHUNK;
  const gunzip = createGunzip({ chunkSize });
  const piping = pipeline(source, gunzip).catch(() => undefined);
  try {
    for await (const c of gunzip) yield c as Buffer;
  } catch (err) {
    throw gzipError(err);
  } finally {
    source.destroy();
    gunzip.destroy();
    await piping;
  }
}

/**
 * Yields the records of a CloudTrail log file in batches (one batch per decompressed chunk), from a stream or
 * from the file's bytes held whole. Returns the
 * scan statistics. Throws {@link LogFormatError} / {@link LogLimitError} for a file that cannot be used;
 * other errors (the source failing) pass through unchanged, as they may succeed on retry.
 */
export async function* readLogRecords(
  body: AsyncIterable<Uint8Array> | Uint8Array,
  options: ReadOptions = {},
): AsyncGenerator<CloudTrailRecord[], ScanStats> {
  let source: AsyncIterable<Uint8Array> | Uint8Array | Buffer[] = body;
  if (options.layout && body instanceof Uint8Array && body.byteLength > 0) {
    const whole = inflateWhole(body, options.compression);
    if (whole) {
      const laidOut = readLaidOut(whole, options.layout, options);
      if (laidOut) {
        if (laidOut.records.length > 0) yield laidOut.records as CloudTrailRecord[];
        return laidOut.stats;
      }
      // Bytes the layout does not describe: walked, without inflating them again.
      source = [];
      for (let at = 0; at < whole.length; at += WHOLE_PIECE)
        source.push(whole.subarray(at, Math.min(whole.length, at + WHOLE_PIECE)));
    }
  }
  const scanner = new RecordScanner(options.limits, options.prefilter, options.copyTo, options.recordLayout);
  const chunks = Array.isArray(source) ? source : uncompressed(source, options.compression, options.sizeHint);
  for await (const chunk of chunks) {
    options.hash?.update(chunk);
    const batch = scanner.push(chunk);
    if (batch.length > 0) yield batch as CloudTrailRecord[];
  }
  scanner.end();
  return scanner.stats;
}

/**
 * A whole file's records found by its layout, or undefined when the bytes do not fit it, or a limit would
 * stop the scanner (which then says so, as for any file).
 */
function readLaidOut(
  whole: Buffer,
  layout: IndexLayout,
  options: ReadOptions,
): { records: unknown[]; stats: ScanStats } | undefined {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  if (whole.length > limits.maxFileBytes) return undefined;
  const spans = layoutSpans(whole, layout);
  if (!spans) return undefined;
  const { starts, ends } = spans;
  for (let i = 0; i < starts.length; i++) if (ends[i] - starts[i] > limits.maxRecordBytes) return undefined;
  options.hash?.update(whole);
  const stats: ScanStats = {
    bytes: whole.length,
    records: 0,
    filteredRecords: 0,
    invalidRecords: 0,
    oversizedRecords: [],
    laidOut: true,
  };
  return { records: parseSpans(whole, starts, ends, options.prefilter, stats), stats };
}

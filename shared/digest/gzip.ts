/**
 * Decompresses exactly one gzip member, streaming, and says whether anything follows it.
 *
 * Node's gunzip silently decodes every concatenated member (and skips trailing zero bytes), so a log file
 * with a second member appended would just hash differently, or, for a checker that stops at the first
 * member like the AWS CLI's Python one, not at all. Here the gzip header is parsed by hand, the deflate
 * stream is inflated raw, and the bytes left over when it ends are the trailer (CRC-32, ISIZE) and must
 * be nothing more.
 */
import { crc32, createInflateRaw, type InflateRaw } from 'node:zlib';

export type GzipProblem = 'invalid-format' | 'trailing-data' | 'too-large';

export type GzipResult =
  | { ok: true; uncompressedBytes: number; compressedBytes: number }
  | { ok: false; problem: GzipProblem; message: string };

export interface InflateOptions {
  /** Stop with `too-large` once more than this many uncompressed bytes came out. */
  maxOutputBytes?: number;
  /** Size of the inflater's output buffers (see chunkSizeFor). Default 16 KiB. */
  chunkSize?: number;
}

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;
const RESERVED_FLAGS = 0xe0;
const TRAILER_BYTES = 8;
/** A header longer than this (file name, comment, extra field) is not something CloudTrail writes. */
const MAX_HEADER_BYTES = 1 << 20;

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Inflater output buffer size for an object of this compressed size: about what it inflates to (CloudTrail
 * JSON compresses 8-10x), so that a small file takes one or two round trips through the zlib thread pool
 * rather than one per 16 KiB (measured: 3x faster on a trail of 8 KB files), and big files use 256 KiB.
 */
export function chunkSizeFor(compressedBytes: number): number {
  const want = 2 ** Math.ceil(Math.log2(Math.max(1, compressedBytes) * 8));
  return Math.min(256 * 1024, Math.max(16 * 1024, want));
}

/** Length of the complete gzip header at the start of `buf`, 0 when more bytes are needed, or what is wrong. */
export function gzipHeaderLength(buf: Buffer): number | string {
  if (buf.length >= 1 && buf[0] !== 0x1f)
    return `expected gzip magic 1f8b, found ${buf.subarray(0, 2).toString('hex')}`;
  if (buf.length >= 2 && buf[1] !== 0x8b)
    return `expected gzip magic 1f8b, found ${buf.subarray(0, 2).toString('hex')}`;
  if (buf.length >= 3 && buf[2] !== 8) return `expected gzip compression method 8 (deflate), found ${buf[2]}`;
  if (buf.length < 10) return 0;
  const flags = buf[3];
  if (flags & RESERVED_FLAGS) return `expected no reserved gzip header flags, found 0x${flags.toString(16)}`;
  let at = 10;
  if (flags & FEXTRA) {
    if (buf.length < at + 2) return 0;
    at += 2 + buf.readUInt16LE(at);
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (flags & flag) {
      const zero = buf.indexOf(0, at);
      if (zero < 0) return 0;
      at = zero + 1;
    }
  }
  if (flags & FHCRC) {
    if (buf.length < at + 2) return 0;
    const expected = crc32(buf.subarray(0, at)) & 0xffff;
    if (buf.readUInt16LE(at) !== expected) return 'gzip header checksum does not match';
    at += 2;
  }
  return buf.length >= at ? at : 0;
}

/** Writes one chunk and waits until the inflater has processed it (or failed, or was stopped). */
function writeChunk(z: InflateRaw, buf: Buffer): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const done = (err?: Error | null) => {
      z.off('error', done);
      z.off('close', onClose);
      resolve(err ?? undefined);
    };
    const onClose = () => done();
    z.once('error', done);
    z.once('close', onClose);
    z.write(buf, done);
  });
}

function endStream(z: InflateRaw): Promise<Error | undefined> {
  return new Promise((resolve) => {
    if (z.readableEnded) {
      resolve(undefined);
      return;
    }
    const done = (err?: Error) => {
      z.off('error', done);
      z.off('end', onEnd);
      z.off('close', onEnd);
      resolve(err);
    };
    const onEnd = () => done();
    z.once('error', done);
    z.once('end', onEnd);
    z.once('close', onEnd);
    if (!z.writableEnded) z.end();
  });
}

const invalid = (message: string): GzipResult => ({ ok: false, problem: 'invalid-format', message });

/**
 * Feeds the uncompressed bytes of the first gzip member of `source` to `onData`, in order. `onData` must not
 * throw. Reading stops early at the first sign of a bad file, so a caller hashing a large object pays only
 * for what it needed to read.
 */
export async function inflateFirstMember(
  source: AsyncIterable<Uint8Array>,
  onData: (chunk: Buffer) => void,
  options: InflateOptions = {},
): Promise<GzipResult> {
  const max = options.maxOutputBytes ?? Number.POSITIVE_INFINITY;
  let header: Buffer | undefined = Buffer.alloc(0);
  let inflater: InflateRaw | undefined;
  let failure: Error | undefined;
  let tooLarge = false;
  let deflateEnded = false;
  const trailer: Buffer[] = [];
  let trailerBytes = 0;
  let compressed = 0;
  let crc = 0;
  let size = 0;
  try {
    for await (const chunk of source) {
      let buf = toBuffer(chunk);
      compressed += buf.length;
      if (header) {
        header = header.length > 0 ? Buffer.concat([header, buf]) : buf;
        const n = gzipHeaderLength(header);
        if (typeof n === 'string') return invalid(n);
        if (n === 0) {
          if (header.length > MAX_HEADER_BYTES) return invalid('gzip header longer than 1 MiB');
          continue;
        }
        buf = header.subarray(n);
        header = undefined;
        const z = createInflateRaw({ chunkSize: options.chunkSize ?? 16 * 1024 });
        z.on('error', (err) => {
          failure ??= err;
        });
        z.on('data', (out: Buffer) => {
          if (tooLarge) return;
          size += out.length;
          if (size > max) {
            tooLarge = true;
            z.destroy();
            return;
          }
          crc = crc32(out, crc);
          onData(out);
        });
        inflater = z;
      }
      if (!deflateEnded) {
        if (buf.length === 0) continue;
        const before = inflater!.bytesWritten;
        const err = await writeChunk(inflater!, buf);
        if (tooLarge)
          return { ok: false, problem: 'too-large', message: `more than ${max} bytes uncompressed` };
        if (err || failure) return invalid(`deflate stream: ${(failure ?? err)!.message}`);
        // bytesWritten counts the input the inflater consumed: less than given means the stream ended inside.
        const consumed = inflater!.bytesWritten - before;
        if (consumed >= buf.length) continue;
        deflateEnded = true;
        buf = buf.subarray(consumed);
      }
      trailer.push(buf);
      trailerBytes += buf.length;
      if (trailerBytes > TRAILER_BYTES) {
        return {
          ok: false,
          problem: 'trailing-data',
          message: 'unexpected data after end of compressed stream',
        };
      }
    }
    if (header) return invalid(header.length === 0 ? 'empty object' : 'truncated gzip header');
    const err = await endStream(inflater!);
    if (tooLarge) return { ok: false, problem: 'too-large', message: `more than ${max} bytes uncompressed` };
    if (err || failure) return invalid(`deflate stream: ${(failure ?? err)!.message}`);
    if (trailerBytes < TRAILER_BYTES) return invalid(`truncated gzip trailer (${trailerBytes} of 8 bytes)`);
    const t = Buffer.concat(trailer);
    if (t.readUInt32LE(0) !== crc >>> 0) return invalid('gzip CRC-32 does not match the uncompressed bytes');
    if (t.readUInt32LE(4) !== size % 2 ** 32)
      return invalid('gzip ISIZE does not match the uncompressed length');
    return { ok: true, uncompressedBytes: size, compressedBytes: compressed };
  } finally {
    inflater?.destroy();
  }
}

/** The first gzip member of a small object (a digest), in memory. */
export async function gunzipFirstMember(
  source: AsyncIterable<Uint8Array>,
  options: InflateOptions = {},
): Promise<{ result: GzipResult; bytes: Buffer }> {
  const parts: Buffer[] = [];
  const result = await inflateFirstMember(source, (d) => parts.push(d), options);
  return { result, bytes: Buffer.concat(parts) };
}

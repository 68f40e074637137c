import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzipFirstMember, gzipHeaderLength, inflateFirstMember } from '#shared/digest/gzip.ts';

/** The bytes as a stream cut into pieces of `size` (1 byte at a time finds every boundary case). */
async function* pieces(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const text = Buffer.from(`{"Records":[${'{"eventName":"GetObject"},'.repeat(2000)}{}]}`);
const member = gzipSync(text);

describe('inflateFirstMember', () => {
  it.each([1, 7, 64, 4096, 1 << 20])(
    'gives back exactly the uncompressed bytes, %i-byte chunks',
    async (size) => {
      // Prepare
      const source = pieces(member, size);

      // Act
      const { result, bytes } = await gunzipFirstMember(source);

      // Assess
      expect(result).toEqual({ ok: true, uncompressedBytes: text.length, compressedBytes: member.length });
      expect(bytes.equals(text)).toBe(true);
    },
  );

  it.each([1, 3, 8, 9, 512, 1 << 20])(
    'rejects a second gzip member appended, %i-byte chunks',
    async (size) => {
      // Prepare
      const appended = Buffer.concat([member, gzipSync(Buffer.from('{"Records":[{"eventName":"Forged"}]}'))]);

      // Act
      const { result } = await gunzipFirstMember(pieces(appended, size));

      // Assess
      expect(result).toEqual({
        ok: false,
        problem: 'trailing-data',
        message: 'unexpected data after end of compressed stream',
      });
    },
  );

  it('rejects trailing zero bytes that Node gunzip would skip', async () => {
    // Prepare
    const padded = Buffer.concat([member, Buffer.alloc(16)]);

    // Act
    const { result } = await gunzipFirstMember(pieces(padded, 1000));

    // Assess
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toBe('trailing-data');
  });

  it('rejects a stream whose deflate data ends exactly at a chunk boundary and is followed by more', async () => {
    // Prepare: cut right after the deflate stream (length minus the 8-byte trailer), then send extra bytes.
    const extra = Buffer.concat([member, Buffer.from('X')]);
    async function* cut(): AsyncIterable<Uint8Array> {
      yield extra.subarray(0, member.length - 8);
      yield extra.subarray(member.length - 8);
    }

    // Act
    const { result } = await gunzipFirstMember(cut());

    // Assess
    expect(!result.ok && result.problem).toBe('trailing-data');
  });

  it.each([
    ['not gzip', Buffer.from('{"Records":[]}')],
    ['empty', Buffer.alloc(0)],
    ['a truncated header', member.subarray(0, 5)],
    ['a truncated deflate stream', member.subarray(0, member.length - 20)],
    ['a missing trailer', member.subarray(0, member.length - 8)],
    ['a short trailer', member.subarray(0, member.length - 3)],
    [
      'a wrong CRC',
      Buffer.concat([member.subarray(0, member.length - 8), Buffer.from([1, 2, 3, 4]), member.subarray(-4)]),
    ],
    ['a wrong ISIZE', Buffer.concat([member.subarray(0, member.length - 4), Buffer.from([9, 9, 9, 9])])],
    ['corrupt deflate data', Buffer.concat([member.subarray(0, 10), randomBytes(200)])],
    ['another compression method', Buffer.concat([Buffer.from([0x1f, 0x8b, 7]), member.subarray(3)])],
  ])('calls %s invalid format', async (_what, bytes) => {
    // Act
    const { result } = await gunzipFirstMember(pieces(bytes, 64));

    // Assess
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problem).toBe('invalid-format');
  });

  it('reads headers with a file name, comment, extra field and header CRC', async () => {
    // Prepare: FEXTRA | FNAME | FCOMMENT | FHCRC, built by hand (zlib never writes them).
    const { crc32 } = await import('node:zlib');
    const head = Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 0x04 | 0x08 | 0x10 | 0x02, 0, 0, 0, 0, 0, 3]),
      Buffer.from([4, 0, 1, 2, 3, 4]),
      Buffer.from('name.json\0comment\0'),
    ]);
    const withCrc = Buffer.concat([head, Buffer.alloc(2)]);
    withCrc.writeUInt16LE(crc32(head) & 0xffff, head.length);
    const file = Buffer.concat([withCrc, member.subarray(10)]);

    // Act
    const { result, bytes } = await gunzipFirstMember(pieces(file, 3));

    // Assess
    expect(gzipHeaderLength(file)).toBe(withCrc.length);
    expect(result.ok).toBe(true);
    expect(bytes.equals(text)).toBe(true);
  });

  it('stops a decompression bomb at the size limit', async () => {
    // Prepare
    const bomb = gzipSync(Buffer.alloc(20 << 20));

    // Act
    const { result } = await gunzipFirstMember(pieces(bomb, 4096), { maxOutputBytes: 1 << 20 });

    // Assess
    expect(!result.ok && result.problem).toBe('too-large');
  });

  it('streams: the callback sees every byte in order without the caller holding the file', async () => {
    // Prepare
    const big = randomBytes(3 << 20);
    const gz = gzipSync(big);
    let seen = 0;
    let mismatch = false;

    // Act
    const result = await inflateFirstMember(pieces(gz, 65536), (chunk) => {
      if (!chunk.equals(big.subarray(seen, seen + chunk.length))) mismatch = true;
      seen += chunk.length;
    });

    // Assess
    expect(result.ok).toBe(true);
    expect(seen).toBe(big.length);
    expect(mismatch).toBe(false);
  });
});

import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FsObjectStore, MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { stringToSign } from '#shared/digest/digest-format.ts';
import { DigestError } from '#shared/digest/errors.ts';
import { KeyRing, parsePublicKeyList, publicKeysFromStore } from '#shared/digest/public-keys.ts';
import { checkChainLink, checkDigest, fetchDigest, verifyDigest } from '#shared/digest/verify-digest.ts';
import { StoreError } from '#shared/ports.ts';
import {
  BUCKET,
  digestKeyAt,
  HOUR_MS,
  type KeyEntry,
  keySource,
  putDigest,
  putLog,
  REGION,
  testKey,
} from '#test/fixtures/digest/build.ts';

const END = new Date('2026-04-01T10:17:33Z');

async function verdictOf(store: MemoryObjectStore, key: string, entries: KeyEntry[] = [{ key: testKey(0) }]) {
  const fetched = await fetchDigest(store, BUCKET, key);
  return checkDigest(fetched, new KeyRing(keySource(entries)));
}

describe('stringToSign', () => {
  it('writes a missing previous signature as the four characters null, LF-separated, no final newline', () => {
    // Act
    const s = stringToSign({
      digestEndTime: '2026-04-01T10:17:33Z',
      digestS3Bucket: 'b',
      digestS3Object: 'AWSLogs/k.json.gz',
      digestSha256Hex: 'ab'.repeat(32),
      previousDigestSignature: null,
    });

    // Assess
    expect(s).toBe(`2026-04-01T10:17:33Z\nb/AWSLogs/k.json.gz\n${'ab'.repeat(32)}\nnull`);
  });

  it('lets a first digest (previous signature null) verify', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const d = await putDigest(store, { end: END, previous: null });

    // Act
    const { verdict } = await verdictOf(store, d.key);

    // Assess
    expect(d.digest.previousDigestSignature).toBeNull();
    expect(verdict).toMatchObject({ status: 'valid', code: 'valid', reason: null });
  });
});

describe('a mini bucket signed with openssl, independently of this code', () => {
  const root = fileURLToPath(new URL('../fixtures/digest/openssl/', import.meta.url));
  const d1 =
    'AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2026/05/10/123456789012_CloudTrail-Digest_eu-west-1_audit_eu-west-1_20260510T012345Z.json.gz';
  const d2 = d1.replace('T012345Z', 'T022345Z');

  it('verifies both digests, the chain link and the log file', async () => {
    // Prepare
    const store = new FsObjectStore(root);
    const keys = await publicKeysFromStore(store, 'public-keys.json');

    // Act
    const newer = await verifyDigest(store, d2, keys, { bucket: 'fixture-trail-bucket' });
    const older = await verifyDigest(store, d1, keys, { bucket: 'fixture-trail-bucket' });

    // Assess
    expect(newer.digest.status).toBe('valid');
    expect(newer.previous).toMatchObject({ key: d1, status: 'valid' });
    expect(older.digest.status).toBe('valid');
    expect(older.previous).toBeUndefined();
    expect(older.logs).toHaveLength(1);
    expect(older.logs[0]).toMatchObject({ type: 'log', status: 'valid' });
  });

  it('says moved when the bucket name differs from the one the digest records', async () => {
    // Act
    const r = await verifyDigest(
      new FsObjectStore(root),
      d2,
      await publicKeysFromStore(new FsObjectStore(root), 'public-keys.json'),
      {
        bucket: 'another-bucket',
      },
    );

    // Assess
    expect(r.digest).toMatchObject({
      status: 'invalid',
      code: 'moved',
      reason: 'has been moved from its original location',
    });
  });
});

describe('public keys', () => {
  it.each(['pkcs1', 'spki'] as const)('accepts a %s DER key', async (encoding) => {
    // Prepare
    const store = new MemoryObjectStore();
    const d = await putDigest(store, { end: END });

    // Act
    const { verdict } = await verdictOf(store, d.key, [{ key: testKey(0), encoding }]);

    // Assess
    expect(verdict.status).toBe('valid');
  });

  it('rejects a key listed under a fingerprint that is not its own', async () => {
    // Prepare: the list pairs key 0's fingerprint with key 1's bytes
    const store = new MemoryObjectStore();
    const d = await putDigest(store, { end: END });

    // Act
    const { verdict } = await verdictOf(store, d.key, [
      { key: testKey(1), fingerprint: testKey(0).fingerprint },
    ]);

    // Assess
    expect(verdict).toMatchObject({
      status: 'invalid',
      code: 'key-fingerprint-mismatch',
      reason: `public key listed with fingerprint ${testKey(0).fingerprint} has another fingerprint`,
    });
  });

  it('fails the signature when the digest names a published key that did not sign it', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const d = await putDigest(store, {
      end: END,
      edit: (j) => (j.digestPublicKeyFingerprint = testKey(1).fingerprint),
    });

    // Act
    const { verdict } = await verdictOf(store, d.key, [{ key: testKey(0) }, { key: testKey(1) }]);

    // Assess
    expect(verdict).toMatchObject({
      status: 'invalid',
      code: 'signature-failed',
      reason: 'signature verification failed',
    });
  });

  it.each([
    ['expired before the digest ended', '2026-01-01T00:00:00Z', '2026-04-01T10:17:32Z'],
    ['not yet valid when the digest ended', '2026-04-01T10:17:34Z', '2026-05-01T00:00:00Z'],
  ])('rejects a key %s', async (_what, from, to) => {
    // Prepare
    const store = new MemoryObjectStore();
    const d = await putDigest(store, { end: END });

    // Act
    const { verdict } = await verdictOf(store, d.key, [{ key: testKey(0), from, to }]);

    // Assess
    expect(verdict).toMatchObject({
      status: 'invalid',
      code: 'key-not-valid',
      reason: `public key with fingerprint ${testKey(0).fingerprint} not valid at 2026-04-01T10:17:33Z (valid from ${from} to ${to})`,
    });
  });

  it('accepts a key whose window includes the end time exactly', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const d = await putDigest(store, { end: END });

    // Act
    const { verdict } = await verdictOf(store, d.key, [
      { key: testKey(0), from: '2026-03-01T00:00:00Z', to: '2026-04-01T10:17:33Z' },
    ]);

    // Assess
    expect(verdict.status).toBe('valid');
  });

  it('says which key cannot be loaded, in the AWS CLI words', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const garbage = Buffer.from('not a DER key at all');
    const fp = createHash('md5').update(garbage).digest('hex');
    const d = await putDigest(store, { end: END, edit: (j) => (j.digestPublicKeyFingerprint = fp) });
    const source = {
      publicKeys: async () => [
        {
          fingerprint: fp,
          value: garbage,
          validityStart: new Date('2026-01-01'),
          validityEnd: new Date('2027-01-01'),
        },
      ],
    };

    // Act
    const verdict = (await checkDigest(await fetchDigest(store, BUCKET, d.key), new KeyRing(source))).verdict;

    // Assess
    expect(verdict).toMatchObject({
      code: 'key-unloadable',
      reason: `Unable to load PKCS #1 key with fingerprint ${fp}`,
    });
  });

  it('parses a ListPublicKeys file and refuses one of another shape', () => {
    // Prepare
    const text = JSON.stringify({
      PublicKeyList: [
        {
          Value: testKey(0).pkcs1.toString('base64'),
          ValidityStartTime: '2026-01-01T00:00:00Z',
          ValidityEndTime: '2026-02-01T00:00:00Z',
          Fingerprint: testKey(0).fingerprint,
        },
      ],
    });

    // Act
    const records = parsePublicKeyList(text);

    // Assess
    expect(records).toHaveLength(1);
    expect(Buffer.from(records[0].value).equals(testKey(0).pkcs1)).toBe(true);
    expect(records[0].validityEnd.toISOString()).toBe('2026-02-01T00:00:00.000Z');
    expect(() => parsePublicKeyList('{"Keys":[]}')).toThrow(DigestError);
    expect(() => parsePublicKeyList('nope')).toThrow(/not JSON/);
    expect(() => parsePublicKeyList('{"PublicKeyList":[{"Value":"!!","Fingerprint":"x"}]}')).toThrow(
      /base64/,
    );
  });
});

describe('bad input gives a clear verdict, never an exception', () => {
  const cases: [string, Parameters<typeof putDigest>[1] | 'missing', string, string][] = [
    ['a missing digest', 'missing', 'not-found', 'not found'],
    [
      'a digest that is not gzip',
      { end: END, compress: (gz) => gz.subarray(10) },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest that is not JSON',
      { end: END, bytes: () => Buffer.from('{"awsAccountId": "21098765') },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest that is not UTF-8',
      {
        end: END,
        bytes: (j) => Buffer.concat([Buffer.from(j.slice(0, -1)), Buffer.from([0xff]), Buffer.from('}')]),
      },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest that is a JSON array',
      { end: END, bytes: () => Buffer.from('[1,2]') },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest without digestEndTime',
      { end: END, edit: (j) => delete j.digestEndTime },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest without oldestEventTime',
      { end: END, edit: (j) => delete j.oldestEventTime },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest whose logFiles is not an array',
      { end: END, edit: (j) => (j.logFiles = {}) },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest whose log hash is a number',
      {
        end: END,
        edit: (j) =>
          (j.logFiles = [
            {
              s3Bucket: 'b',
              s3Object: 'k',
              hashValue: 5,
              hashAlgorithm: 'SHA-256',
              newestEventTime: 'x',
              oldestEventTime: 'x',
            },
          ]),
      },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest whose end time is not a time',
      { end: END, edit: (j) => (j.digestEndTime = 'yesterday') },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest with half its previous* fields null',
      { end: END, edit: (j) => (j.previousDigestS3Object = 'AWSLogs/x.json.gz') },
      'invalid-format',
      'invalid format',
    ],
    [
      'a digest without signature metadata',
      { end: END, metadata: () => ({}) },
      'signature-failed',
      'signature verification failed',
    ],
    [
      'a digest whose signature is not hex',
      { end: END, metadata: () => ({ signature: 'zz'.repeat(256), 'signature-algorithm': 'SHA256withRSA' }) },
      'signature-failed',
      'signature verification failed',
    ],
    [
      'a digest whose signature is too short',
      { end: END, metadata: (s) => ({ signature: s.slice(0, 100), 'signature-algorithm': 'SHA256withRSA' }) },
      'signature-failed',
      'signature verification failed',
    ],
    [
      'a digest with another signature algorithm',
      { end: END, metadata: (s) => ({ signature: s, 'signature-algorithm': 'SHA1withRSA' }) },
      'signature-failed',
      'signature verification failed',
    ],
    [
      'a digest with an unknown fingerprint',
      { end: END, edit: (j) => (j.digestPublicKeyFingerprint = '0123456789abcdef0123456789abcdef') },
      'key-not-found',
      `public key not found in region ${REGION} for fingerprint 0123456789abcdef0123456789abcdef`,
    ],
    [
      'a digest stored under another key',
      { end: END, storeAt: digestKeyAt(new Date(END.getTime() + HOUR_MS)) },
      'moved',
      'has been moved from its original location',
    ],
    [
      'a digest with a gzip member appended',
      { end: END, compress: (gz) => Buffer.concat([gz, gzipSync('{}')]) },
      'trailing-data',
      'unexpected data after end of compressed stream',
    ],
  ];

  it.each(cases)('%s', async (_what, spec, code, reason) => {
    // Prepare
    const store = new MemoryObjectStore();
    const key = spec === 'missing' ? digestKeyAt(END) : ((s) => s.storeAt ?? digestKeyAt(END))(spec);
    if (spec !== 'missing') await putDigest(store, spec);

    // Act
    const { verdict } = await verdictOf(store, key);

    // Assess
    expect(verdict).toMatchObject({ type: 'digest', bucket: BUCKET, key, status: 'invalid', code, reason });
  });

  it('explains an invalid format in the detail', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await putDigest(store, { end: END, edit: (j) => (j.digestS3Bucket = 42) });

    // Act
    const { verdict } = await verdictOf(store, digestKeyAt(END));

    // Assess
    expect(verdict.detail).toBe('expected digestS3Bucket to be a string, found number');
  });

  it('throws DigestError when the store itself fails', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    store.get = async (key) => {
      throw new StoreError('connection reset', key);
    };

    // Act
    const attempt = fetchDigest(store, BUCKET, digestKeyAt(END));

    // Assess
    await expect(attempt).rejects.toThrow(DigestError);
    await expect(attempt).rejects.toThrow(/connection reset/);
  });
});

describe('backfill digests', () => {
  it('are verified with the key valid when they were generated', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const d = await putDigest(store, { end: END, backfill: true });

    // Act
    const { verdict } = await verdictOf(store, d.key);

    // Assess
    expect(d.key.endsWith('_backfill.json.gz')).toBe(true);
    expect(verdict).toMatchObject({ status: 'valid', backfill: true });
  });

  it('are invalid without their generation timestamp', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const d = await putDigest(store, {
      end: END,
      backfill: true,
      metadata: (signature) => ({ signature, 'signature-algorithm': 'SHA256withRSA' }),
    });

    // Act
    const { verdict } = await verdictOf(store, d.key);

    // Assess
    expect(verdict).toMatchObject({ status: 'invalid', code: 'invalid-format', backfill: true });
  });
});

describe('checkChainLink', () => {
  it('finds a previous digest that is not the one its successor recorded', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const first = await putDigest(store, { end: END });
    const second = await putDigest(store, { end: new Date(END.getTime() + HOUR_MS), previous: first });
    const original = await fetchDigest(store, BUCKET, first.key);
    // Rewritten (and validly re-signed by a key holder) after the successor was signed.
    await putDigest(store, { end: END, edit: (j) => (j.newestEventTime = '2026-04-01T10:00:00Z') });
    const rewritten = await fetchDigest(store, BUCKET, first.key);
    await store.put(first.key, gzipSync(first.bytes), {
      metadata: { signature: 'ab'.repeat(256), 'signature-algorithm': 'SHA256withRSA' },
    });
    const resigned = await fetchDigest(store, BUCKET, first.key);
    await store.delete(first.key);
    const gone = await fetchDigest(store, BUCKET, first.key);

    // Act
    const verdicts = [original, rewritten, resigned, gone].map((p) => checkChainLink(second.digest, p));

    // Assess
    expect(verdicts.map((v) => v.code)).toEqual([
      'valid',
      'chain-hash-mismatch',
      'chain-signature-mismatch',
      'not-found',
    ]);
    expect(verdicts[1].reason).toBe("hash value doesn't match the next digest's previousDigestHashValue");
    expect(verdicts[2].reason).toBe("signature doesn't match the next digest's previousDigestSignature");
    expect(verdicts.every((v) => v.key === first.key)).toBe(true);
  });
});

describe('verifyDigest (one delivered digest)', () => {
  it('checks the digest, its predecessor and each log file, in the digest order', async () => {
    // Prepare
    const store = new MemoryObjectStore('unit-trail-bucket');
    const at = new Date(END.getTime() - 30 * 60_000);
    const good = await putLog(store, at, 'GoodGoodGoodGood');
    const changed = await putLog(store, at, 'ChangedChangedCh');
    const appended = await putLog(store, at, 'AppendedAppended', {
      compress: (gz) => Buffer.concat([gz, gzipSync('x')]),
    });
    const broken = await putLog(store, at, 'BrokenBrokenBrok', { compress: (gz) => gz.subarray(0, 12) });
    const missing = { ...good, s3Object: good.s3Object.replace('GoodGoodGoodGood', 'MissingMissingMi') };
    const elsewhere = { ...good, s3Bucket: 'some-other-bucket' };
    const first = await putDigest(store, { end: new Date(END.getTime() - HOUR_MS) });
    const d = await putDigest(store, {
      end: END,
      previous: first,
      logFiles: [good, { ...changed, hashValue: 'f'.repeat(64) }, appended, broken, missing, elsewhere],
    });

    // Act
    const report = await verifyDigest(store, d.key, keySource([{ key: testKey(0) }]), {
      bucket: BUCKET,
      concurrency: 2,
    });

    // Assess
    expect(report.digest.status).toBe('valid');
    expect(report.previous).toMatchObject({ key: first.key, status: 'valid' });
    expect(report.logs.map((l) => [l.key, l.code])).toEqual([
      [good.s3Object, 'valid'],
      [changed.s3Object, 'hash-mismatch'],
      [appended.s3Object, 'trailing-data'],
      [broken.s3Object, 'invalid-format'],
      [missing.s3Object, 'not-found'],
      [good.s3Object, 'not-found'],
    ]);
    expect(report.logs[5].bucket).toBe('some-other-bucket');
  });

  it('reports a deleted predecessor and checks no log file of an invalid digest', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const first = await putDigest(store, { end: new Date(END.getTime() - HOUR_MS) });
    const log = await putLog(store, new Date(END.getTime() - 60_000), 'LogLogLogLogLogL');
    const d = await putDigest(store, { end: END, previous: first, logFiles: [log] });
    await store.delete(first.key);
    const bad = await putDigest(store, {
      end: new Date(END.getTime() + HOUR_MS),
      previous: d,
      logFiles: [log],
      metadata: () => ({}),
    });
    const keys = keySource([{ key: testKey(0) }]);

    // Act
    const report = await verifyDigest(store, d.key, keys, { bucket: BUCKET });
    const invalid = await verifyDigest(store, bad.key, keys, { bucket: BUCKET });

    // Assess
    expect(report.previous).toMatchObject({ key: first.key, status: 'invalid', reason: 'not found' });
    expect(report.logs).toHaveLength(1);
    expect(invalid.digest.code).toBe('signature-failed');
    expect(invalid.logs).toEqual([]);
    expect(invalid.previous).toBeUndefined();
  });

  it('needs the bucket name of a store that is not S3', async () => {
    // Act
    const attempt = verifyDigest(new MemoryObjectStore(), digestKeyAt(END), keySource([]));

    // Assess
    await expect(attempt).rejects.toThrow(DigestError);
  });
});

/**
 * Attacks on replay through a local source folder: a re-signed digest chain with the attacker's own
 * public-keys.json beside it, a symbolic link out of the folder, `/AWSLogs/...` and `AWSLogs/...` landing
 * in one file, and keys no folder can hold (`..`, NUL, a 300-byte segment).
 */
import { createHash, createPublicKey } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore, MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { generateTrail } from '#cli/generator/index.ts';
import { replay } from '#cli/replay/local-pipeline.ts';
import { sha256Hex } from '#shared/digest/digest-format.ts';
import { classifyKey } from '#shared/keys.ts';
import { BadKeyError, readAll } from '#shared/ports.ts';
import { attackerKey, editDigest, integrityScenario, modifyLogFile } from '#test/e2e/tamper.ts';
import { runCli } from '#test/support/cli-run.ts';
import { logFile, record } from '#test/support/logfiles.ts';
import { logKey } from '#test/support/security.ts';

const dir = mkdtempSync(join(tmpdir(), 'trailwatch-security-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('attack: a re-signed chain with its own public-keys.json inside the source folder', () => {
  const source = join(dir, 'resigned');
  const genuineKeys = join(dir, 'genuine-keys.json');

  beforeAll(async () => {
    const store = new FsObjectStore(source);
    const trail = await generateTrail(integrityScenario({ hours: 3 }), store);
    copyFileSync(join(source, 'public-keys.json'), genuineKeys);
    // Rewrite a log file, then re-sign every digest in order with the attacker's key, chain included.
    const log = trail.deliveries.find((d) => d.kind === 'log')!;
    await modifyLogFile(store, log.key);
    const forgedHash = sha256Hex(gunzipSync(await readAll(store, log.key)));
    const key = attackerKey();
    const der = createPublicKey(key).export({ type: 'pkcs1', format: 'der' });
    const fingerprint = createHash('md5').update(der).digest('hex');
    let previous: { signature: string; hash: string } | undefined;
    for (const d of trail.deliveries.filter((x) => x.kind === 'digest')) {
      await editDigest(
        store,
        d.key,
        (doc) => {
          doc.digestPublicKeyFingerprint = fingerprint;
          for (const l of doc.logFiles) if (l.s3Object === log.key) l.hashValue = forgedHash;
          if (previous && doc.previousDigestSignature !== null) {
            doc.previousDigestSignature = previous.signature;
            doc.previousDigestHashValue = previous.hash;
          }
        },
        { resignWith: key },
      );
      const info = await store.head(d.key);
      previous = {
        signature: info!.metadata!.signature,
        hash: sha256Hex(gunzipSync(await readAll(store, d.key))),
      };
    }
    writeFileSync(
      join(source, 'public-keys.json'),
      JSON.stringify({
        PublicKeyList: [
          {
            Value: der.toString('base64'),
            ValidityStartTime: '2020-01-01T00:00:00Z',
            ValidityEndTime: '2030-01-01T00:00:00Z',
            Fingerprint: fingerprint,
          },
        ],
      }),
    );
  }, 120_000);

  it('replay never takes the keys found in its source: the chain is not verified with them', async () => {
    // Act
    const run = await runCli(['replay', '--source', source, '--out', join(dir, 'out-1'), '--json']);
    // Assess
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.digestVerdicts.valid).toBe(0);
    expect(report.digests).toBeGreaterThan(0);
  });

  it('with the genuine keys given, every re-signed digest is INVALID', async () => {
    // Act
    const run = await runCli([
      'replay',
      '--source',
      source,
      '--out',
      join(dir, 'out-2'),
      '--json',
      '--public-keys',
      genuineKeys,
    ]);
    // Assess
    const report = JSON.parse(run.stdout);
    expect(report.digestVerdicts.valid).toBe(0);
    expect(report.digestVerdicts.invalid).toBe(report.digests);
  });
});

describe('attack: the local store as a way out of its folder', () => {
  it('a symbolic link in the source is not followed out of it: reads through it are refused, replay ingests only what is inside', async () => {
    // Prepare: a source whose day folder is a link to a folder outside it
    const source = join(dir, 'linked');
    const outside = join(dir, 'outside');
    const out = join(dir, 'linked-out');
    const at = new Date('2026-11-20T10:05:00Z');
    const key = logKey(at);
    const store = new FsObjectStore(source);
    await store.put(logKey(new Date('2026-11-19T10:05:00Z')), logFile([record()]));
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, key.split('/').at(-1)!), logFile([record({ eventID: 'outside' })]));
    const dayFolder = join(source, ...key.split('/').slice(0, -1));
    mkdirSync(join(dayFolder, '..'), { recursive: true });
    symlinkSync(outside, dayFolder);
    // Act: the real handlers on the folder, with a key that resolves through the link
    const sourceStore = new FsObjectStore(source);
    const direct = await sourceStore.get(key).catch((err: unknown) => err);
    const report = await replay({ source: sourceStore, sourceBucket: 'trail', out });
    // Assess
    expect(direct).toBeInstanceOf(BadKeyError);
    expect(report.logFiles.ingested).toBe(1);
    expect(readdirSync(outside)).toEqual([key.split('/').at(-1)]);
    expect(existsSync(join(out, 'summaries'))).toBe(true);
  });

  it('a symbolic link inside --out is not written through: the file is skipped and counted', async () => {
    // Prepare: the output folder's summaries/ is a link to a folder outside it
    const source = new MemoryObjectStore('bucket');
    const key = logKey(new Date('2026-11-20T10:05:00Z'));
    await source.put(key, logFile([record()]));
    const out = join(dir, 'out-with-link');
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(out, { recursive: true });
    mkdirSync(elsewhere, { recursive: true });
    symlinkSync(elsewhere, join(out, 'summaries'));
    // Act
    const report = await replay({ source, sourceBucket: 'trail', out });
    // Assess
    expect(report.badKeys.map((b) => b.key)).toEqual([key]);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('keeps /AWSLogs/... and AWSLogs/... as two objects', async () => {
    // Prepare
    const store = new FsObjectStore(join(dir, 'slashes'));
    const key = logKey(new Date('2026-11-20T10:05:00Z'));
    // Act
    await store.put(key, 'plain');
    await store.put(`/${key}`, 'leading slash');
    // Assess
    expect((await readAll(store, key)).toString()).toBe('plain');
    expect((await readAll(store, `/${key}`)).toString()).toBe('leading slash');
    const listed: string[] = [];
    for await (const o of store.list('')) listed.push(o.key);
    expect(listed.sort()).toEqual([`/${key}`, key].sort());
  });

  it('skips and counts keys with .., NUL or a 300-byte segment; the replay of the rest completes', async () => {
    // Prepare: a bucket (any store) with three bad keys among two good log files
    const source = new MemoryObjectStore('bucket');
    const good = [
      logKey(new Date('2026-11-20T10:05:00Z')),
      logKey(new Date('2026-11-20T10:10:00Z'), 'F000000000000002'),
    ];
    for (const k of good) await source.put(k, logFile([record()]));
    const folder = good[0].slice(0, good[0].lastIndexOf('/') + 1);
    const bad = [
      `${folder}../../x.json.gz`,
      `${folder}nul\u0000.json.gz`,
      `${folder}${'a'.repeat(300)}.json.gz`,
    ];
    for (const k of bad) await source.put(k, logFile([record()]));
    const out = join(dir, 'bad-keys-out');
    // Act
    const report = await replay({ source, sourceBucket: 'trail', out });
    // Assess
    expect(report.logFiles.ingested).toBe(2);
    expect(report.badKeys.map((b) => b.key).sort()).toEqual([...bad].sort());
    expect(good.every((k) => classifyKey(k).kind === 'log')).toBe(true);
    expect(existsSync(join(dir, 'x.json.gz'))).toBe(false);
  });
});

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FsObjectStore, MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { ObjectNotFoundError, type ObjectStore, PreconditionFailedError, readAll } from '#shared/ports.ts';

const root = mkdtempSync(join(tmpdir(), 'trailwatch-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const stores: [string, () => ObjectStore][] = [
  ['FsObjectStore', () => new FsObjectStore(mkdtempSync(join(root, 'b-')))],
  ['MemoryObjectStore', () => new MemoryObjectStore()],
];

describe.each(stores)('%s', (_name, make) => {
  it('honours If-None-Match and If-Match like S3', async () => {
    const store = make();
    const { etag } = await store.put('k', 'v1', { ifNoneMatch: '*' });
    await expect(store.put('k', 'v2', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
    const next = await store.put('k', 'v2', { ifMatch: etag });
    expect(next.etag).not.toBe(etag);
    await expect(store.put('k', 'v3', { ifMatch: etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await readAll(store, 'k')).toString()).toBe('v2');
  });

  it('lets exactly one of many concurrent conditional creates win', async () => {
    const store = make();
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => store.put('race', `w${i}`, { ifNoneMatch: '*' })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  });

  it('keeps user metadata, lists in key order and lists folders', async () => {
    const store = make();
    await store.put('a/2', 'x', { metadata: { signature: 'ab' } });
    await store.put('a/1', 'y');
    await store.put('b/c/3', 'z');
    expect((await store.head('a/2'))?.metadata).toEqual({ signature: 'ab' });
    const keys: string[] = [];
    for await (const o of store.list('')) keys.push(o.key);
    expect(keys).toEqual(['a/1', 'a/2', 'b/c/3']);
    expect(await store.listFolders('')).toEqual(['a/', 'b/']);
    await expect(store.get('nope')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });
});

describe('FsObjectStore', () => {
  it('keeps metadata in a sidecar that listings skip, and removes it with the object', async () => {
    const dir = mkdtempSync(join(root, 'side-'));
    const store = new FsObjectStore(dir);
    await store.put('d/x.json.gz', 'data', {
      metadata: { signature: 'ff', 'signature-algorithm': 'SHA256withRSA' },
    });
    expect(readdirSync(join(dir, 'd')).sort()).toEqual(['x.json.gz', 'x.json.gz.metadata.json']);
    await store.delete('d/x.json.gz');
    expect(readdirSync(join(dir, 'd'))).toEqual([]);
  });

  it('lists a folder in one call as its listing does: same objects, ETags and order, sidecars left out', async () => {
    // Prepare: keys in and under a day folder, a sidecar, and a key that only shares the prefix's letters.
    const store = new FsObjectStore(mkdtempSync(join(root, 'now-')));
    for (const key of [
      't/d/b.json.gz',
      't/d/a.json.gz',
      't/d/sub/c.json.gz',
      't/dd/x.json.gz',
      't/e.json.gz',
    ])
      await store.put(key, key, key === 't/d/a.json.gz' ? { metadata: { signature: 'ab' } } : undefined);
    const listed = async (prefix: string, startAfter?: string) => {
      const out = [];
      for await (const o of store.list(prefix, startAfter ? { startAfter } : undefined)) out.push(o);
      return out;
    };
    // Act / Assess
    for (const [prefix, startAfter] of [['t/d/'], ['t/d'], ['t/'], ['t/d/', 't/d/a.json.gz'], ['none/']]) {
      const now = store.listNow(prefix, startAfter ? { startAfter } : undefined);
      expect(now).toEqual(await listed(prefix, startAfter));
    }
    expect(store.listNow('t/d/').map((o) => o.key)).toEqual([
      't/d/a.json.gz',
      't/d/b.json.gz',
      't/d/sub/c.json.gz',
    ]);
    // A rewritten file gets another ETag in both.
    const before = store.listNow('t/d/a')[0].etag;
    await store.put('t/d/a.json.gz', 'rewritten');
    expect(store.listNow('t/d/a')[0].etag).not.toBe(before);
    expect((await listed('t/d/a'))[0].etag).toBe(store.listNow('t/d/a')[0].etag);
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { isVerified, markVerified, verifiedFolderKey, verifiedIn } from '#shared/digest/verified-files.ts';
import { logFileKey } from '#shared/keys.ts';
import { PreconditionFailedError, type PutOptions } from '#shared/ports.ts';
import { InstrumentedStore } from '#test/support/instrumented-store.ts';

const key = (minute: number, unique: string) =>
  logFileKey({
    account: '111122223333',
    region: 'us-east-1',
    time: new Date(Date.UTC(2026, 10, 20, 23, minute)),
    unique,
  });
const folder = (k: string) => k.slice(0, k.lastIndexOf('/') + 1);

describe('verified log files, one object per day folder', () => {
  it("records a digest's files with one write per day folder, and answers for each file", async () => {
    // Prepare: twelve files of one hour
    const store = new InstrumentedStore(new MemoryObjectStore('state'));
    const files = Array.from({ length: 12 }, (_, i) => key(i * 5, `F${String(i).padStart(15, '0')}`));
    // Act
    await markVerified(store, 'trail', 'digest-1', files);
    await markVerified(store, 'trail', 'digest-1', files);
    // Assess: one PUT in all (the repeat finds them there), each file verified, another one not
    expect(store.count('PUT')).toBe(1);
    for (const f of files) expect(await isVerified(store, 'trail', f)).toBe(true);
    expect(await isVerified(store, 'trail', key(3, 'OTHER00000000001'))).toBe(false);
    expect((await verifiedIn(store, 'trail', folder(files[0]))).size).toBe(12);
  });

  it('keeps both writers’ files when another digest writes the folder in between', async () => {
    // Prepare: a second verify writes the same folder between this one's read and write, once
    const store = new MemoryObjectStore('state');
    const a = key(5, 'A000000000000001');
    const b = key(10, 'B000000000000002');
    const put = store.put.bind(store);
    let raced = false;
    store.put = async (k: string, body: Uint8Array | string, options?: PutOptions) => {
      if (!raced) {
        raced = true;
        await markVerified(Object.assign(Object.create(store) as MemoryObjectStore, { put }), 'trail', 'd2', [
          b,
        ]);
        throw new PreconditionFailedError(`${k}: changed`, k);
      }
      return put(k, body, options);
    };
    // Act
    await markVerified(store, 'trail', 'd1', [a]);
    // Assess
    expect(await isVerified(store, 'trail', a)).toBe(true);
    expect(await isVerified(store, 'trail', b)).toBe(true);
  });

  it('rewrites an object it cannot read from what the next digest lists', async () => {
    // Prepare
    const store = new MemoryObjectStore('state');
    const a = key(5, 'A000000000000001');
    await store.put(verifiedFolderKey('trail', folder(a)), 'not json');
    // Act
    const before = await isVerified(store, 'trail', a);
    await markVerified(store, 'trail', 'd1', [a]);
    // Assess
    expect(before).toBe(false);
    expect(await isVerified(store, 'trail', a)).toBe(true);
  });
});

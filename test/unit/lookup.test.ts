import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { CliError } from '#cli/errors.ts';
import { matchesFilter } from '#cli/lookup/filter.ts';
import { lookup } from '#cli/lookup/scan.ts';
import type { StoredObject } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { allStratusRecords, trailFiles } from '#test/fixtures/lookup/trail.ts';

const records = allStratusRecords();

async function trail(recs: CloudTrailRecord[] = records): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore('trail');
  for (const f of trailFiles(recs)) await store.put(f.key, f.body);
  return store;
}

const byTimeThenId = (a: CloudTrailRecord, b: CloudTrailRecord) =>
  Date.parse(a.eventTime!) - Date.parse(b.eventTime!) ||
  (a.eventID! < b.eventID! ? -1 : a.eventID! > b.eventID! ? 1 : 0);

const ids = (events: { record: CloudTrailRecord }[]) => events.map((e) => e.record.eventID);

describe('lookup', () => {
  it('returns every matching event of every file, sorted by time then event ID', async () => {
    // Prepare
    const store = await trail();
    const expected = records.filter((r) => r.eventSource === 'ec2.amazonaws.com').sort(byTimeThenId);
    // Act
    const result = await lookup({ store, filter: { eventSource: 'ec2.amazonaws.com' } });
    // Assess
    expect(ids(result.events)).toEqual(ids(expected.map((record) => ({ record }))));
    expect(result.stats.records).toBe(records.length);
    expect(result.stats.matched).toBe(expected.length);
    expect(result.stats.filesRead).toBe(trailFiles(records).length);
  });

  it('gives the same order whatever the concurrency', async () => {
    // Prepare
    const store = await trail();
    // Act
    const one = await lookup({ store, filter: { readOnly: true }, concurrency: 1 });
    const eight = await lookup({ store, filter: { readOnly: true }, concurrency: 8 });
    // Assess
    expect(ids(eight.events)).toEqual(ids(one.events));
    expect(one.events.length).toBeGreaterThan(100);
  });

  it('keeps the first N events with maxResults, oldest or newest first', async () => {
    // Prepare
    const store = await trail();
    const all = records.filter((r) => matchesFilter(r, { username: 'christophe' })).sort(byTimeThenId);
    // Act
    const oldest = await lookup({ store, filter: { username: 'christophe' }, maxResults: 7 });
    const newest = await lookup({
      store,
      filter: { username: 'christophe' },
      maxResults: 7,
      order: 'newest-first',
    });
    // Assess
    expect(ids(oldest.events)).toEqual(all.slice(0, 7).map((r) => r.eventID));
    const newestExpected = [...all].sort(
      (a, b) => Date.parse(b.eventTime!) - Date.parse(a.eventTime!) || (a.eventID! < b.eventID! ? -1 : 1),
    );
    expect(ids(newest.events)).toEqual(newestExpected.slice(0, 7).map((r) => r.eventID));
    expect(oldest.stats.matched).toBe(all.length);
  });

  it('reads no more files at once than the concurrency allows', async () => {
    // Prepare
    const inner = await trail();
    let open = 0;
    let most = 0;
    const store = Object.create(inner) as MemoryObjectStore;
    store.get = async (key: string): Promise<StoredObject> => {
      const obj = await inner.get(key);
      open++;
      most = Math.max(most, open);
      const body = obj.body;
      return {
        ...obj,
        body: (async function* () {
          try {
            yield* body;
          } finally {
            open--;
          }
        })(),
      };
    };
    // Act
    const result = await lookup({ store, filter: {}, concurrency: 3 });
    // Assess
    expect(result.events).toHaveLength(records.length);
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
  });

  it('reports an unreadable file with its key and reason and goes on with the others', async () => {
    // Prepare
    const store = await trail();
    const files = trailFiles(records);
    const broken = files[3];
    const truncated = files[5];
    await store.put(broken.key, 'this is not gzip');
    await store.put(truncated.key, truncated.body.subarray(0, truncated.body.length - 30));
    const reported: [string, string][] = [];
    const expected = records
      .filter((r) => !broken.records.includes(r) && !truncated.records.includes(r))
      .sort(byTimeThenId);
    // Act
    const result = await lookup({
      store,
      filter: {},
      onUnreadable: (key, reason) => reported.push([key, reason]),
    });
    // Assess
    expect(reported.map(([k]) => k).sort()).toEqual([broken.key, truncated.key].sort());
    expect(reported.find(([k]) => k === broken.key)![1]).toMatch(/neither gzip nor JSON/);
    expect(reported.find(([k]) => k === truncated.key)![1]).toMatch(/truncated/);
    expect(result.stats.unreadableFiles).toBe(2);
    expect(ids(result.events)).toEqual(expected.map((r) => r.eventID));
  });

  it('shows an event delivered twice once', async () => {
    // Prepare
    const store = await trail(records.slice(0, 20));
    const copy = [...records.slice(0, 20)].sort(byTimeThenId)[1];
    await store.put(
      `AWSLogs/${copy.recipientAccountId}/CloudTrail/${copy.awsRegion}/2024/12/01/${copy.recipientAccountId}_CloudTrail_${copy.awsRegion}_20241201T0000Z_duplicatedelivry.json.gz`,
      gzipSync(JSON.stringify({ Records: [copy] })),
    );
    // Act
    const all = await lookup({ store, filter: {} });
    const windowed = await lookup({ store, filter: {}, maxResults: 10 });
    // Assess
    expect(all.events.filter((e) => e.record.eventID === copy.eventID)).toHaveLength(1);
    expect(all.events).toHaveLength(20);
    expect(all.stats.duplicates).toBe(1);
    expect(windowed.events.filter((e) => e.record.eventID === copy.eventID)).toHaveLength(1);
    expect(ids(windowed.events)).toEqual(ids(all.events).slice(0, 10));
  });

  it('knows the total before it has read the files, and says when the listing is complete', async () => {
    // Prepare
    const store = await trail();
    const total = trailFiles(records).length;
    const seen: { read: number; listed: number; final: boolean }[] = [];
    // Act
    await lookup({
      store,
      filter: {},
      concurrency: 1,
      onFile: (s) => seen.push({ read: s.filesRead, listed: s.logFiles, final: s.listed }),
    });
    // Assess
    expect(seen).toHaveLength(total);
    expect(seen[0].listed).toBeGreaterThan(seen[0].read);
    expect(seen.at(-1)).toEqual({ read: total, listed: total, final: true });
  });

  it('stops at a failure of the store a user must fix, instead of calling every file unreadable', async () => {
    // Prepare
    const store = await trail();
    const denied = new CliError('access denied to s3://trail: the credentials need s3:GetObject');
    let gets = 0;
    const failing = Object.assign(Object.create(store) as MemoryObjectStore, {
      get: async (): Promise<StoredObject> => {
        gets++;
        throw denied;
      },
    });
    const unreadable: string[] = [];
    // Act
    const result = lookup({
      store: failing,
      filter: {},
      concurrency: 2,
      onUnreadable: (key) => unreadable.push(key),
    });
    // Assess
    await expect(result).rejects.toBe(denied);
    expect(unreadable).toEqual([]);
    expect(gets).toBeLessThanOrEqual(2);
  });
});

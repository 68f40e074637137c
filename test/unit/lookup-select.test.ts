import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { LookupError } from '#cli/lookup/filter.ts';
import { lookup } from '#cli/lookup/scan.ts';
import { dayRange, FileSelector } from '#cli/lookup/select-files.ts';
import { dayFolder, logFileKey } from '#shared/keys.ts';
import type { ObjectInfo, ObjectStore, PutOptions, StoredObject } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { logFile, record } from '#test/support/logfiles.ts';

/** A store that records which keys were read and which prefixes were listed. */
class CountingStore implements ObjectStore {
  readonly inner = new MemoryObjectStore('trail');
  readonly location = 'memory://trail';
  readonly gets: string[] = [];
  readonly lists: string[] = [];
  readonly folderLists: string[] = [];

  get(key: string): Promise<StoredObject> {
    this.gets.push(key);
    return this.inner.get(key);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    return this.inner.put(key, body, options);
  }
  list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    this.lists.push(prefix);
    return this.inner.list(prefix, options);
  }
  listFolders(prefix: string): Promise<string[]> {
    this.folderLists.push(prefix);
    return this.inner.listFolders(prefix);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
}

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';

function event(time: string, id: string, extra: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  return record({ eventTime: time, eventID: id, ...extra });
}

/** Puts one log file delivered at `delivered` holding `records`. */
async function deliver(
  store: ObjectStore,
  delivered: string,
  records: CloudTrailRecord[],
  parts: { prefix?: string; orgId?: string; region?: string } = {},
): Promise<string> {
  const key = logFileKey({
    account: ACCOUNT,
    region: parts.region ?? REGION,
    time: new Date(delivered),
    unique: `u${delivered.replace(/\D/g, '')}`.slice(0, 16).padEnd(16, 'x'),
    ...(parts.prefix ? { prefix: parts.prefix } : {}),
    ...(parts.orgId ? { orgId: parts.orgId } : {}),
  });
  await store.put(key, logFile(records));
  return key;
}

describe('day range', () => {
  it('starts on the start day and ends one delivery delay after the end', () => {
    expect(dayRange(new Date('2026-03-01T10:00:00Z'), new Date('2026-03-04T23:59:59Z'))).toEqual({
      first: '2026/03/01',
      last: '2026/03/05',
    });
    expect(dayRange(undefined, new Date('2026-12-31T12:00:00Z'))).toEqual({ last: '2027/01/01' });
    expect(dayRange(new Date('2026-03-01T00:00:00Z'), new Date('2026-03-01T01:00:00Z'), 3_600_000)).toEqual({
      first: '2026/03/01',
      last: '2026/03/01',
    });
  });
});

describe('file selection', () => {
  it('reads only files whose day folders overlap the range, and finds events delivered after midnight', async () => {
    // Prepare: one file a day around 20 March, and a late event of the 20th delivered on the 21st.
    const store = new CountingStore();
    const days = [
      '2026-03-17',
      '2026-03-18',
      '2026-03-19',
      '2026-03-20',
      '2026-03-21',
      '2026-03-22',
      '2026-03-23',
    ];
    const byDay = new Map<string, string>();
    for (const d of days)
      byDay.set(d, await deliver(store, `${d}T12:05:00Z`, [event(`${d}T12:01:00Z`, `e-${d}`)]));
    const late = await deliver(store, '2026-03-21T00:04:00Z', [event('2026-03-20T23:58:30Z', 'late')]);
    // Act
    const result = await lookup({
      store,
      filter: { startTime: new Date('2026-03-19T00:00:00Z'), endTime: new Date('2026-03-20T23:59:59Z') },
    });
    // Assess
    expect(result.events.map((e) => e.record.eventID)).toEqual(['e-2026-03-19', 'e-2026-03-20', 'late']);
    expect(new Set(store.gets)).toEqual(
      new Set([byDay.get('2026-03-19'), byDay.get('2026-03-20'), byDay.get('2026-03-21'), late]),
    );
    const dayLists = store.lists.map((p) => p.split('/').slice(-4, -1).join('/'));
    expect(dayLists).toEqual(['2026/03/19', '2026/03/20', '2026/03/21']);
    expect(store.lists).toContain(
      dayFolder({ account: ACCOUNT, region: REGION, folder: 'CloudTrail', day: new Date('2026-03-20') }),
    );
  });

  it('does not list the folders of months and years outside the range', async () => {
    // Prepare
    const store = new CountingStore();
    await deliver(store, '2025-06-01T10:00:00Z', [event('2025-06-01T09:58:00Z', 'old')]);
    await deliver(store, '2026-01-15T10:00:00Z', [event('2026-01-15T09:58:00Z', 'jan')]);
    await deliver(store, '2026-02-15T10:00:00Z', [event('2026-02-15T09:58:00Z', 'feb')]);
    // Act
    const result = await lookup({
      store,
      filter: { startTime: new Date('2026-02-01T00:00:00Z'), endTime: new Date('2026-02-28T00:00:00Z') },
    });
    // Assess
    expect(result.events.map((e) => e.record.eventID)).toEqual(['feb']);
    const regionRoot = `AWSLogs/${ACCOUNT}/CloudTrail/${REGION}/`;
    expect(store.folderLists).toContain(`${regionRoot}2026/`);
    expect(store.folderLists).not.toContain(`${regionRoot}2025/`);
    expect(store.folderLists).not.toContain(`${regionRoot}2026/01/`);
    expect(store.gets).toHaveLength(1);
  });

  it('skips files of the start day delivered well before the start time', async () => {
    // Prepare
    const store = new CountingStore();
    const early = await deliver(store, '2026-03-20T08:00:00Z', [event('2026-03-20T07:58:00Z', 'early')]);
    const near = await deliver(store, '2026-03-20T09:50:00Z', [event('2026-03-20T09:46:00Z', 'near')]);
    const after = await deliver(store, '2026-03-20T10:10:00Z', [event('2026-03-20T10:05:00Z', 'after')]);
    // Act
    const result = await lookup({ store, filter: { startTime: new Date('2026-03-20T10:00:00Z') } });
    // Assess
    expect(result.events.map((e) => e.record.eventID)).toEqual(['after']);
    expect(store.gets).not.toContain(early);
    expect(store.gets).toEqual(expect.arrayContaining([near, after]));
    expect(result.stats.skippedBeforeStart).toBe(1);
  });

  it('discovers the layout under a multi-level prefix and an organization trail', async () => {
    // Prepare
    const store = new CountingStore();
    await deliver(store, '2026-03-20T10:10:00Z', [event('2026-03-20T10:05:00Z', 'org')], {
      prefix: 'security/trails/',
      orgId: 'o-abcdefghij',
    });
    await store.put('security/readme.txt', 'not a log');
    // Act
    const fromRoot = await lookup({ store, filter: {} });
    const fromPrefix = await lookup({ store, prefix: 'security/trails', filter: {} });
    // Assess
    expect(fromRoot.events.map((e) => e.record.eventID)).toEqual(['org']);
    expect(fromPrefix.events.map((e) => e.record.eventID)).toEqual(['org']);
    expect(fromRoot.events[0].file.orgId).toBe('o-abcdefghij');
  });

  it('keeps to the part of the layout a prefix inside AWSLogs/ points at', async () => {
    // Prepare
    const store = new CountingStore();
    await deliver(store, '2026-03-20T10:10:00Z', [event('2026-03-20T10:05:00Z', 'east')]);
    const west = await deliver(store, '2026-03-20T10:10:00Z', [event('2026-03-20T10:06:00Z', 'west')], {
      region: 'eu-west-1',
    });
    // Act
    const result = await lookup({ store, prefix: `AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/`, filter: {} });
    // Assess
    expect(result.events.map((e) => e.record.eventID)).toEqual(['west']);
    expect(store.gets).toEqual([west]);
  });

  it('ignores keys that are not log files and fails clearly when there is no trail at all', async () => {
    // Prepare
    const store = new CountingStore();
    await deliver(store, '2026-03-20T10:10:00Z', [event('2026-03-20T10:05:00Z', 'only')]);
    await store.put(`AWSLogs/${ACCOUNT}/CloudTrail/${REGION}/2026/03/20/`, '');
    await store.put(`AWSLogs/${ACCOUNT}/CloudTrail/${REGION}/2026/03/20/notes.txt`, 'x');
    const empty = new CountingStore();
    await empty.put('elsewhere/file.txt', 'x');
    // Act
    const selector = new FileSelector(store, '');
    const keys: string[] = [];
    for await (const f of selector.files()) keys.push(f.trailKey.key);
    const failure = lookup({ store: empty, filter: {} });
    // Assess
    expect(keys).toHaveLength(1);
    expect(selector.stats.otherKeys).toBe(2);
    await expect(failure).rejects.toBeInstanceOf(LookupError);
    await expect(failure).rejects.toThrow(/no CloudTrail logs under memory:\/\/trail/);
  });
});

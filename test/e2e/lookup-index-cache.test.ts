/**
 * Lookup with a state folder: the per-file indexes of each day folder are gathered into one object the first
 * time they are read, and the next lookup reads that object instead of every summary. It is never trusted
 * blindly: a file rewritten since is checked against its own summary (stale, read in full), and an object that
 * is corrupt, cut short or written for another bucket is refused as a whole.
 */
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import type { LookupFilter } from '#cli/lookup/filter.ts';
import { CACHE_FIELDS, INDEX_CACHE_PREFIX } from '#cli/lookup/index-cache.ts';
import { SummaryIndex, type SummaryReader } from '#cli/lookup/index-check.ts';
import { type LookupOptions, lookup } from '#cli/lookup/scan.ts';
import { classifyKey, type TrailKey } from '#shared/keys.ts';
import { commitSummary, readAndEvaluate } from '#shared/pipeline/ingest-log-files.ts';
import { ObjectNotFoundError } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { smallLookupTrail } from '#test/support/quiet-trail.ts';

const BUCKET = 'trail-bucket';
const metrics = { addMetric() {} };

let trail: MemoryObjectStore;
let logKeys: string[];
/** The summaries ingest wrote, copied into each test's own state store. */
let summaries: MemoryObjectStore;

/** Reads of a state store's objects, counted by kind. */
function readerOf(
  store: MemoryObjectStore,
  counts: { summaries: number; caches: number; cacheBytes: number },
): SummaryReader {
  return async (key, tail, range) => {
    const o = store.objects.get(key);
    if (!o) throw new ObjectNotFoundError(`no object at ${key}`, key);
    if (key.startsWith(INDEX_CACHE_PREFIX)) counts.caches++;
    else counts.summaries++;
    const bytes = range
      ? o.body.subarray(range.from, range.from + range.length)
      : tail === undefined
        ? o.body
        : o.body.subarray(Math.max(0, o.body.length - tail));
    if (key.startsWith(INDEX_CACHE_PREFIX)) counts.cacheBytes += bytes.length;
    return bytes;
  };
}

function freshState(): MemoryObjectStore {
  const state = new MemoryObjectStore('state');
  for (const [k, o] of summaries.objects) state.objects.set(k, { ...o });
  return state;
}

function cachedIndex(state: MemoryObjectStore) {
  const counts = { summaries: 0, caches: 0, cacheBytes: 0 };
  const read = readerOf(state, counts);
  return { index: new SummaryIndex(state, BUCKET, '', read, read), counts };
}

function run(store: MemoryObjectStore, options: Partial<LookupOptions> & Pick<LookupOptions, 'filter'>) {
  return lookup({ store, concurrency: 4, ...options });
}

const ids = (r: Awaited<ReturnType<typeof lookup>>) =>
  r.events.map((e) => `${e.file.key} ${e.record.eventID}`);
/**
 * A cache object's text with its line `field` (0: the first field after the header; CACHE_FIELDS.length: the
 * layouts) replaced, its table of line lengths brought up to date, as a writer that meant it would.
 */
function withLine(text: string, field: number, line: string): string {
  const lines = text.split('\n').slice(1, -1);
  lines[1 + field] = line;
  return `${JSON.stringify({ lines: lines.map((l) => Buffer.byteLength(l) + 1) })}\n${lines.join('\n')}\n`;
}

const cacheKeys = (state: MemoryObjectStore) =>
  [...state.objects.keys()].filter((k) => k.startsWith(INDEX_CACHE_PREFIX));

async function recordsOf(store: MemoryObjectStore, key: string): Promise<CloudTrailRecord[]> {
  const { gunzipSync } = await import('node:zlib');
  return (
    JSON.parse(gunzipSync(store.objects.get(key)!.body).toString('utf8')) as { Records: CloudTrailRecord[] }
  ).Records;
}

let filters: LookupFilter[];

beforeAll(async () => {
  ({ trail, logKeys } = await smallLookupTrail(3));
  summaries = new MemoryObjectStore('state');
  for (const key of logKeys) {
    const read = await readAndEvaluate(trail, { bucket: BUCKET, key: classifyKey(key) as TrailKey }, []);
    if (read.status !== 'read') throw new Error(`expected ${key} to be read, found ${read.status}`);
    await commitSummary(summaries, metrics, read.summary);
  }
  const records = await recordsOf(trail, logKeys[3]);
  const withKey = records.find((r) => r.userIdentity?.accessKeyId)!;
  const user = records.find((r) => r.userIdentity?.type === 'IAMUser' && r.userIdentity.userName)!;
  filters = [
    { eventId: records[1].eventID! },
    { accessKeyId: withKey.userIdentity!.accessKeyId! },
    { username: user.userIdentity!.userName!, eventName: user.eventName! },
    { eventSource: 'iam', readOnly: false },
    { resourceName: 'admin' },
    {
      startTime: new Date(Date.parse(records[0].eventTime!) - 60_000),
      endTime: new Date(Date.parse(records[0].eventTime!)),
    },
  ];
}, 60_000);

describe('the day folders gathered indexes', () => {
  it('are written by the first lookup and answer the next ones alone, with what the summaries give', async () => {
    // Prepare
    const state = freshState();

    // Act
    const first = cachedIndex(state);
    const firstRun = await run(trail, { filter: filters[0], index: first.index });
    const written = cacheKeys(state);
    const results: {
      plain: string[];
      cached: string[];
      counts: typeof first.counts;
      hits: number;
      read: number;
      byLayout: number;
    }[] = [];
    for (const filter of filters) {
      const next = cachedIndex(state);
      const cached = await run(trail, { filter, index: next.index });
      results.push({
        plain: ids(await run(trail, { filter })),
        cached: ids(cached),
        counts: next.counts,
        hits: next.index.cacheStats?.hits ?? 0,
        read: cached.stats.filesRead,
        byLayout: cached.stats.filesByLayout,
      });
    }

    // Assess
    expect(first.counts.summaries).toBe(logKeys.length);
    expect(first.index.cacheStats).toMatchObject({ loaded: 0, refused: 0, hits: 0 });
    expect(written.length).toBe(new Set(logKeys.map((k) => k.slice(0, k.lastIndexOf('/')))).size);
    expect(ids(firstRun)).toEqual(ids(await run(trail, { filter: filters[0] })));
    for (const [i, r] of results.entries()) {
      expect(r.cached, `filter ${i}`).toEqual(r.plain);
      expect(r.counts.summaries, `filter ${i}: no summary read`).toBe(0);
      expect(r.hits, `filter ${i}`).toBeGreaterThan(0);
      // Every file read was found by the layout its index holds, its bytes not walked.
      expect(r.byLayout, `filter ${i}`).toBe(r.read);
    }
    expect(results[0].hits).toBe(logKeys.length);
    // An event ID's query reads the header and its own line (and the layouts where it reads a file): not all.
    const cacheSize = written.reduce((n, k) => n + state.objects.get(k)!.body.length, 0);
    expect(results[0].counts.cacheBytes).toBeLessThan(cacheSize * 0.7);
    expect(firstRun.stats.filesByLayout).toBe(firstRun.stats.filesRead);
    expect(results.reduce((n, r) => n + r.byLayout, 0)).toBeGreaterThan(0);
  });

  it('answer filters asking other fields through the same index, each parsing its own', async () => {
    // Prepare
    const state = freshState();
    await run(trail, { filter: filters[0], index: cachedIndex(state).index });
    const { index, counts } = cachedIndex(state);

    // Act
    const found = [];
    for (const filter of filters) found.push(ids(await run(trail, { filter, index })));

    // Assess
    for (const [i, filter] of filters.entries())
      expect(found[i], `filter ${i}`).toEqual(ids(await run(trail, { filter })));
    expect(counts.summaries).toBe(0);
  });

  it('are not trusted for a log file rewritten since: it is checked against its summary and read in full', async () => {
    // Prepare: the cache gathered, then one log file rewritten (another size and ETag)
    const state = freshState();
    const rewritten = new MemoryObjectStore('trail');
    for (const [k, o] of trail.objects) rewritten.objects.set(k, { ...o });
    await run(rewritten, { filter: filters[0], index: cachedIndex(state).index });
    const victim = logKeys[3];
    const records = await recordsOf(rewritten, victim);
    await rewritten.put(victim, gzipSync(JSON.stringify({ Records: records }), { level: 1 }));

    // Act
    const { index, counts } = cachedIndex(state);
    const cached = await run(rewritten, { filter: filters[0], index });
    const plain = await run(rewritten, { filter: filters[0] });

    // Assess
    expect(ids(cached)).toEqual(ids(plain));
    expect(ids(cached)).toHaveLength(1);
    expect(cached.stats.indexStale).toBe(1);
    expect(counts.summaries).toBe(1);
    expect(index.cacheStats?.hits).toBe(logKeys.length - 1);
  });

  it('give no layouts when their layouts line is spoiled: the files are walked, with the same answer', async () => {
    // Prepare
    const state = freshState();
    await run(trail, { filter: filters[2], index: cachedIndex(state).index });
    for (const k of cacheKeys(state))
      await state.put(
        k,
        withLine(state.objects.get(k)!.body.toString(), CACHE_FIELDS.length, '[{"bytes":1}]'),
      );

    // Act
    const { index } = cachedIndex(state);
    const cached = await run(trail, { filter: filters[2], index });

    // Assess
    expect(ids(cached)).toEqual(ids(await run(trail, { filter: filters[2] })));
    expect(cached.stats.filesRead).toBeGreaterThan(0);
    expect(cached.stats.filesByLayout).toBe(0);
    expect(index.cacheStats).toMatchObject({ refused: 0, hits: logKeys.length });
  });

  it('are refused whole when corrupt, cut short or of another bucket, and written again from the summaries', async () => {
    const spoilers: [string, (text: string) => string][] = [
      ['not JSON', () => 'garbage'],
      ['cut short', (t) => t.slice(0, Math.floor(t.length / 2))],
      ['another bucket', (t) => t.replace(`"bucket":"${BUCKET}"`, '"bucket":"other-bucket"')],
      [
        'the asked field short of one file',
        (t) => {
          const at = CACHE_FIELDS.indexOf('eventIds');
          const line = t.split('\n')[2 + at];
          return withLine(t, at, JSON.stringify((JSON.parse(line) as unknown[]).slice(1)));
        },
      ],
      [
        'lines longer than their table says',
        (t) => {
          const at = CACHE_FIELDS.indexOf('eventIds');
          const [toc, ...rest] = t.split('\n');
          rest[1 + at] = `${rest[1 + at]} `;
          return [toc, ...rest].join('\n');
        },
      ],
    ];
    for (const [what, spoil] of spoilers) {
      // Prepare
      const state = freshState();
      await run(trail, { filter: filters[0], index: cachedIndex(state).index });
      for (const k of cacheKeys(state)) await state.put(k, spoil(state.objects.get(k)!.body.toString()));

      // Act
      const spoiled = cachedIndex(state);
      const cached = await run(trail, { filter: filters[0], index: spoiled.index });
      const again = cachedIndex(state);
      await run(trail, { filter: filters[0], index: again.index });

      // Assess
      expect(ids(cached), what).toEqual(ids(await run(trail, { filter: filters[0] })));
      expect(spoiled.index.cacheStats, what).toMatchObject({ refused: cacheKeys(state).length, hits: 0 });
      expect(spoiled.counts.summaries, what).toBe(logKeys.length);
      expect(again.index.cacheStats, what).toMatchObject({ refused: 0, hits: logKeys.length });
    }
  });
});

/**
 * Lookup over a generated trail that ingest has summarized: the per-file index skips the files that cannot
 * match, a file whose index is missing, stale or corrupt is read in full (its matches found, the reason
 * counted), and the worker threads give what the main thread alone gives.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { folderReader, SUMMARY_TAIL_BYTES, SummaryIndex } from '#cli/lookup/index-check.ts';
import { renderLine } from '#cli/lookup/row.ts';
import { type LookupOptions, lookup } from '#cli/lookup/scan.ts';
import { classifyKey, type TrailKey } from '#shared/keys.ts';
import { commitSummary, readAndEvaluate, summaryKeyFor } from '#shared/pipeline/ingest-log-files.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { extractResources } from '#shared/resources/index.ts';
import { smallLookupTrail } from '#test/support/quiet-trail.ts';

const BUCKET = 'trail-bucket';
const metrics = { addMetric() {} };

let trail: MemoryObjectStore;
let state: MemoryObjectStore;
let logKeys: string[];

async function recordsOf(store: MemoryObjectStore, key: string): Promise<CloudTrailRecord[]> {
  const { gunzipSync } = await import('node:zlib');
  const body = store.objects.get(key)!.body;
  return (JSON.parse(gunzipSync(body).toString('utf8')) as { Records: CloudTrailRecord[] }).Records;
}

/** What ingest does for each file, up to its commit: read, summarize, index, write the summary. */
async function ingestAll(): Promise<void> {
  for (const key of logKeys) {
    const read = await readAndEvaluate(trail, { bucket: BUCKET, key: classifyKey(key) as TrailKey }, []);
    if (read.status !== 'read') throw new Error(`expected ${key} to be read, found ${read.status}`);
    await commitSummary(state, metrics, read.summary);
  }
}

function run(options: Partial<LookupOptions> & Pick<LookupOptions, 'filter'>) {
  return lookup({ store: trail, concurrency: 4, ...options });
}

const keyOf = (key: string) => classifyKey(key) as TrailKey;
const withIndex = () => new SummaryIndex(state, BUCKET);
const ids = (r: Awaited<ReturnType<typeof lookup>>) => r.events.map((e) => e.record.eventID);

beforeAll(async () => {
  ({ trail, logKeys } = await smallLookupTrail(3));
  state = new MemoryObjectStore('state');
  await ingestAll();
}, 60_000);

describe('lookup with the index ingest writes', () => {
  it('reads only the files that can hold a needle, and finds it', async () => {
    // Prepare
    const sizes = await Promise.all(logKeys.map(async (k) => (await recordsOf(trail, k)).length));
    const needleFile = logKeys[sizes.indexOf(Math.max(...sizes))];
    const needle = (await recordsOf(trail, needleFile)).find((r) => r.userIdentity?.accessKeyId)!;

    // Act
    const indexed = await run({ filter: { eventId: needle.eventID! }, index: withIndex() });
    const byAccessKey = await run({
      filter: { accessKeyId: needle.userIdentity!.accessKeyId! },
      index: withIndex(),
    });
    const plain = await run({ filter: { accessKeyId: needle.userIdentity!.accessKeyId! } });

    // Assess
    expect(ids(indexed)).toEqual([needle.eventID]);
    expect(
      indexed.stats.filesRead,
      'expected the needle file, and at most a few false positives',
    ).toBeLessThan(Math.max(3, logKeys.length * 0.05));
    expect(indexed.stats.filesRead + indexed.stats.skippedByIndex).toBe(logKeys.length);
    expect(ids(byAccessKey)).toEqual(ids(plain));
    expect(byAccessKey.stats.filesRead).toBeLessThan(plain.stats.filesRead);
  });

  it('writes the index last, and reads an index followed by the unverified flag, as earlier releases wrote it', async () => {
    // Prepare
    const key = logKeys[0];
    const read = await readAndEvaluate(trail, { bucket: BUCKET, key: keyOf(key) }, []);
    if (read.status !== 'read') throw new Error(`expected ${key} to be read, found ${read.status}`);
    read.summary.unverified = true;
    const fresh = new MemoryObjectStore('state');
    const summaryKey = summaryKeyFor(BUCKET, key);
    const { index, ...rest } = read.summary;
    const earlier = new MemoryObjectStore('state');
    await earlier.put(summaryKey, JSON.stringify({ ...rest, index, unverified: true }));
    const needle = (await recordsOf(trail, key))[0].eventID!;

    // Act
    await commitSummary(fresh, metrics, read.summary);
    const written = JSON.parse(fresh.objects.get(summaryKey)!.body.toString()) as object;
    const verdicts = await Promise.all(
      [fresh, earlier].flatMap((store) =>
        [needle, 'not-an-event-id'].map((eventId) =>
          new SummaryIndex(store, BUCKET)
            .check({ trailKey: keyOf(key), size: index!.source.size, etag: index!.source.etag! }, { eventId })
            .then((a) => a.verdict),
        ),
      ),
    );

    // Assess
    expect(Object.keys(written).slice(-2)).toEqual(['unverified', 'index']);
    expect(verdicts).toEqual(['may-match', 'skip', 'may-match', 'skip']);
  });

  it('reads a folder of summaries from their end, and the whole summary when the index is not all there', async () => {
    // Prepare: the summaries in a folder, as replay writes them; and two more, one with an index longer than
    // the end read first, one with its index not last.
    const dir = mkdtempSync(join(tmpdir(), 'trailwatch-summaries-'));
    try {
      for (const [key, o] of state.objects) {
        mkdirSync(dirname(join(dir, key)), { recursive: true });
        writeFileSync(join(dir, key), o.body);
      }
      const [big, moved] = [logKeys[1], logKeys[2]].map((key) => {
        const summaryKey = summaryKeyFor(BUCKET, key);
        return { key, summaryKey, summary: JSON.parse(state.objects.get(summaryKey)!.body.toString()) };
      });
      const needle = (await recordsOf(trail, big.key))[0].eventID!;
      const movedNeedle = (await recordsOf(trail, moved.key))[0].eventID!;
      big.summary.index.fields.eventIds = {
        values: [needle, ...Array.from({ length: 31 }, (_, i) => `${'x'.repeat(400)}-${i}`)],
      };
      const { index, ...rest } = moved.summary;
      moved.summary = { index, ...rest };
      for (const { summaryKey, summary } of [big, moved])
        writeFileSync(join(dir, summaryKey), JSON.stringify(summary));
      const bigIndex = JSON.stringify(big.summary.index).length;
      const fromFolder = new SummaryIndex(state, BUCKET, '', folderReader(dir));
      const file = (key: string) => {
        const i = state.objects.get(summaryKeyFor(BUCKET, key))!;
        const { source } = JSON.parse(i.body.toString()).index;
        return { trailKey: keyOf(key), size: source.size, etag: source.etag };
      };

      // Act
      const verdicts = await Promise.all(
        [
          [big.key, needle],
          [moved.key, movedNeedle],
        ].flatMap(([key, found]) =>
          [found, 'not-an-event-id'].map((eventId) =>
            fromFolder.check(file(key), { eventId }).then((a) => a.verdict),
          ),
        ),
      );
      const filter = { eventName: 'ConsoleLogin' };
      const folder = await run({ filter, index: new SummaryIndex(state, BUCKET, '', folderReader(dir)) });
      const store = await run({ filter, index: withIndex() });

      // Assess
      expect(bigIndex).toBeGreaterThan(SUMMARY_TAIL_BYTES);
      expect(verdicts).toEqual(['may-match', 'skip', 'may-match', 'skip']);
      expect(folder.stats.indexCorrupt + folder.stats.indexMissing).toBe(0);
      expect(folder.stats.skippedByIndex).toBe(store.stats.skippedByIndex);
      expect(ids(folder)).toEqual(ids(store));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads no summary for a filter no index can rule a file out for, and reads every file', async () => {
    // Prepare
    let gets = 0;
    const counted = Object.create(state) as MemoryObjectStore;
    counted.get = (key, options) => {
      gets++;
      return state.get(key, options);
    };
    const index = new SummaryIndex(counted, BUCKET);

    // Act
    const all = await run({ filter: {}, index });
    const typed = await run({ filter: { resourceType: 'AWS::IAM::Role' }, index });
    const gotForNothing = gets;
    await run({ filter: { eventName: 'ConsoleLogin' }, index });

    // Assess
    expect(gotForNothing).toBe(0);
    expect(gets).toBe(logKeys.length);
    expect(all.stats.filesRead).toBe(logKeys.length);
    expect(typed.stats.filesRead).toBe(logKeys.length);
    expect(all.events.length).toBe((await run({ filter: {} })).events.length);
  });

  it('gives what a lookup without the index gives, for a user and event query', async () => {
    // Prepare
    const r = (await recordsOf(trail, logKeys[5])).find((x) => x.userIdentity?.sessionContext)!;
    const filter = {
      username: r.userIdentity!.sessionContext?.sessionIssuer?.userName ?? 'root',
      readOnly: true,
    };

    // Act
    const indexed = await run({ filter, index: withIndex() });
    const plain = await run({ filter });

    // Assess
    expect(ids(indexed)).toEqual(ids(plain));
    expect(indexed.stats.matched).toBeGreaterThan(0);
  });

  it('finds by resource name and type what a lookup without the index finds, resources from the request too', async () => {
    // Prepare: a resource the extractor takes from a request (the record has no resources[]), by its
    // whole name and by the end a user may type.
    const records = (await Promise.all(logKeys.map((k) => recordsOf(trail, k)))).flat();
    const fromRequest = records
      .filter((r) => !Array.isArray(r.resources))
      .flatMap((r) => extractResources(r))
      .find((res) => /[/:]./.test(res.name));
    expect(fromRequest, 'a resource named in a request, with a path or ARN').toBeDefined();
    const { name, type } = fromRequest!;
    const end = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf(':')) + 1);
    const filters = [
      { resourceName: name },
      { resourceName: end },
      { resourceName: end, resourceType: type },
      { resourceType: type },
      { resourceName: 'no-such-resource-anywhere' },
    ];

    for (const filter of filters) {
      // Act
      const indexed = await run({ filter, index: withIndex(), workers: 2, inThreadFirst: 0 });
      const plain = await run({ filter });

      // Assess
      expect(ids(indexed), JSON.stringify(filter)).toEqual(ids(plain));
    }
    const byName = await run({ filter: { resourceName: name }, index: withIndex() });
    expect(byName.stats.matched).toBeGreaterThan(0);
    expect(byName.stats.skippedByIndex).toBeGreaterThan(0);
  });

  it('shows every record to onRecord: no file skipped by its index, no record by the prefilter', async () => {
    // Prepare
    const total = (await Promise.all(logKeys.map((k) => recordsOf(trail, k)))).flat().length;
    let seen = 0;

    // Act
    const result = await run({
      filter: { eventId: 'no-such-event' },
      index: withIndex(),
      workers: 2,
      inThreadFirst: 0,
      onRecord: () => {
        seen++;
      },
    });

    // Assess
    expect(seen).toBe(total);
    expect(result.stats.skippedByIndex).toBe(0);
    expect(result.stats.filteredRecords).toBe(0);
  });

  it.each([
    ['missing', (key: string) => state.delete(summaryKeyFor(BUCKET, key)), 'indexMissing'],
    [
      'corrupt',
      (key: string) => state.put(summaryKeyFor(BUCKET, key), '{"schema":"trailwatch.summary/1","index":{'),
      'indexCorrupt',
    ],
    [
      'stale',
      // The file rewritten after ingest with one more record: its index no longer describes it.
      async (key: string) => {
        const records = await recordsOf(trail, key);
        const added = { ...records[0], eventID: 'added-after-ingest-0001' };
        await trail.put(key, gzipSync(JSON.stringify({ Records: [...records, added] })));
      },
      'indexStale',
    ],
  ] as const)('reads a file whose index is %s in full and counts it', async (_what, spoil, counter) => {
    // Prepare
    const key = logKeys[logKeys.length - 1 - ['missing', 'corrupt', 'stale'].indexOf(_what)];
    await spoil(key);
    const wanted =
      _what === 'stale' ? 'added-after-ingest-0001' : (await recordsOf(trail, key)).at(-1)!.eventID!;

    // Act
    const found = await run({ filter: { eventId: wanted }, index: withIndex() });

    // Assess
    expect(ids(found)).toEqual([wanted]);
    expect(found.stats[counter]).toBe(1);
  });

  it('gives the same events and counts with worker threads as in the main thread alone', async () => {
    // Prepare
    const filters = [{}, { eventName: 'ConsoleLogin' }, { readOnly: false, eventSource: 'iam' }];

    for (const filter of filters) {
      // Act
      const threads = await run({ filter, workers: 2, inThreadFirst: 0 });
      const single = await run({ filter, workers: 0 });

      // Assess
      expect(threads.events.map((e) => [e.file.key, e.record])).toEqual(
        single.events.map((e) => [e.file.key, e.record]),
      );
      const { records, filteredRecords, matched, filesRead, bytes } = threads.stats;
      expect({ records, filteredRecords, matched, filesRead, bytes }).toEqual({
        records: single.stats.records,
        filteredRecords: single.stats.filteredRecords,
        matched: single.stats.matched,
        filesRead: single.stats.filesRead,
        bytes: single.stats.bytes,
      });
    }
  });

  it('renders each match where it is read into the line the CLI prints for it, in threads or not', async () => {
    // Prepare
    const filters = [{}, { readOnly: false, eventSource: 'iam' }];
    const readBytes = async (key: string) => new Uint8Array(trail.objects.get(key)!.body);

    for (const filter of filters) {
      const events = (await run({ filter, workers: 0 })).events;
      for (const format of ['csv', 'json'] as const) {
        const expected = events.map((e) => renderLine(e, format));
        // Act
        const threads = await run({ filter, workers: 2, inThreadFirst: 0, render: format });
        const single = await run({ filter, workers: 0, render: format });
        const whole = await run({ filter, workers: 0, render: format, readBytes });
        // One thread, its queue soon full: the main thread reads files too.
        const mixed = await run({ filter, workers: 1, inThreadFirst: 0, render: format, readBytes });

        // Assess
        expect(mixed.lines, format).toEqual(expected);
        expect(threads.lines, format).toEqual(expected);
        expect(single.lines, format).toEqual(expected);
        expect(whole.lines, format).toEqual(expected);
        expect([threads.events, single.events, whole.events]).toEqual([[], [], []]);
        expect(whole.stats.matched).toBe(events.length);
      }
    }
    expect(renderLine({ record: { eventName: 'GetObject' }, file: keyOf(logKeys[0]) }, 'csv')).toMatch(
      /^,\d{12},[a-z0-9-]+,,GetObject,/,
    );
  });

  it('starts threads when records are parsed, not when the byte prefilter leaves most unparsed', async () => {
    // Prepare
    const readBytes = async (key: string) => new Uint8Array(trail.objects.get(key)!.body);
    const needle = (await recordsOf(trail, logKeys[3]))[1].eventID!;

    // Act
    const heavy = await run({ filter: {}, workers: 1, inThreadFirst: 4, readBytes, render: 'csv' });
    const light = await run({
      filter: { eventId: needle },
      workers: 1,
      inThreadFirst: 4,
      readBytes,
      // However slow the machine, only the kind of work decides here.
      threadsAfterMs: Number.POSITIVE_INFINITY,
    });
    const lightLong = await run({
      filter: { eventId: needle },
      workers: 1,
      inThreadFirst: 4,
      readBytes,
      threadsAfterMs: 0,
    });
    const none = await run({ filter: {}, workers: 0, readBytes, render: 'csv' });

    // Assess
    expect(heavy.stats.filesInThreads).toBeGreaterThan(0);
    expect(heavy.stats.filesInThreads).toBeLessThan(heavy.stats.filesRead);
    expect(heavy.lines).toEqual(none.lines);
    expect(light.stats.filesInThreads).toBe(0);
    expect(lightLong.stats.filesInThreads).toBeGreaterThan(0);
    expect(ids(lightLong)).toEqual([needle]);
    expect(light.stats.filesRead).toBe(logKeys.length);
    expect(ids(light)).toEqual([needle]);
    expect(none.stats.filesInThreads).toBe(0);
  });

  it('reports a file a worker cannot read, and goes on', async () => {
    // Prepare
    const key = logKeys[0];
    await trail.put(key, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]));
    const unreadable: string[] = [];

    // Act
    const result = await run({
      filter: {},
      workers: 2,
      inThreadFirst: 0,
      onUnreadable: (k, why) => unreadable.push(`${k}: ${why}`),
    });

    // Assess
    expect(unreadable).toHaveLength(1);
    expect(unreadable[0]).toMatch(/gzip/);
    expect(result.stats.unreadableFiles).toBe(1);
    expect(result.stats.filesRead).toBe(logKeys.length - 1);
  });
});

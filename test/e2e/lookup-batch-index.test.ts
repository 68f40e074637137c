/**
 * Lookup over a trail that batched ingest (shared/pipeline/ingest-batch.ts) has summarized: no file has a
 * summary of its own, each batch's summaries object holds their indexes, and lookup goes by them; a batch
 * object that cannot be read gets its files read in full, never skipped.
 */
import { gunzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import { SummaryIndex } from '#cli/lookup/index-check.ts';
import { type LookupOptions, lookup } from '#cli/lookup/scan.ts';
import { ingestConfig } from '#shared/config.ts';
import { BATCH_SUMMARIES_PREFIX } from '#shared/keys.ts';
import { ingestBatch } from '#shared/pipeline/ingest-batch.ts';
import type { IngestPorts } from '#shared/pipeline/ingest-log-files.ts';
import { noMetrics } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { smallLookupTrail } from '#test/support/quiet-trail.ts';

const BUCKET = 'trail-bucket';
const BATCH = 7;

let trail: MemoryObjectStore;
let state: MemoryObjectStore;
let logKeys: string[];

async function recordsOf(key: string): Promise<CloudTrailRecord[]> {
  const body = trail.objects.get(key)!.body;
  return (JSON.parse(gunzipSync(body).toString('utf8')) as { Records: CloudTrailRecord[] }).Records;
}

function run(options: Partial<LookupOptions> & Pick<LookupOptions, 'filter'>) {
  return lookup({ store: trail, concurrency: 4, ...options });
}

const batchKeys = () => [...state.objects.keys()].filter((k) => k.startsWith(BATCH_SUMMARIES_PREFIX));
const ids = (r: Awaited<ReturnType<typeof lookup>>) => r.events.map((e) => e.record.eventID);

beforeAll(async () => {
  ({ trail, logKeys } = await smallLookupTrail(2));
  state = new MemoryObjectStore('state');
  const ports: IngestPorts = {
    config: ingestConfig({
      STATE_BUCKET: 'state',
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
    }),
    rules: [],
    sourceStore: () => trail,
    state,
    notifier: new OutboxNotifier(),
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: noMetrics,
    now: () => new Date(),
    dispatchDigest: async () => {},
  };
  for (let i = 0; i < logKeys.length; i += BATCH) {
    const result = await ingestBatch(
      ports,
      logKeys.slice(i, i + BATCH).map((key, j) => ({
        messageId: `m${i + j}`,
        bucket: BUCKET,
        key,
        notification: {},
      })),
    );
    expect(result.failedMessageIds).toEqual([]);
  }
}, 60_000);

describe('lookup with the indexes of batched ingest', () => {
  it('goes by the batch summaries objects: reads only the files that can hold a needle', async () => {
    // Prepare
    const needleFile = logKeys[Math.floor(logKeys.length / 2)];
    const needle = (await recordsOf(needleFile))[0].eventID!;
    expect(batchKeys().length).toBe(Math.ceil(logKeys.length / BATCH));
    expect([...state.objects.keys()].some((k) => k.endsWith('.summary.json'))).toBe(false);

    // Act
    const indexed = await run({ filter: { eventId: needle }, index: new SummaryIndex(state, BUCKET) });
    const plain = await run({ filter: { eventId: needle } });

    // Assess
    expect(ids(indexed)).toEqual([needle]);
    expect(ids(indexed)).toEqual(ids(plain));
    expect(indexed.stats.indexMissing).toBe(0);
    expect(indexed.stats.filesRead).toBeLessThan(Math.max(3, logKeys.length * 0.05));
    expect(indexed.stats.filesRead + indexed.stats.skippedByIndex).toBe(logKeys.length);
  });

  it('reads in full, and counts, the files of a batch object that is corrupt or gone', async () => {
    // Prepare
    const [first, second] = batchKeys();
    const damaged = new MemoryObjectStore('state');
    for (const [k, o] of state.objects) if (k !== second) await damaged.put(k, o.body);
    await damaged.put(first, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]));
    const filter = { eventName: 'ConsoleLogin' };
    const filesIn = (key: string) =>
      (JSON.parse(gunzipSync(state.objects.get(key)!.body).toString('utf8')) as { summaries: unknown[] })
        .summaries.length;
    const lost = filesIn(first) + filesIn(second);

    // Act
    const indexed = await run({ filter, index: new SummaryIndex(damaged, BUCKET) });
    const plain = await run({ filter });

    // Assess
    expect(ids(indexed)).toEqual(ids(plain));
    expect(indexed.stats.indexMissing).toBe(lost);
    expect(indexed.stats.skippedByIndex).toBeGreaterThan(0);
  });
});

import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { lambdaContext, s3Event } from '#cli/replay/events.ts';
import { ingestHandler } from '#functions/handlers.ts';
import { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { readLogRecords } from '#shared/logfile/read.ts';
import { ObjectNotFoundError, PreconditionFailedError, readAll } from '#shared/ports.ts';
import { motoEndpoint } from '#test/setup/moto-client.ts';
import { logFile, metricTotal, record, testPipeline } from '#test/support/logfiles.ts';

let client: S3Client;
const bucket = `s3-store-${Date.now()}`;

beforeAll(async () => {
  client = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
});

describe('S3ObjectStore against moto_server', () => {
  it('round-trips objects with user metadata and streams bodies', async () => {
    // Prepare
    const store = new S3ObjectStore(client, bucket);
    // Act
    await store.put('a/b.json', '{"x":1}', {
      metadata: { signature: 'abcd', 'signature-algorithm': 'SHA256withRSA' },
    });
    const head = await store.head('a/b.json');
    const body = await readAll(store, 'a/b.json');
    // Assess
    expect(head?.metadata).toEqual({ signature: 'abcd', 'signature-algorithm': 'SHA256withRSA' });
    expect(head?.size).toBe(7);
    expect(body.toString()).toBe('{"x":1}');
    expect(await store.head('a/missing')).toBeUndefined();
    await expect(store.get('a/missing')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('honours If-None-Match and If-Match like S3', async () => {
    const store = new S3ObjectStore(client, bucket);
    const { etag } = await store.put('cond/state.json', 'v1', { ifNoneMatch: '*' });
    await expect(store.put('cond/state.json', 'v2', { ifNoneMatch: '*' })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    await store.put('cond/state.json', 'v2', { ifMatch: etag });
    await expect(store.put('cond/state.json', 'v3', { ifMatch: etag })).rejects.toBeInstanceOf(
      PreconditionFailedError,
    );
    expect((await readAll(store, 'cond/state.json')).toString()).toBe('v2');
  });

  it('lists keys in order across pages and lists folders', async () => {
    const store = new S3ObjectStore(client, bucket);
    const put = (i: number) =>
      client.send(
        new PutObjectCommand({ Bucket: bucket, Key: `many/${String(i).padStart(4, '0')}`, Body: 'x' }),
      );
    for (let i = 0; i < 1005; i += 67) await Promise.all(Array.from({ length: 67 }, (_, j) => put(i + j)));
    await store.put('tree/x/1', '1');
    await store.put('tree/y/2', '2');
    const keys: string[] = [];
    for await (const o of store.list('many/')) keys.push(o.key);
    expect(keys).toHaveLength(1005);
    expect(keys).toEqual([...keys].sort());
    expect(await store.listFolders('tree/')).toEqual(['tree/x/', 'tree/y/']);
  });

  it('feeds a log file through the ingest handler with the real S3 client', async () => {
    // Prepare
    const source = new S3ObjectStore(client, bucket);
    const state = new S3ObjectStore(client, bucket);
    const key =
      'trail/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_20261120T1005Z_Ab3dEf6hIj9kLm0n.json.gz';
    const body = logFile(Array.from({ length: 500 }, (_, i) => record({ eventID: `e${i}` })));
    await source.put(key, body);
    const p = testPipeline();
    p.deps.sourceStore = () => source;
    p.deps.state = state;
    // Act
    const result = await ingestHandler(p.deps)(
      s3Event(bucket, key, body.length, new Date()),
      lambdaContext('ingest'),
    );
    // Assess
    expect(result.outcomes[0].status).toBe('ingested');
    expect(metricTotal(p.emf, 'Records')).toBe(500);
    const summary = JSON.parse(
      (await readAll(state, `summaries/${bucket}/${key.replace('.json.gz', '')}.summary.json`)).toString(),
    );
    expect(summary.records).toBe(500);
    let n = 0;
    for await (const batch of readLogRecords((await source.get(key)).body)) n += batch.length;
    expect(n).toBe(500);
  });
});

import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import {
  type Delivery,
  demoScenario,
  type GeneratedTrail,
  GeneratorError,
  generateTrail,
  MANIFEST_KEY,
  PUBLIC_KEYS_KEY,
  sampleSigningKey,
  type TrailScenario,
  writeLargeLogFile,
} from '#cli/generator/index.ts';
import { type DigestFile, digestTime, sha256Hex, stringToSign } from '#shared/digest/digest-format.ts';
import { classifyKey } from '#shared/keys.ts';
import { readAll } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { extractResources } from '#shared/resources/index.ts';

/** A few hours on a Thursday, two regions, everything switched on: quick to generate. */
const small: TrailScenario = {
  ...demoScenario,
  seed: 11,
  start: '2026-03-05T08:00:00Z',
  hours: 4,
  regions: ['us-east-1', 'eu-west-1'],
  eventsPerMinute: 8,
  bursts: [],
};

async function generate(s: TrailScenario): Promise<{ store: MemoryObjectStore; trail: GeneratedTrail }> {
  const store = new MemoryObjectStore();
  const trail = await generateTrail(s, store);
  return { store, trail };
}

async function records(store: MemoryObjectStore, d: Delivery): Promise<CloudTrailRecord[]> {
  return (
    JSON.parse(gunzipSync(await readAll(store, d.key)).toString('utf8')) as { Records: CloudTrailRecord[] }
  ).Records;
}

function snapshot(store: MemoryObjectStore): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, o] of store.objects) {
    out.set(key, `${sha256Hex(o.body)} ${JSON.stringify(o.metadata ?? {})}`);
  }
  return out;
}

describe('generateTrail determinism', () => {
  it('gives byte-identical objects for the same scenario and different ones for another seed', async () => {
    // Prepare / Act
    const a = await generate(small);
    const b = await generate(small);
    const c = await generate({ ...small, seed: 12 });

    // Assess
    expect(a.store.objects.size).toBeGreaterThan(50);
    expect(snapshot(b.store)).toEqual(snapshot(a.store));
    const keysA = [...a.store.objects.keys()].filter((k) => k.includes('/CloudTrail/'));
    const keysC = [...c.store.objects.keys()].filter((k) => k.includes('/CloudTrail/'));
    expect(keysC).not.toEqual(keysA);
    const sharedKeys = [...a.store.objects.keys()].filter(
      (k) => c.store.objects.has(k) && k.includes('CloudTrail'),
    );
    for (const k of sharedKeys)
      expect(sha256Hex(c.store.objects.get(k)!.body)).not.toBe(sha256Hex(a.store.objects.get(k)!.body));
  });
});

describe('generated trail layout', () => {
  let store: MemoryObjectStore;
  let trail: GeneratedTrail;
  beforeAll(async () => {
    ({ store, trail } = await generate(small));
  });

  it('names every object the way CloudTrail does, and classifyKey reads back kind, account, region and time', () => {
    // Prepare
    const logs = trail.deliveries.filter((d) => d.kind === 'log');

    // Act
    const classified = trail.deliveries.map((d) => ({ d, k: classifyKey(d.key) }));

    // Assess
    expect(logs.length).toBeGreaterThan(90);
    expect(new Set(trail.deliveries.map((d) => d.key)).size).toBe(trail.deliveries.length);
    for (const { d, k } of classified) {
      expect(k.kind).toBe(d.kind);
      if (k.kind !== 'log' && k.kind !== 'digest') continue;
      expect(k.account).toBe(d.account);
      expect(k.region).toBe(d.region);
      expect(k.prefix).toBe('');
      if (k.kind === 'log') {
        // A log file is named after its delivery, to the minute.
        expect(k.time.toISOString().slice(0, 16)).toBe(d.deliveredAt.slice(0, 16));
      } else {
        // A digest is named after the end of its window and delivered a few minutes later.
        const delay = Date.parse(d.deliveredAt) - k.time.getTime();
        expect(delay).toBeGreaterThan(0);
        expect(delay).toBeLessThanOrEqual(5 * 60_000);
        expect(k.trailName).toBe(small.trailName);
        expect(k.homeRegion).toBe(small.homeRegion);
      }
    }
    for (const region of small.regions) {
      // About one file every 5 minutes per region.
      const n = logs.filter((d) => d.region === region).length;
      expect(n).toBeGreaterThanOrEqual(small.hours * 12 - 2);
      expect(n).toBeLessThanOrEqual(small.hours * 12 + 4);
    }
  });

  it('uses the prefix and organization layout when the scenario asks for them', async () => {
    // Prepare
    const s = {
      ...small,
      hours: 1,
      accounts: ['111111111111', '222222222222'],
      prefix: 'org/trail/',
      orgId: 'o-a1b2c3d4e5',
    };

    // Act
    const { trail: t } = await generate(s);

    // Assess
    const accounts = new Set<string>();
    for (const d of t.deliveries) {
      const k = classifyKey(d.key);
      expect(k.kind).toBe(d.kind);
      if (k.kind === 'other') continue;
      expect(k.prefix).toBe('org/trail/');
      expect(k.orgId).toBe('o-a1b2c3d4e5');
      expect(k.account).toBe(d.account);
      accounts.add(k.account);
    }
    expect([...accounts].sort()).toEqual(['111111111111', '222222222222']);
  });

  it('writes valid gzip JSON log files whose records carry the fields CloudTrail writes', async () => {
    // Prepare
    const logs = trail.deliveries.filter((d) => d.kind === 'log');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    let unsortedFiles = 0;
    let total = 0;

    // Act / Assess
    for (const d of logs) {
      const raw = gunzipSync(await readAll(store, d.key)).toString('utf8');
      const recs = (JSON.parse(raw) as { Records: CloudTrailRecord[] }).Records;
      // Compact JSON exactly as JSON.stringify writes it.
      expect(raw).toBe(JSON.stringify({ Records: recs }));
      expect(recs.length).toBeGreaterThan(0);
      expect(recs.length).toBe(d.records);
      total += recs.length;
      const times = recs.map((r) => r.eventTime!);
      if (times.some((t, i) => i > 0 && t < times[i - 1])) unsortedFiles++;
      for (const r of recs) {
        expect(r.eventVersion).toBe('1.11');
        expect(r.eventTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const lag = Date.parse(d.deliveredAt) - Date.parse(r.eventTime!);
        expect(lag).toBeGreaterThan(3 * 60_000);
        expect(lag).toBeLessThan(30 * 60_000);
        expect(r.eventSource).toMatch(/\.amazonaws\.com$/);
        expect(typeof r.eventName).toBe('string');
        expect(r.awsRegion).toBe(d.region);
        expect(typeof r.sourceIPAddress).toBe('string');
        expect(typeof r.userAgent).toBe('string');
        expect(r.eventID).toMatch(uuid);
        expect(typeof r.readOnly).toBe('boolean');
        expect(['AwsApiCall', 'AwsConsoleSignIn']).toContain(r.eventType);
        expect(r.managementEvent).toBe(true);
        expect(r.recipientAccountId).toBe(d.account);
        expect(r.eventCategory).toBe('Management');
        expect(typeof r.userIdentity?.type).toBe('string');
        expect('requestParameters' in r).toBe(true);
        expect('responseElements' in r).toBe(true);
        if (r.eventName !== 'ConsoleLogin') expect(typeof r.requestID).toBe('string');
        if (r.errorCode) expect(typeof r.errorMessage).toBe('string');
        if (/^(iam|sts|signin)\./.test(r.eventSource!)) expect(r.awsRegion).toBe('us-east-1');
        if (r.userIdentity?.type === 'AWSService') expect(r.sourceIPAddress).toBe(r.userIdentity.invokedBy);
        if (r.userIdentity?.type === 'AssumedRole')
          expect(r.userIdentity.sessionContext?.sessionIssuer?.type).toBe('Role');
      }
    }
    expect(total).toBe(logs.reduce((n, d) => n + d.records!, 0));
    // CloudTrail does not sort records inside a file.
    expect(unsortedFiles).toBeGreaterThan(logs.length / 2);
  });

  it('mixes principals, reads and writes, and a few percent of failures', async () => {
    // Prepare
    const all: CloudTrailRecord[] = [];
    for (const d of trail.deliveries.filter((x) => x.kind === 'log')) all.push(...(await records(store, d)));

    // Act
    const types = new Set(all.map((r) => r.userIdentity?.type));
    const reads = all.filter((r) => r.readOnly).length / all.length;
    const failed = all.filter((r) => r.errorCode).length / all.length;
    const codes = new Set(all.map((r) => r.errorCode).filter(Boolean));

    // Assess
    expect([...types].sort()).toEqual(expect.arrayContaining(['AWSService', 'AssumedRole', 'IAMUser']));
    expect(reads).toBeGreaterThan(0.65);
    expect(reads).toBeLessThan(0.88);
    expect(failed).toBeGreaterThan(0.005);
    expect(failed).toBeLessThan(0.08);
    expect([...codes]).toEqual(
      expect.arrayContaining(['AccessDeniedException', 'Client.UnauthorizedOperation']),
    );
    const stop = all.find((r) => r.eventName === 'StopInstances' && !r.errorCode);
    expect(stop).toBeDefined();
    const items = (stop!.requestParameters as { instancesSet: { items: { instanceId: string }[] } })
      .instancesSet.items;
    expect(items[0].instanceId).toMatch(/^i-0[0-9a-f]{16}$/);
    // Like a real StopInstances: no resources[]; the instance is named by the request and the response.
    expect(stop!.resources).toBeUndefined();
    expect(extractResources(stop)).toEqual([{ type: 'AWS::EC2::Instance', name: items[0].instanceId }]);
    expect(JSON.stringify(stop!.responseElements)).toContain(items[0].instanceId);
  });

  it('writes public-keys.json and a manifest equal to the returned trail, deliveries in delivery order', async () => {
    // Prepare
    const key = sampleSigningKey();

    // Act
    const keys = JSON.parse((await readAll(store, PUBLIC_KEYS_KEY)).toString('utf8'));
    const manifest = JSON.parse((await readAll(store, MANIFEST_KEY)).toString('utf8'));

    // Assess
    expect(trail.publicKeysKey).toBe(PUBLIC_KEYS_KEY);
    expect(keys.PublicKeyList).toHaveLength(1);
    const entry = keys.PublicKeyList[0];
    expect(Buffer.from(entry.Value, 'base64').equals(key.publicKeyDer)).toBe(true);
    expect(entry.Fingerprint).toBe(
      createHash('md5').update(Buffer.from(entry.Value, 'base64')).digest('hex'),
    );
    expect(entry.Fingerprint).toBe(trail.signingKeyFingerprint);
    expect(entry.ValidityStartTime <= small.start).toBe(true);
    expect(manifest).toEqual(JSON.parse(JSON.stringify(trail)));
    const order = trail.deliveries.map((d) => `${d.deliveredAt} ${d.key}`);
    expect(order).toEqual([...order].sort());
    const written = [...store.objects.keys()].filter((k) => k.includes('AWSLogs/')).sort();
    expect(trail.deliveries.map((d) => d.key).sort()).toEqual(written);
  });
});

describe('generated digests', () => {
  let store: MemoryObjectStore;
  let trail: GeneratedTrail;
  beforeAll(async () => {
    ({ store, trail } = await generate(small));
  });

  it('chain per account and region, and every signature verifies against public-keys.json', async () => {
    // Prepare
    const keys = JSON.parse((await readAll(store, PUBLIC_KEYS_KEY)).toString('utf8'));
    const publicKey = createPublicKey({
      key: Buffer.from(keys.PublicKeyList[0].Value, 'base64'),
      format: 'der',
      type: 'pkcs1',
    });

    for (const region of small.regions) {
      const chain = trail.deliveries
        .filter((d) => d.kind === 'digest' && d.region === region)
        .sort((a, b) => (a.key < b.key ? -1 : 1));
      expect(chain.length).toBeGreaterThanOrEqual(small.hours);
      let previous: { key: string; sha256: string; signature: string } | undefined;
      for (const d of chain) {
        // Act
        const raw = gunzipSync(await readAll(store, d.key));
        const digest = JSON.parse(raw.toString('utf8')) as DigestFile;
        const meta = (await store.head(d.key))!.metadata!;

        // Assess
        expect(Object.keys(digest).slice(0, 3)).toEqual(['awsAccountId', 'digestStartTime', 'digestEndTime']);
        expect(digest.digestS3Bucket).toBe(small.bucket);
        expect(digest.digestS3Object).toBe(d.key);
        expect(digest.digestPublicKeyFingerprint).toBe(keys.PublicKeyList[0].Fingerprint);
        expect(meta['signature-algorithm']).toBe('SHA256withRSA');
        expect(meta.signature).toMatch(/^[0-9a-f]{512}$/);
        expect(digest.digestEndTime.slice(14)).not.toBe('00:00Z');
        if (previous) {
          expect(digest.previousDigestS3Bucket).toBe(small.bucket);
          expect(digest.previousDigestS3Object).toBe(previous.key);
          expect(digest.previousDigestHashValue).toBe(previous.sha256);
          expect(digest.previousDigestHashAlgorithm).toBe('SHA-256');
          expect(digest.previousDigestSignature).toBe(previous.signature);
        } else {
          expect(digest.digestStartTime).toBe(digestTime(new Date(small.start)));
          expect(digest.previousDigestS3Bucket).toBeNull();
          expect(digest.previousDigestS3Object).toBeNull();
          expect(digest.previousDigestHashValue).toBeNull();
          expect(digest.previousDigestHashAlgorithm).toBeNull();
          expect(digest.previousDigestSignature).toBeNull();
        }
        const text = stringToSign({
          digestEndTime: digest.digestEndTime,
          digestS3Bucket: digest.digestS3Bucket,
          digestS3Object: digest.digestS3Object,
          digestSha256Hex: sha256Hex(raw),
          previousDigestSignature: digest.previousDigestSignature,
        });
        expect(verify('sha256', Buffer.from(text), publicKey, Buffer.from(meta.signature, 'hex'))).toBe(true);
        previous = { key: d.key, sha256: sha256Hex(raw), signature: meta.signature };
      }
    }
  });

  it('list exactly the log files delivered in their window, with the SHA-256 of the uncompressed bytes', async () => {
    // Prepare
    const listed = new Map<string, number>();

    for (const d of trail.deliveries.filter((x) => x.kind === 'digest')) {
      // Act
      const digest = JSON.parse(gunzipSync(await readAll(store, d.key)).toString('utf8')) as DigestFile;
      const expected = trail.deliveries
        .filter(
          (x) =>
            x.kind === 'log' &&
            x.region === d.region &&
            x.account === d.account &&
            x.deliveredAt >= digest.digestStartTime &&
            x.deliveredAt < digest.digestEndTime,
        )
        .map((x) => x.key)
        .sort();

      // Assess
      expect(digest.logFiles.map((f) => f.s3Object).sort()).toEqual(expected);
      expect(new Date(d.deliveredAt).getTime()).toBeGreaterThan(Date.parse(digest.digestEndTime));
      for (const f of digest.logFiles) {
        listed.set(f.s3Object, (listed.get(f.s3Object) ?? 0) + 1);
        const raw = gunzipSync(await readAll(store, f.s3Object));
        expect(f.s3Bucket).toBe(small.bucket);
        expect(f.hashAlgorithm).toBe('SHA-256');
        expect(f.hashValue).toBe(sha256Hex(raw));
        const times = (JSON.parse(raw.toString('utf8')).Records as CloudTrailRecord[])
          .map((r) => r.eventTime!)
          .sort();
        expect(f.oldestEventTime).toBe(times[0]);
        expect(f.newestEventTime).toBe(times[times.length - 1]);
      }
      if (digest.logFiles.length > 0) {
        expect(digest.oldestEventTime).toBe(digest.logFiles.map((f) => f.oldestEventTime).sort()[0]);
        expect(digest.newestEventTime).toBe(
          digest.logFiles
            .map((f) => f.newestEventTime)
            .sort()
            .at(-1),
        );
      }
    }
    const logKeys = trail.deliveries.filter((x) => x.kind === 'log').map((x) => x.key);
    expect([...listed.keys()].sort()).toEqual(logKeys.sort());
    expect([...listed.values()].every((n) => n === 1)).toBe(true);
  });

  it('are written for hours without log files, with an empty list and null event times', async () => {
    // Prepare
    const quiet = {
      ...small,
      eventsPerMinute: 0,
      securityEvents: false,
      recurringDeployBurst: false,
      hours: 3,
      regions: ['eu-west-1'],
    };

    // Act
    const { store: s, trail: t } = await generate(quiet);

    // Assess
    expect(t.deliveries.filter((d) => d.kind === 'log')).toHaveLength(0);
    const digests = t.deliveries.filter((d) => d.kind === 'digest');
    expect(digests.length).toBeGreaterThanOrEqual(3);
    for (const d of digests) {
      const digest = JSON.parse(gunzipSync(await readAll(s, d.key)).toString('utf8')) as DigestFile;
      expect(digest.logFiles).toEqual([]);
      expect(digest.newestEventTime).toBeNull();
      expect(digest.oldestEventTime).toBeNull();
    }
  });

  it('are left out when the scenario turns digests off', async () => {
    // Prepare / Act
    const { trail: t } = await generate({ ...small, hours: 1, digests: false });

    // Assess
    expect(t.deliveries.length).toBeGreaterThan(0);
    expect(t.deliveries.every((d) => d.kind === 'log')).toBe(true);
  });
});

describe('scenario checks', () => {
  it.each([
    [{ start: '2026-03-05T08:30:00Z' }, /whole hour/],
    [{ hours: 0 }, /hours/],
    [{ accounts: ['12345'] }, /12-digit/],
    [{ regions: ['mars-1'] }, /region/],
    [{ prefix: 'no-slash' }, /prefix/],
    [{ orgId: 'org-1' }, /organization id/],
    [
      {
        bursts: [
          {
            eventSource: 'ec2.amazonaws.com',
            eventName: 'RunInstances',
            start: '2026-03-09T00:00:00Z',
            minutes: 5,
            perMinute: 3,
          },
        ],
      },
      /inside the trail/,
    ],
    [
      {
        bursts: [
          {
            eventSource: 'ec2.amazonaws.com',
            eventName: 'RunInstances',
            start: '2026-03-05T09:00:00Z',
            minutes: 5,
            perMinute: 3,
            region: 'ap-south-1',
          },
        ],
      },
      /region/,
    ],
    [
      {
        bursts: [
          {
            eventSource: 'ec2.amazonaws.com',
            eventName: 'RunInstances',
            start: '2026-03-05T09:00:00Z',
            minutes: 5,
            perMinute: 3,
            principalArn: 'bob',
          },
        ],
      },
      /principalArn/,
    ],
  ] as [Partial<TrailScenario>, RegExp][])('rejects %j', async (change, message) => {
    // Prepare
    const s = { ...small, ...change };

    // Act
    const run = generateTrail(s, new MemoryObjectStore());

    // Assess
    await expect(run).rejects.toThrow(GeneratorError);
    await expect(generateTrail(s, new MemoryObjectStore())).rejects.toThrow(message);
  });
});

describe('writeLargeLogFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trailwatch-large-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('streams a parseable log file close to the target size, the same for the same seed', async () => {
    // Prepare
    const target = 3_000_000;
    const a = join(dir, 'a.json.gz');
    const b = join(dir, 'b.json.gz');

    // Act
    const result = await writeLargeLogFile(a, {
      targetBytes: target,
      seed: 3,
      region: 'eu-west-1',
      time: '2026-03-05T12:00:00Z',
    });
    await writeLargeLogFile(b, {
      targetBytes: target,
      seed: 3,
      region: 'eu-west-1',
      time: '2026-03-05T12:00:00Z',
    });

    // Assess
    const gz = await readFile(a);
    const raw = gunzipSync(gz);
    const parsed = JSON.parse(raw.toString('utf8')) as { Records: CloudTrailRecord[] };
    expect(parsed.Records).toHaveLength(result.records);
    expect(result.uncompressedBytes).toBe(raw.length);
    expect(result.compressedBytes).toBe((await stat(a)).size);
    expect(raw.length).toBeLessThanOrEqual(target);
    expect(raw.length).toBeGreaterThan(target - 10_000);
    expect(result.compressedBytes).toBeLessThan(raw.length / 4);
    for (const r of parsed.Records) {
      expect(r.awsRegion).toBe('eu-west-1');
      expect(r.eventTime! < '2026-03-05T12:00:00Z').toBe(true);
      expect(r.eventTime! >= '2026-03-05T11:45:00Z').toBe(true);
    }
    expect((await readFile(b)).equals(gz)).toBe(true);
  });
});

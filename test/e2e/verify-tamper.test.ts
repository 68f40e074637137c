/**
 * The verify function against a generated two-day trail, untouched and tampered, replayed delivery by
 * delivery through the real ingest and verify handlers (ingest hands each digest to verify, as in AWS).
 * Each tampering must be reported against the file it touched, by the digest whose check uncovers it, in
 * both the verdict object and the SNS alert, and nothing else may be reported. The one tampering no
 * delivered digest can uncover, the newest digest deleted, is the watchdog's to report.
 *
 * The tamperings share one trail, several hours apart, so that the trail is replayed only twice; every
 * report is still attributable, because each digest's alert and verdict are checked on their own and the
 * set of digests reporting anything must be exactly the expected one.
 */
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore, MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { type GeneratedTrail, generateTrail, sampleSigningKey } from '#cli/generator/index.ts';
import { type ReplayReport, replay } from '#cli/replay/local-pipeline.ts';
import { publicKeysFromStore } from '#shared/digest/public-keys.ts';
import { classifyKey, digestFileKey } from '#shared/keys.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import { verdictKeyFor } from '#shared/pipeline/verify-digests.ts';
import { type Notification, readAll } from '#shared/ports.ts';
import { DEFAULT_WATCHDOG, runWatchdog } from '#shared/watchdog/delivery-gaps.ts';
import { watchdogAlerts } from '#shared/watchdog/gap-alerts.ts';
import {
  appendGzipMember,
  attackerKey,
  copyObject,
  deleteObject,
  editDigest,
  INTEGRITY_TRAIL,
  integrityScenario,
  modifyLogFile,
  resignDigest,
} from './tamper.ts';

const BUCKET = INTEGRITY_TRAIL.bucket;
const ACCOUNT = INTEGRITY_TRAIL.account;
const REGION = INTEGRITY_TRAIL.region;
const TRAIL = INTEGRITY_TRAIL.trailName;
/** The topic replay publishes to. */
const REPLAY_TOPIC = 'arn:aws:sns:local:000000000000:trailwatch-alerts';
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:trailwatch-alerts';
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const NEWEST_DELETED = 'the newest digest deleted';

/** One file reported invalid: what the alert's `failures` and the verdict object hold. */
interface Failure {
  type: 'digest' | 'log';
  key: string;
  code: string;
  reason: string;
}

/** What verify must report for one tampering: by which delivered digest, against which files. */
interface Expected {
  by: string;
  failures: Failure[];
}

interface Tampering {
  name: string;
  /** Tampers with the trail and says what must be reported. */
  apply(store: FsObjectStore): Promise<Expected[]>;
}

interface Replayed {
  report: ReplayReport;
  out: FsObjectStore;
  /** Digest alerts from `notifications.jsonl`, with their structured JSON. */
  alerts: { notification: Notification; data: AlertData }[];
  /** Every line of `notifications.jsonl`. */
  all: Notification[];
}

interface AlertData {
  kind: string;
  account: string;
  region: string;
  digest: { bucket: string; key: string; status: string; code: string };
  failures: (Failure & { bucket: string; detail: string | null })[];
}

interface Verdict {
  schema: string;
  account: string;
  region: string;
  digest: Failure & { status: string };
  previous: (Failure & { status: string }) | null;
  gaps: (Failure & { status: string; inferred?: boolean })[];
  logFiles: { total: number; invalid: Failure[] };
}

let root: string;
let pristine: string;
let trail: GeneratedTrail;
let digests: string[];
let logs: string[];
let clean: Replayed;
let tampered: Replayed;
let tamperedStore: FsObjectStore;
const expected = new Map<string, Expected[]>();

const timeOf = (key: string) => {
  const c = classifyKey(key);
  if (c.kind !== 'digest') throw new Error(`expected a digest key, found ${key}`);
  return c.time.getTime();
};
const digestAt = (time: number) =>
  digestFileKey({
    account: ACCOUNT,
    region: REGION,
    trailName: TRAIL,
    homeRegion: REGION,
    endTime: new Date(time),
  });
const fail = (type: Failure['type'], key: string, code: string, reason: string): Failure => ({
  type,
  key,
  code,
  reason,
});
const byKey = (a: Failure, b: Failure) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.code < b.code ? -1 : 1);
const sorted = (fs: Failure[]) => [...fs].sort(byKey);
const plain = (f: Failure): Failure => fail(f.type, f.key, f.code, f.reason);

/** The log files a digest lists, read from the pristine trail. */
async function logsOf(digestKey: string): Promise<string[]> {
  const d = JSON.parse(gunzipSync(await readAll(new FsObjectStore(pristine), digestKey)).toString('utf8'));
  const listed = d.logFiles.map((l: { s3Object: string }) => l.s3Object) as string[];
  if (listed.length === 0) throw new Error(`expected ${digestKey} to list log files, found none`);
  return listed;
}

/** Far apart (at least three hours) so that no digest's check sees two tamperings. */
const TAMPERINGS: Tampering[] = [
  {
    name: 'a log file modified',
    async apply(store) {
      const target = (await logsOf(digests[4]))[0];
      await modifyLogFile(store, target);
      return [
        { by: digests[4], failures: [fail('log', target, 'hash-mismatch', "hash value doesn't match")] },
      ];
    },
  },
  {
    name: 'a log file deleted',
    async apply(store) {
      const target = (await logsOf(digests[7])).at(-1)!;
      await deleteObject(store, target);
      return [{ by: digests[7], failures: [fail('log', target, 'not-found', 'not found')] }];
    },
  },
  {
    name: 'a gzip member appended to a log file',
    async apply(store) {
      const target = (await logsOf(digests[10]))[0];
      await appendGzipMember(store, target);
      return [
        {
          by: digests[10],
          failures: [fail('log', target, 'trailing-data', 'unexpected data after end of compressed stream')],
        },
      ];
    },
  },
  {
    name: 'a digest deleted in the middle of the chain',
    async apply(store) {
      await deleteObject(store, digests[14]);
      // Nothing names it but its successor's chain pointer.
      return [{ by: digests[15], failures: [fail('digest', digests[14], 'not-found', 'not found')] }];
    },
  },
  {
    name: 'two consecutive digests deleted, across midnight',
    async apply(store) {
      await deleteObject(store, digests[23]);
      await deleteObject(store, digests[24]);
      // The successor's pointer names the newer one; the older one is inferred from the hourly sequence.
      return [
        {
          by: digests[25],
          failures: [
            fail('digest', digests[24], 'not-found', 'not found'),
            fail('digest', digests[23], 'not-found', 'not found'),
          ],
        },
      ];
    },
  },
  {
    name: 'a digest re-signed with another key',
    async apply(store) {
      await resignDigest(store, digests[28], attackerKey());
      // Its own check fails; its successor recorded the genuine signature, so it reports the same file.
      return [
        {
          by: digests[28],
          failures: [fail('digest', digests[28], 'signature-failed', 'signature verification failed')],
        },
        {
          by: digests[29],
          failures: [
            fail(
              'digest',
              digests[28],
              'chain-signature-mismatch',
              "signature doesn't match the next digest's previousDigestSignature",
            ),
          ],
        },
      ];
    },
  },
  {
    name: 'a digest edited after signing',
    async apply(store) {
      await editDigest(store, digests[32], (d) => d.logFiles.pop());
      return [
        {
          by: digests[32],
          failures: [fail('digest', digests[32], 'signature-failed', 'signature verification failed')],
        },
        {
          by: digests[33],
          failures: [
            fail(
              'digest',
              digests[32],
              'chain-hash-mismatch',
              "hash value doesn't match the next digest's previousDigestHashValue",
            ),
          ],
        },
      ];
    },
  },
  {
    name: 'a digest copied to another key (moved)',
    async apply(store) {
      // Under the name of a digest half an hour later, in the same folder: delivered, so verified.
      const copy = digestAt(timeOf(digests[36]) + HOUR_MS / 2);
      await copyObject(store, digests[36], copy);
      return [
        {
          by: copy,
          failures: [fail('digest', copy, 'moved', 'has been moved from its original location')],
        },
      ];
    },
  },
  {
    name: "a digest re-signed with another key that names it: the key is not CloudTrail's",
    async apply(store) {
      const key = attackerKey();
      const { createHash, createPublicKey } = await import('node:crypto');
      const fingerprint = createHash('md5')
        .update(createPublicKey(key).export({ type: 'pkcs1', format: 'der' }))
        .digest('hex');
      await editDigest(store, digests[39], (d) => (d.digestPublicKeyFingerprint = fingerprint), {
        resignWith: key,
      });
      return [
        {
          by: digests[39],
          failures: [
            fail(
              'digest',
              digests[39],
              'key-not-found',
              `public key not found in region ${REGION} for fingerprint ${fingerprint}`,
            ),
          ],
        },
        {
          by: digests[40],
          failures: [
            fail(
              'digest',
              digests[39],
              'chain-hash-mismatch',
              "hash value doesn't match the next digest's previousDigestHashValue",
            ),
          ],
        },
      ];
    },
  },
  {
    name: 'a digest edited and re-signed with a valid key: its successor recorded another hash',
    async apply(store) {
      // Whoever holds a valid key (here the public sample key) can re-sign, but not rewrite the next digest.
      await editDigest(store, digests[43], (d) => d.logFiles.pop(), {
        resignWith: sampleSigningKey().privateKey,
      });
      return [
        {
          by: digests[44],
          failures: [
            fail(
              'digest',
              digests[43],
              'chain-hash-mismatch',
              "hash value doesn't match the next digest's previousDigestHashValue",
            ),
          ],
        },
      ];
    },
  },
  {
    name: NEWEST_DELETED,
    async apply(store) {
      // Nothing newer is delivered, so no digest's check can see it: the watchdog's (asserted below).
      await deleteObject(store, digests.at(-1)!);
      return [];
    },
  },
];

/** Replays a folder through ingest and verify, and reads back what the functions wrote and published. */
async function replayed(source: string, outDir: string): Promise<Replayed> {
  const store = new FsObjectStore(source);
  const report = await replay({
    source: store,
    sourceBucket: BUCKET,
    out: outDir,
    keys: await publicKeysFromStore(store, trail.publicKeysKey),
  });
  const lines = (await readFile(join(outDir, 'notifications.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Notification);
  const alerts = lines
    // Tamper alerts, not the recoveries that close a chain's incident
    .filter((n) => n.attributes.kind === 'tamper' && !n.attributes.resolves)
    .map((notification) => ({ notification, data: alertData(notification.message) as unknown as AlertData }));
  return { report, out: new FsObjectStore(outDir), alerts, all: lines };
}

async function verdictOf(r: Replayed, digestKey: string): Promise<Verdict | undefined> {
  const key = verdictKeyFor(BUCKET, digestKey);
  if (!(await r.out.head(key))) return undefined;
  return JSON.parse((await readAll(r.out, key)).toString('utf8')) as Verdict;
}

/** The files a verdict object reports invalid, in the order the alert lists them. */
function verdictFailures(v: Verdict): Failure[] {
  return [
    ...(v.digest.status === 'invalid' ? [v.digest] : []),
    ...(v.previous && v.previous.status === 'invalid' ? [v.previous] : []),
    ...v.gaps,
    ...v.logFiles.invalid,
  ].map(plain);
}

function alertsBy(r: Replayed, digestKey: string) {
  return r.alerts.filter((a) => a.data.digest.key === digestKey);
}

async function verdictKeys(r: Replayed): Promise<string[]> {
  const out: string[] = [];
  for await (const o of r.out.list(`verdicts/${BUCKET}/`)) out.push(o.key);
  return out.sort();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trailwatch-verify-tamper-'));
  pristine = join(root, 'pristine');
  trail = await generateTrail(
    integrityScenario({ seed: 7, eventsPerMinute: 0.5 }),
    new FsObjectStore(pristine),
  );
  digests = trail.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key);
  logs = trail.deliveries.filter((d) => d.kind === 'log').map((d) => d.key);

  const untouched = join(root, 'untouched');
  await cp(pristine, untouched, { recursive: true });
  clean = await replayed(untouched, join(root, 'untouched-out'));

  const source = join(root, 'tampered');
  await cp(pristine, source, { recursive: true });
  tamperedStore = new FsObjectStore(source);
  for (const t of TAMPERINGS) expected.set(t.name, await t.apply(tamperedStore));
  tampered = await replayed(source, join(root, 'tampered-out'));
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('verify on an untouched trail', () => {
  it('verifies every digest and log file, and alerts on nothing', async () => {
    // Prepare: the trail itself (beforeAll)

    // Act: replayed in beforeAll
    const { report } = clean;

    // Assess
    expect(digests.length).toBeGreaterThanOrEqual(48);
    expect(report.digests).toBe(digests.length);
    expect(report.digestVerdicts).toEqual({
      valid: digests.length,
      invalid: 0,
      logFilesChecked: logs.length,
      failures: [],
    });
    expect(report.notifications.filter((n) => n.attributes.kind === 'tamper')).toEqual([]);
    expect(clean.alerts).toEqual([]);
  });

  it('writes one clean verdict object per digest', async () => {
    // Prepare
    const want = digests.map((d) => verdictKeyFor(BUCKET, d)).sort();

    // Act
    const written = await verdictKeys(clean);
    const verdicts = await Promise.all(digests.map((d) => verdictOf(clean, d)));

    // Assess
    expect(written).toEqual(want);
    expect(verdicts.every((v) => v !== undefined)).toBe(true);
    expect(verdicts.flatMap((v) => (v ? verdictFailures(v) : []))).toEqual([]);
    expect(verdicts.reduce((n, v) => n + (v?.logFiles.total ?? 0), 0)).toBe(logs.length);
    expect(verdicts[0]).toMatchObject({
      schema: 'trailwatch.digest-verdict/1',
      account: ACCOUNT,
      region: REGION,
      digest: { key: digests[0], status: 'valid' },
      previous: null,
    });
    expect(verdicts[1]?.previous).toMatchObject({ key: digests[0], status: 'valid' });
  });
});

describe('verify reports each tampering against the file touched', () => {
  for (const t of TAMPERINGS.filter((x) => x.name !== NEWEST_DELETED)) {
    it(t.name, async () => {
      // Prepare: tampered in beforeAll
      const reports = expected.get(t.name)!;

      // Act
      const seen = await Promise.all(
        reports.map(async (want) => ({
          want,
          verdict: await verdictOf(tampered, want.by),
          alerts: alertsBy(tampered, want.by),
        })),
      );

      // Assess
      expect(seen.length).toBeGreaterThan(0);
      for (const { want, verdict, alerts } of seen) {
        // The verdict object written under verdicts/
        expect(verdict, `a verdict for ${want.by}`).toBeDefined();
        expect(sorted(verdictFailures(verdict!))).toEqual(sorted(want.failures));
        // Exactly one SNS alert from that digest, naming the same files and reasons
        expect(alerts, `alerts from ${want.by}`).toHaveLength(1);
        const [{ notification, data }] = alerts;
        expect(notification.topic).toBe(REPLAY_TOPIC);
        expect(notification.attributes).toMatchObject({
          kind: 'tamper',
          severity: 'HIGH',
          account: ACCOUNT,
          region: REGION,
        });
        expect(data).toMatchObject({
          kind: 'tamper',
          account: ACCOUNT,
          region: REGION,
          digest: { bucket: BUCKET, key: want.by },
        });
        expect(data.failures.every((f) => f.bucket === BUCKET)).toBe(true);
        expect(sorted(data.failures.map(plain))).toEqual(sorted(want.failures));
        const digestBad = want.failures.some((f) => f.key === want.by && f.type === 'digest');
        expect(notification.attributes.check).toBe(digestBad ? want.failures[0].code : 'log-files');
        for (const f of want.failures) expect(notification.message).toContain(`s3://${BUCKET}/${f.key}`);
        // The replay report's flat list holds them too
        for (const f of want.failures) {
          expect(tampered.report.digestVerdicts.failures).toContainEqual({
            type: f.type,
            key: f.key,
            reason: f.reason,
          });
        }
      }
    });
  }

  it('reports nothing else: only the digests that uncover a tampering alert', async () => {
    // Prepare
    const all = [...expected.values()].flat();
    const reporters = [...new Set(all.map((e) => e.by))].sort();

    // Act
    const alerted = tampered.alerts.map((a) => a.data.digest.key).sort();
    const flat = tampered.report.digestVerdicts.failures;

    // Assess
    expect(alerted).toEqual(reporters);
    const line = (f: { type: string; key: string; reason: string }) => `${f.type} ${f.key}: ${f.reason}`;
    expect(flat.map(line).sort()).toEqual(
      all
        .flatMap((e) => e.failures)
        .map(line)
        .sort(),
    );
    expect(tampered.report.digestVerdicts.invalid).toBe(reporters.length);
  });

  it('closes every chain break with a recovery naming its incident, once the chain links again', () => {
    // Prepare
    const docs = tampered.all
      .filter((n) => n.attributes.kind === 'tamper')
      .map(
        (n) =>
          alertData(n.message) as { incidentKey: string; resolves?: string; tamper: { subtype: string } },
      );
    const breaks = docs.filter(
      (d) => !d.resolves && /^(chain-broken|digest-missing)$/.test(d.tamper.subtype),
    );
    const recoveries = docs.filter((d) => d.resolves);

    // Assess
    expect(breaks.length).toBeGreaterThan(0);
    expect(recoveries.length).toBeGreaterThan(0);
    for (const r of recoveries) {
      expect(r.incidentKey).toBe(r.resolves);
      expect(breaks.map((b) => b.incidentKey)).toContain(r.resolves);
    }
    // A break opened after the last recovery may still be open; none is closed twice.
    expect(new Set(recoveries.map((r) => r.resolves)).size).toBe(recoveries.length);
  });

  it('writes a verdict for every delivered digest, none for a deleted one', async () => {
    // Prepare
    const deleted = [digests[14], digests[23], digests[24], digests.at(-1)!];
    const copy = digestAt(timeOf(digests[36]) + HOUR_MS / 2);
    const delivered = [...digests.filter((d) => !deleted.includes(d)), copy];

    // Act
    const written = await verdictKeys(tampered);

    // Assess
    expect(written).toEqual(delivered.map((d) => verdictKeyFor(BUCKET, d)).sort());
    expect(tampered.report.digests).toBe(delivered.length);
  });

  it('marks the older of two deleted digests as inferred from the hourly sequence', async () => {
    // Prepare
    const reporter = digests[25];

    // Act
    const verdict = await verdictOf(tampered, reporter);
    const [alert] = alertsBy(tampered, reporter);

    // Assess
    expect(verdict?.previous).toMatchObject({ key: digests[24], code: 'not-found' });
    expect(verdict?.gaps).toEqual([
      expect.objectContaining({ key: digests[23], code: 'not-found', inferred: true }),
    ]);
    expect(alert.data.failures.find((f) => f.key === digests[23])?.detail).toBe(
      'inferred from the hourly sequence',
    );
  });
});

describe('the newest digest deleted: the watchdog reports it once overdue, not before', () => {
  it('is seen by no digest check, and flagged by the watchdog only past its grace period', async () => {
    // Prepare
    const newest = digests.at(-1)!;
    const survivor = digests.at(-2)!;
    const state = new MemoryObjectStore('state');
    const due = timeOf(survivor) + HOUR_MS;
    const lastMoment = new Date(due + DEFAULT_WATCHDOG.digestGraceMinutes * MINUTE_MS);
    const overdue = new Date(lastMoment.getTime() + MINUTE_MS);
    const digestMissing = (r: Awaited<ReturnType<typeof runWatchdog>>) =>
      r.opened.filter((f) => f.kind === 'digest-missing');

    // Act
    const atDue = await runWatchdog(tamperedStore, state, new Date(due));
    const withinGrace = await runWatchdog(tamperedStore, state, lastMoment);
    const late = await runWatchdog(tamperedStore, state, overdue);
    const again = await runWatchdog(tamperedStore, state, new Date(overdue.getTime() + 10 * MINUTE_MS));
    const untouched = await runWatchdog(
      new FsObjectStore(join(root, 'untouched')),
      new MemoryObjectStore('s'),
      overdue,
    );
    const alerts = watchdogAlerts(TOPIC, late).filter((a) => a.attributes.check === 'digest-missing');

    // Assess: verify never saw it
    expect(tampered.report.digestVerdicts.failures.filter((f) => f.key === newest)).toEqual([]);
    expect(tampered.alerts.filter((a) => JSON.stringify(a.data).includes(newest))).toEqual([]);
    // Assess: the watchdog, not before it is overdue, then once
    expect(digestMissing(atDue)).toEqual([]);
    expect(digestMissing(withinGrace)).toEqual([]);
    expect(digestMissing(late)).toEqual([
      expect.objectContaining({
        place: expect.objectContaining({ account: ACCOUNT, region: REGION }),
        newestKey: survivor,
        newestTime: new Date(timeOf(survivor)).toISOString(),
      }),
    ]);
    // The gap starts right after the newest digest still there: the deleted one was the next due.
    expect(timeOf(newest) - timeOf(survivor)).toBe(HOUR_MS);
    expect(digestMissing(again)).toEqual([]);
    expect(again.current.some((f) => f.kind === 'digest-missing')).toBe(true);
    expect(alerts).toHaveLength(1);
    expect(alerts[0].attributes).toMatchObject({ kind: 'watchdog', account: ACCOUNT, region: REGION });
    expect(alertData(alerts[0].message)).toMatchObject({ kind: 'watchdog', newestKey: survivor });
    // The same moment on the untouched trail is not a gap: its newest digest is there.
    expect(untouched.current.filter((f) => f.kind === 'digest-missing')).toEqual([]);
  });
});

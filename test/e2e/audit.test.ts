/**
 * `trailwatch audit` on a generated signed trail: the same question ("no PutBucketPolicy on the sensitive
 * bucket over the trail's span") is PROVEN on the untouched trail, NOT PROVEN after each tampering, with the
 * hole named (account, region, hours, cause, files), and UNVERIFIABLE on a trail without digests. A query
 * that finds events reports each with whether its log file is vouched for.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { type AuditCommandOptions, runAudit } from '#cli/commands/audit.ts';
import { type GeneratedTrail, generateTrail, sampleSigningKey } from '#cli/generator/index.ts';
import { readAll } from '#shared/ports.ts';
import { runCli } from '#test/support/cli-run.ts';
import {
  addUnlistedLogFile,
  deleteObject,
  editDigest,
  INTEGRITY_TRAIL,
  integrityScenario,
  modifyLogFile,
} from './tamper.ts';

const ACCOUNT = INTEGRITY_TRAIL.account;
const REGION = INTEGRITY_TRAIL.region;
const START = '2026-03-02T00:00:00Z';
const END = '2026-03-04T00:00:00Z';
const SENSITIVE = `orders-data-${ACCOUNT}`;
const BUSY = `web-assets-${ACCOUNT}`;
const MALLORY = `arn:aws:iam::${ACCOUNT}:user/mallory`;

interface Hole {
  kind: string;
  account: string;
  region: string;
  from: string;
  to: string;
  cause: string;
  hides: string;
  files: string[];
}

interface AuditJson {
  verdict: string;
  summary: string;
  holes: Hole[];
  coverage: { account: string; region: string; hours: Record<string, number>; timeline: unknown[] }[];
  results: { eventID: string; eventName: string; logFile: string; proven: boolean; hour: string }[];
}

let root: string;
let pristine: string;
let digests: string[];
let caseNo = 0;

async function copyOfTrail(): Promise<{ dir: string; store: FsObjectStore }> {
  const dir = join(root, `case-${++caseNo}`);
  await cp(pristine, dir, { recursive: true });
  return { dir, store: new FsObjectStore(dir) };
}

async function audit(dir: string, extra: Partial<AuditCommandOptions> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runAudit(
    {
      source: dir,
      publicKeys: join(dir, 'public-keys.json'),
      startTime: START,
      endTime: END,
      eventName: 'PutBucketPolicy',
      resourceName: SENSITIVE,
      json: true,
      ...extra,
    },
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
  );
  return { code, stderr, json: JSON.parse(stdout) as AuditJson };
}

async function logsOf(digestKey: string): Promise<string[]> {
  const d = JSON.parse(gunzipSync(await readAll(new FsObjectStore(pristine), digestKey)).toString('utf8'));
  return d.logFiles.map((l: { s3Object: string }) => l.s3Object);
}

const hourOf = (key: string) => {
  const m = /_(\d{4})(\d{2})(\d{2})T(\d{2})\d{2}Z_/.exec(key)!;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:00:00Z`;
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'trailwatch-audit-'));
  pristine = join(root, 'pristine');
  const trail: GeneratedTrail = await generateTrail(
    integrityScenario({ seed: 7, eventsPerMinute: 0.5 }),
    new FsObjectStore(pristine),
  );
  digests = trail.deliveries.filter((d) => d.kind === 'digest').map((d) => d.key);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('trailwatch audit: "no PutBucketPolicy on the sensitive bucket over the trail span"', () => {
  it('is PROVEN on the untouched signed trail, every hour verified, exit 0', async () => {
    // Prepare
    const { dir } = await copyOfTrail();

    // Act
    const r = await audit(dir);

    // Assess
    expect(r.code).toBe(0);
    expect(r.json.verdict).toBe('PROVEN');
    expect(r.json.holes).toEqual([]);
    expect(r.json.results).toEqual([]);
    expect(r.json.coverage).toEqual([
      expect.objectContaining({
        account: ACCOUNT,
        region: REGION,
        hours: { verified: 49, missing: 0, failed: 0, pending: 0 },
      }),
    ]);
  });

  it('is NOT PROVEN after a log file is deleted, naming the file and its hour', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const target = (await logsOf(digests[7])).at(-1)!;
    await deleteObject(store, target);

    // Act
    const r = await audit(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('NOT PROVEN');
    expect(r.json.holes).toEqual([
      expect.objectContaining({
        kind: 'log-deleted',
        account: ACCOUNT,
        region: REGION,
        from: hourOf(target),
        files: [target],
        cause: expect.stringContaining('log file deleted'),
        hides: expect.stringContaining('matching events may be gone'),
      }),
    ]);
    expect(r.json.coverage[0].hours).toMatchObject({ failed: 1, verified: 48 });
  });

  it('is NOT PROVEN after a log file is altered', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const target = (await logsOf(digests[10]))[0];
    await modifyLogFile(store, target);

    // Act
    const r = await audit(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('NOT PROVEN');
    expect(r.json.holes).toEqual([
      expect.objectContaining({
        kind: 'log-altered',
        from: hourOf(target),
        files: [target],
        cause: expect.stringContaining("hash value doesn't match"),
      }),
    ]);
  });

  it('is NOT PROVEN after a digest is deleted: its hour is missing', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    await deleteObject(store, digests[20]);

    // Act
    const r = await audit(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('NOT PROVEN');
    expect(r.json.holes).toEqual([
      expect.objectContaining({ kind: 'digest-missing', files: [digests[20]], region: REGION }),
    ]);
    expect(r.json.coverage[0].hours.missing).toBeGreaterThanOrEqual(1);
    expect(r.json.coverage[0].hours.failed).toBe(0);
  });

  it('is NOT PROVEN after the chain is broken (a digest edited and re-signed with a valid key)', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    await editDigest(store, digests[31], (d) => d.logFiles.pop(), {
      resignWith: sampleSigningKey().privateKey,
    });

    // Act
    const r = await audit(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('NOT PROVEN');
    expect(r.json.holes).toEqual([
      expect.objectContaining({
        kind: 'chain-broken',
        files: [digests[31]],
        cause: expect.stringContaining('previousDigestHashValue'),
      }),
    ]);
  });

  it('is NOT PROVEN after a log file no digest lists is added', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const planted = await addUnlistedLogFile(store, (await logsOf(digests[18]))[0]);

    // Act
    const r = await audit(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('NOT PROVEN');
    expect(r.json.holes).toEqual([
      expect.objectContaining({
        kind: 'log-unlisted',
        from: hourOf(planted),
        files: [planted],
        hides: expect.stringContaining('forged events'),
      }),
    ]);
  });

  it('is NOT PROVEN when logging was stopped for two hours, naming who stopped it', async () => {
    // Prepare
    const dir = join(root, 'stopped');
    await generateTrail(
      integrityScenario({
        seed: 7,
        eventsPerMinute: 0.5,
        loggingStops: [{ start: '2026-03-03T04:30:00Z', minutes: 120, principalArn: MALLORY }],
      }),
      new FsObjectStore(dir),
    );

    // Act
    const r = await audit(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('NOT PROVEN');
    expect(r.json.holes).toEqual([
      expect.objectContaining({
        kind: 'trail-stopped',
        account: ACCOUNT,
        region: REGION,
        from: '2026-03-03T04:30:00Z',
        to: '2026-03-03T06:30:00Z',
        cause: expect.stringMatching(
          new RegExp(
            `^trail stopped: StopLogging by ${MALLORY} at 2026-03-03T04:30:00Z .*; restarted: StartLogging by ${MALLORY} at 2026-03-03T06:30:00Z`,
          ),
        ),
        hides: expect.stringContaining('CloudTrail recorded none of them'),
      }),
    ]);
    expect(r.json.coverage[0].hours).toMatchObject({ missing: 3, failed: 0 });
  });

  it('names who stopped the trail from its home region when the query covers another region', async () => {
    // Prepare: two regions, the StopLogging call recorded in the home region (us-east-1) only
    const dir = join(root, 'stopped-two-regions');
    await generateTrail(
      integrityScenario({
        seed: 7,
        eventsPerMinute: 0.5,
        regions: [REGION, 'eu-west-1'],
        loggingStops: [{ start: '2026-03-03T04:30:00Z', minutes: 120, principalArn: MALLORY }],
      }),
      new FsObjectStore(dir),
    );

    // Act
    const r = await audit(dir, { region: 'eu-west-1' });

    // Assess
    expect(r.json.verdict).toBe('NOT PROVEN');
    expect(r.json.holes).toEqual([
      expect.objectContaining({
        kind: 'trail-stopped',
        region: 'eu-west-1',
        cause: expect.stringContaining(`StopLogging by ${MALLORY} at 2026-03-03T04:30:00Z`),
      }),
    ]);
  });

  it('is NOT PROVEN when a region named with --region has nothing left in the bucket', async () => {
    // Prepare: the trail covers us-east-1 and eu-west-1; everything of eu-west-1 is gone
    const { dir } = await copyOfTrail();

    // Act
    const r = await audit(dir, { region: `${REGION},eu-west-1` });

    // Assess
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('NOT PROVEN');
    expect(r.json.holes).toEqual([
      expect.objectContaining({
        kind: 'no-digests',
        account: ACCOUNT,
        region: 'eu-west-1',
        from: START,
        cause: 'no digest for eu-west-1 at all: log file validation off',
      }),
    ]);
    expect(r.json.coverage.map((c) => [c.region, c.hours.verified])).toEqual([
      [REGION, 49],
      ['eu-west-1', 0],
    ]);
  });

  it('is UNVERIFIABLE on a trail without digests', async () => {
    // Prepare
    const dir = join(root, 'no-digests');
    await generateTrail(
      integrityScenario({ seed: 7, eventsPerMinute: 0.5, digests: false }),
      new FsObjectStore(dir),
    );

    // Act
    const r = await audit(dir);

    // Assess
    expect(r.code).toBe(1);
    expect(r.json.verdict).toBe('UNVERIFIABLE');
    expect(r.json.coverage[0].hours).toMatchObject({ verified: 0, missing: 49 });
  });
});

describe('trailwatch audit: a query that finds events', () => {
  it('reports them with the verdict, each marked by whether its log file is vouched for', async () => {
    // Prepare
    const { dir, store } = await copyOfTrail();
    const clean = await audit(dir, { eventName: undefined, resourceName: BUSY });
    const victim = clean.json.results[0];
    await modifyLogFile(store, victim.logFile);

    // Act
    const tampered = await audit(dir, { eventName: undefined, resourceName: BUSY });

    // Assess: on the untouched trail, every result is proven with the range
    expect(clean.json.verdict).toBe('PROVEN');
    expect(clean.json.results.length).toBeGreaterThan(3);
    expect(clean.json.results.every((x) => x.proven && x.hour === 'verified')).toBe(true);
    // Assess: once the file holding the first one is altered, the results say so, and the verdict too
    expect(tampered.code).toBe(1);
    expect(tampered.json.verdict).toBe('NOT PROVEN');
    expect(tampered.json.summary).toMatch(/^NOT PROVEN: \d+ matching events, but 1 hole/);
    const unproven = tampered.json.results.filter((x) => !x.proven).map((x) => x.logFile);
    expect([...new Set(unproven)]).toEqual([victim.logFile]);
    expect(tampered.json.holes.map((h) => h.files)).toEqual([[victim.logFile]]);
  });

  it('prints the verdict and the results table as text through the command line', async () => {
    // Prepare
    const { dir } = await copyOfTrail();

    // Act
    const r = await runCli([
      'audit',
      '--source',
      dir,
      '--public-keys',
      join(dir, 'public-keys.json'),
      '--start-time',
      START,
      '--end-time',
      END,
      '--resource-name',
      BUSY,
    ]);

    // Assess
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Query {5}any event on web-assets-111122223333, 2026-03-02T00:00:00Z to 2026-03-04T00:00:00Z\n/,
    );
    expect(r.stdout).toMatch(/\nVerdict {3}PROVEN: \d+ matching events, and that is the whole truth/);
    expect(r.stdout).toMatch(/\nResults {3}\d+ events .*\nTIME .* VERIFIED\n/);
  });
});

/**
 * `trailwatch audit` and `trailwatch changes` through the real S3 client against moto_server: a generated
 * trail uploaded with each digest's signature as S3 user metadata is PROVEN, and NOT PROVEN once a log file
 * is deleted from the bucket; `changes` reads the same bucket.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '#cli/commands/audit.ts';
import { runChanges } from '#cli/commands/changes.ts';
import type { S3ObjectStore } from '#shared/adapters/s3-object-store.ts';
import { deleteObject, integrityScenario } from '#test/e2e/tamper.ts';
import { trailInMoto } from '#test/support/validate.ts';

const BUCKET = `audit-s3-${Date.now()}`;
const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const START = '2026-02-09T00:00:00Z';
const END = '2026-02-10T00:00:00Z';

let store: S3ObjectStore;
let dir: string;
let logs: string[];

async function capture(
  run: (io: {
    stdout: { write(s: string): unknown };
    stderr: { write(s: string): unknown };
  }) => Promise<number>,
) {
  let stdout = '';
  const code = await run({
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: () => undefined },
  });
  return { code, json: JSON.parse(stdout) };
}

const audit = () =>
  capture((io) =>
    runAudit(
      {
        source: `s3://${BUCKET}`,
        publicKeys: join(dir, 'public-keys.json'),
        startTime: START,
        endTime: END,
        eventName: 'PutBucketPolicy',
        json: true,
      },
      io,
    ),
  );

beforeAll(async () => {
  const moto = await trailInMoto(
    integrityScenario({
      seed: 5,
      // Two hours past END: the files delivered just after the range are covered by a digest, as on a live trail.
      hours: 26,
      eventsPerMinute: 0.3,
      start: START,
      accounts: [ACCOUNT],
      regions: [REGION],
      homeRegion: REGION,
      bucket: BUCKET,
    }),
  );
  ({ store, dir } = moto);
  logs = moto.trail.deliveries.filter((d) => d.kind === 'log').map((d) => d.key);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('trailwatch audit against S3 (moto_server)', () => {
  it('is PROVEN on the untouched bucket, then NOT PROVEN naming the log file deleted from it', async () => {
    // Act
    const clean = await audit();
    const target = logs[Math.floor(logs.length / 2)];
    await deleteObject(store, target);
    const tampered = await audit();

    // Assess
    expect(clean.code).toBe(0);
    expect(clean.json.verdict).toBe('PROVEN');
    expect(clean.json.coverage).toEqual([
      expect.objectContaining({
        account: ACCOUNT,
        region: REGION,
        hours: expect.objectContaining({ verified: 25 }),
      }),
    ]);
    expect(tampered.code).toBe(1);
    expect(tampered.json.verdict).toBe('NOT PROVEN');
    expect(tampered.json.holes).toEqual([expect.objectContaining({ kind: 'log-deleted', files: [target] })]);
  });

  it('lists changes from the bucket', async () => {
    // Act
    const r = await capture((io) =>
      runChanges({ source: `s3://${BUCKET}`, at: '2026-02-09T18:00:00Z', window: '12h', json: true }, io),
    );

    // Assess
    const changes = r.json.groups.flatMap(
      (g: { changes: { readOnly: boolean; account: string }[] }) => g.changes,
    );
    expect(r.code).toBe(0);
    expect(changes.length).toBeGreaterThan(0);
    expect(
      changes.every((c: { readOnly: boolean; account: string }) => !c.readOnly && c.account === ACCOUNT),
    ).toBe(true);
  });
});

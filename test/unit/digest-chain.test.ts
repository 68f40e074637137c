import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import {
  type TrailChange,
  type TrailStatus,
  type TrailStatusSource,
  UNKNOWN_CAUSE,
} from '#cli/validate/trail-status.ts';
import {
  collectValidation,
  type DigestGapEvent,
  type ValidateTrailOptions,
  type ValidationEvent,
  validateTrail,
} from '#cli/validate/validate-trail.ts';
import { DigestError } from '#shared/digest/errors.ts';
import type { FileVerdict } from '#shared/digest/verdict.ts';
import {
  ACCOUNT,
  ARN,
  BUCKET,
  digestKeyAt,
  HOUR_MS,
  keySource,
  putChain,
  putDigest,
  REGION,
  testKey,
} from '#test/fixtures/digest/build.ts';

const T0 = new Date('2026-04-02T00:41:07Z');
const at = (h: number) => new Date(T0.getTime() + h * HOUR_MS);

function options(store: MemoryObjectStore, extra: Partial<ValidateTrailOptions> = {}): ValidateTrailOptions {
  return {
    store,
    bucket: BUCKET,
    keys: keySource([{ key: testKey(0) }]),
    trailArn: ARN,
    start: new Date(T0.getTime() - HOUR_MS),
    end: at(9.5),
    ...extra,
  };
}

const files = (events: ValidationEvent[]) =>
  events.filter((e): e is FileVerdict => e.type === 'digest' || e.type === 'log');
const invalidOnes = (events: ValidationEvent[]) => files(events).filter((e) => e.status === 'invalid');
const digestGaps = (events: ValidationEvent[]) =>
  events.filter((e): e is DigestGapEvent => e.type === 'digest-gap');
const summaryOf = (events: ValidationEvent[]) => {
  const s = events.at(-1)!;
  if (s.type !== 'summary') throw new Error('expected a summary last');
  return s;
};

/** CloudTrail's answer about the trail, fixed by the test; records what was asked. */
class FakeTrailStatus implements TrailStatusSource {
  readonly statusCalls: string[] = [];
  private readonly answer: TrailStatus | Error;

  constructor(answer: TrailStatus | Error) {
    this.answer = answer;
  }

  async status(trailArn: string): Promise<TrailStatus> {
    this.statusCalls.push(trailArn);
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }

  async changes(): Promise<TrailChange[]> {
    return [];
  }
}

describe('validateTrail', () => {
  it('walks an intact chain newest first, each digest followed by its log files', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const chain = await putChain(store, T0, 10);

    // Act
    const events = await collectValidation(options(store));

    // Assess
    const digestKeys = files(events)
      .filter((e) => e.type === 'digest')
      .map((e) => e.key);
    expect(digestKeys).toEqual(chain.map((c) => c.key).reverse());
    expect(
      files(events)
        .map((e) => e.type)
        .slice(0, 4),
    ).toEqual(['digest', 'log', 'digest', 'log']);
    expect(summaryOf(events)).toMatchObject({
      ok: true,
      digests: { valid: 10, invalid: 0 },
      logs: { valid: 10, invalid: 0 },
      foundStart: new Date(T0.getTime() - HOUR_MS),
      foundEnd: at(9),
    });
  });

  it('stops like the AWS CLI: at the first digest that starts before the range', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await putChain(store, T0, 10);

    // Act
    const events = await collectValidation(options(store, { start: at(4.5) }));

    // Assess: digests ending at T0+5h..T0+9h; the one ending at T0+5h starts before the range and is the last.
    expect(summaryOf(events).digests).toEqual({ valid: 5, invalid: 0 });
    expect(summaryOf(events).foundStart).toEqual(at(4.5));
  });

  it('reports every one of three consecutive deleted digests', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const chain = await putChain(store, T0, 10);
    for (const i of [4, 5, 6]) await store.delete(chain[i].key);

    // Act
    const events = await collectValidation(options(store));

    // Assess
    expect(invalidOnes(events).map((e) => [e.key, e.reason, e.inferred ?? false])).toEqual([
      [chain[6].key, 'not found', false],
      [chain[5].key, 'not found', true],
      [chain[4].key, 'not found', true],
    ]);
    expect(summaryOf(events).digests).toEqual({ valid: 7, invalid: 3 });
  });

  it('reports the overdue hours after the newest digest as one digest gap, not as invalid files', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const chain = await putChain(store, T0, 10);
    await store.delete(chain[9].key);
    await store.delete(chain[8].key);

    // Act
    const due = await collectValidation(options(store, { end: at(9 + 1.1) }));
    const notDue = await collectValidation(options(store, { end: at(8 + 0.9) }));
    const shortDelay = await collectValidation(
      options(store, { end: at(8 + 0.9), deliveryDelayMs: 15 * 60_000 }),
    );

    // Assess
    expect(invalidOnes(due)).toEqual([]);
    expect(digestGaps(due)).toEqual([
      {
        type: 'digest-gap',
        region: REGION,
        bucket: BUCKET,
        from: at(7),
        to: at(10.1),
        missing: 2,
        firstMissingKey: chain[8].key,
        cause: { kind: 'unknown', digestsDeleted: false, reason: UNKNOWN_CAUSE },
      },
    ]);
    expect(summaryOf(due)).toMatchObject({ ok: true, digests: { valid: 8, invalid: 0 } });
    expect(summaryOf(due).digestGaps).toEqual(digestGaps(due));
    expect(digestGaps(notDue)).toEqual([]);
    expect(digestGaps(shortDelay).map((g) => [g.from, g.missing, g.firstMissingKey])).toEqual([
      [at(7), 1, chain[8].key],
    ]);
  });

  it('asks CloudTrail once for every region whose digests stop, and fails when it says they were deleted', async () => {
    // Prepare: two regions whose digests stop at hour 2, while CloudTrail says it delivered one at hour 20
    const store = new MemoryObjectStore();
    await putChain(store, T0, 3);
    await putChain(store, T0, 3, { region: 'eu-west-3' });
    const trailStatus = new FakeTrailStatus({ isLogging: true, latestDigestDeliveryTime: at(20) });

    // Act
    const events = await collectValidation(
      options(store, { regions: [REGION, 'eu-west-3'], end: at(12), trailStatus }),
    );

    // Assess
    expect(trailStatus.statusCalls).toEqual([ARN]);
    expect(
      digestGaps(events).map((g) => [g.region, g.from, g.missing, g.cause.kind, g.cause.digestsDeleted]),
    ).toEqual([
      [REGION, at(2), 9, 'digests-deleted', true],
      ['eu-west-3', at(2), 9, 'digests-deleted', true],
    ]);
    expect(invalidOnes(events)).toEqual([]);
    expect(summaryOf(events).ok).toBe(false);
  });

  it('does not ask CloudTrail when no digest is overdue', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await putChain(store, T0, 3);
    const trailStatus = new FakeTrailStatus({ isLogging: true });

    // Act
    const events = await collectValidation(options(store, { end: at(2.9), trailStatus }));

    // Assess
    expect(digestGaps(events)).toEqual([]);
    expect(trailStatus.statusCalls).toEqual([]);
  });

  it('reports the gap with the reason when the trail status cannot be read', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await putChain(store, T0, 3);
    const denied = Object.assign(new Error('User is not authorized to perform: cloudtrail:GetTrailStatus'), {
      name: 'AccessDeniedException',
    });
    const trailStatus = new FakeTrailStatus(denied);

    // Act
    const events = await collectValidation(options(store, { end: at(6), trailStatus }));

    // Assess
    expect(digestGaps(events).map((g) => [g.missing, g.cause.kind, g.cause.reason])).toEqual([
      [
        3,
        'status-unavailable',
        `${UNKNOWN_CAUSE}; trail status unavailable: AccessDeniedException: User is not authorized to perform: cloudtrail:GetTrailStatus`,
      ],
    ]);
    expect(summaryOf(events).ok).toBe(true);
  });

  it('treats a chain that starts again (logging restarted) as a gap, not an error', async () => {
    // Prepare: hours 0-3, nothing for hours 4-5, a new chain for hours 6-9
    const store = new MemoryObjectStore();
    const older = await putChain(store, T0, 4);
    const newer = await putChain(store, at(6), 4);

    // Act
    const events = await collectValidation(options(store));

    // Assess
    expect(invalidOnes(events)).toEqual([]);
    expect(events.filter((e) => e.type === 'gap')).toEqual([
      { type: 'gap', region: REGION, from: at(3), to: new Date(Date.parse(newer[0].digest.digestStartTime)) },
    ]);
    expect(summaryOf(events)).toMatchObject({ ok: true, digests: { valid: 8, invalid: 0 } });
    expect(older).toHaveLength(4);
  });

  it('resumes after an invalid digest at the next older one and skips its log files', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const chain = await putChain(store, T0, 6);
    const end = at(5.5);
    await putDigest(store, {
      end: at(3),
      previous: chain[2],
      logFiles: chain[3].digest.logFiles,
      signer: testKey(1),
      edit: (j) => (j.digestPublicKeyFingerprint = testKey(0).fingerprint),
    });

    // Act
    const events = await collectValidation(options(store, { end }));

    // Assess
    expect(invalidOnes(events).map((e) => [e.key, e.code])).toEqual([[chain[3].key, 'signature-failed']]);
    expect(summaryOf(events)).toMatchObject({
      digests: { valid: 5, invalid: 1 },
      logs: { valid: 5, invalid: 0 },
    });
  });

  it('checks a listed digest the chain never reaches', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const chain = await putChain(store, T0, 5);
    const copyKey = digestKeyAt(new Date(at(2).getTime() + 600_000));
    const original = store.objects.get(chain[2].key)!;
    await store.put(copyKey, original.body, { metadata: original.metadata });

    // Act
    const events = await collectValidation(options(store, { end: at(4.5) }));

    // Assess
    expect(invalidOnes(events).map((e) => [e.key, e.code])).toEqual([[copyKey, 'moved']]);
  });

  it('finds an organization trail under a prefix and walks every region with digests', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const orgId = 'o-a1b2c3d4e5';
    const east = await putChain(store, T0, 3, { prefix: 'audit/', orgId });
    const west = await putChain(store, T0, 2, { prefix: 'audit/', orgId, region: 'eu-west-3' });

    // Act
    const events = await collectValidation(options(store, { prefix: 'audit', regions: 'all', end: at(2.5) }));

    // Assess
    expect(events[0]).toMatchObject({
      type: 'start',
      orgId,
      account: ACCOUNT,
      regions: [REGION, 'eu-west-3'],
    });
    expect(east[0].key.startsWith(`audit/AWSLogs/${orgId}/${ACCOUNT}/CloudTrail-Digest/${REGION}/`)).toBe(
      true,
    );
    expect(invalidOnes(events).map((e) => e.key)).toEqual([]);
    expect(summaryOf(events).digests.valid).toBe(east.length + west.length);
  });

  it('follows the chain into the previous bucket when the trail moved to another one', async () => {
    // Prepare: three digests in the old bucket, then two in the new one, the first pointing back
    const oldStore = new MemoryObjectStore();
    const newStore = new MemoryObjectStore();
    const NEW = 'new-trail-bucket';
    const old = await putChain(oldStore, T0, 3);
    const moveTo = (j: Record<string, unknown>) => {
      j.digestS3Bucket = NEW;
      j.previousDigestS3Bucket = j.previousDigestS3Bucket === null ? null : BUCKET;
    };
    const first = await putDigest(newStore, { end: at(3), previous: old[2], edit: moveTo });
    await putDigest(newStore, {
      end: at(4),
      previous: first,
      edit: (j) => {
        j.digestS3Bucket = NEW;
        j.previousDigestS3Bucket = NEW;
      },
    });

    // Act
    const events = await collectValidation(
      options(newStore, {
        bucket: NEW,
        end: at(4.5),
        resolveStore: (b) => (b === BUCKET ? oldStore : undefined),
      }),
    );
    const unreachable = await collectValidation(options(newStore, { bucket: NEW, end: at(4.5) }));

    // Assess
    expect(
      files(events)
        .filter((e) => e.type === 'digest')
        .map((e) => [e.bucket, e.status]),
    ).toEqual([
      [NEW, 'valid'],
      [NEW, 'valid'],
      [BUCKET, 'valid'],
      [BUCKET, 'valid'],
      [BUCKET, 'valid'],
    ]);
    expect(summaryOf(events)).toMatchObject({ ok: true, logs: { valid: 3, invalid: 0 } });
    expect(invalidOnes(unreachable).map((e) => [e.bucket, e.key, e.reason])).toEqual([
      [BUCKET, old[2].key, 'not found'],
    ]);
  });

  it('walks a backfill chain after the standard one, reported as backfill', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await putChain(store, T0, 2);
    const backfill = await putDigest(store, { end: at(1), backfill: true, metadata: () => ({}) });

    // Act
    const events = await collectValidation(options(store, { end: at(1.5) }));

    // Assess
    expect(invalidOnes(events)).toEqual([
      expect.objectContaining({ key: backfill.key, backfill: true, code: 'signature-failed' }),
    ]);
    expect(summaryOf(events)).toMatchObject({
      digests: { valid: 2, invalid: 0 },
      backfillDigests: { valid: 0, invalid: 1 },
    });
  });

  it('says nothing was found when the range holds no digest', async () => {
    // Prepare
    const store = new MemoryObjectStore();

    // Act
    const events = await collectValidation(options(store));

    // Assess
    expect(summaryOf(events)).toMatchObject({ ok: true, digests: { valid: 0, invalid: 0 } });
    expect(summaryOf(events).foundStart).toBeUndefined();
  });

  it('fails with DigestError when the keys cannot be read, and on a bad ARN or range', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await putChain(store, T0, 2);
    const failing = {
      publicKeys: async () => {
        throw new Error('AccessDenied');
      },
    };

    // Act
    const run = (o: ValidateTrailOptions) => collectValidation(o);

    // Assess
    await expect(run(options(store, { keys: failing }))).rejects.toThrow(DigestError);
    await expect(run(options(store, { trailArn: 'arn:aws:s3:::bucket' }))).rejects.toThrow(
      'Invalid trail ARN provided',
    );
    await expect(run(options(store, { start: at(5), end: at(1) }))).rejects.toThrow(
      'start-time must occur before end-time',
    );
  });

  it('can be abandoned half way without leaving work behind', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await putChain(store, T0, 10);
    const seen: string[] = [];

    // Act
    for await (const e of validateTrail(options(store, { concurrency: 1 }))) {
      seen.push(e.type);
      if (seen.length === 3) break;
    }

    // Assess
    expect(seen).toEqual(['start', 'digest', 'log']);
  });

  it('reports progress up to the number of files checked', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    await putChain(store, T0, 4);
    const progress: [number, number][] = [];

    // Act
    await collectValidation(
      options(store, { end: at(3.5), onProgress: (done, total) => progress.push([done, total]) }),
    );

    // Assess
    expect(progress.at(-1)).toEqual([8, 8]);
    expect(progress.every(([d, t]) => d <= t)).toBe(true);
  });
});

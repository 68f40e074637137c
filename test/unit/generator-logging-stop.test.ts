/**
 * The generator's "logging stopped" scenario: a StopLogging call by the named principal, nothing recorded
 * or delivered for the stop's length, then StartLogging and a new digest chain, as CloudTrail does.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { GeneratorError, generateTrail } from '#cli/generator/index.ts';
import type { DigestFile } from '#shared/digest/digest-format.ts';
import { readAll } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { integrityScenario } from '#test/e2e/tamper.ts';

const STOP = '2026-03-02T04:30:00Z';
const RESTART = '2026-03-02T06:30:00Z';
const MALLORY = 'arn:aws:iam::111122223333:user/mallory';

async function json<T>(store: MemoryObjectStore, key: string): Promise<T> {
  return JSON.parse(gunzipSync(await readAll(store, key)).toString('utf8')) as T;
}

describe('generator: logging stopped for two hours', () => {
  it('records StopLogging by the principal, delivers nothing while stopped and restarts the digest chain', async () => {
    // Prepare
    const store = new MemoryObjectStore();

    // Act
    const trail = await generateTrail(
      integrityScenario({ hours: 10, loggingStops: [{ start: STOP, minutes: 120, principalArn: MALLORY }] }),
      store,
    );

    // Assess: between the two calls, nothing delivered but the digest closing the chain at the stop
    const during = trail.deliveries.filter((d) => d.deliveredAt > STOP && d.deliveredAt < RESTART);
    expect(during.map((d) => [d.kind, d.key.includes('_20260302T043000Z')])).toEqual([['digest', true]]);
    const records: CloudTrailRecord[] = [];
    for (const d of trail.deliveries.filter((x) => x.kind === 'log')) {
      records.push(...(await json<{ Records: CloudTrailRecord[] }>(store, d.key)).Records);
    }
    expect(records.filter((r) => r.eventTime! > STOP && r.eventTime! < RESTART)).toEqual([]);
    const calls = records.filter((r) => r.eventName === 'StopLogging' || r.eventName === 'StartLogging');
    expect(calls.map((r) => [r.eventName, r.eventTime, r.userIdentity?.arn])).toEqual(
      [
        ['StopLogging', STOP, MALLORY],
        ['StartLogging', RESTART, MALLORY],
      ].sort((a, b) => (a[0]! < b[0]! ? 1 : -1)),
    );
    // Assess: the chain closes at the stop and a new one starts at the restart
    const digests = await Promise.all(
      trail.deliveries.filter((d) => d.kind === 'digest').map((d) => json<DigestFile>(store, d.key)),
    );
    const closing = digests.find((d) => d.digestEndTime === STOP);
    const first = digests.find((d) => d.digestStartTime === RESTART);
    expect(closing?.previousDigestS3Object).not.toBeNull();
    expect(first?.previousDigestS3Object).toBeNull();
    expect(digests.filter((d) => d.previousDigestS3Object === null)).toHaveLength(2);
    // Assess: every log file is listed by one digest
    const listed = digests.flatMap((d) => d.logFiles.map((l) => l.s3Object)).sort();
    expect(listed).toEqual(
      trail.deliveries
        .filter((d) => d.kind === 'log')
        .map((d) => d.key)
        .sort(),
    );
  });

  it('refuses a stop that does not fit inside the trail', async () => {
    await expect(
      generateTrail(
        integrityScenario({ hours: 4, loggingStops: [{ start: '2026-03-02T03:00:00Z', minutes: 120 }] }),
        new MemoryObjectStore(),
      ),
    ).rejects.toThrow(GeneratorError);
  });
});

describe('trailwatch generate --stop-logging', () => {
  it('writes the stop into the scenario, and refuses a malformed one in one line', async () => {
    // Prepare
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { runCli } = await import('#test/support/cli-run.ts');
    const dir = await mkdtemp(join(tmpdir(), 'trailwatch-stop-'));
    try {
      // Act
      const ok = await runCli([
        ...['generate', '--out', join(dir, 't'), '--hours', '4', '--regions', 'us-east-1'],
        ...['--start', '2026-03-05T00:00Z', '--stop-logging', `2026-03-05T01:00Z,60,${MALLORY}`],
      ]);
      const bad = await runCli(['generate', '--out', join(dir, 'u'), '--stop-logging', 'soon']);
      const manifest = JSON.parse(await readFile(join(dir, 't', 'trailwatch-manifest.json'), 'utf8'));

      // Assess
      expect(ok.code).toBe(0);
      expect(manifest.scenario.loggingStops).toEqual([
        { start: '2026-03-05T01:00:00Z', minutes: 60, principalArn: MALLORY },
      ]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^trailwatch: --stop-logging soon: expected TIME,MINUTES\[,PRINCIPAL_ARN\]/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The generator's records look like CloudTrail's: for every API the generator's catalog and the real
 * detonation records both hold, a generated record has the same top-level keys, the same request and
 * response shape (every key path, nested) and `resources` only where the real one has it.
 *
 * `tlsDetails` and `sessionCredentialFromConsole` depend on the caller's client, not on the API, and the
 * error fields on the outcome: they are left out of the top-level comparison. An API whose real records all
 * failed is compared on its request only (a failure has no response).
 */
import { describe, expect, it } from 'vitest';
import { CATALOG } from '#cli/generator/catalog.ts';
import { PRINCIPALS, resolvePrincipal } from '#cli/generator/identities.ts';
import { Rng } from '#cli/generator/random.ts';
import { RecordFactory } from '#cli/generator/record-builder.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { allStratusRecords } from '#test/fixtures/lookup/trail.ts';
import { keyPaths, sorted } from '#test/support/record-shape.ts';

const real = allStratusRecords();
const CLIENT_OR_OUTCOME = new Set([
  'tlsDetails',
  'sessionCredentialFromConsole',
  'errorCode',
  'errorMessage',
]);
const topKeys = (r: CloudTrailRecord) =>
  sorted(new Set(Object.keys(r).filter((k) => !CLIENT_OR_OUTCOME.has(k))));
const shape = (r: CloudTrailRecord, part: 'requestParameters' | 'responseElements' | 'resources') =>
  r[part] === undefined ? 'absent' : r[part] === null ? 'null' : sorted(keyPaths(r[part])).join(' ');

const account = '111122223333';
const factory = new RecordFactory(account, 'us-east-1', 'management-events');
const principal = resolvePrincipal(PRINCIPALS[0], account, 'us-east-1');
const shared = [...CATALOG.values()].filter((api) =>
  real.some((r) => r.eventSource === api.source && r.eventName === api.name),
);

/** Generated records of an API: several draws, since builders pick among the shapes real calls take. */
function generated(api: (typeof shared)[number]): CloudTrailRecord[] {
  return Array.from({ length: 12 }, (_, i) => {
    const rng = new Rng(i, 'shape', api.key);
    const ms = Date.parse('2026-03-05T10:00:00Z') + i * 60_000;
    return api.name === 'ConsoleLogin'
      ? factory.signIn(rng, principal, ms, { success: true, mfa: false, sourceIPAddress: '203.0.113.7' })
      : factory.build(rng, principal, api, ms, { noRandomErrors: true });
  });
}

describe('generated records against real ones', () => {
  it('cover the APIs both hold', () => {
    expect(shared.map((a) => a.key)).toEqual(
      expect.arrayContaining([
        'ec2:StopInstances',
        'iam:CreateUser',
        'cloudtrail:StopLogging',
        'sts:AssumeRole',
      ]),
    );
    expect(shared.length).toBeGreaterThanOrEqual(20);
  });

  it.each(shared.map((api) => [api.key, api] as const))(
    '%s has the shape of the real records',
    (_key, api) => {
      // Prepare
      const reals = real.filter((r) => r.eventSource === api.source && r.eventName === api.name);
      const succeeded = reals.filter((r) => !r.errorCode);
      const parts =
        succeeded.length > 0
          ? (['requestParameters', 'responseElements', 'resources'] as const)
          : (['requestParameters'] as const);
      const compareTo = succeeded.length > 0 ? succeeded : reals;
      // Act
      const samples = generated(api);
      // Assess: each generated record has the shape of at least one real record, part by part
      for (const g of samples) {
        const topOk = compareTo.map(topKeys).some((k) => JSON.stringify(k) === JSON.stringify(topKeys(g)));
        expect(topOk, `top-level keys ${topKeys(g)} vs ${compareTo.map(topKeys)[0]}`).toBe(true);
        for (const part of parts) {
          expect(
            compareTo.map((r) => shape(r, part)),
            `${part} of ${api.key}`,
          ).toContain(shape(g, part));
        }
      }
    },
  );
});

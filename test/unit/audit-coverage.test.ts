/** The hour-by-hour coverage `trailwatch audit` derives from validation events (cli/audit/coverage.ts). */
import { describe, expect, it } from 'vitest';
import { coverageOf } from '#cli/audit/coverage.ts';
import type { ValidationEvent } from '#cli/validate/validate-trail.ts';
import { digestFileKey } from '#shared/keys.ts';

const ACCOUNT = '111122223333';
const REGION = 'us-east-1';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-02T00:00:00Z');

/** A valid digest covering [from, to) of delivery time. */
function digest(from: number, to: number): ValidationEvent {
  return {
    type: 'digest',
    bucket: 'b',
    key: digestFileKey({
      account: ACCOUNT,
      region: REGION,
      trailName: 't',
      homeRegion: REGION,
      endTime: new Date(to),
    }),
    status: 'valid',
    code: 'valid',
    reason: null,
    startTime: new Date(from).toISOString(),
    endTime: new Date(to).toISOString(),
  };
}

const input = (events: ValidationEvent[], end: number, now: number) => ({
  account: ACCOUNT,
  region: REGION,
  start: new Date(T0),
  end: new Date(end),
  now: new Date(now),
  events,
  trailCalls: [],
});

describe('coverageOf', () => {
  it('verifies every hour that valid digests cover through the delivery lag', () => {
    // Act
    const c = coverageOf(
      input([digest(T0, T0 + 2 * HOUR), digest(T0 + 2 * HOUR, T0 + 4 * HOUR)], T0 + 3 * HOUR, T0 + 30 * HOUR),
    );

    // Assess
    expect(c.holes).toEqual([]);
    expect(c.place.hours.map((h) => h.state)).toEqual(['verified', 'verified', 'verified', 'verified']);
  });

  it('calls the hours whose digest is not due yet pending, and older uncovered hours missing', () => {
    // Act: digests stop at 02:00; the range ends at 06:00, which is now
    const c = coverageOf(input([digest(T0, T0 + 2 * HOUR)], T0 + 6 * HOUR, T0 + 6 * HOUR));

    // Assess
    expect(
      c.holes.map((h) => [h.kind, new Date(h.from).toISOString(), new Date(h.to).toISOString()]),
    ).toEqual([
      ['no-digests', '2026-03-02T02:00:00.000Z', '2026-03-02T04:00:00.000Z'],
      ['not-yet-delivered', '2026-03-02T04:00:00.000Z', '2026-03-02T06:15:00.000Z'],
    ]);
    expect(c.place.hours.map((h) => h.state)).toEqual([
      'verified',
      'verified',
      'missing',
      'missing',
      'pending',
      'pending',
      'pending',
    ]);
  });

  it('fails the hour of an INVALID log file while its digest still covers the rest', () => {
    // Prepare
    const log = `AWSLogs/${ACCOUNT}/CloudTrail/${REGION}/2026/03/02/${ACCOUNT}_CloudTrail_${REGION}_20260302T0105Z_abcdefghijklmnop.json.gz`;

    // Act
    const c = coverageOf(
      input(
        [
          digest(T0, T0 + 3 * HOUR),
          {
            type: 'log',
            bucket: 'b',
            key: log,
            status: 'invalid',
            code: 'hash-mismatch',
            reason: "hash value doesn't match",
          },
        ],
        T0 + 2 * HOUR,
        T0 + 30 * HOUR,
      ),
    );

    // Assess
    expect(c.holes).toEqual([expect.objectContaining({ kind: 'log-altered', files: [log] })]);
    expect(c.place.hours.map((h) => h.state)).toEqual(['verified', 'failed', 'verified']);
  });
});

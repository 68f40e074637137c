/**
 * Why a trail's digests stop early, told from CloudTrail's status of the trail and its StopLogging and
 * DeleteTrail calls: each answer CloudTrail can give, and each way asking can fail.
 */
import { describe, expect, it } from 'vitest';
import {
  explainGap,
  type TrailChange,
  type TrailStatus,
  type TrailStatusSource,
  UNKNOWN_CAUSE,
} from '#cli/validate/trail-status.ts';

const ARN = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/audit';
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** The newest digest found ends here; the range runs two months past it. */
const FROM = new Date('2026-03-08T01:00:00Z');
const TO = new Date('2026-05-08T00:00:00Z');
const NOW = new Date('2026-05-08T00:30:00Z');
const after = (minutes: number) => new Date(FROM.getTime() + minutes * MINUTE_MS);

const mallory: TrailChange = {
  eventName: 'StopLogging',
  time: after(20),
  actor: 'arn:aws:iam::111122223333:user/mallory',
  sourceIp: '203.0.113.9',
};

class Answers implements TrailStatusSource {
  readonly windows: [Date, Date][] = [];
  private readonly state: TrailStatus | undefined | Error;
  private readonly calls: TrailChange[] | Error;

  constructor(state: TrailStatus | undefined | Error, calls: TrailChange[] | Error = []) {
    this.state = state;
    this.calls = calls;
  }

  async status(): Promise<TrailStatus | undefined> {
    if (this.state instanceof Error) throw this.state;
    return this.state;
  }

  async changes(_arn: string, from: Date, to: Date): Promise<TrailChange[]> {
    this.windows.push([from, to]);
    if (this.calls instanceof Error) throw this.calls;
    return this.calls;
  }
}

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('explainGap', () => {
  it('leaves the cause open without a way to ask CloudTrail (a local copy of the bucket)', async () => {
    // Act
    const cause = await explainGap(undefined, ARN, { from: FROM, to: TO }, NOW);

    // Assess
    expect(cause).toEqual({ kind: 'unknown', digestsDeleted: false, reason: UNKNOWN_CAUSE });
  });

  it('names who stopped the trail, from the StopLogging call nearest the stop time', async () => {
    // Prepare
    const earlier = { ...mallory, time: after(-600), actor: 'arn:aws:iam::111122223333:user/ops' };
    const source = new Answers(
      { isLogging: false, stopLoggingTime: after(20), latestDigestDeliveryTime: after(5) },
      [earlier, mallory],
    );

    // Act
    const cause = await explainGap(source, ARN, { from: FROM, to: TO }, NOW);

    // Assess
    expect(cause).toMatchObject({
      kind: 'stopped',
      digestsDeleted: false,
      reason:
        'trail stopped logging at 2026-03-08T01:20:00Z by arn:aws:iam::111122223333:user/mallory from 203.0.113.9',
      changes: [mallory],
    });
    expect(source.windows).toEqual([[after(5), after(35)]]);
  });

  it('says when nobody can be named, and why', async () => {
    // Prepare
    const stopped = { isLogging: false, stopLoggingTime: after(20) };
    const throttled = new Answers(stopped, named('ThrottlingException', 'Rate exceeded'));
    const none = new Answers(stopped, []);
    const old = new Answers(stopped, [mallory]);

    // Act
    const [a, b, c] = await Promise.all([
      explainGap(throttled, ARN, { from: FROM, to: TO }, NOW),
      explainGap(none, ARN, { from: FROM, to: TO }, NOW),
      explainGap(old, ARN, { from: FROM, to: TO }, new Date('2026-07-01T00:00:00Z')),
    ]);

    // Assess
    expect(a.reason).toBe(
      'trail stopped logging at 2026-03-08T01:20:00Z (who stopped it: unavailable: ThrottlingException: Rate exceeded)',
    );
    expect(b.reason).toBe(
      'trail stopped logging at 2026-03-08T01:20:00Z (no StopLogging call found in LookupEvents)',
    );
    expect(c.reason).toBe(
      'trail stopped logging at 2026-03-08T01:20:00Z (StopLogging is older than the 90 days LookupEvents keeps)',
    );
    expect(old.windows).toEqual([]);
    expect([a, b, c].every((x) => x.kind === 'stopped' && !x.digestsDeleted)).toBe(true);
  });

  it('calls the newest digests deleted when the trail is logging and delivered a later one', async () => {
    // Prepare
    const source = new Answers({
      isLogging: true,
      startLoggingTime: new Date('2026-01-01T00:00:00Z'),
      latestDigestDeliveryTime: new Date('2026-05-08T00:05:12Z'),
    });

    // Act
    const cause = await explainGap(source, ARN, { from: FROM, to: TO }, NOW);

    // Assess
    expect(cause).toMatchObject({
      kind: 'digests-deleted',
      digestsDeleted: true,
      reason:
        'trail is logging and delivered a digest at 2026-05-08T00:05:12Z: the newest digests were deleted',
    });
  });

  it('calls digests deleted when a stopped trail delivered one after the newest found', async () => {
    // Prepare
    const source = new Answers(
      { isLogging: false, stopLoggingTime: after(24 * 60), latestDigestDeliveryTime: after(23 * 60 + 5) },
      [{ ...mallory, time: after(24 * 60) }],
    );

    // Act
    const cause = await explainGap(source, ARN, { from: FROM, to: TO }, NOW);

    // Assess
    expect(cause).toMatchObject({ kind: 'digests-deleted', digestsDeleted: true });
    expect(cause.reason).toBe(
      'trail stopped logging at 2026-03-09T01:00:00Z by arn:aws:iam::111122223333:user/mallory from 203.0.113.9, ' +
        'after delivering a digest at 2026-03-09T00:05:00Z: the digests after 2026-03-08T01:00:00Z were deleted',
    );
  });

  it('does not take the newest digest found, delivered minutes after its hour, for a later one', async () => {
    // Prepare
    const source = new Answers({
      isLogging: false,
      stopLoggingTime: after(3),
      latestDigestDeliveryTime: after(7),
    });

    // Act
    const cause = await explainGap(source, ARN, { from: FROM, to: TO }, NOW);

    // Assess
    expect(cause).toMatchObject({ kind: 'stopped', digestsDeleted: false });
  });

  it('says a logging trail delivers no digests, with CloudTrail’s delivery error', async () => {
    // Prepare
    const source = new Answers({
      isLogging: true,
      latestDigestDeliveryTime: after(4),
      latestDigestDeliveryError: 'AccessDenied',
    });

    // Act
    const cause = await explainGap(source, ARN, { from: FROM, to: TO }, NOW);

    // Assess
    expect(cause).toMatchObject({ kind: 'not-delivering', digestsDeleted: false });
    expect(cause.reason).toBe(
      'trail is logging but delivered no digest after 2026-03-08T01:00:00Z (latest at 2026-03-08T01:04:00Z): ' +
        'log file validation is off or CloudTrail cannot write to the bucket: AccessDenied',
    );
  });

  it('does not call digests deleted when the trail started logging again only after the range', async () => {
    // Prepare
    const source = new Answers(
      {
        isLogging: true,
        stopLoggingTime: after(20),
        startLoggingTime: new Date(TO.getTime() + HOUR_MS),
        latestDigestDeliveryTime: NOW,
      },
      [mallory],
    );

    // Act
    const cause = await explainGap(source, ARN, { from: FROM, to: TO }, NOW);

    // Assess
    expect(cause).toMatchObject({ kind: 'restarted', digestsDeleted: false });
    expect(cause.reason).toBe(
      'trail stopped logging at 2026-03-08T01:20:00Z by arn:aws:iam::111122223333:user/mallory from 203.0.113.9 ' +
        'and started logging again at 2026-05-08T01:00:00Z',
    );
  });

  it('names who deleted a trail CloudTrail no longer has', async () => {
    // Prepare
    const deletion = { ...mallory, eventName: 'DeleteTrail', time: after(90) };
    const source = new Answers(undefined, [mallory, deletion]);

    // Act
    const cause = await explainGap(source, ARN, { from: FROM, to: TO }, NOW);

    // Assess
    expect(cause).toMatchObject({ kind: 'trail-deleted', digestsDeleted: false });
    expect(cause.reason).toBe(
      'the trail no longer exists: deleted at 2026-03-08T02:30:00Z by arn:aws:iam::111122223333:user/mallory from 203.0.113.9',
    );
    // Looked up from the newest digest to now, within the 90 days LookupEvents keeps.
    expect(source.windows).toEqual([[FROM, NOW]]);
  });

  it('says in one line why the status could not be read, and keeps the finding', async () => {
    // Prepare
    const refused = Object.assign(new AggregateError([], ''), { code: 'ECONNREFUSED' });
    const multiline = named('AccessDeniedException', 'User is not authorized\nto perform GetTrailStatus');
    const errorPage = Object.assign(
      named('SyntaxError', 'Unexpected token \'<\', "<!doctype "... is not valid JSON'),
      {
        $metadata: { httpStatusCode: 502 },
      },
    );

    // Act
    const [a, b, c] = await Promise.all([
      explainGap(new Answers(refused), ARN, { from: FROM, to: TO }, NOW),
      explainGap(new Answers(multiline), ARN, { from: FROM, to: TO }, NOW),
      explainGap(new Answers(errorPage), ARN, { from: FROM, to: TO }, NOW),
    ]);

    // Assess
    expect(a).toEqual({
      kind: 'status-unavailable',
      digestsDeleted: false,
      reason: `${UNKNOWN_CAUSE}; trail status unavailable: ECONNREFUSED`,
    });
    expect(b.reason).toBe(
      `${UNKNOWN_CAUSE}; trail status unavailable: AccessDeniedException: User is not authorized`,
    );
    expect(c.reason).toBe(
      `${UNKNOWN_CAUSE}; trail status unavailable: HTTP 502 with an answer that is not CloudTrail's`,
    );
  });
});

/**
 * Attack: a forged log file that no digest lists, backdated a day, loaded with AccessDenied errors of one API
 * so that the error-rate baseline rises and a real burst a day later no longer looks unusual. The held-back
 * form: the file is written and ingested at the time it claims, then folded into the history like any
 * other. A forged file must change no insight that the genuine files produce, and must be reported.
 */
import { describe, expect, it } from 'vitest';
import { lambdaContext } from '#cli/replay/events.ts';
import { detectHandler, ingestHandler, watchdogHandler } from '#functions/handlers.ts';
import { seedBaselines } from '#shared/insights/index.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { DEFAULT_WATCHDOG } from '#shared/watchdog/delivery-gaps.ts';
import { background, calls, MINUTE, summaryOf } from '#test/fixtures/insights/synthetic.ts';
import { logFile, testPipeline } from '#test/support/logfiles.ts';
import { createdEvent, logKey, tamperAlerts } from '#test/support/security.ts';

const START = Date.parse('2026-03-02T00:00:00Z');
const DAY = 24 * 60 * MINUTE;
const T = START + 8 * DAY + 14 * 60 * MINUTE; // the genuine burst, Tuesday 14:00
const FORGED_AT = T - DAY; // what the forged file claims: the same hour the day before
const DECRYPT = {
  source: 'kms.amazonaws.com',
  name: 'Decrypt',
  readOnly: true,
  errorCode: 'AccessDeniedException',
};
const context = lambdaContext('trailwatch-ingest');

function minutes(from: number, count: number, perMinute: number): CloudTrailRecord[] {
  const out: CloudTrailRecord[] = [];
  for (let m = 0; m < count; m++) out.push(...calls({ ...DECRYPT, at: from + m * MINUTE, count: perMinute }));
  return out;
}

/**
 * Seven days of verified history, the forged file at the time it claims (through ingest, or as verified
 * history for the control that shows the attack works), the rest of the history, then the genuine burst
 * through ingest. Returns the ApiErrorRate Starts the burst produced.
 */
async function scenario(forged: 'none' | 'ingested' | 'trusted') {
  const p = testPipeline();
  const state = p.state;
  const history = background(START, 8, 1);
  const before = history.filter((s) => Date.parse(s.deliveredAt) < FORGED_AT);
  const after = history.filter((s) => Date.parse(s.deliveredAt) >= FORGED_AT);
  await seedBaselines(state, before, { now: new Date(FORGED_AT) });
  const forgedRecords = minutes(FORGED_AT - 60 * MINUTE, 180, 20);
  if (forged === 'ingested') {
    const key = logKey(new Date(FORGED_AT + 125 * MINUTE), 'FORGED0000000001');
    const body = logFile(forgedRecords);
    await p.source.put(key, body);
    p.deps.now = () => new Date(FORGED_AT + 126 * MINUTE);
    const r = await ingestHandler(p.deps)(createdEvent('trail', key, body, p.deps.now()), context);
    expect(r.outcomes[0].status).toBe('ingested');
  }
  // The scheduled detect runs on: the forged file's own burst (it may raise a rate) has ended by morning.
  for (let h = 3; h <= 12; h++) {
    await detectHandler({
      ...p.deps,
      config: { alertTopicArn: p.deps.config.alertTopicArn },
      now: () => new Date(FORGED_AT + h * 60 * MINUTE),
    })({}, context);
  }
  const trusted = forged === 'trusted' ? [summaryOf(forgedRecords, FORGED_AT + 125 * MINUTE)] : [];
  await seedBaselines(state, [...trusted, ...after], { now: new Date(START + 8 * DAY) });
  // the genuine burst: 12 denied Decrypt calls a minute for 4 minutes, in two files
  const starts: string[] = [];
  for (const [i, at] of [6, 11].entries()) {
    const key = logKey(new Date(T + at * MINUTE), `GENUINE00000000${i}`);
    const body = logFile(minutes(T + (i === 0 ? 0 : 2) * MINUTE, 2, 12));
    await p.source.put(key, body);
    p.deps.now = () => new Date(T + at * MINUTE);
    const r = await ingestHandler(p.deps)(createdEvent('trail', key, body, p.deps.now()), context);
    for (const e of r.insights)
      if (e.kind === 'start') starts.push(`${e.insightType} ${e.eventName} ${e.start}`);
  }
  return { starts, p };
}

describe('attack: a forged, backdated log file that no digest lists', () => {
  it('changes no insight the genuine files produce, though trusted it would have hidden the burst', async () => {
    // Act
    const genuine = await scenario('none');
    const attacked = await scenario('ingested');
    const control = await scenario('trusted');
    // Assess: the attack is real (trusted, the forged history hides the burst) and has no effect here
    expect(genuine.starts).toHaveLength(1);
    expect(genuine.starts[0]).toMatch(/^ApiErrorRateInsight Decrypt 2026-03-10T14:0\d:00Z$/);
    expect(control.starts).toEqual([]);
    expect(attacked.starts).toEqual(genuine.starts);
  });

  it('is reported as an unlisted log file (HIGH, naming it) two digest periods after its delivery', async () => {
    // Prepare: ingested, and no digest ever lists it
    const p = testPipeline();
    const at = new Date('2026-03-09T14:05:00Z');
    const key = logKey(at, 'FORGED0000000002');
    const body = logFile(minutes(at.getTime() - 5 * MINUTE, 3, 2));
    await p.source.put(key, body);
    await ingestHandler(p.deps)(createdEvent('trail', key, body, at), context);
    const watchdog = (now: Date) =>
      watchdogHandler({
        config: {
          alertTopicArn: 'arn:aws:sns:us-east-1:111122223333:alerts',
          trailPrefixes: [''],
          options: DEFAULT_WATCHDOG,
          trailBucket: 'trail',
        },
        trail: p.source,
        state: p.state,
        notifier: p.notifier,
        now: () => now,
        logger: p.deps.logger,
        metrics: p.deps.metrics,
      })({}, context);
    // Act
    await watchdog(new Date(at.getTime() + 110 * MINUTE));
    const early = tamperAlerts(p.notifier.sent, 'unlisted-log-file').length;
    await watchdog(new Date(at.getTime() + 125 * MINUTE));
    await watchdog(new Date(at.getTime() + 140 * MINUTE));
    // Assess: not before two digest periods, then once
    expect(early).toBe(0);
    const unlisted = tamperAlerts(p.notifier.sent, 'unlisted-log-file');
    expect(unlisted).toHaveLength(1);
    expect(unlisted[0].subject).toMatch(/^\[HIGH\] Log file no digest lists/);
    expect(unlisted[0].message).toContain(key);
  });

  it('is not reported once verify has found it listed in a valid digest', async () => {
    // Prepare: the same, with the mark verify leaves for a listed file
    const p = testPipeline();
    const at = new Date('2026-03-09T14:05:00Z');
    const key = logKey(at, 'GENUINE000000009');
    const body = logFile(minutes(at.getTime() - 5 * MINUTE, 3, 2));
    await p.source.put(key, body);
    await ingestHandler(p.deps)(createdEvent('trail', key, body, at), context);
    const { markVerified } = await import('#shared/digest/verified-files.ts');
    await markVerified(p.state, 'trail', 'a-digest-key', [key]);
    // Act
    await watchdogHandler({
      config: {
        alertTopicArn: 'arn:aws:sns:us-east-1:111122223333:alerts',
        trailPrefixes: [''],
        options: DEFAULT_WATCHDOG,
        trailBucket: 'trail',
      },
      trail: p.source,
      state: p.state,
      notifier: p.notifier,
      now: () => new Date(at.getTime() + 130 * MINUTE),
      logger: p.deps.logger,
      metrics: p.deps.metrics,
    })({}, context);
    // Assess
    expect(tamperAlerts(p.notifier.sent, 'unlisted-log-file')).toEqual([]);
  });
});

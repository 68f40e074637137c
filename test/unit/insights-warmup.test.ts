/**
 * The warm-up a report states must be the one detection applies: a place it calls not ready opens no
 * insight on a burst that opens one where it calls the place ready.
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { collectReport, renderReport } from '#cli/report/insights-report.ts';
import { minutesText, warmUpText } from '#cli/text-format.ts';
import { detect, readWarmUps, seedBaselines, type WarmUp } from '#shared/insights/index.ts';
import { ACCOUNT, background, calls, MINUTE, REGION, summaryOf } from '#test/fixtures/insights/synthetic.ts';

const T = Date.parse('2026-03-10T14:00:00Z');
const HOUR = 60 * MINUTE;
const burst = calls({ at: T, source: 'iam.amazonaws.com', name: 'CreateRole', count: 30 });

async function trail(hours: number): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore(`state-${hours}`);
  await seedBaselines(store, background(T - hours * HOUR, hours / 24, 1), { now: new Date(T) });
  return store;
}

const burstAt = (store: MemoryObjectStore) =>
  detect(store, {
    account: ACCOUNT,
    region: REGION,
    now: new Date(T + 8 * MINUTE),
    summaries: [summaryOf(burst, T + 8 * MINUTE)],
  });

describe('warm-up', () => {
  it('says a 12-hour trail is short of the 24 h detection needs, and detection opens nothing on it', async () => {
    // Prepare
    const young = await trail(12);
    // Act
    const before = await readWarmUps(young);
    const detected = await burstAt(young);
    // Assess
    expect(before).toEqual([
      {
        account: ACCOUNT,
        region: REGION,
        historyMinutes: 12 * 60,
        neededMinutes: 24 * 60,
        ready: false,
        startsPossibleFrom: '2026-03-11T02:00:00Z',
      },
    ]);
    expect(detected.records).toEqual([]);
  });

  it('says a 2-day trail is ready, and detection opens an insight on the same burst', async () => {
    // Prepare
    const seasoned = await trail(48);
    // Act
    const [warmUp] = await readWarmUps(seasoned);
    const detected = await burstAt(seasoned);
    // Assess
    expect(warmUp).toMatchObject({ historyMinutes: 48 * 60, ready: true });
    expect(detected.records.map((r) => r.insightDetails.state)).toEqual(['Start']);
  });

  it('is said in one sentence naming the history needed and seen per place', () => {
    // Prepare
    const place = (account: string, region: string, historyMinutes: number): WarmUp => ({
      account,
      region,
      historyMinutes,
      neededMinutes: 1440,
      ready: false,
    });
    // Act
    const one = warmUpText([place(ACCOUNT, 'us-east-1', 56)]);
    const two = warmUpText([place(ACCOUNT, 'eu-west-1', 30), place('444455556666', 'us-east-1', 185)]);
    // Assess
    expect(one).toBe(
      'baselines need 24 h of history per account and region, this trail has 56 min (us-east-1)',
    );
    expect(two).toBe(
      'baselines need 24 h of history per account and region, this trail has 3 h 5 min (444455556666 us-east-1), 30 min (111122223333 eu-west-1)',
    );
    expect([59, 60, 1441, 2880, 3000].map(minutesText)).toEqual([
      '59 min',
      '1 h',
      '24 h 1 min',
      '2 d',
      '2 d 2 h',
    ]);
  });

  it('is stated on an Insights report that has no insight because the trail is too short', async () => {
    // Prepare
    const young = await trail(12);
    // Act
    const html = renderReport(await collectReport(young, { now: new Date(T) }));
    // Assess
    expect(html).toContain(
      '<p class="warmup">No insight was possible yet: baselines need 24 h of history per account and region, this trail has 12 h (us-east-1).</p>',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import { runWatchdog } from '#shared/watchdog/delivery-gaps.ts';
import { watchdogAlerts } from '#shared/watchdog/gap-alerts.ts';
import { generatedOnce, quietScenario } from '#test/support/quiet-trail.ts';

const scenario = quietScenario(11, 6);
const generated = generatedOnce(scenario);
const copy = generated.copy;

const digests = () => generated.trail().deliveries.filter((d) => d.kind === 'digest');
const minutesAfter = (iso: string, m: number) => new Date(Date.parse(iso) + m * 60_000);

describe('watchdog', () => {
  it('reports nothing while digests and logs arrive on time', async () => {
    const newest = digests().at(-1)!;
    const result = await runWatchdog(copy(), new MemoryObjectStore(), minutesAfter(newest.deliveredAt, 30));
    expect(result.current).toEqual([]);
    expect(result.placesWatched).toBe(2);
  });

  it('reports a deleted newest digest once it is overdue, once, and its recovery', async () => {
    // Prepare
    const store = copy();
    const state = new MemoryObjectStore();
    const [previous, newest] = digests().slice(-2);
    await store.delete(newest.key);
    const due = Date.parse(previous.deliveredAt) + 60 * 60_000;
    // Act
    const early = await runWatchdog(store, state, new Date(due));
    const late = await runWatchdog(store, state, new Date(due + 91 * 60_000));
    const again = await runWatchdog(store, state, new Date(due + 100 * 60_000));
    await store.put(newest.key, generated.pristine.objects.get(newest.key)!.body);
    const later = await runWatchdog(store, state, minutesAfter(newest.deliveredAt, 30));
    // Assess
    expect(early.opened.filter((f) => f.kind === 'digest-missing')).toEqual([]);
    const missing = late.opened.filter((f) => f.kind === 'digest-missing');
    expect(missing).toHaveLength(1);
    expect(missing[0]).toMatchObject({
      place: { account: scenario.accounts[0], region: 'us-east-1' },
      newestKey: previous.key,
    });
    expect(again.opened).toEqual([]);
    expect(again.current.some((f) => f.kind === 'digest-missing')).toBe(true);
    expect(later.closed.map((c) => c.kind)).toContain('digest-missing');
  });

  it('reports log files that stopped arriving, with an alert that names the place and the newest file', async () => {
    // Prepare
    const store = copy();
    const logs = generated.trail().deliveries.filter((d) => d.kind === 'log');
    const last = logs.at(-1)!;
    // Act
    const result = await runWatchdog(store, new MemoryObjectStore(), minutesAfter(last.deliveredAt, 61));
    const alerts = watchdogAlerts('arn:aws:sns:us-east-1:111122223333:alerts', result);
    // Assess
    const silent = result.opened.find((f) => f.kind === 'logs-silent');
    expect(silent?.newestKey).toBe(last.key);
    const alert = alerts.find((a) => a.attributes.check === 'logs-silent')!;
    expect(alert.subject).toMatch(/^\[MEDIUM\] No CloudTrail log file for 61 min \(\d{12}, us-east-1\)$/);
    expect(alertData(alert.message)).toMatchObject({ kind: 'watchdog', newestKey: last.key });
  });

  it('does not watch a place that has not delivered within the activity window', async () => {
    const newest = digests().at(-1)!;
    const result = await runWatchdog(
      copy(),
      new MemoryObjectStore(),
      minutesAfter(newest.deliveredAt, 10 * 24 * 60),
    );
    expect(result.placesWatched).toBe(0);
    expect(result.current).toEqual([]);
  });
});

/**
 * Attack (or bad luck): one failed publish or write used to lose an alert for good. Each case through the
 * real handlers, with the fault the review found.
 */
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import { lambdaContext } from '#cli/replay/events.ts';
import { detectHandler, ingestHandler, watchdogHandler } from '#functions/handlers.ts';
import { seedBaselines } from '#shared/insights/index.ts';
import { logFileKey } from '#shared/keys.ts';
import { type ObjectStore, StoreError } from '#shared/ports.ts';
import { DEFAULT_WATCHDOG } from '#shared/watchdog/delivery-gaps.ts';
import { background, calls, MINUTE } from '#test/fixtures/insights/synthetic.ts';
import { FlakyNotifier, invokeAsync } from '#test/support/faults.ts';
import { logFile, record, testPipeline } from '#test/support/logfiles.ts';
import { createdEvent, logKey, rootRecord, ruleAlerts } from '#test/support/security.ts';

const context = lambdaContext('trailwatch');
const TOPIC = 'arn:aws:sns:us-east-1:111122223333:alerts';

/** A store that fails every call (a bucket that cannot be reached). */
function unreachable(store: ObjectStore): ObjectStore {
  const fail = async (key: string): Promise<never> => {
    throw new StoreError(`s3://state/${key}: connect ETIMEDOUT (injected)`, key);
  };
  const s = Object.create(store) as ObjectStore;
  s.get = fail;
  s.head = fail;
  s.put = (key) => fail(key);
  s.delete = fail;
  return s;
}

describe('attack: one failure loses an alert for good', () => {
  it('a watchdog gap whose publish failed is reported on the next run', async () => {
    // Prepare: a place whose logs stopped two hours ago
    const trail = new MemoryObjectStore('trail');
    const last = new Date('2026-03-04T10:00:00Z');
    await trail.put(
      logFileKey({ account: '111122223333', region: 'us-east-1', time: last, unique: 'F000000000000001' }),
      logFile([record()]),
    );
    const p = testPipeline();
    const delivered = new OutboxNotifier();
    const state = new MemoryObjectStore('state');
    const run = (notifier: OutboxNotifier | FlakyNotifier, minutes: number) =>
      watchdogHandler({
        config: {
          alertTopicArn: TOPIC,
          trailPrefixes: [''],
          options: DEFAULT_WATCHDOG,
          trailBucket: 'trail',
        },
        trail,
        state,
        notifier,
        now: () => new Date(last.getTime() + minutes * MINUTE),
        logger: p.deps.logger,
        metrics: p.deps.metrics,
      })({}, context);
    // Act
    const first = await run(new FlakyNotifier(delivered, 1), 120).catch((e: unknown) => e);
    await run(delivered, 135);
    await run(delivered, 150);
    // Assess
    expect(first).toBeInstanceOf(Error);
    expect(delivered.sent.filter((n) => n.attributes.check === 'logs-silent')).toHaveLength(1);
  });

  it('an insight Start survives a failed write after the state change that decided it', async () => {
    // Prepare: a seeded baseline, then a burst; every write after the state commit fails once
    const state = new MemoryObjectStore('state');
    const START = Date.parse('2026-03-02T00:00:00Z');
    const T = START + 8 * 24 * 60 * MINUTE + 14 * 60 * MINUTE;
    await seedBaselines(state, background(START, 8, 1), { now: new Date(START + 8 * 24 * 60 * MINUTE) });
    const p = testPipeline();
    let stateWrites = 0;
    const flaky = Object.create(state) as ObjectStore;
    flaky.put = async (key, body, options) => {
      // the first write is the state commit; the one after it (what recorded the message as sent) fails
      if (key.startsWith('insights/state/') && ++stateWrites === 2) throw new Error('injected write failure');
      return state.put(key, body, options);
    };
    p.deps.state = flaky;
    const key = logKey(new Date(T + 6 * MINUTE), 'BURST00000000001');
    const body = logFile(
      [0, 1, 2, 3].flatMap((m) =>
        calls({ source: 'iam.amazonaws.com', name: 'CreateRole', at: T + m * MINUTE, count: 6 }),
      ),
    );
    await p.source.put(key, body);
    p.deps.now = () => new Date(T + 6 * MINUTE);
    // Act
    const first = await ingestHandler(p.deps)(createdEvent('trail', key, body, p.deps.now()), context).catch(
      (e: unknown) => e,
    );
    await detectHandler({
      ...p.deps,
      config: { alertTopicArn: TOPIC },
      now: () => new Date(T + 11 * MINUTE),
    })({}, context);
    await detectHandler({
      ...p.deps,
      config: { alertTopicArn: TOPIC },
      now: () => new Date(T + 30 * MINUTE),
    })({}, context);
    // Assess: the Start went out (at least once), and so did the End
    expect(first).toBeInstanceOf(Error);
    const states = p.notifier.sent.map((n) => n.attributes.state);
    expect(states).toContain('Start');
    expect(states).toContain('End');
  });

  it("an SNS failure on one file does not throttle away the next file's alert for another user", async () => {
    // Prepare: two files in one MEDIUM window; SNS fails for every try of the first (it is dead-lettered)
    const p = testPipeline();
    const delivered = new OutboxNotifier();
    const at = new Date('2026-11-20T10:05:00Z');
    const sg = (user: string) =>
      record({
        eventID: user,
        eventName: 'AuthorizeSecurityGroupIngress',
        userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::111122223333:user/${user}`, userName: user },
      });
    const a = { key: logKey(at, 'F00000000000000A'), body: logFile([sg('alice')]) };
    const b = {
      key: logKey(new Date(at.getTime() + 5 * MINUTE), 'F00000000000000B'),
      body: logFile([sg('bob')]),
    };
    for (const f of [a, b]) await p.source.put(f.key, f.body);
    const dead: unknown[] = [];
    // Act
    p.deps.notifier = new FlakyNotifier(delivered, 3);
    const first = await invokeAsync(ingestHandler(p.deps), createdEvent('trail', a.key, a.body, at), dead);
    p.deps.notifier = delivered;
    await ingestHandler(p.deps)(createdEvent('trail', b.key, b.body, at), context);
    // Assess
    expect(first).toBe('dead-lettered');
    const sent = ruleAlerts(delivered.sent, 'CloudWatch.10');
    expect(sent).toHaveLength(1);
    expect(sent[0].subject).toContain('bob');
  });

  it('with the state bucket unreachable, CRITICAL rule alerts still go out (and the event is retried)', async () => {
    // Prepare
    const p = testPipeline();
    p.deps.state = unreachable(p.state);
    const at = new Date('2026-11-20T10:05:00Z');
    const key = logKey(at);
    const body = logFile([rootRecord(), record({ eventID: 'other' })]);
    await p.source.put(key, body);
    const dead: unknown[] = [];
    // Act
    const result = await invokeAsync(ingestHandler(p.deps), createdEvent('trail', key, body, at), dead);
    // Assess: every attempt sent it; none was lost while the state was down
    expect(result).toBe('dead-lettered');
    expect(ruleAlerts(p.notifier.sent, 'CloudWatch.1')).toHaveLength(3);
    expect(p.notifier.sent[0].subject).toMatch(/^\[CRITICAL\] Root user activity/);
  });
});

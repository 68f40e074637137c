import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { CapturingMetrics } from '#cli/adapters/emf-file-metrics.ts';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import { lambdaContext } from '#cli/replay/events.ts';
import { detectHandler } from '#functions/handlers.ts';
import { sendThroughOutbox } from '#shared/notify/outbox.ts';
import type { Notification } from '#shared/ports.ts';
import { FlakyNotifier } from '#test/support/faults.ts';

const message = (n: number): Notification => ({
  topic: 'arn:aws:sns:us-east-1:111122223333:alerts',
  subject: `[HIGH] insight ${n}`,
  message: 'text',
  attributes: { kind: 'insight' },
});

function deps(state: MemoryObjectStore, notifier: OutboxNotifier | FlakyNotifier) {
  const emf: Record<string, unknown>[] = [];
  return {
    emf,
    deps: {
      config: { alertTopicArn: 'arn:aws:sns:us-east-1:111122223333:alerts' },
      state,
      notifier,
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new CapturingMetrics(
        { namespace: 'Trailwatch', serviceName: 'trailwatch' },
        { append: (d) => emf.push(d as Record<string, unknown>) },
      ),
      now: () => new Date('2026-11-20T12:00:00Z'),
    },
  };
}

describe('detect handler', () => {
  it('sends messages a failed publish left in the outbox, and only once', async () => {
    // Prepare: SNS fails while ingest hands over two messages
    const state = new MemoryObjectStore();
    const sent = new OutboxNotifier();
    await expect(
      sendThroughOutbox(state, new FlakyNotifier(sent, 5), [
        { id: 'a/start', notification: message(1) },
        { id: 'b/start', notification: message(2) },
      ]),
    ).rejects.toThrow(/2 of 2 messages not sent yet/);
    const handler = detectHandler(deps(state, sent).deps);
    // Act
    await handler(undefined as never, lambdaContext('trailwatch-detect'));
    await handler(undefined as never, lambdaContext('trailwatch-detect'));
    // Assess
    expect(sent.sent.map((n) => n.subject).sort()).toEqual(['[HIGH] insight 1', '[HIGH] insight 2']);
    expect([...state.objects.keys()].filter((k) => k.startsWith('outbox/'))).toEqual([]);
  });

  it('rewrites, not duplicates, a message handed over twice with the same id', async () => {
    const state = new MemoryObjectStore();
    const failing = new FlakyNotifier(new OutboxNotifier(), 10);
    await expect(
      sendThroughOutbox(state, failing, [{ id: 'x/end', notification: message(3) }]),
    ).rejects.toThrow();
    await expect(
      sendThroughOutbox(state, failing, [{ id: 'x/end', notification: message(3) }]),
    ).rejects.toThrow();
    expect([...state.objects.keys()].filter((k) => k.startsWith('outbox/'))).toHaveLength(1);
  });
});

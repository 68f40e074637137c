/**
 * An outbox for messages decided by a state change that has already been committed (an insight opened or
 * closed): the message is written to the state store first, then published, then removed. If publishing
 * fails, the message waits in the outbox and the next run (a retry, the next delivery, or the schedule)
 * sends it: at least once, never lost.
 */
import { createHash } from 'node:crypto';
import type { Notification, Notifier, ObjectStore } from '#shared/ports.ts';
import { readAll } from '#shared/ports.ts';

const PREFIX = 'outbox/';

export function outboxKey(id: string): string {
  return `${PREFIX}${createHash('sha256').update(id).digest('hex').slice(0, 32)}.json`;
}

/** Persists each message under a key derived from its id (so a retry rewrites, not duplicates), then flushes. */
export async function sendThroughOutbox(
  state: ObjectStore,
  notifier: Notifier,
  messages: { id: string; notification: Notification }[],
): Promise<number> {
  for (const m of messages) {
    await state.put(outboxKey(m.id), JSON.stringify(m.notification), { contentType: 'application/json' });
  }
  return messages.length > 0 ? flushOutbox(state, notifier) : 0;
}

/** Publishes every waiting message and removes it once sent. Throws after trying all if any failed. */
export async function flushOutbox(state: ObjectStore, notifier: Notifier): Promise<number> {
  let sent = 0;
  let failure: unknown;
  const keys: string[] = [];
  for await (const o of state.list(PREFIX)) keys.push(o.key);
  for (const key of keys) {
    try {
      const n = JSON.parse((await readAll(state, key)).toString('utf8')) as Notification;
      await notifier.publish(n);
      await state.delete(key);
      sent++;
    } catch (err) {
      failure ??= err;
    }
  }
  if (failure)
    throw new Error(`outbox: ${keys.length - sent} of ${keys.length} messages not sent yet`, {
      cause: failure,
    });
  return sent;
}

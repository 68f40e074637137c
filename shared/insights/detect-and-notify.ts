/**
 * One detection step as the functions run it: detect for an account and region, with the Start and End
 * messages committed in the same state write as the insight they announce, then published and forgotten.
 * A failure anywhere after the commit (SNS, the write that forgets them) leaves them in the state, and the
 * next step for that account and region (a retry, the next file, the scheduled detect) sends them: at
 * least once, never lost.
 */
import type { MetricsSink, Notification, Notifier, ObjectStore } from '#shared/ports.ts';
import { type DetectParams, detect, forgetMessages } from './index.ts';
import { insightNotifications } from './insight-alerts.ts';
import type { InsightEvent } from './insight-types.ts';
import type { ParkTicket } from './park-ticket.ts';
import { activeKey } from './state.ts';

export async function detectAndNotify(
  deps: { state: ObjectStore; notifier: Notifier; metrics: MetricsSink; topic: string },
  params: DetectParams,
): Promise<{ events: InsightEvent[]; open: number; duplicates: string[]; ticket?: ParkTicket }> {
  const found = await detect(deps.state, {
    ...params,
    messages: (events) =>
      insightNotifications(events, deps.topic).map((notification, i) => ({
        id: `${events[i].sharedEventID}/${events[i].kind}`,
        notification,
      })),
  });
  for (const e of found.events) {
    deps.metrics.addMetric(e.kind === 'start' ? 'InsightsStarted' : 'InsightsEnded', 'Count', 1);
  }
  const sent: string[] = [];
  let failure: unknown;
  for (const m of found.messages) {
    try {
      await deps.notifier.publish(m.notification as Notification);
      sent.push(m.id);
    } catch (err) {
      failure ??= err;
    }
  }
  await forgetMessages(deps.state, params.account, params.region, sent, params.options);
  // Nothing left to end or send: the scheduled detect need not visit until the next fold.
  if (!failure && found.open === 0 && found.wasActive)
    await deps.state.delete(activeKey(params.account, params.region));
  if (failure) {
    throw new Error(`insights: ${found.messages.length - sent.length} messages not sent yet`, {
      cause: failure,
    });
  }
  return {
    events: found.events,
    open: found.open,
    duplicates: found.duplicates ?? [],
    ...(found.ticket ? { ticket: found.ticket } : {}),
  };
}

/**
 * One detection step as the functions run it: detect for an account and region, then hand the Start and
 * End messages to the outbox (at least once, even if SNS fails after the state was committed).
 */
import { sendThroughOutbox } from '#shared/notify/outbox.ts';
import type { MetricsSink, Notifier, ObjectStore } from '#shared/ports.ts';
import { type DetectParams, detect } from './index.ts';
import { insightNotifications } from './insight-alerts.ts';
import type { InsightEvent } from './insight-types.ts';

export async function detectAndNotify(
  deps: { state: ObjectStore; notifier: Notifier; metrics: MetricsSink; topic: string },
  params: DetectParams,
): Promise<{ events: InsightEvent[]; open: number; duplicates: string[] }> {
  const found = await detect(deps.state, params);
  await sendThroughOutbox(
    deps.state,
    deps.notifier,
    insightNotifications(found.events, deps.topic).map((notification, i) => ({
      id: `${found.events[i].sharedEventID}/${found.events[i].kind}`,
      notification,
    })),
  );
  for (const e of found.events) {
    deps.metrics.addMetric(e.kind === 'start' ? 'InsightsStarted' : 'InsightsEnded', 'Count', 1);
  }
  return { events: found.events, open: found.open, duplicates: found.duplicates ?? [] };
}

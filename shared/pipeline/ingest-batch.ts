/**
 * Batched ingest: the deliveries of one SQS batch (from the bucket's notifications, EventBridge or the trail's
 * SNS topic), with the same per-file evaluation as the S3-triggered path, but the state writes per batch:
 *
 *   1. dedup: an object announced twice in the batch is read once (the others are `duplicate`); a deleted or
 *      empty log file or digest raises its CRITICAL tamper alert here, as on the S3-triggered path;
 *   2. per file, a few at a time: route; read and evaluate; rule metrics; the rule alerts that are never
 *      throttled (CRITICAL and HIGH by default) go out at once, a throttled one is deferred to the scheduled
 *      sweep in the batch's parked object (shared/pipeline/sweep-parked.ts: one process decides every throttle
 *      window, so no claim is written per file); then the count rules over the whole batch
 *      (shared/rules/parked-counts.ts): what its files cross among themselves alerts at once, and every
 *      file's counted events go to the parked object, for the sweep to find the bursts several batches show;
 *   3. per account-region: when its park ticket (shared/insights/park-ticket.ts, kept per container, one state
 *      GET to renew) shows that the batch's files cannot start an insight, they are parked: their summaries go
 *      into ONE parked object for the batch (shared/insights/parked-files.ts), which the scheduled detect
 *      folds in every `foldMinutes`, and the state is not touched. Otherwise: apply every summary of the batch
 *      and detect in ONE conditional state write, which renews the ticket. The state remembers which files it
 *      applied, so it is the commit marker: a file delivered again (in a later batch, on a retry, or parked
 *      and folded) is recognised there and counted once;
 *   4. one summaries object for the whole batch (not one per file: at 48 events a file the per-file PUT cost
 *      more than everything else together).
 *      Each summary in it carries its file's lookup index, as a per-file summary does; `lookup --state` finds
 *      a file's index there when the file has no summary of its own.
 *
 * A failure is charged to the messages it concerns: a file that could not be read, or every file of an
 * account-region whose state write failed. Only those come back as batch item failures; the queue retries
 * them and the rest of the batch is done.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { isVerified } from '#shared/digest/verified-files.ts';
import { detectAndNotify } from '#shared/insights/detect-and-notify.ts';
import { readState } from '#shared/insights/index.ts';
import { type InsightEvent, resolveOptions } from '#shared/insights/insight-types.ts';
import { mayPark, type ParkTicket, parkTicket, seriesCounts } from '#shared/insights/park-ticket.ts';
import { encodeParked, type ParkedBatch, parkedKey } from '#shared/insights/parked-files.ts';
import { BATCH_SUMMARIES_PREFIX, BATCH_SUMMARIES_SCHEMA, dayPath, decodeEventKey } from '#shared/keys.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { buildRuleNotification } from '#shared/notify/rule-alerts.ts';
import {
  type AlertWindow,
  claimKey,
  type DeferredAlert,
  deferredAlert,
  throttleMinutes,
} from '#shared/notify/throttle.ts';
import {
  countIngested,
  type DeliveryOutcome,
  type IngestPorts,
  type LogFileRef,
  publishRuleFindings,
  readDeliveredLogFile,
  recordRejection,
  reportTamper,
  ruleAlertContext,
} from '#shared/pipeline/ingest-log-files.ts';
import { type Delivery, routeDelivery } from '#shared/pipeline/routing.ts';
import { mapPool } from '#shared/pipeline/shards.ts';
import type { ObjectStore } from '#shared/ports.ts';
import type { RuleMatches } from '#shared/rules/evaluate.ts';
import {
  batchCrossings,
  forParkedObject,
  type ParkedCount,
  parkCounts,
} from '#shared/rules/parked-counts.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import type { LogFileSummary } from '#shared/summary.ts';

/** A delivery with the id of the queue message that carried it. */
export interface QueuedDelivery extends Delivery {
  messageId: string;
}

export interface BatchResult {
  outcomes: ({ messageId: string } & DeliveryOutcome)[];
  insights: InsightEvent[];
  /** Messages to retry (SQS partial batch response). */
  failedMessageIds: string[];
  /** Key of the batch's summaries object, when one was written. */
  summariesKey?: string;
  /** Key of the batch's parked object, when files were parked or counted events or alerts were deferred. */
  parkedKey?: string;
  /** Files parked (their state left alone until the next fold). */
  parked: number;
}

/**
 * Throttle windows this container already deferred an alert of (in a parked object that was written), by
 * claim key: a later file in the same window adds nothing the sweep would send. Bounded: cleared when full.
 */
const deferredByStore = new WeakMap<ObjectStore, Set<string>>();
const MAX_DEFERRED = 20_000;
const rulesById = new WeakMap<readonly Rule[], ReadonlyMap<string, Rule>>();

/**
 * Park tickets by account-region for the life of the container (park-ticket.ts): a file of an account-region
 * without a valid ticket costs one state GET. A ticket is renewed from every state this container writes.
 * Bounded like the claims; an organization of 1,000 accounts x 17 regions fits.
 */
const ticketsByStore = new WeakMap<
  ObjectStore,
  Map<string, { ticket: ParkTicket | undefined; until: number }>
>();
const MAX_TICKETS = 20_000;
/** How long an account-region that may not park goes straight to its state before asking again. */
const NO_TICKET_MINUTES = 60;
/** Batched ingest runs with the default detection options, as the per-file path does. */
const INSIGHTS = resolveOptions();

/** How many files of a batch are read at once: reading is I/O-bound at this size, evaluating CPU-bound. */
export const BATCH_READ_CONCURRENCY = 16;

/** One object per batch, keyed by its files: a retry of the same batch rewrites the same object. */
export function batchSummariesKey(summaries: LogFileSummary[]): string {
  const keys = summaries.map((s) => `${s.source.bucket}/${s.source.key}`).sort();
  const id = createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 32);
  const day = dayPath(new Date(summaries[0].deliveredAt));
  return `${BATCH_SUMMARIES_PREFIX}${day}/${id}.json.gz`;
}

interface Evaluated {
  messageIds: string[];
  file: LogFileRef;
  summary: LogFileSummary;
  hash: string;
  ruleHits: Record<string, number>;
}

export async function ingestBatch(ports: IngestPorts, deliveries: QueuedDelivery[]): Promise<BatchResult> {
  const { logger, metrics, state } = ports;
  const result: BatchResult = { outcomes: [], insights: [], failedMessageIds: [], parked: 0 };
  let deferredWindows = deferredByStore.get(state);
  if (!deferredWindows || deferredWindows.size > MAX_DEFERRED) {
    deferredWindows = new Set();
    deferredByStore.set(state, deferredWindows);
  }
  let rules = rulesById.get(ports.rules);
  if (!rules) {
    rules = new Map(ports.rules.map((r) => [r.id, r]));
    rulesById.set(ports.rules, rules);
  }
  const failed = new Set<string>();
  const fail = (ids: string[], key: string, error: unknown) => {
    // Once per object, whichever steps its failure concerns.
    if (ids.every((id) => failed.has(id))) return;
    logger.error('object failed; its message will be retried', { key, error });
    metrics.addMetric(METRIC.ProcessingFailures, 'Count', 1);
    for (const id of ids) failed.add(id);
  };

  // 1. One entry per object; later copies ride on the first one's outcome.
  const unique = new Map<string, QueuedDelivery & { copies: string[] }>();
  for (const d of deliveries) {
    let id: string;
    try {
      id = `${d.bucket}\u0000${decodeEventKey(d.key)}`;
    } catch {
      id = `${d.bucket}\u0000${d.key}`;
    }
    // A deletion, or another version of the key (overwritten, then put back), is not a copy of the first.
    id += `\u0000${d.event ?? 'created'}\u0000${d.versionId ?? d.etag?.replace(/"/g, '') ?? ''}`;
    const first = unique.get(id);
    if (first) {
      first.copies.push(d.messageId);
      metrics.addMetric(METRIC.DuplicateDeliveries, 'Count', 1);
      result.outcomes.push({ messageId: d.messageId, key: d.key, status: 'duplicate', summaryKey: '' });
    } else unique.set(id, { ...d, copies: [] });
  }

  // Throttled alerts for the sweep, the first of each window; the messages whose files deferred them.
  const deferred = new Map<string, { alert: DeferredAlert; ids: string[] }>();
  const deferFor =
    (ids: string[]) =>
    (window: AlertWindow, matches: RuleMatches, source: { bucket: string; key: string }): boolean => {
      const key = claimKey(window);
      if (deferredWindows.has(key) || deferred.has(key)) return false;
      deferred.set(key, { alert: deferredAlert(window, matches, source), ids });
      return true;
    };
  // Every file's counted events, with the messages that carried it and what a count alert names.
  const counted: {
    ids: string[];
    file: LogFileRef;
    summary: LogFileSummary;
    counts: ParkedCount[];
  }[] = [];

  // 2. Route, read and evaluate, rule findings: a few files at a time.
  const evaluated: Evaluated[] = [];
  const entries = [...unique.values()];
  await mapPool(entries, BATCH_READ_CONCURRENCY, async (d) => {
    const ids = [d.messageId, ...d.copies];
    const r = routeDelivery(d);
    const { bucket, key } = r.object;
    try {
      if (r.to === 'ignore') {
        metrics.addMetric(METRIC.IgnoredObjects, 'Count', 1);
        result.outcomes.push({ messageId: d.messageId, key, status: 'ignored', reason: r.reason });
        return;
      }
      if (r.to === 'tamper') {
        // A log file or digest deleted or written empty: CRITICAL at once, nothing to read or count.
        await reportTamper(ports, {
          tamper: r.tamper,
          bucket,
          key,
          details: {
            event: d.eventName ?? (r.tamper === 'removed' ? 'ObjectRemoved' : 'ObjectCreated'),
            ...(r.object.versionId ? { versionId: r.object.versionId } : {}),
            ...(r.tamper === 'empty' ? { size: 0 } : {}),
          },
        });
        result.outcomes.push({ messageId: d.messageId, key, status: 'tampered', tamper: r.tamper });
        return;
      }
      if (r.to === 'verify') {
        await ports.dispatchDigest(d);
        metrics.addMetric(METRIC.DigestsDispatched, 'Count', 1);
        result.outcomes.push({ messageId: d.messageId, key, status: 'dispatched' });
        return;
      }
      const file: LogFileRef = {
        bucket,
        key: r.key,
        ...(r.object.size !== undefined ? { size: r.object.size } : {}),
        ...(r.object.versionId ? { versionId: r.object.versionId } : {}),
        ...(r.object.etag ? { etag: r.object.etag } : {}),
      };
      const read = await readDeliveredLogFile(ports, file);
      if (read.status === 'tampered') {
        result.outcomes.push({ messageId: d.messageId, key, status: 'tampered', tamper: read.tamper });
        return;
      }
      if (read.status === 'unreadable') {
        const outcome = await recordRejection(state, metrics, file, read);
        logger.error('log file rejected', { bucket, key, reason: read.error.message });
        result.outcomes.push({ messageId: d.messageId, key, ...outcome });
        return;
      }
      // Rule alerts first: the unthrottled ones (CRITICAL and HIGH by default) need no state at all.
      await publishRuleFindings(ports, file, read, { defer: deferFor(ids) });
      if (read.counts && read.counts.length > 0) {
        const source = `${bucket}/${file.key.key}`;
        const { account, region } = read.summary;
        counted.push({
          ids,
          file,
          summary: read.summary,
          counts: parkCounts(source, account, region, read.counts),
        });
      }
      // Not checked against a digest yet: detection counts it, the baselines only once verify lists it
      // (files that go to the state are looked up below; a parked file is taken as verified by the state if
      // verify lists it before the fold).
      read.summary.unverified = true;
      evaluated.push({
        messageIds: ids,
        file,
        summary: read.summary,
        hash: read.hash,
        ruleHits: Object.fromEntries(
          read.matches.filter((m) => m.count > 0).map((m) => [m.rule.id, m.count]),
        ),
      });
    } catch (error) {
      fail(ids, key, error);
    }
  });

  // 2b. Count rules over the whole batch: a burst its files show among themselves alerts now.
  const live = counted.filter((c) => !c.ids.some((id) => failed.has(id)));
  const bySource = new Map(live.map((c) => [`${c.file.bucket}/${c.file.key.key}`, c]));
  for (const x of batchCrossings(
    live.flatMap((c) => c.counts),
    rules,
  )) {
    const files = x.sources.flatMap((src) => bySource.get(src) ?? []);
    if (files.length === 0) continue;
    const ids = files.flatMap((f) => f.ids);
    // Named after the newest file of the burst: its key time is the throttle window the alert falls in.
    const newest = files.reduce((a, b) => (b.file.key.time > a.file.key.time ? b : a));
    metrics.addMetric(x.rule.metricName, 'Count', x.matches.count);
    const window: AlertWindow = {
      ruleId: x.rule.id,
      account: x.account,
      region: x.region,
      minutes: throttleMinutes(x.rule, ports.config.alertThrottle),
      at: newest.file.key.time,
      sourceKey: newest.file.key.key,
    };
    if (window.minutes > 0) {
      const source = { bucket: newest.file.bucket, key: newest.file.key.key };
      if (!deferFor(ids)(window, x.matches, source))
        metrics.addMetric(METRIC.RuleAlertsThrottled, 'Count', 1);
      continue;
    }
    try {
      await ports.notifier.publish(
        buildRuleNotification(x.matches, ruleAlertContext(ports.config, newest.summary, newest.file)),
      );
      metrics.addMetric(METRIC.RuleAlerts, 'Count', 1);
    } catch (error) {
      // Its files come back: the retry counts them again and alerts (repeated rather than lost).
      for (const f of files) fail(f.ids, f.file.key.key, error);
    }
  }

  // 3. One state write per account-region.
  const byPlace = new Map<string, Evaluated[]>();
  for (const e of evaluated) {
    const place = `${e.summary.account}/${e.summary.region}`;
    const list = byPlace.get(place) ?? [];
    list.push(e);
    byPlace.set(place, list);
  }
  const applied: Evaluated[] = [];
  const parked: Evaluated[] = [];
  const now = ports.now();
  const nowMinute = Math.floor(now.getTime() / 60_000);
  let tickets = ticketsByStore.get(state);
  if (!tickets || tickets.size > MAX_TICKETS) {
    tickets = new Map();
    ticketsByStore.set(state, tickets);
  }
  const ticketOf = async (place: string, account: string, region: string) => {
    const known = tickets.get(place);
    if (known && nowMinute < known.until) return known;
    const current = await readState(state, account, region);
    // No state yet: the first file creates it (verify can then remember what it lists before the fold).
    const ticket = current ? parkTicket(current, nowMinute, INSIGHTS) : undefined;
    const entry = { ticket, until: ticket?.until ?? nowMinute + NO_TICKET_MINUTES };
    tickets.set(place, entry);
    return entry;
  };
  await mapPool([...byPlace.entries()], BATCH_READ_CONCURRENCY, async ([place, files]) => {
    const { account, region } = files[0].summary;
    try {
      const entry = await ticketOf(place, account, region);
      const summaries = files.map((f) => f.summary);
      // Decided on this batch's files alone: a rise that only files parked in several batches prove
      // together is started by the fold that applies them.
      if (entry.ticket && mayPark(entry.ticket, seriesCounts(summaries, INSIGHTS), nowMinute, INSIGHTS)) {
        parked.push(...files);
        return;
      }
      await mapPool(files, 4, async (f) => {
        if (await isVerified(state, f.file.bucket, f.file.key.key)) delete f.summary.unverified;
      });
      const detected = await detectAndNotify(
        { state, notifier: ports.notifier, metrics, topic: ports.config.alertTopicArn },
        {
          account,
          region,
          now,
          summaries,
          insightStore: ports.insightStore ?? state,
          prefix: '',
          parkTicket: true,
        },
      );
      tickets.set(place, {
        ticket: detected.ticket,
        until: detected.ticket?.until ?? nowMinute + NO_TICKET_MINUTES,
      });
      result.insights.push(...detected.events);
      const again = new Set(detected.duplicates);
      for (const f of files) {
        if (again.has(f.summary.source.key)) {
          metrics.addMetric(METRIC.DuplicateDeliveries, 'Count', 1);
          result.outcomes.push({
            messageId: f.messageIds[0],
            key: f.file.key.key,
            status: 'duplicate',
            summaryKey: '',
          });
        } else {
          countIngested(metrics, f.summary);
          applied.push(f);
        }
      }
    } catch (error) {
      tickets.delete(place);
      for (const f of files) fail(f.messageIds, f.file.key.key, error);
    }
  });

  // 3b. The parked object: the parked files' summaries (the scheduled detect folds them in), every file's
  // counted events and the deferred alerts (its sweep reads them). Written before the messages are
  // acknowledged, so a failure here sends them back to the queue.
  const alerts = [...deferred.values()];
  const counts = counted.filter((c) => !c.ids.some((id) => failed.has(id)));
  if (parked.length > 0 || counts.length > 0 || alerts.length > 0) {
    const batch: ParkedBatch = {
      summaries: parked.map((f) => f.summary),
      counts: forParkedObject(counts.flatMap((c) => c.counts)),
      alerts: alerts.map((a) => a.alert),
    };
    const body = encodeParked(batch);
    const key = parkedKey(body, now);
    try {
      await state.put(key, body, { contentType: 'application/json', contentEncoding: 'gzip' });
      result.parkedKey = key;
      for (const f of parked) {
        countIngested(metrics, f.summary);
        applied.push(f);
      }
      for (const k of deferred.keys()) deferredWindows.add(k);
    } catch (error) {
      for (const f of parked) fail(f.messageIds, f.file.key.key, error);
      for (const c of counts) fail(c.ids, c.file.key.key, error);
      for (const a of alerts) fail(a.ids, a.alert.window.sourceKey, error);
    }
  }

  // 4. The batch's summaries, for the record (lookups, seeding); the state already committed them.
  const committed = evaluated.filter((e) => !e.messageIds.some((id) => failed.has(id)));
  if (committed.length > 0) {
    const summaries = committed.map((e) => e.summary);
    const key = batchSummariesKey(summaries);
    try {
      await state.put(key, gzipSync(JSON.stringify({ schema: BATCH_SUMMARIES_SCHEMA, summaries })), {
        contentType: 'application/json',
        contentEncoding: 'gzip',
      });
      result.summariesKey = key;
    } catch (error) {
      // The states hold the counts already; a retry finds the files applied and writes this object again.
      for (const e of committed) fail(e.messageIds, e.file.key.key, error);
    }
  }
  for (const f of applied) {
    if (f.messageIds.some((id) => failed.has(id))) continue;
    result.outcomes.push({
      messageId: f.messageIds[0],
      key: f.file.key.key,
      status: 'ingested',
      summary: f.summary,
      summaryKey: result.summariesKey ?? '',
      hash: f.hash,
      ruleHits: f.ruleHits,
    });
  }
  result.failedMessageIds = [...failed];
  result.parked = parked.filter((f) => !f.messageIds.some((id) => failed.has(id))).length;
  logger.info('batch ingested', {
    messages: deliveries.length,
    objects: unique.size,
    ingested: applied.length,
    failed: failed.size,
    places: byPlace.size,
    parked: result.parked,
  });
  return result;
}

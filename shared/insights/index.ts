/**
 * Insights-style anomaly detection: the API the detect Lambda, replay and the CLI call.
 *
 *   await applySummaries(stateStore, summaries);                      // after ingest wrote them
 *   const { records, events } = await detect(stateStore, { account, region, now, insightStore });
 *   for (const n of insightNotifications(events, topicArn)) await notifier.publish(n);
 *
 * All I/O goes through the ObjectStore port: one state object per account+region, changed with
 * conditional writes and retried on conflict, so concurrent invocations never lose an update.
 */
import { detectInState } from '#shared/insights/detector.ts';
import { writeInsightFile } from '#shared/insights/insight-records.ts';
import type {
  ApplyResult,
  DetectResult,
  InsightRecord,
  InsightsOptions,
} from '#shared/insights/insight-types.ts';
import { InsightsError, resolveOptions } from '#shared/insights/insight-types.ts';
import { MINUTE_MS } from '#shared/insights/model.ts';
import { parkTicket } from '#shared/insights/park-ticket.ts';
import type { InsightsState, PendingFile } from '#shared/insights/state.ts';
import {
  activeKey,
  applySummaryToState,
  confirmSource,
  foldState,
  isActive,
  listStates,
  minuteIso,
  readState,
  sourceHash,
  updateState,
  wasApplied,
} from '#shared/insights/state.ts';
import type { ObjectStore } from '#shared/ports.ts';
import type { LogFileSummary } from '#shared/summary.ts';

export { insightNotifications } from '#shared/insights/insight-alerts.ts';
export {
  encodeInsightFile,
  insightFileKey,
  parseInsightRecords,
  writeInsightFile,
} from '#shared/insights/insight-records.ts';
export * from '#shared/insights/insight-types.ts';
export { readState, stateKey } from '#shared/insights/state.ts';

export interface ApplyOptions extends Partial<InsightsOptions> {
  /**
   * When given, minutes older than the retention (relative to this time) are folded into hourly buckets
   * before writing. Without it, applying only adds counts, which keeps concurrent applications commutative.
   */
  now?: Date;
}

function groupByState(summaries: LogFileSummary[]): Map<string, LogFileSummary[]> {
  const groups = new Map<string, LogFileSummary[]>();
  for (const s of summaries) {
    const k = `${s.account}/${s.region}`;
    const list = groups.get(k) ?? [];
    list.push(s);
    groups.set(k, list);
  }
  return groups;
}

/** Adds summaries to the baselines of their account+region. A summary already applied is skipped. */
export async function applySummaries(
  stateStore: ObjectStore,
  summaries: LogFileSummary[],
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const o = resolveOptions(options);
  const result: ApplyResult = { applied: 0, duplicates: 0, stale: 0, groups: [] };
  const groups = groupByState(summaries);
  for (const list of groups.values()) {
    const { account, region } = list[0];
    result.groups.push({ account, region });
    const tally = await updateState(stateStore, account, region, o, (state) => {
      const t = { applied: 0, duplicate: 0, stale: 0 };
      for (const s of list) {
        if (s.orgId && !state.orgId) state.orgId = s.orgId;
        t[applySummaryToState(state, s, o)]++;
      }
      if (options.now) foldState(state, Math.floor(options.now.getTime() / MINUTE_MS), o);
      return { write: t.applied > 0 || options.now !== undefined, result: t };
    });
    result.applied += tally.applied;
    result.duplicates += tally.duplicate;
    result.stale += tally.stale;
  }
  return result;
}

export interface DetectParams {
  account: string;
  region: string;
  now: Date;
  options?: Partial<InsightsOptions>;
  /** Where to write the Insights files (usually the trail bucket); without it, records are only returned. */
  insightStore?: ObjectStore;
  /** Key prefix before `AWSLogs/` of the Insights files. */
  prefix?: string;
  /** Summaries of this account+region to apply first, in the same conditional write. */
  summaries?: LogFileSummary[];
  /**
   * The messages new events call for, committed in the same write as the events: a failure after the
   * commit (publish, or anything else) can delay them, never lose them.
   */
  messages?: (events: DetectResult['events']) => { id: string; notification: unknown }[];
  /** Return the park ticket of the committed state (messages and Insights files taken as sent). */
  parkTicket?: boolean;
  /**
   * Whether the account-region's active mark exists (the scheduled detect knows from its listing); when
   * undefined, taken to exist exactly when the state was active before this call.
   */
  marked?: boolean;
}

/**
 * Evaluates the account+region at `now`: new Start and End records and their events. With an insight
 * store, the records are committed to state first and then written, so a crash in between writes them on
 * the next call instead of losing them; the file key depends only on the records, so a rewrite is harmless.
 */
export async function detect(stateStore: ObjectStore, p: DetectParams): Promise<DetectResult> {
  const o = resolveOptions(p.options);
  const nowMinute = Math.floor(p.now.getTime() / MINUTE_MS);
  for (const s of p.summaries ?? []) {
    if (s.account !== p.account || s.region !== p.region) {
      throw new InsightsError(
        `expected summaries of ${p.account}/${p.region}, found one of ${s.account}/${s.region}`,
      );
    }
  }
  const step = await updateState(stateStore, p.account, p.region, o, (state) => {
    const wasActive = isActive(state);
    const before = `${state.folded}/${state.horizon}/${state.slotsFolded}/${JSON.stringify(state.open)}`;
    let applied = 0;
    const duplicates: string[] = [];
    for (const s of p.summaries ?? []) {
      if (s.orgId && !state.orgId) state.orgId = s.orgId;
      const outcome = applySummaryToState(state, s, o);
      if (outcome === 'applied') applied++;
      else if (outcome === 'duplicate') duplicates.push(s.source.key);
    }
    const out = detectInState(state, nowMinute, o);
    if (p.insightStore && out.records.length > 0)
      state.outbox.push({ emitted: nowMinute, records: out.records });
    if (p.messages && out.events.length > 0)
      state.messages = [...(state.messages ?? []), ...p.messages(out.events)];
    const messages = [...(state.messages ?? [])];
    const pending: PendingFile[] = p.insightStore ? state.outbox.map((f) => ({ ...f })) : [];
    // A state with nothing in it is not worth creating (a detect before any summary arrived).
    const changed =
      applied > 0 ||
      out.records.length > 0 ||
      (state.coverage !== null &&
        before !== `${state.folded}/${state.horizon}/${state.slotsFolded}/${JSON.stringify(state.open)}`);
    return {
      write: changed,
      result: {
        ...out,
        pending,
        messages,
        duplicates,
        orgId: state.orgId,
        open: Object.keys(state.open).length,
        wasActive,
        active: isActive(state),
        ticket: p.parkTicket ? parkTicket(state, nowMinute, o, { ignorePending: true }) : undefined,
      },
    };
  });
  // Marked before anything is sent: a crash from here on leaves the mark, and the next run sends.
  if (step.active && !(p.marked ?? step.wasActive)) await stateStore.put(activeKey(p.account, p.region), '');
  const written: string[] = [];
  if (p.insightStore && step.pending.length > 0) {
    const done = new Set<string>();
    for (const f of step.pending) {
      written.push(
        await writeInsightFile(p.insightStore, {
          ...(p.prefix ? { prefix: p.prefix } : {}),
          ...(step.orgId ? { orgId: step.orgId } : {}),
          account: p.account,
          region: p.region,
          time: new Date(f.emitted * MINUTE_MS),
          records: f.records,
        }),
      );
      done.add(firstId(f.records));
    }
    await updateState(stateStore, p.account, p.region, o, (state) => {
      const before = state.outbox.length;
      state.outbox = state.outbox.filter((f) => !done.has(firstId(f.records)));
      return { write: state.outbox.length !== before, result: undefined };
    });
  }
  return {
    records: step.records,
    events: step.events,
    written,
    open: step.open,
    messages: step.messages,
    duplicates: step.duplicates,
    wasActive: step.wasActive || (p.marked ?? false),
    ...(step.ticket ? { ticket: step.ticket } : {}),
  };
}

/** Removes published messages from the state (after {@link detect} committed them). */
export async function forgetMessages(
  stateStore: ObjectStore,
  account: string,
  region: string,
  ids: string[],
  options: Partial<InsightsOptions> = {},
): Promise<void> {
  if (ids.length === 0) return;
  const sent = new Set(ids);
  await updateState(stateStore, account, region, resolveOptions(options), (state) => {
    const before = state.messages?.length ?? 0;
    const left = (state.messages ?? []).filter((m) => !sent.has(m.id));
    if (left.length === before) return { write: false, result: undefined };
    if (left.length > 0) state.messages = left;
    else delete state.messages;
    return { write: true, result: undefined };
  });
}

/**
 * Verify found these log files in a valid digest: what they added joins the baseline. Files applied verified
 * change nothing; files not applied yet (parked until the next fold) are remembered, so that applying them
 * later takes them as verified.
 */
export async function confirmVerified(
  stateStore: ObjectStore,
  account: string,
  region: string,
  sources: { bucket: string; key: string }[],
  options: Partial<InsightsOptions> & { now?: Date } = {},
): Promise<number> {
  if (!(await readState(stateStore, account, region))) return 0;
  const hour = Math.floor((options.now ?? new Date()).getTime() / 3_600_000);
  return updateState(stateStore, account, region, resolveOptions(options), (state) => {
    let n = 0;
    let ahead = 0;
    for (const s of sources) {
      const hash = sourceHash({ source: s } as LogFileSummary);
      if (confirmSource(state, hash)) n++;
      else if (!wasApplied(state, hash) && state.verifiedAhead?.[hash] === undefined) {
        state.verifiedAhead = { ...state.verifiedAhead, [hash]: hour };
        ahead++;
      }
    }
    if (state.unverified && Object.keys(state.unverified).length === 0) delete state.unverified;
    return { write: n > 0 || ahead > 0, result: n };
  });
}

function firstId(records: InsightRecord[]): string {
  return records[0]?.eventID ?? '';
}

/** Every account+region with detection state, for a scheduled detect that walks them all. */
export async function listInsightStates(
  stateStore: ObjectStore,
): Promise<{ account: string; region: string }[]> {
  return listStates(stateStore);
}

/**
 * Builds baselines from history in one pass, in delivery order, folding as it goes, without opening
 * insights on the past: run once at deployment so detection starts with a full baseline.
 */
export async function seedBaselines(
  stateStore: ObjectStore,
  summaries: LogFileSummary[],
  options: Partial<InsightsOptions> & { now: Date },
): Promise<ApplyResult> {
  const o = resolveOptions(options);
  const sorted = [...summaries].sort(
    (a, b) => Date.parse(a.deliveredAt) - Date.parse(b.deliveredAt) || (a.source.key < b.source.key ? -1 : 1),
  );
  const result: ApplyResult = { applied: 0, duplicates: 0, stale: 0, groups: [] };
  for (const list of groupByState(sorted).values()) {
    const { account, region } = list[0];
    result.groups.push({ account, region });
    const t = await updateState(stateStore, account, region, o, (state) => {
      const t = { applied: 0, duplicate: 0, stale: 0 };
      let lastFold = Number.NEGATIVE_INFINITY;
      for (const s of list) {
        if (s.orgId && !state.orgId) state.orgId = s.orgId;
        const at = Math.floor(Date.parse(s.deliveredAt) / MINUTE_MS);
        // Fold about every hour of history, so memory stays that of a live state.
        if (at - lastFold >= 60) {
          foldState(state, at, o);
          lastFold = at;
        }
        t[applySummaryToState(state, s, o)]++;
      }
      foldState(state, Math.floor(options.now.getTime() / MINUTE_MS), o);
      return { write: true, result: t };
    });
    result.applied += t.applied;
    result.duplicates += t.duplicate;
    result.stale += t.stale;
  }
  return result;
}

/** How far an account+region is through the warm-up before which detection opens no insight. */
export interface WarmUp {
  account: string;
  region: string;
  /** Minutes the detector has seen, from the first to the last minute with events, both counted (0 with none). */
  historyMinutes: number;
  /** History needed before the first Start is possible (`minHistoryMinutes`). */
  neededMinutes: number;
  /** Whether some minute seen is late enough for a Start. */
  ready: boolean;
  /** The first minute a Start can be stamped at (ISO); undefined before any event. */
  startsPossibleFrom?: string;
}

/**
 * The warm-up of one account+region, by the rule detection applies: no Start before the first minute seen
 * plus `minHistoryMinutes`. `coverage` is the first and last minute index with events, as the state keeps it.
 */
export function warmUpOf(
  place: { account: string; region: string; coverage: [number, number] | null },
  options: Partial<InsightsOptions> = {},
): WarmUp {
  const o = resolveOptions(options);
  const base = { account: place.account, region: place.region, neededMinutes: o.minHistoryMinutes };
  if (!place.coverage) return { ...base, historyMinutes: 0, ready: false };
  const [first, last] = place.coverage;
  const from = first + o.minHistoryMinutes;
  return {
    ...base,
    historyMinutes: last - first + 1,
    ready: last >= from,
    startsPossibleFrom: minuteIso(from),
  };
}

/** The warm-up of every account+region with detection state in the store, read only. */
export async function readWarmUps(
  stateStore: ObjectStore,
  options: Partial<InsightsOptions> = {},
): Promise<WarmUp[]> {
  const out: WarmUp[] = [];
  for (const { account, region } of await listStates(stateStore)) {
    const state: InsightsState | undefined = await readState(stateStore, account, region);
    if (state) out.push(warmUpOf(state, options));
  }
  return out;
}

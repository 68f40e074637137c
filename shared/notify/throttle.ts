/**
 * Alert storms are the first complaint about metric-filter alarms. Every match is still counted (metrics,
 * alarms, summaries); what is limited is how often one rule may page for one account and region.
 *
 * A window is claimed by writing one object with If-None-Match: the first file whose matches fall in the
 * window sends the message, later ones in the same window do not. The claim names the file that made it, so
 * a retry of that same file (a crash between claim and publish) sends again instead of losing the alert.
 */
import { type ObjectStore, PreconditionFailedError, readAll } from '#shared/ports.ts';
import type { RuleMatches } from '#shared/rules/evaluate.ts';
import type { Rule, Severity } from '#shared/rules/rule-types.ts';

export interface ThrottlePolicy {
  bySeverity: Record<Severity, number>;
  /** Minutes per rule id, overriding the severity's. */
  byRule: Record<string, number>;
}

export const DEFAULT_THROTTLE: ThrottlePolicy = {
  bySeverity: { CRITICAL: 0, HIGH: 0, MEDIUM: 60, LOW: 360 },
  // Denied calls are constant background noise in most accounts; a rise in them is what matters, and the
  // error-rate anomaly detector reports that against their usual level.
  byRule: { 'CloudWatch.2': 1440, 'CIS.4.1': 1440 },
};

export function throttleMinutes(rule: Rule, policy: ThrottlePolicy = DEFAULT_THROTTLE): number {
  return policy.byRule[rule.id] ?? policy.bySeverity[rule.severity];
}

/** Parses `{"CloudWatch.10": 0, "MEDIUM": 30}`: rule ids and severities mapped to minutes. */
export function parseThrottlePolicy(
  json: string | undefined,
  base: ThrottlePolicy = DEFAULT_THROTTLE,
): ThrottlePolicy {
  if (!json) return base;
  const input = JSON.parse(json) as Record<string, unknown>;
  const policy: ThrottlePolicy = { bySeverity: { ...base.bySeverity }, byRule: { ...base.byRule } };
  for (const [k, v] of Object.entries(input)) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
      throw new Error(
        `alert throttle for ${k} must be a whole number of minutes, found ${JSON.stringify(v)}`,
      );
    }
    if (k in policy.bySeverity) policy.bySeverity[k as Severity] = v;
    else policy.byRule[k] = v;
  }
  return policy;
}

/** Where the claim of one rule's window for an account and region lives. */
export function claimKey(args: ClaimArgs): string {
  const windowMs = args.minutes * 60_000;
  const windowStart = new Date(Math.floor(args.at.getTime() / windowMs) * windowMs).toISOString();
  return `alert-windows/${args.ruleId}/${args.account}/${args.region}/${args.minutes}m/${windowStart}.json`;
}

export interface ClaimArgs {
  ruleId: string;
  account: string;
  region: string;
  minutes: number;
  at: Date;
  sourceKey: string;
}

/** One rule's throttle window for an account and region, as a file claims it. */
export type AlertWindow = ClaimArgs;

/** When the window `args` falls in ends (epoch milliseconds). */
export function windowEnd(args: Pick<ClaimArgs, 'minutes' | 'at'>): number {
  const windowMs = args.minutes * 60_000;
  return (Math.floor(args.at.getTime() / windowMs) + 1) * windowMs;
}

/**
 * A throttled alert batched ingest leaves to the scheduled sweep (shared/pipeline/sweep-parked.ts), in the
 * batch's parked object: the sweep sends it unless a message was already sent in its window. One process
 * decides every window, so no claim object is written per file.
 */
export interface DeferredAlert {
  window: Omit<ClaimArgs, 'at'> & { at: string };
  /** What the message is built from when it is sent (the rule named by `window.ruleId`). */
  matches: Omit<RuleMatches, 'rule'>;
  /** The log file it is about. */
  source: { bucket: string; key: string };
}

/** An alert as ingest defers it: the message is built by the sweep, from far fewer bytes than it has. */
export function deferredAlert(
  window: AlertWindow,
  m: RuleMatches,
  source: DeferredAlert['source'],
): DeferredAlert {
  const { rule: _rule, ...matches } = m;
  return { window: { ...window, at: window.at.toISOString() }, matches, source };
}

interface Claim {
  source?: string;
  windowStart?: string;
  minutes?: number;
  /** Set once the claiming file's message was published: until then the window is not spent. */
  sent?: boolean;
}

function claimBody(args: ClaimArgs, sent: boolean): string {
  const key = claimKey(args);
  const windowStart = key.slice(key.lastIndexOf('/') + 1, -'.json'.length);
  return JSON.stringify({ source: args.sourceKey, windowStart, minutes: args.minutes, sent });
}

async function readClaim(
  state: ObjectStore,
  key: string,
): Promise<{ claim: Claim; etag?: string } | undefined> {
  const info = await state.head(key);
  if (!info) return undefined;
  return { claim: JSON.parse((await readAll(state, key)).toString('utf8')) as Claim, etag: info.etag };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The first half of a throttle claim: whether this file may send the rule's message for this account and
 * region. A window is spent only once a message was published in it ({@link markAlertSent}): a claim whose
 * publish failed leaves the window open for the next file, so one SNS failure never silences the next user's
 * alert. A claim another file holds but has not marked sent yet is waited on briefly (its publish is usually
 * in flight); if it stays unsent, this file sends too (a message may repeat, never vanish).
 */
export async function claimAlert(
  state: ObjectStore,
  args: ClaimArgs,
  options: { waitMs?: number } = {},
): Promise<boolean> {
  if (args.minutes <= 0) return true;
  return (await claimOwner(state, args, options)) === args.sourceKey;
}

/**
 * The file that may send in the window: this one if the window was free, claimed by this same file, or
 * claimed by another whose message stayed unsent past the wait; else the one that claimed and sent first.
 */
export async function claimOwner(
  state: ObjectStore,
  args: ClaimArgs,
  options: { waitMs?: number } = {},
): Promise<string | undefined> {
  const key = claimKey(args);
  try {
    await state.put(key, claimBody(args, false), { ifNoneMatch: '*', contentType: 'application/json' });
    return args.sourceKey;
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
  }
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  for (let attempt = 0; ; attempt++) {
    const found = await readClaim(state, key);
    if (!found || found.claim.source === args.sourceKey) return args.sourceKey;
    // A claim without `sent` predates the two halves: its file sent or is retrying; treat it as spent.
    if (found.claim.sent !== false) return found.claim.source;
    if (Date.now() >= deadline) return args.sourceKey;
    await sleep(Math.min(1000, 50 * 2 ** attempt));
  }
}

/**
 * The second half: the message went out, the window is spent. One unconditional write: whoever else holds
 * the claim, a message was sent in the window, so marking it spent is right; a failure here only risks a
 * repeat.
 */
export async function markAlertSent(state: ObjectStore, args: ClaimArgs): Promise<void> {
  if (args.minutes <= 0) return;
  await state.put(claimKey(args), claimBody(args, true), { contentType: 'application/json' });
}

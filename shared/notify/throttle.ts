/**
 * Alert storms are the first complaint about metric-filter alarms. Every match is still counted (metrics,
 * alarms, summaries); what is limited is how often one rule may page for one account and region.
 *
 * A window is claimed by writing one object with If-None-Match: the first file whose matches fall in the
 * window sends the message, later ones in the same window do not. The claim names the file that made it, so
 * a retry of that same file (a crash between claim and publish) sends again instead of losing the alert.
 */
import { type ObjectStore, PreconditionFailedError, readAll } from '#shared/ports.ts';
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

export interface AlertWindow {
  ruleId: string;
  account: string;
  region: string;
  minutes: number;
  at: Date;
  sourceKey: string;
}

interface Claim {
  source?: string;
  windowStart?: string;
  minutes?: number;
  /** Set once the claiming file's message was published: until then the window is not spent. */
  sent?: boolean;
}

function windowKey(args: AlertWindow): { key: string; windowStart: string } {
  const windowMs = args.minutes * 60_000;
  const windowStart = new Date(Math.floor(args.at.getTime() / windowMs) * windowMs).toISOString();
  return {
    key: `alert-windows/${args.ruleId}/${args.account}/${args.region}/${args.minutes}m/${windowStart}.json`,
    windowStart,
  };
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
  args: AlertWindow,
  options: { waitMs?: number } = {},
): Promise<boolean> {
  if (args.minutes <= 0) return true;
  const { key, windowStart } = windowKey(args);
  try {
    await state.put(
      key,
      JSON.stringify({ source: args.sourceKey, windowStart, minutes: args.minutes, sent: false }),
      { ifNoneMatch: '*', contentType: 'application/json' },
    );
    return true;
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
  }
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  for (let attempt = 0; ; attempt++) {
    const found = await readClaim(state, key);
    if (!found || found.claim.source === args.sourceKey) return true;
    // A claim without `sent` predates the two halves: its file sent or is retrying; treat it as spent.
    if (found.claim.sent !== false) return false;
    if (Date.now() >= deadline) return true;
    await sleep(Math.min(1000, 50 * 2 ** attempt));
  }
}

/** The second half: the message went out, the window is spent. Idempotent; a failure here only risks a repeat. */
export async function markAlertSent(state: ObjectStore, args: AlertWindow): Promise<void> {
  if (args.minutes <= 0) return;
  const { key, windowStart } = windowKey(args);
  const body = JSON.stringify({ source: args.sourceKey, windowStart, minutes: args.minutes, sent: true });
  const found = await readClaim(state, key);
  if (found?.claim.sent === true) return;
  try {
    await state.put(key, body, {
      ...(found?.etag ? { ifMatch: found.etag } : { ifNoneMatch: '*' as const }),
      contentType: 'application/json',
    });
  } catch (err) {
    // Someone else marked or claimed it meanwhile: the window is spent or about to be.
    if (!(err instanceof PreconditionFailedError)) throw err;
  }
}

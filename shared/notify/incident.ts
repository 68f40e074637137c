/**
 * Incidents, not messages: every alert names the incident it belongs to with a stable key, so that a pager
 * service can deduplicate, a chat channel can thread, and a resolution (an insight's End, a gap's recovery,
 * a digest chain's recovery) can say which incident it closes (`resolves`).
 *
 * Same incident, same key: one rule on one principal within the rule's throttle window, one insight, one
 * delivery gap, one digest chain break. Keys are readable (`kind:part:part...`); parts that may be long or
 * hold any character (principal ARNs, trail prefixes) are hashed.
 */
import { createHash } from 'node:crypto';

/** Rules that page on every file (throttle 0) still group their messages into incidents of this length. */
export const DEFAULT_INCIDENT_MINUTES = 60;

function shortHash(s: string, hex = 16): string {
  return createHash('sha256').update(s).digest('hex').slice(0, hex);
}

/** The start of the window `at` falls in, for windows of `minutes` aligned on the epoch. */
export function windowStart(at: Date, minutes: number): string {
  const ms = Math.max(1, minutes) * 60_000;
  return new Date(Math.floor(at.getTime() / ms) * ms).toISOString();
}

export function ruleIncidentKey(p: {
  ruleId: string;
  account: string;
  region: string;
  /** The principal behind the matches (the leading one when several). */
  principal: string;
  /** When the matches were delivered; grouped by the rule's throttle window. */
  at: Date;
  windowMinutes: number;
}): string {
  const minutes = p.windowMinutes > 0 ? p.windowMinutes : DEFAULT_INCIDENT_MINUTES;
  return [
    'rule',
    p.ruleId,
    p.account,
    p.region,
    shortHash(p.principal),
    `${windowStart(p.at, minutes)}/${minutes}m`,
  ].join(':');
}

/** An insight's Start and End share CloudTrail's sharedEventID. */
export function insightIncidentKey(sharedEventID: string): string {
  return `insight:${sharedEventID}`;
}

/** One gap: what stopped arriving, where, and since when (the newest file before the gap). */
export function gapIncidentKey(p: {
  check: string;
  prefix: string;
  orgId?: string;
  account: string;
  region: string;
  since: string;
}): string {
  return ['gap', p.check, p.account, p.region, shortHash(`${p.prefix}|${p.orgId ?? ''}`, 8), p.since].join(
    ':',
  );
}

/** One break in a trail's digest chain, named by the first digest that found it broken. */
export function chainIncidentKey(p: {
  account: string;
  region: string;
  trailName: string;
  since: string;
}): string {
  return ['chain', p.account, p.region, shortHash(p.trailName, 8), p.since].join(':');
}

/** A tampered object (overwritten, deleted, unlisted, empty): one incident per object. */
export function objectIncidentKey(p: { subtype: string; bucket: string; key: string }): string {
  return ['object', p.subtype, shortHash(`${p.bucket}/${p.key}`, 24)].join(':');
}

/** A trailwatch health condition (its own failures), per check and place. */
export function healthIncidentKey(p: { check: string; scope: string; since: string }): string {
  return ['health', p.check, shortHash(p.scope, 8), p.since].join(':');
}

/**
 * The chat thread of an incident: short, printable, the same for every message of the incident, so an
 * insight's Start and End, or a gap and its recovery, land in one thread.
 */
export function threadIdOf(incidentKey: string): string {
  return `trailwatch-${shortHash(incidentKey, 24)}`;
}

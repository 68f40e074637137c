/**
 * One notification per rule per log file, saying who did what, when, where and to which resource, so
 * nobody has to open the console to know whether to act. Many matches (an AccessDenied storm) become
 * one summary: counts per principal, API, error code and source IP, plus a few example events.
 */

import { buildAlert } from '#shared/notify/alert-message.ts';
import {
  describeEvent,
  type EventSummary,
  summarizeEvent,
  summarizePrincipal,
} from '#shared/notify/describe.ts';
import { ruleIncidentKey } from '#shared/notify/incident.ts';
import { DEFAULT_THROTTLE, type ThrottlePolicy, throttleMinutes } from '#shared/notify/throttle.ts';
import type { Notification } from '#shared/ports.ts';
import { principalOf } from '#shared/record.ts';
import type { RuleMatches } from '#shared/rules/evaluate.ts';
import { OTHER } from '#shared/rules/evaluate.ts';
import type { Severity } from '#shared/rules/rule-types.ts';
import type { Ranked } from '#shared/summary.ts';

export interface RuleNotificationContext {
  topic: string;
  /** The log file the matches came from. */
  source?: { bucket?: string; key: string };
  /** Account and region of the log file (from its key); otherwise taken from the matching records. */
  account?: string;
  region?: string;
  /** CloudWatch namespace of the rule metrics, for the message footer (default `Trailwatch`). */
  metricNamespace?: string;
  /** Example events written out in full when a rule matched many times (default 3). */
  stormExamples?: number;
  /** The runbook URL template (`{ruleId}`, `{severity}`, `{account}`, `{region}`), from RUNBOOK_URL. */
  runbookUrl?: string;
  /** When the log file was delivered: the incident is the rule's throttle window this falls in. */
  at?: Date;
  /** The throttle policy whose windows group matches into incidents (default {@link DEFAULT_THROTTLE}). */
  throttle?: ThrottlePolicy;
}

/**
 * What a rule from a Sigma conversion or a count (threshold) rule adds to a match. Both are optional, so
 * such rules plug in without changing this builder: the fields appear in the alert when present.
 */
export interface RuleExtras {
  /** The rule's author (Sigma rules carry one). */
  author?: string;
}

export interface CountRuleMatch {
  /** Matches within the window that make the rule fire. */
  threshold: number;
  windowMinutes: number;
  /** The field matches are grouped by (e.g. `userIdentity.arn`), and this group's value. */
  groupBy?: string;
  groupValue?: string;
  /** Matches counted in the window for this group. */
  count: number;
}

export type AlertableMatches = RuleMatches & {
  rule: RuleMatches['rule'] & RuleExtras;
  countRule?: CountRuleMatch;
};

/** The runbook link of a rule: the template with its placeholders filled (URL-encoded). */
export function runbookLink(
  template: string,
  values: { ruleId: string; severity: string; account: string; region: string },
): string {
  return template.replace(/\{(ruleId|severity|account|region)\}/g, (_, k: keyof typeof values) =>
    encodeURIComponent(values[k]),
  );
}

const SEVERITY_ORDER: Record<Severity, number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3 };

const fmt = (n: number) => n.toLocaleString('en-US');

function leading(list: Ranked[]): string | undefined {
  if (list.length === 0) return undefined;
  const others = list.length - 1;
  return others > 0 ? `${list[0].value} +${others}` : list[0].value;
}

function sourceUri(source: RuleNotificationContext['source']): string | undefined {
  if (!source) return undefined;
  return source.bucket ? `s3://${source.bucket}/${source.key}` : source.key;
}

function rankedLines(title: string, list: Ranked[], total: number): string[] {
  if (list.length === 0) return [];
  const width = Math.max(...list.map((r) => fmt(r.count).length));
  const lines = [`${title}:`, ...list.map((r) => `  ${fmt(r.count).padStart(width)}  ${r.value}`)];
  const shown = list.reduce((n, r) => n + r.count, 0);
  if (shown < total) lines.push(`  ${fmt(total - shown).padStart(width)}  (${list.length} shown; others)`);
  return lines;
}

/** Short caller name for the subject when a single principal is behind every match. */
function soleCaller(m: RuleMatches): string | undefined {
  if (m.distinctPrincipals !== 1 || m.principals[0]?.value === 'unknown') return undefined;
  const sample = m.samples.find((r) => principalOf(r) === m.principals[0]?.value) ?? m.samples[0];
  const p = summarizePrincipal(sample);
  if (p.userName) return p.userName;
  if (p.type === 'Root') return 'root';
  if (p.invokedBy) return p.invokedBy;
  // A role session's name is often a generated id; the role says more on a phone.
  if (p.sessionIssuer) return p.sessionIssuer.slice(p.sessionIssuer.lastIndexOf('/') + 1) || p.sessionIssuer;
  if (p.arn) return p.arn.slice(p.arn.indexOf('/') + 1) || p.arn;
  return p.key;
}

/**
 * What the subject calls the matches. A rule about changes whose every matching call AWS refused did not
 * change anything: say what was attempted and why it was refused, not that the thing changed. Rules that look
 * for errors themselves (unauthorized calls) keep their title: failing is what they mean.
 */
function headline(m: RuleMatches): string {
  const refused = m.count > 0 && m.failed === m.count && !/errorCode/i.test(m.rule.pattern);
  if (!refused) return m.rule.title;
  const api = m.apis.length === 1 && m.apis[0].value !== OTHER ? m.apis[0].value.split(' ').pop() : undefined;
  return `${api ?? m.rule.title} refused: ${leading(m.errorCodes) ?? 'error'}`;
}

function byEventTime(a: EventSummary, b: EventSummary): number {
  const x = a.eventTime ?? '';
  const y = b.eventTime ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

export function buildRuleNotification(m: AlertableMatches, ctx: RuleNotificationContext): Notification {
  const { rule } = m;
  const account = ctx.account ?? leading(m.accounts);
  const region = ctx.region ?? leading(m.regions);
  // Samples come in file order, which is not time order: an on-call reader follows the sequence of events.
  const events: EventSummary[] = m.samples.map(summarizeEvent).sort(byEventTime);
  const title = headline(m);
  const storm = m.count > m.samples.length;
  const shown = storm ? events.slice(0, Math.max(1, ctx.stormExamples ?? 3)) : events;
  const file = sourceUri(ctx.source);
  const namespace = ctx.metricNamespace ?? 'Trailwatch';
  const when =
    m.firstEventTime && m.lastEventTime && m.firstEventTime !== m.lastEventTime
      ? `between ${m.firstEventTime} and ${m.lastEventTime}`
      : `at ${m.firstEventTime ?? 'an unrecorded time'}`;

  const runbookUrl = ctx.runbookUrl
    ? runbookLink(ctx.runbookUrl, {
        ruleId: rule.id,
        severity: rule.severity,
        account: account ?? 'unknown',
        region: region ?? 'unknown',
      })
    : undefined;
  const count = m.countRule;
  const text: string[] = [
    ...(runbookUrl ? [`Runbook: ${runbookUrl}`] : []),
    ...(count
      ? [
          `Count rule: ${fmt(count.count)} matches in ${count.windowMinutes} min (threshold ${fmt(count.threshold)})${count.groupBy ? ` for ${count.groupBy}=${count.groupValue ?? 'unknown'}` : ''}.`,
        ]
      : []),
    `${fmt(m.count)} matching event${m.count === 1 ? '' : 's'} from ${m.principals.some((p) => p.value === OTHER) ? 'more than ' : ''}${fmt(m.distinctPrincipals)} principal${m.distinctPrincipals === 1 ? '' : 's'} in account ${account ?? 'unknown'}, region ${region ?? 'unknown'}, ${when}.`,
    '',
    ...(title !== rule.title
      ? [
          `Every matching call failed (${m.errorCodes.map((e) => e.value).join(', ')}): it took no effect, but someone tried.`,
          '',
        ]
      : []),
    rule.description,
    '',
  ];
  if (m.count > 1) {
    text.push(
      ...rankedLines('Principals', m.principals, m.count),
      ...rankedLines('APIs', m.apis, m.count),
      ...rankedLines('Error codes', m.errorCodes, m.count),
      ...rankedLines('Source IPs', m.sourceIps, m.count),
      '',
    );
  }
  if (shown.length === 1 && m.count === 1) text.push('Event:', ...describeEvent(shown[0]), '');
  else {
    text.push(storm ? `Examples (${shown.length} of ${fmt(m.count)} events):` : 'Events:');
    shown.forEach((e, i) => {
      text.push(storm ? `Example ${i + 1}` : `Event ${i + 1} of ${shown.length}`, ...describeEvent(e), '');
    });
  }
  const ids = events.map((e) => e.eventID).filter((x): x is string => !!x);
  text.push(
    `Event IDs${storm ? ` (${ids.length} examples of ${fmt(m.count)})` : ''}: ${ids.join(', ') || 'none recorded'}`,
    `Log file: ${file ?? 'unknown'}`,
    `Rule: ${rule.id} - ${rule.source}${rule.author ? ` (author: ${rule.author})` : ''}`,
    `Pattern: ${rule.pattern}`,
    ...(rule.fieldsDiffer ?? []).map(([a, b]) => `And: ${a} differs from ${b}`),
    `Metric: ${namespace}/${rule.metricName}`,
  );

  const caller = soleCaller(m);
  const leadPrincipal = m.principals[0]?.value ?? 'unknown';
  const incidentKey = ruleIncidentKey({
    ruleId: rule.id,
    account: account ?? 'unknown',
    region: region ?? 'unknown',
    principal: count?.groupValue ?? leadPrincipal,
    at: ctx.at ?? new Date(Date.parse(m.firstEventTime ?? '') || 0),
    windowMinutes: count?.windowMinutes ?? throttleMinutes(rule, ctx.throttle ?? DEFAULT_THROTTLE),
  });
  const principalArns = events.map((e) => e.principal.arn).filter((x): x is string => !!x);
  return buildAlert({
    topic: ctx.topic,
    severity: rule.severity,
    title,
    subjectDetails: [m.count > 1 ? `: ${fmt(m.count)} events` : '', caller ? `by ${caller}` : ''],
    account,
    region,
    kind: 'rule',
    text: text.join('\n'),
    incidentKey,
    attributes: { rule: rule.id },
    chat: {
      nextSteps: [
        ...(runbookUrl ? [`Follow the runbook: <${runbookUrl}|${rule.id}>`] : []),
        `Confirm with ${caller ?? 'the principals named'} that ${m.count === 1 ? 'this call was' : 'these calls were'} intended`,
        ...(file ? [`Read the log file: \`${file}\``] : []),
      ],
      keywords: [rule.id],
      relatedResources: [
        ...(file ? [file] : []),
        ...principalArns,
        ...events.flatMap((e) => e.resources.filter((r) => r.startsWith('arn:'))),
      ],
    },
    data: {
      rule: {
        id: rule.id,
        title: rule.title,
        severity: rule.severity,
        pattern: rule.pattern,
        metricName: rule.metricName,
        source: rule.source,
        ...(rule.author ? { author: rule.author } : {}),
      },
      ...(runbookUrl ? { runbookUrl } : {}),
      ...(count
        ? {
            countRule: {
              threshold: count.threshold,
              windowMinutes: count.windowMinutes,
              ...(count.groupBy ? { groupBy: count.groupBy } : {}),
              ...(count.groupValue !== undefined ? { groupValue: count.groupValue } : {}),
              count: count.count,
            },
          }
        : {}),
      count: m.count,
      distinctPrincipals: m.distinctPrincipals,
      firstEventTime: m.firstEventTime,
      lastEventTime: m.lastEventTime,
      logFile: ctx.source ? { bucket: ctx.source.bucket ?? null, key: ctx.source.key } : null,
      principals: m.principals,
      apis: m.apis,
      errorCodes: m.errorCodes,
      sourceIps: m.sourceIps,
      accounts: m.accounts,
      regions: m.regions,
      eventIds: ids,
      events,
    },
  });
}

/** One notification per matched rule, most severe first. */
export function buildRuleNotifications(
  results: AlertableMatches[],
  ctx: RuleNotificationContext,
): Notification[] {
  return results
    .filter((m) => m.count > 0)
    .sort(
      (a, b) =>
        SEVERITY_ORDER[a.rule.severity] - SEVERITY_ORDER[b.rule.severity] ||
        a.rule.id.localeCompare(b.rule.id),
    )
    .map((m) => buildRuleNotification(m, ctx));
}

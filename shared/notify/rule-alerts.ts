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
import type { Severity, SigmaInfo } from '#shared/rules/rule-types.ts';
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
 * What a rule from elsewhere or a count (threshold) rule adds to a match. Both are optional: the fields
 * appear in the alert when present. A Sigma rule's author comes from its `sigma` block and a Sigma count
 * rule's window from the match's `window` unless given here.
 */
export interface RuleExtras {
  /** The rule's author. */
  author?: string;
}

export interface CountRuleMatch {
  /** Matches (or distinct values of `field`) within the window that make the rule fire. */
  threshold: number;
  windowMinutes: number;
  /** The field matches are grouped by (e.g. `userIdentity.arn`), and this group's value. */
  groupBy?: string;
  groupValue?: string;
  /** Matches (or distinct values of `field`) counted in the window for this group. */
  count: number;
  /** For a rule that counts distinct values (Sigma `value_count`): the field whose values were counted. */
  field?: string;
  /** First and last counted event of the window, and the log files they were read from. */
  start?: string;
  end?: string;
  logFiles?: number;
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
  const { rule } = m;
  const condition = rule.sigma
    ? JSON.stringify(rule.sigma.detection ?? rule.sigma.correlation?.detections ?? null)
    : rule.pattern;
  const refused = m.count > 0 && m.failed === m.count && !/errorCode/i.test(condition);
  if (!refused) return m.rule.title;
  const api = m.apis.length === 1 && m.apis[0].value !== OTHER ? m.apis[0].value.split(' ').pop() : undefined;
  return `${api ?? m.rule.title} refused: ${leading(m.errorCodes) ?? 'error'}`;
}

function byEventTime(a: EventSummary, b: EventSummary): number {
  const x = a.eventTime ?? '';
  const y = b.eventTime ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The window of a count rule that fired: given by the caller, or read from a Sigma count rule's crossing
 * window (its group fields joined, in the order the rule lists them).
 */
function countRuleOf(m: AlertableMatches): CountRuleMatch | undefined {
  if (m.countRule) return m.countRule;
  const w = m.window;
  const c = m.rule.sigma?.correlation;
  if (!w || !c) return undefined;
  const fields = Object.keys(w.group);
  return {
    threshold: w.threshold,
    windowMinutes: Math.max(1, Math.ceil(c.timespanSeconds / 60)),
    ...(fields.length > 0
      ? { groupBy: fields.join(', '), groupValue: fields.map((f) => w.group[f] || '(none)').join(', ') }
      : {}),
    count: w.count,
    ...(c.type === 'value_count' && c.field ? { field: c.field } : {}),
    start: w.start,
    end: w.end,
    logFiles: w.files,
  };
}

/** How a count rule's window reads: how many of what, by whom, over how long, from when to when. */
function countRuleLine(count: CountRuleMatch): string {
  const what = count.field ? `distinct ${count.field} values` : 'matches';
  const group = count.groupBy ? ` by ${count.groupBy} ${count.groupValue ?? 'unknown'}` : '';
  const span = count.start && count.end ? `, from ${count.start} to ${count.end}` : '';
  const files =
    count.logFiles !== undefined
      ? `, across ${fmt(count.logFiles)} log file${count.logFiles === 1 ? '' : 's'}`
      : '';
  return `Count rule: ${fmt(count.count)} ${what}${group} within ${count.windowMinutes} min (threshold ${fmt(count.threshold)})${span}${files}.`;
}

/** What a rule is: its pattern, or for a Sigma rule who wrote it and where it comes from (the DRL asks so). */
function ruleLines(rule: AlertableMatches['rule'], author: string | undefined): string[] {
  const s = rule.sigma;
  if (!s)
    return [
      `Rule: ${rule.id} - ${rule.source}${author ? ` (author: ${author})` : ''}`,
      `Pattern: ${rule.pattern}`,
      ...(rule.fieldsDiffer ?? []).map(([a, b]) => `And: ${a} differs from ${b}`),
    ];
  return [
    `Rule: ${rule.id} - ${rule.source}`,
    `Sigma rule: ${s.title} (${s.id}), level ${s.level}, author: ${author ?? s.author}`,
    ...(s.references.length ? [`References: ${s.references.join(' ')}`] : []),
    ...(s.license ? [`License: ${s.license}`] : []),
  ];
}

/** The rule's Sigma metadata as the alert document carries it (schema: `rule.sigma`). */
function sigmaData(s: SigmaInfo): Record<string, unknown> {
  const c = s.correlation;
  return {
    id: s.id,
    title: s.title,
    level: s.level,
    author: s.author,
    references: s.references,
    file: s.file,
    ...(s.license ? { license: s.license } : {}),
    ...(c
      ? {
          correlation: {
            type: c.type,
            groupBy: c.groupBy,
            timespanSeconds: c.timespanSeconds,
            threshold: c.threshold,
            ...(c.field ? { field: c.field } : {}),
          },
        }
      : {}),
  };
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
  const count = countRuleOf(m);
  const author = rule.author ?? (rule.sigma?.author || undefined);
  const text: string[] = [
    ...(runbookUrl ? [`Runbook: ${runbookUrl}`] : []),
    ...(count ? [countRuleLine(count)] : []),
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
    ...ruleLines(rule, author),
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
        ...(author ? { author } : {}),
        ...(rule.sigma ? { sigma: sigmaData(rule.sigma) } : {}),
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
              ...(count.field ? { field: count.field } : {}),
              ...(count.start ? { start: count.start } : {}),
              ...(count.end ? { end: count.end } : {}),
              ...(count.logFiles !== undefined ? { logFiles: count.logFiles } : {}),
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

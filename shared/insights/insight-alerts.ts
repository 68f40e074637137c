/**
 * SNS notifications for insight Starts and Ends: what is unusual, by how much, since when, who is calling
 * and with what, so the on-call engineer can act without opening the console.
 */
import type { AttributionValue, InsightEvent } from '#shared/insights/insight-types.ts';
import { buildAlert } from '#shared/notify/alert-message.ts';
import { insightIncidentKey } from '#shared/notify/incident.ts';
import type { Notification } from '#shared/ports.ts';

const AUTH_ERRORS =
  /^(Client\.)?(AccessDenied|Unauthorized|InvalidClientTokenId|SignatureDoesNotMatch|ExpiredToken|AuthFailure)/;

export type InsightSeverity = 'HIGH' | 'MEDIUM' | 'LOW';

/** High for authorization failures or a rate ten times the expected one; an End is low. */
export function insightSeverity(e: InsightEvent): InsightSeverity {
  if (e.kind === 'end') return 'LOW';
  if (e.errorCode && AUTH_ERRORS.test(e.errorCode)) return 'HIGH';
  if (e.observedPerMinute >= 10 * Math.max(e.expectedPerMinute, 0.1)) return 'HIGH';
  return 'MEDIUM';
}

const TYPE_TEXT: Record<string, string> = {
  ApiCallRateInsight: 'write call rate',
  ApiErrorRateInsight: 'error rate',
  ApiReadRateInsight: 'read call rate',
};

function fmt(x: number): string {
  if (x === 0) return '0';
  if (x >= 100) return x.toFixed(0);
  if (x >= 1) return x.toFixed(1);
  return x.toPrecision(2);
}

function list(values: AttributionValue[]): string {
  if (values.length === 0) return '  (none recorded)';
  return values.map((v) => `  ${v.value}  ${fmt(v.average)}/min`).join('\n');
}

export function insightText(e: InsightEvent): string {
  const kind = TYPE_TEXT[e.insightType] ?? e.insightType;
  const window =
    e.kind === 'start'
      ? `since ${e.start} (detected ${e.emittedAt})`
      : `from ${e.start} to ${e.end} (${e.durationMinutes} min)`;
  const rate = e.kind === 'start' ? 'rate at start' : 'mean rate over the insight';
  return [
    `${e.kind === 'start' ? 'Unusual' : 'Ended: unusual'} ${kind} on ${e.eventSource} ${e.eventName}${e.errorCode ? ` (${e.errorCode})` : ''}`,
    `Account ${e.account}, region ${e.region}, ${window}.`,
    `${rate}: ${fmt(e.observedPerMinute)}/min; expected at this hour: ${fmt(e.expectedPerMinute)}/min ` +
      `(start threshold ${e.thresholdPerMinute}/min); 7-day baseline average: ${fmt(e.baselineAverage)}/min.`,
    '',
    'Top principals:',
    list(e.topPrincipals),
    'Top user agents:',
    list(e.topUserAgents),
    'Outcomes (error codes, "null" = succeeded):',
    list(e.topErrorCodes),
    '',
    `Insight ${e.sharedEventID} (${e.insightType}, ${e.record.insightDetails.state}).`,
  ].join('\n');
}

/** One SNS notification per event, in the shared alert envelope (text for people, JSON for machines). */
export function insightNotifications(events: InsightEvent[], topic: string): Notification[] {
  return events.map((e) => {
    const kind = TYPE_TEXT[e.insightType] ?? e.insightType;
    const api = `${e.eventSource.replace(/\.amazonaws\.com$/, '')}:${e.eventName}`;
    const { record, ...event } = e;
    // Start and End share CloudTrail's sharedEventID: one incident, one chat thread; the End closes it.
    const incidentKey = insightIncidentKey(e.sharedEventID);
    return buildAlert({
      topic,
      severity: insightSeverity(e),
      title: `${e.kind === 'start' ? 'Unusual' : 'Ended: unusual'} ${kind} on ${api}`,
      subjectDetails: [
        ...(e.errorCode ? [e.errorCode] : []),
        `${fmt(e.observedPerMinute)}/min vs ${fmt(e.expectedPerMinute)}/min`,
      ],
      account: e.account,
      region: e.region,
      kind: 'insight',
      text: insightText(e),
      incidentKey,
      ...(e.kind === 'end' ? { resolves: incidentKey } : {}),
      chat: {
        nextSteps:
          e.kind === 'start'
            ? [
                `Ask the top principal (${e.topPrincipals[0]?.value ?? 'none recorded'}) whether this rate is expected`,
                'See the rate against its baseline: `npx trailwatch insights report --source <state> --out report.html`',
              ]
            : ['Nothing to do unless the Start was never explained'],
        keywords: [e.insightType, `${api}`],
        relatedResources: e.topPrincipals.map((p) => p.value).filter((v) => v.startsWith('arn:')),
      },
      data: { insight: event, record },
      attributes: { insightType: e.insightType, state: e.kind === 'start' ? 'Start' : 'End' },
    });
  });
}

import { describe, expect, it } from 'vitest';
import { insightNotifications, insightSeverity } from '#shared/insights/insight-alerts.ts';
import { buildRecord, stableUuid } from '#shared/insights/insight-records.ts';
import type { InsightEvent } from '#shared/insights/insight-types.ts';
import { alertData } from '#shared/notify/alert-message.ts';

const sharedEventID = stableUuid('x');
const record = buildRecord({
  state: 'Start',
  account: '111122223333',
  region: 'eu-west-1',
  time: Date.parse('2026-03-10T11:30:00Z'),
  sharedEventID,
  eventSource: 'secretsmanager.amazonaws.com',
  eventName: 'GetSecretValue',
  insightType: 'ApiErrorRateInsight',
  errorCode: 'AccessDeniedException',
  baselineAverage: 0.02,
  insightAverage: 30,
  insightDuration: 2,
  baselineDuration: 10080,
  attributions: [],
});

const start: InsightEvent = {
  kind: 'start',
  account: '111122223333',
  region: 'eu-west-1',
  insightType: 'ApiErrorRateInsight',
  eventSource: 'secretsmanager.amazonaws.com',
  eventName: 'GetSecretValue',
  errorCode: 'AccessDeniedException',
  sharedEventID,
  start: '2026-03-10T11:30:00Z',
  emittedAt: '2026-03-10T11:39:00Z',
  baselineAverage: 0.02,
  expectedPerMinute: 0.05,
  observedPerMinute: 30,
  thresholdPerMinute: 5,
  durationMinutes: 2,
  topPrincipals: [{ value: 'arn:aws:iam::111122223333:user/ci-deploy', average: 30 }],
  topUserAgents: [{ value: 'aws-cli/2.15.0 Python/3.11.6', average: 30 }],
  topErrorCodes: [{ value: 'AccessDeniedException', average: 30 }],
  record,
};

describe('insightNotifications', () => {
  it('says what is unusual, by how much, since when, and who is calling, in the shared alert envelope', () => {
    // Act
    const [n] = insightNotifications([start], 'arn:aws:sns:eu-west-1:111122223333:alerts');
    const variants = JSON.parse(n.message) as Record<string, string>;
    // Assess
    expect(n.topic).toBe('arn:aws:sns:eu-west-1:111122223333:alerts');
    expect(n.subject.length).toBeLessThan(100);
    expect(n.subject).toMatch(/^[\x20-\x7e]+$/);
    expect(n.subject).toContain('[HIGH] Unusual error rate on secretsmanager:GetSecretValue');
    expect(n.attributes).toMatchObject({
      severity: 'HIGH',
      kind: 'insight',
      account: '111122223333',
      region: 'eu-west-1',
      insightType: 'ApiErrorRateInsight',
      state: 'Start',
    });
    expect(variants.email).toContain('arn:aws:iam::111122223333:user/ci-deploy');
    expect(variants.email).toContain('aws-cli/2.15.0');
    expect(variants.email).toContain('since 2026-03-10T11:30:00Z');
    expect(variants.email).toContain('expected at this hour: 0.050/min');
    const data = alertData(n.message) as { insight: InsightEvent; record: unknown };
    expect(data.insight.sharedEventID).toBe(sharedEventID);
    expect(data.record).toEqual(record);
  });

  it('grades severity: auth failures and tenfold rates high, other starts medium, ends low', () => {
    expect(insightSeverity(start)).toBe('HIGH');
    expect(insightSeverity({ ...start, errorCode: 'Client.UnauthorizedOperation' })).toBe('HIGH');
    expect(
      insightSeverity({
        ...start,
        insightType: 'ApiCallRateInsight',
        errorCode: undefined,
        observedPerMinute: 3,
        expectedPerMinute: 1,
      }),
    ).toBe('MEDIUM');
    expect(insightSeverity({ ...start, kind: 'end' })).toBe('LOW');
  });

  it('keeps a long API name within the subject limit', () => {
    // Act
    const [n] = insightNotifications([{ ...start, eventName: 'X'.repeat(200) }], 'topic');
    // Assess
    expect(n.subject.length).toBeLessThan(100);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ALERT_SCHEMA,
  alertData,
  buildAlert,
  decisionFor,
  formatSubject,
  JSON_BEGIN,
  JSON_END,
  SNS_MAX_BYTES,
  truncateUtf8,
  utf8Bytes,
} from '#shared/notify/alert-message.ts';
import type { Notification } from '#shared/ports.ts';

/** Everything SNS counts toward its 256 KiB limit. */
function publishBytes(n: Notification): number {
  let total = utf8Bytes(n.message) + utf8Bytes(n.subject);
  for (const [k, v] of Object.entries(n.attributes))
    total += utf8Bytes(k) + utf8Bytes('String') + utf8Bytes(v);
  return total;
}

describe('buildAlert: the shared envelope', () => {
  it('builds subject, attributes and json variants with readable text and delimited JSON', () => {
    // Prepare
    const input = {
      topic: 'arn:aws:sns:us-east-1:111122223333:alerts',
      severity: 'CRITICAL' as const,
      title: 'Digest file missing',
      account: '111122223333',
      region: 'eu-west-1',
      kind: 'tamper' as const,
      text: 'The digest for 10:00-11:00 is missing.\nLast valid digest: s3://b/k',
      incidentKey: 'chain:111122223333:eu-west-1:abcd:2024-08-01T11:00:00.000Z',
      data: { digest: 's3://b/k', hour: '2024-08-01T10:00:00Z' },
    };

    // Act
    const n = buildAlert(input);
    const variants = JSON.parse(n.message) as Record<string, string>;

    // Assess
    expect(n.topic).toBe(input.topic);
    expect(n.messageStructure).toBe('json');
    expect(n.subject).toBe('[CRITICAL] Digest file missing (111122223333, eu-west-1)');
    expect(n.attributes).toEqual({
      severity: 'CRITICAL',
      kind: 'tamper',
      account: '111122223333',
      region: 'eu-west-1',
      incident: input.incidentKey,
    });
    expect(Object.keys(variants).sort()).toEqual([
      'default',
      'email',
      'email-json',
      'firehose',
      'http',
      'https',
      'lambda',
      'sms',
      'sqs',
    ]);
    const email = `${n.subject}\n${decisionFor('CRITICAL')}\n\n${input.text}`;
    expect(variants.email).toBe(email);
    const expectedData = {
      schema: ALERT_SCHEMA,
      kind: 'tamper',
      severity: 'CRITICAL',
      title: 'Digest file missing',
      account: '111122223333',
      region: 'eu-west-1',
      incidentKey: input.incidentKey,
      decision: decisionFor('CRITICAL'),
      ...input.data,
    };
    expect(JSON.parse(variants.sqs)).toEqual(expectedData);
    for (const p of ['lambda', 'email-json', 'http', 'https', 'firehose'])
      expect(variants[p]).toBe(variants.sqs);
    expect(variants.sms).toBe(`trailwatch ${n.subject} - Act now`);
    expect(variants.default).toBe(`${email}\n\n${JSON_BEGIN}\n${variants.sqs}\n${JSON_END}\n`);
    expect(alertData(n.message)).toEqual(expectedData);
    expect(alertData(variants.default)).toEqual(expectedData);
  });

  it('fills unknown account and region so every attribute is a non-empty String', () => {
    // Act
    const n = buildAlert({
      topic: 't',
      severity: 'LOW',
      title: 'x',
      kind: 'insight',
      text: 't',
      incidentKey: 'insight:x',
      data: {},
      attributes: { rule: '' },
    });

    // Assess
    expect(n.attributes).toEqual({
      severity: 'LOW',
      kind: 'insight',
      account: 'unknown',
      region: 'unknown',
      incident: 'insight:x',
    });
    expect(n.subject).toBe('[LOW] x');
  });

  it('stays under SNS’s 256 KiB with huge multi-byte text and data, and says it was cut', () => {
    // Prepare
    const text = `${'Zugriff verweigert für Benutzer ü→ 🚨 '.repeat(40_000)}END`;
    const data = {
      events: Array.from({ length: 20_000 }, (_, i) => ({ i, msg: '"quoted" \\ text ü'.repeat(5) })),
      note: 'x'.repeat(300_000),
    };

    // Act
    const n = buildAlert({
      topic: 't',
      severity: 'HIGH',
      title: 'Storm',
      kind: 'rule',
      text,
      data,
      incidentKey: 'rule:x',
    });
    const variants = JSON.parse(n.message) as Record<string, string>;
    const parsed = alertData(n.message) as { events?: unknown[]; truncated?: boolean; schema?: string };

    // Assess
    expect(utf8Bytes(text)).toBeGreaterThan(SNS_MAX_BYTES);
    expect(publishBytes(n)).toBeLessThanOrEqual(SNS_MAX_BYTES);
    expect(variants.email).toMatch(
      /\[Message truncated to fit the SNS size limit: \d+ bytes of text were cut/,
    );
    expect(variants.email).not.toContain('\uFFFD');
    expect(parsed.truncated).toBe(true);
    expect(parsed.schema).toBe(ALERT_SCHEMA);
    expect((parsed.events ?? []).length).toBeLessThan(20_000);
  });

  it('stays under the limit even when every character needs JSON escaping', () => {
    // Prepare
    const text = '\u0001"\\'.repeat(200_000);

    // Act
    const n = buildAlert({
      topic: 't',
      severity: 'LOW',
      title: 't',
      kind: 'rule',
      text,
      data: { x: text },
      incidentKey: 'rule:x',
    });

    // Assess
    expect(publishBytes(n)).toBeLessThanOrEqual(SNS_MAX_BYTES);
    expect(JSON.parse(JSON.parse(n.message).sqs).truncated).toBe(true);
  });
});

/** Printable ASCII mixed with what an SNS subject must not carry: line breaks, controls, non-ASCII. */
const messyChar = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 1 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('\n', '\r', '\t', '\u0000', '\u007f', 'é', 'ü', '→', '🚨', '\u2028', '\ud800'),
  },
);

describe('formatSubject', () => {
  it('cuts a long caller name, drops details and the region, then shortens the title to stay under 100 characters', () => {
    // Prepare
    const title = 'Console sign-in without MFA';

    // Act
    const full = formatSubject('HIGH', title, [': 3 events', 'by bob'], '111122223333', 'us-east-1');
    const noBy = formatSubject(
      'HIGH',
      title,
      [': 3 events', `by ${'b'.repeat(60)}`],
      '111122223333',
      'us-east-1',
    );
    const longTitle = formatSubject('HIGH', 'T'.repeat(150), [], '111122223333', 'us-east-1');

    // Assess
    expect(full).toBe('[HIGH] Console sign-in without MFA: 3 events by bob (111122223333, us-east-1)');
    expect(noBy).toBe(`[HIGH] Console sign-in without MFA: 3 events by ${'b'.repeat(33)}... (111122223333)`);
    expect(noBy.length).toBe(99);
    expect(longTitle.length).toBe(99);
    expect(longTitle).toMatch(/^\[HIGH\] T+\.\.\. \(111122223333\)$/);
  });

  it('is always printable ASCII, one line, under 100 characters', () => {
    // Act + Assess
    fc.assert(
      fc.property(
        fc.string({ unit: messyChar, maxLength: 200 }),
        fc.array(fc.string({ unit: messyChar, maxLength: 80 }), { maxLength: 3 }),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
        (title, details, account, region) => {
          const s = formatSubject('MEDIUM', title, details, account, region);
          expect(s.length).toBeLessThan(100);
          expect(s).toMatch(/^\[MEDIUM\] [\x20-\x7e]*$/);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('truncateUtf8', () => {
  it('never exceeds the budget nor splits a character', () => {
    // Act + Assess
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), fc.nat({ max: 400 }), (s, max) => {
        const cut = truncateUtf8(s, max);
        expect(utf8Bytes(cut)).toBeLessThanOrEqual(Math.max(max, 0));
        expect(s.startsWith(cut)).toBe(true);
        if (utf8Bytes(s) <= max) expect(cut).toBe(s);
      }),
      { numRuns: 500 },
    );
  });
});

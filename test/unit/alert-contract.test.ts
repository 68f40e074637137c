/**
 * The published alert contract: every kind's JSON document validates against schema/alert.schema.json, every
 * chat message against the AWS Chatbot custom notification structure (schema/chatbot-custom-notification
 * .schema.json, written from https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html), an
 * incident's messages share their key and chat thread, and each subscriber protocol gets its own body.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildAlert, JSON_PROTOCOLS, MAX_SMS_LENGTH } from '#shared/notify/alert-message.ts';
import { threadIdOf } from '#shared/notify/incident.ts';
import { buildRuleNotifications, runbookLink } from '#shared/notify/rule-alerts.ts';
import type { Notification } from '#shared/ports.ts';
import { RuleEvaluator } from '#shared/rules/evaluate.ts';
import { defaultRules } from '#shared/rules/load.ts';
import {
  bucketTamperAlerts,
  chainBreakAlert,
  chainRecovered,
  documentOf,
  everyAlert,
  healthPair,
  insightAlerts,
  ruleAlert,
  schemaValidator,
  TOPIC,
  variants,
  watchdogPair,
} from '#test/support/alert-samples.ts';
import { stratusDir, stratusRecords } from '#test/support/logfiles.ts';

const validateAlert = schemaValidator('alert.schema.json');
const validateChat = schemaValidator('chatbot-custom-notification.schema.json');

const chatOf = (n: Notification) =>
  JSON.parse(n.chat ?? 'null') as {
    content: { title: string; description: string; nextSteps: string[] };
    metadata: { threadId: string };
  };

const samples = everyAlert();

describe('alert documents validate against schema/alert.schema.json (Ajv, draft 2020-12)', () => {
  it.each(samples.map((s) => [s.name, s.notification] as const))('%s', (_name, n) => {
    // Act
    const doc = documentOf(n);
    const ok = validateAlert(doc);

    // Assess
    expect(validateAlert.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(doc.schema).toBe('trailwatch.alert/2');
  });

  it('names every object of a grouped bucket-tamper alert, with the subtype of what happened', () => {
    // Prepare
    const byName = Object.fromEntries(bucketTamperAlerts().map((a) => [a.name, documentOf(a.notification)]));
    const tamper = (name: string) =>
      byName[name].tamper as { subtype: string; object: { key: string }; others?: { key: string }[] };
    // Assess
    expect(tamper('tamper digest deleted (ingest, ObjectRemoved)').subtype).toBe('digest-deleted');
    expect(tamper('tamper log file replaced before it was read (ingest)').subtype).toBe('log-overwritten');
    expect(byName['tamper digest deleted (ingest, ObjectRemoved)'].severity).toBe('CRITICAL');
    for (const name of [
      'tamper unlisted log files of one place (watchdog)',
      'tamper planted objects (watchdog)',
    ]) {
      expect(byName[name].severity).toBe('HIGH');
      expect([tamper(name).object.key, ...(tamper(name).others ?? []).map((o) => o.key)]).toHaveLength(2);
    }
    expect(tamper('tamper planted objects (watchdog)').subtype).toBe('planted-object');
  });

  it('covers every kind the schema defines', () => {
    expect(new Set(samples.map((s) => documentOf(s.notification).kind))).toEqual(
      new Set(['rule', 'insight', 'tamper', 'watchdog', 'health']),
    );
  });

  it('stays valid when cut to fit SNS’s size limit', () => {
    // Prepare: a storm whose events alone are far over the limit
    const doc = documentOf(ruleAlert());
    const events = Array.from({ length: 5_000 }, (_, i) => ({ eventID: `e${i}`, note: 'x'.repeat(200) }));

    // Act
    const n = buildAlert({
      topic: TOPIC,
      severity: 'HIGH',
      title: 'Storm',
      kind: 'rule',
      text: 'y'.repeat(100_000),
      incidentKey: doc.incidentKey as string,
      data: { rule: doc.rule, count: 5_000, events },
      maxBytes: 64 * 1024,
    });
    const cut = documentOf(n);

    // Assess
    expect(cut.truncated).toBe(true);
    expect((cut.events as unknown[]).length).toBeLessThan(5_000);
    expect(validateAlert(cut), JSON.stringify(validateAlert.errors)).toBe(true);
  });

  it('rejects what breaks the contract: no incident key, an End that resolves nothing, an unknown kind', () => {
    // Prepare
    const { end } = insightAlerts();
    const withoutKey = { ...documentOf(ruleAlert()) };
    delete withoutKey.incidentKey;
    const unresolved = { ...documentOf(end) };
    delete unresolved.resolves;
    const unknownKind = { ...documentOf(ruleAlert()), kind: 'digest' };
    const badSubtype = documentOf(chainBreakAlert().alert);
    (badSubtype.tamper as { subtype: string }).subtype = 'digest-exploded';

    // Act + Assess
    for (const doc of [withoutKey, unresolved, unknownKind, badSubtype])
      expect(validateAlert(doc)).toBe(false);
  });
});

describe('chat messages follow AWS Chatbot custom notifications (schema from AWS documentation)', () => {
  it.each(samples.map((s) => [s.name, s.notification] as const))('%s', (_name, n) => {
    // Act
    const chat = JSON.parse(n.chat ?? 'null');
    const ok = validateChat(chat);

    // Assess
    expect(validateChat.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(chat).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { textType: 'client-markdown' },
    });
  });

  it('rejects a message Chatbot would drop or truncate', () => {
    // Prepare
    const good = JSON.parse(ruleAlert().chat!);
    const wrongVersion = { ...good, version: '2.0' };
    const longTitle = { ...good, content: { ...good.content, title: 'x'.repeat(251) } };
    const badEventType = { ...good, metadata: { ...good.metadata, eventType: 'trailwatch rule' } };

    // Act + Assess
    for (const m of [wrongVersion, longTitle, badEventType]) expect(validateChat(m)).toBe(false);
  });

  it('gives a rule alert its runbook and the log file as next steps', () => {
    const chat = chatOf(ruleAlert({ runbookUrl: 'https://wiki.example.com/trailwatch/{ruleId}' }));
    expect(chat.content.nextSteps[0]).toBe(
      'Follow the runbook: <https://wiki.example.com/trailwatch/CloudWatch.3|CloudWatch.3>',
    );
    expect(chat.content.nextSteps.join('\n')).toContain('s3://acme-cloudtrail/AWSLogs/111122223333/');
  });
});

describe('incidents: one key and one chat thread per incident', () => {
  it('an insight Start and its End share the incident key and thread; the End resolves it', () => {
    // Act
    const { start, end } = insightAlerts();
    const [s, e] = [documentOf(start), documentOf(end)];

    // Assess
    expect(s.incidentKey).toMatch(/^insight:/);
    expect(e.incidentKey).toBe(s.incidentKey);
    expect(e.resolves).toBe(s.incidentKey);
    expect(s.resolves).toBeUndefined();
    expect(chatOf(end).metadata.threadId).toBe(chatOf(start).metadata.threadId);
    expect(chatOf(start).metadata.threadId).toBe(threadIdOf(s.incidentKey as string));
    expect(end.attributes.resolves).toBe(s.incidentKey);
  });

  it('a watchdog gap and its recovery share the incident key and thread; the recovery resolves it', () => {
    const { gap, recovery } = watchdogPair();
    const [g, r] = [documentOf(gap), documentOf(recovery)];
    expect(g.incidentKey).toMatch(/^gap:digest-missing:111122223333:eu-west-1:/);
    expect(r.incidentKey).toBe(g.incidentKey);
    expect(r.resolves).toBe(g.incidentKey);
    expect(chatOf(recovery).metadata.threadId).toBe(chatOf(gap).metadata.threadId);
  });

  it('a digest chain break and its recovery share the incident key and thread', () => {
    const { alert } = chainBreakAlert();
    const key = documentOf(alert).incidentKey as string;
    const recovered = chainRecovered(key);
    expect(key).toMatch(/^chain:111122223333:eu-west-1:/);
    expect(documentOf(recovered)).toMatchObject({ incidentKey: key, resolves: key });
    expect(chatOf(recovered).metadata.threadId).toBe(chatOf(alert).metadata.threadId);
  });

  it('a health condition and its recovery share the incident key', () => {
    const { open, recovered } = healthPair();
    expect(documentOf(recovered).resolves).toBe(documentOf(open).incidentKey);
  });

  it('one rule on one principal: the same key within the throttle window, another key in the next', () => {
    // Act: CloudWatch.3 is HIGH (throttle 0), so its incidents are hour-long windows
    const first = documentOf(ruleAlert({ at: new Date('2026-03-05T10:05:00Z') })).incidentKey;
    const sameHour = documentOf(ruleAlert({ at: new Date('2026-03-05T10:55:00Z') })).incidentKey;
    const nextHour = documentOf(ruleAlert({ at: new Date('2026-03-05T11:05:00Z') })).incidentKey;

    // Assess
    expect(sameHour).toBe(first);
    expect(nextHour).not.toBe(first);
    expect(first).toMatch(
      /^rule:CloudWatch\.3:111122223333:eu-west-1:[0-9a-f]{16}:2026-03-05T10:00:00\.000Z\/60m$/,
    );
  });
});

describe('a body per subscriber protocol', () => {
  it.each(samples.map((s) => [s.name, s.notification] as const))('%s', (_name, n) => {
    // Act
    const v = variants(n);
    const doc = documentOf(n);

    // Assess: machines get the document alone
    for (const p of JSON_PROTOCOLS) expect(JSON.parse(v[p])).toEqual(doc);
    // e-mail: what happened, then what to do, in the first two lines
    const [first, second, blank] = v.email.split('\n');
    expect(first).toBe(n.subject);
    expect(second).toBe(doc.decision);
    expect(second).toMatch(/^(Act now|Act within the hour|Look today|For information|Resolved):/);
    expect(blank).toBe('');
    // sms: one line under 140 characters
    expect(v.sms).not.toContain('\n');
    expect(v.sms.length).toBeLessThanOrEqual(MAX_SMS_LENGTH);
    expect(v.sms).toContain(n.subject.slice(0, 40));
    // attributes: SQS takes at most 10 message attributes, raw delivery included
    expect(Object.keys(n.attributes).length).toBeLessThanOrEqual(10);
    expect(n.attributes.incident).toBe(doc.incidentKey);
    // default: readable text with the document between markers
    expect(v.default.startsWith(v.email)).toBe(true);
    expect(v.default).toContain(v.sqs);
  });
});

describe('e-mail rendering (snapshots)', () => {
  it('of a rule alert', async () => {
    const email = variants(ruleAlert({ runbookUrl: 'https://wiki.example.com/trailwatch/{ruleId}' })).email;
    await expect(email).toMatchFileSnapshot('__snapshots__/email-rule.txt');
  });

  it('of an insight Start', async () => {
    await expect(variants(insightAlerts().start).email).toMatchFileSnapshot(
      '__snapshots__/email-insight.txt',
    );
  });

  it('of a tamper alert (a deleted digest breaks the chain)', async () => {
    await expect(variants(chainBreakAlert().alert).email).toMatchFileSnapshot(
      '__snapshots__/email-tamper.txt',
    );
  });
});

describe('subjects within SNS’s 100 characters for the longest principal names of the Stratus fixtures', () => {
  const techniques = readdirSync(stratusDir)
    .filter((f) => f.startsWith('aws.') && f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length));

  it('for every rule alert of every detonation', () => {
    // Prepare
    const subjects: string[] = [];

    // Act
    for (const technique of techniques) {
      const evaluator = new RuleEvaluator(defaultRules());
      for (const r of stratusRecords(technique)) evaluator.onRecord(r);
      for (const n of buildRuleNotifications(evaluator.results(), { topic: TOPIC })) subjects.push(n.subject);
    }

    // Assess
    expect(subjects.length).toBeGreaterThan(10);
    for (const s of subjects) {
      expect(s.length).toBeLessThanOrEqual(100);
      expect(s).toMatch(/^\[(CRITICAL|HIGH|MEDIUM|LOW)\] [\x20-\x7e]+$/);
    }
  });

  it('for a match whose caller has the longest principal name found in the fixtures', () => {
    // Prepare: the record whose user name or role session issuer is the longest
    const records = techniques.flatMap((t) => stratusRecords(t));
    const nameOf = (r: (typeof records)[number]) =>
      r.userIdentity?.userName ?? r.userIdentity?.sessionContext?.sessionIssuer?.userName ?? '';
    const longest = records.reduce((a, b) => (nameOf(b).length > nameOf(a).length ? b : a));
    const rule = defaultRules().find((r) => r.id === 'CloudWatch.5')!;
    const evaluator = new RuleEvaluator([{ ...rule, pattern: '{ $.eventVersion = * }' }]);
    evaluator.onRecord(longest);

    // Act
    const [n] = buildRuleNotifications(evaluator.results(), { topic: TOPIC });

    // Assess
    expect(nameOf(longest).length).toBeGreaterThan(20);
    expect(n.subject.length).toBeLessThanOrEqual(100);
    expect(n.subject).toContain(nameOf(longest).slice(0, 20));
    expect(variants(n).sms.length).toBeLessThanOrEqual(MAX_SMS_LENGTH);
  });
});

describe('runbook link', () => {
  it('fills the template per rule, URL-encoded, and appears in the document and the e-mail', () => {
    // Act
    const n = ruleAlert({ runbookUrl: 'https://wiki.example.com/{severity}/{ruleId}?acct={account}' });

    // Assess
    expect(documentOf(n).runbookUrl).toBe('https://wiki.example.com/HIGH/CloudWatch.3?acct=111122223333');
    expect(variants(n).email).toContain(
      'Runbook: https://wiki.example.com/HIGH/CloudWatch.3?acct=111122223333',
    );
    expect(
      runbookLink('https://w/{ruleId}', { ruleId: 'My rule/1', severity: 'LOW', account: 'a', region: 'r' }),
    ).toBe('https://w/My%20rule%2F1');
  });
});

/**
 * One alert of every kind and subtype, built by the real builders from real records where there are any
 * (Stratus detonations for rules) and from the shapes the detectors produce otherwise. Unit tests check the
 * bodies; the integration test publishes them through SNS (moto) to an SQS queue.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { objectTamperAlert, plantedAlert, unlistedAlert } from '#shared/digest/bucket-tamper.ts';
import { digestAlert } from '#shared/digest/tamper-alerts.ts';
import { invalid, valid } from '#shared/digest/verdict.ts';
import { insightNotifications } from '#shared/insights/insight-alerts.ts';
import { buildRecord, stableUuid } from '#shared/insights/insight-records.ts';
import type { InsightEvent } from '#shared/insights/insight-types.ts';
import { classifyKey, digestFileKey, logFileKey, type TrailKey } from '#shared/keys.ts';
import {
  chainRecoveredAlert,
  healthAlert,
  type TamperObjectSubtype,
  tamperObjectAlert,
} from '#shared/notify/alert-kinds.ts';
import { buildRuleNotification } from '#shared/notify/rule-alerts.ts';
import type { Notification } from '#shared/ports.ts';
import { crossingWindow, windowTest } from '#shared/rules/count-windows.ts';
import { RuleEvaluator } from '#shared/rules/evaluate.ts';
import { defaultRules } from '#shared/rules/load.ts';
import { watchdogAlerts } from '#shared/watchdog/gap-alerts.ts';
import { repoRoot, stratusRecords } from '#test/support/logfiles.ts';

export const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:trailwatch-alerts';
export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const TRAIL_BUCKET = 'acme-cloudtrail';

/** Ajv for draft 2020-12 with formats and the discriminator keyword the alert schema uses. */
export function schemaValidator(file: 'alert.schema.json' | 'chatbot-custom-notification.schema.json') {
  const ajv = new Ajv2020({ allErrors: true, discriminator: true, strict: true });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schema', file), 'utf8')));
}

function ruleMatches(technique: string, ruleId: string) {
  const evaluator = new RuleEvaluator(defaultRules());
  for (const r of stratusRecords(technique)) evaluator.onRecord(r);
  const m = evaluator.results().find((x) => x.rule.id === ruleId);
  if (!m || m.count === 0) throw new Error(`expected ${ruleId} to match the ${technique} records`);
  return m;
}

export const LOG_KEY = logFileKey({
  account: ACCOUNT,
  region: REGION,
  time: new Date('2026-03-05T10:05:00Z'),
  unique: 'AbCdEfGhIjKlMnOp',
});

export function ruleAlert(opts: { runbookUrl?: string; at?: Date } = {}): Notification {
  return buildRuleNotification(ruleMatches('aws.initial-access.console-login-without-mfa', 'CloudWatch.3'), {
    topic: TOPIC,
    source: { bucket: TRAIL_BUCKET, key: LOG_KEY },
    account: ACCOUNT,
    region: REGION,
    at: opts.at ?? new Date('2026-03-05T10:05:00Z'),
    ...(opts.runbookUrl ? { runbookUrl: opts.runbookUrl } : {}),
  });
}

/** A SigmaHQ rule's alert on a real UpdateLoginProfile: the rule's author and Sigma block travel with it. */
export function sigmaRuleAlert(): Notification {
  const m = ruleMatches('aws.privilege-escalation.iam-update-user-login-profile', SIGMA_LOGIN_PROFILE);
  return buildRuleNotification(m, {
    topic: TOPIC,
    source: { bucket: TRAIL_BUCKET, key: LOG_KEY },
    account: ACCOUNT,
    region: REGION,
    at: new Date('2026-03-05T10:05:00Z'),
  });
}

export const SIGMA_LOGIN_PROFILE = '055fb148-60f8-462d-ad16-26926ce050f1';
export const MASS_SECRETS = '8298d02e-02cb-4c76-a195-714f106c256e';

/**
 * The Sigma count rule "Mass secret retrieval" on the real Stratus GetSecretValue burst, as one log file:
 * its group's window found by the same search ingest uses.
 */
export function countRuleAlert(): Notification {
  const evaluator = new RuleEvaluator(defaultRules());
  for (const r of stratusRecords('aws.credential-access.secretsmanager-retrieve-secrets'))
    evaluator.onRecord(r);
  const observed = evaluator.counts().find((o) => o.rule.id === MASS_SECRETS);
  const group = observed?.groups[0];
  const c = observed?.rule.sigma?.correlation;
  if (!group || !c)
    throw new Error(`expected ${MASS_SECRETS} to count the secretsmanager-retrieve-secrets reads`);
  const events = group.events.map(([t, v]) => ({ t, v, file: LOG_KEY, mine: true }));
  const w = crossingWindow(events, windowTest(c));
  if (!w) throw new Error(`expected ${MASS_SECRETS} to cross its threshold`);
  const iso = (t: number) => new Date(t * 1000).toISOString();
  return buildRuleNotification(
    {
      ...group.matches,
      window: {
        group: group.group,
        count: w.count,
        threshold: c.threshold,
        start: iso(w.start),
        end: iso(w.end),
        files: w.files,
      },
    },
    {
      topic: TOPIC,
      source: { bucket: TRAIL_BUCKET, key: LOG_KEY },
      account: ACCOUNT,
      region: REGION,
      at: new Date('2026-03-05T10:05:00Z'),
      runbookUrl: 'https://wiki.example.com/trailwatch/{ruleId}',
    },
  );
}

const sharedEventID = stableUuid('alert-samples');

function insightEvent(kind: 'start' | 'end'): InsightEvent {
  const record = buildRecord({
    state: kind === 'start' ? 'Start' : 'End',
    account: ACCOUNT,
    region: REGION,
    time: Date.parse(kind === 'start' ? '2026-03-06T15:32:00Z' : '2026-03-06T16:10:00Z'),
    sharedEventID,
    eventSource: 'secretsmanager.amazonaws.com',
    eventName: 'GetSecretValue',
    insightType: 'ApiErrorRateInsight',
    errorCode: 'AccessDeniedException',
    baselineAverage: 0.02,
    insightAverage: 30,
    insightDuration: kind === 'start' ? 2 : 38,
    baselineDuration: 10080,
    attributions: [],
  });
  return {
    kind,
    account: ACCOUNT,
    region: REGION,
    insightType: 'ApiErrorRateInsight',
    eventSource: 'secretsmanager.amazonaws.com',
    eventName: 'GetSecretValue',
    errorCode: 'AccessDeniedException',
    sharedEventID,
    start: '2026-03-06T15:32:00Z',
    ...(kind === 'end' ? { end: '2026-03-06T16:10:00Z' } : {}),
    emittedAt: kind === 'start' ? '2026-03-06T15:41:00Z' : '2026-03-06T16:20:00Z',
    baselineAverage: 0.02,
    expectedPerMinute: 0.05,
    observedPerMinute: 30,
    thresholdPerMinute: 5,
    durationMinutes: kind === 'start' ? 2 : 38,
    topPrincipals: [{ value: 'arn:aws:iam::111122223333:user/ci-deploy', average: 30 }],
    topUserAgents: [{ value: 'aws-cli/2.15.0 Python/3.11.6', average: 30 }],
    topErrorCodes: [{ value: 'AccessDeniedException', average: 30 }],
    record,
  };
}

export function insightAlerts(): { start: Notification; end: Notification } {
  const [start, end] = insightNotifications([insightEvent('start'), insightEvent('end')], TOPIC);
  return { start, end };
}

function digestKeyAt(hour: string): TrailKey {
  const key = digestFileKey({
    account: ACCOUNT,
    region: REGION,
    trailName: 'org-trail',
    homeRegion: 'us-east-1',
    endTime: new Date(hour),
  });
  const k = classifyKey(key);
  if (k.kind !== 'digest') throw new Error(`not a digest key: ${key}`);
  return k;
}

/** A digest whose predecessor is gone: the chain is broken (digest-missing). */
export function chainBreakAlert(): { alert: Notification; key: TrailKey } {
  const key = digestKeyAt('2026-03-05T11:23:45Z');
  const previous = digestKeyAt('2026-03-05T10:23:45Z');
  const alert = digestAlert(TOPIC, key, {
    digest: valid('digest', TRAIL_BUCKET, key.key),
    previous: invalid('digest', TRAIL_BUCKET, previous.key, 'not-found', 'not found'),
    logs: [valid('log', TRAIL_BUCKET, LOG_KEY)],
  });
  if (!alert) throw new Error('expected a tamper alert');
  return { alert, key };
}

/** A listed log file whose bytes changed after delivery. */
export function overwrittenByDigestAlert(): Notification {
  const key = digestKeyAt('2026-03-05T11:23:45Z');
  const alert = digestAlert(TOPIC, key, {
    digest: valid('digest', TRAIL_BUCKET, key.key),
    previous: valid('digest', TRAIL_BUCKET, digestKeyAt('2026-03-05T10:23:45Z').key),
    logs: [invalid('log', TRAIL_BUCKET, LOG_KEY, 'hash-mismatch', "hash value doesn't match")],
  });
  if (!alert) throw new Error('expected a tamper alert');
  return alert;
}

export function chainRecovered(incidentKey: string): Notification {
  return chainRecoveredAlert({
    topic: TOPIC,
    incidentKey,
    account: ACCOUNT,
    region: REGION,
    bucket: TRAIL_BUCKET,
    digestKey: digestKeyAt('2026-03-05T12:23:45Z').key,
    since: '2026-03-05T11:23:45.000Z',
  });
}

export function objectAlert(subtype: TamperObjectSubtype): Notification {
  return tamperObjectAlert({
    topic: TOPIC,
    subtype,
    bucket: TRAIL_BUCKET,
    key: LOG_KEY,
    account: ACCOUNT,
    region: REGION,
    at: '2026-03-05T10:42:17Z',
    principal:
      'arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_3f2a1b9c8d7e6f50/mallory',
    ...(subtype === 'empty-object' ? { detail: '0 bytes' } : {}),
  });
}

const PLACE = { prefix: '', account: ACCOUNT, region: REGION };

export function watchdogPair(): { gap: Notification; recovery: Notification } {
  const newestKey = digestKeyAt('2026-03-05T09:23:45Z').key;
  const [gap] = watchdogAlerts(TOPIC, {
    opened: [
      {
        kind: 'digest-missing',
        place: PLACE,
        newestKey,
        newestTime: '2026-03-05T09:23:45.000Z',
        silentMinutes: 157,
        thresholdMinutes: 150,
      },
    ],
    closed: [],
  });
  const [recovery] = watchdogAlerts(TOPIC, {
    opened: [],
    closed: [
      {
        id: `digest-missing||${ACCOUNT}|${REGION}`,
        kind: 'digest-missing',
        place: PLACE,
        since: '2026-03-05T09:23:45.000Z',
      },
    ],
  });
  return { gap, recovery };
}

export function healthPair(): { open: Notification; recovered: Notification } {
  const base = {
    topic: TOPIC,
    check: 'outbox-backlog',
    scope: 'detect',
    since: '2026-03-05T10:00:00.000Z',
    title: 'Alerts waiting in the outbox',
    text: '3 alerts could not be published and wait in the outbox; they are retried every 5 minutes.',
    account: ACCOUNT,
    region: REGION,
  };
  return { open: healthAlert(base), recovered: healthAlert({ ...base, recovered: true }) };
}

/** Every kind and subtype, named. */
export function everyAlert(): { name: string; notification: Notification }[] {
  const insight = insightAlerts();
  const chain = chainBreakAlert();
  const watchdog = watchdogPair();
  const health = healthPair();
  const incident = JSON.parse(JSON.parse(chain.alert.message).sqs).incidentKey as string;
  return [
    { name: 'rule', notification: ruleAlert({ runbookUrl: 'https://wiki.example.com/trailwatch/{ruleId}' }) },
    { name: 'Sigma rule', notification: sigmaRuleAlert() },
    { name: 'count rule (Sigma)', notification: countRuleAlert() },
    { name: 'insight start', notification: insight.start },
    { name: 'insight end', notification: insight.end },
    { name: 'tamper digest-missing (chain break)', notification: chain.alert },
    { name: 'tamper log-overwritten (digest check)', notification: overwrittenByDigestAlert() },
    { name: 'tamper chain recovered', notification: chainRecovered(incident) },
    ...(
      [
        'log-overwritten',
        'log-deleted',
        'digest-deleted',
        'unlisted-log-file',
        'empty-object',
        'digest-overwritten',
        'planted-object',
      ] as const
    ).map((s) => ({ name: `tamper ${s}`, notification: objectAlert(s) })),
    ...bucketTamperAlerts(),
    { name: 'watchdog gap', notification: watchdog.gap },
    { name: 'watchdog recovery', notification: watchdog.recovery },
    { name: 'health', notification: health.open },
    { name: 'health recovery', notification: health.recovered },
  ];
}

/** What ingest, verify and the watchdog raise about the trail bucket's objects, through their own builders. */
export function bucketTamperAlerts(): { name: string; notification: Notification }[] {
  const digestKey = digestKeyAt('2026-03-05T09:23:45Z').key;
  // Keys of their own: one object and subtype is one incident, and each sample here is another incident.
  const replaced = LOG_KEY.replace('AbCdEfGhIjKlMnOp', 'Rrrrrrrrrrrrrrr1');
  const forged = LOG_KEY.replace('AbCdEfGhIjKlMnOp', 'Ffffffffffffffff');
  const planted = LOG_KEY.replace('AbCdEfGhIjKlMnOp', 'Pppppppppppppppp');
  const later = LOG_KEY.replace('AbCdEfGhIjKlMnOp', 'Zzzzzzzzzzzzzzz1');
  return [
    {
      name: 'tamper log file replaced before it was read (ingest)',
      notification: objectTamperAlert(TOPIC, {
        tamper: 'replaced-before-read',
        bucket: TRAIL_BUCKET,
        key: replaced,
        details: { expected: 'ETag 0a1b2c', found: 'precondition failed' },
      }),
    },
    {
      name: 'tamper digest deleted (ingest, ObjectRemoved)',
      notification: objectTamperAlert(TOPIC, {
        tamper: 'removed',
        bucket: TRAIL_BUCKET,
        key: digestKey,
        details: { event: 'ObjectRemoved:Delete' },
      }),
    },
    {
      name: 'tamper unlisted log files of one place (watchdog)',
      notification: unlistedAlert(
        TOPIC,
        [
          {
            bucket: TRAIL_BUCKET,
            key: forged,
            deliveredAt: '2026-03-05T10:40:00.000Z',
            sha256: 'ab'.repeat(32),
          },
          { bucket: TRAIL_BUCKET, key: later, deliveredAt: '2026-03-05T10:45:00.000Z' },
        ],
        '2026-03-05T13:00:00.000Z',
      ),
    },
    {
      name: 'tamper planted objects (watchdog)',
      notification: plantedAlert(TOPIC, TRAIL_BUCKET, [
        { key: planted, size: 0, reason: 'empty (CloudTrail never writes an empty file)' },
        { key: later, size: 12, reason: 'its time 2027-01-01T00:00:00.000Z is in the future' },
      ]),
    },
  ];
}

export function variants(n: Notification): Record<string, string> {
  return JSON.parse(n.message) as Record<string, string>;
}

export function documentOf(n: Notification): Record<string, unknown> {
  return JSON.parse(variants(n).sqs) as Record<string, unknown>;
}

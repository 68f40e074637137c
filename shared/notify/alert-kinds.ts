/**
 * Builders for alert kinds detectors plug into. Tampering with the trail, by subtype: what each means for the
 * logs, the alerts for tampered objects (overwritten, deleted, unlisted, empty) and for a digest chain that is
 * whole again; the digest check's own alert (shared/digest/tamper-alerts.ts) uses the same subtypes.
 * trailwatch's own health (a check of the pipeline itself failing, and its recovery).
 */
import { buildAlert } from '#shared/notify/alert-message.ts';
import { healthIncidentKey, objectIncidentKey } from '#shared/notify/incident.ts';
import type { Notification } from '#shared/ports.ts';
import type { Severity } from '#shared/rules/rule-types.ts';

export const TAMPER_SUBTYPES = [
  'digest-invalid',
  'digest-missing',
  'chain-broken',
  'log-overwritten',
  'log-deleted',
  'digest-deleted',
  'unlisted-log-file',
  'empty-object',
  'digest-overwritten',
  'planted-object',
] as const;
export type TamperSubtype = (typeof TAMPER_SUBTYPES)[number];

/** What each subtype puts in doubt, one sentence for the reader. */
export const TAMPER_MEANING: Record<TamperSubtype, string> = {
  'digest-invalid':
    'The digest itself is invalid, so none of the log files it covers can be trusted until this is explained.',
  'digest-missing':
    'A digest in the chain is gone: the hour it covered can no longer be proven, and its log files may have been changed with it.',
  'chain-broken':
    "The digest chain is broken: a digest no longer matches what its successor recorded, so an earlier hour's files may have been replaced.",
  'log-overwritten':
    'A log file differs from what CloudTrail recorded for it: it was overwritten or changed after delivery.',
  'log-deleted': 'A log file CloudTrail delivered is gone: the events it held are lost to every later check.',
  'digest-deleted':
    'A digest CloudTrail delivered is gone: the hour it covered can no longer be proven, and deleting the newest digests hides tampering with the last hour.',
  'unlisted-log-file':
    'A log file appeared that no digest lists: CloudTrail did not write it, so its events may be forged.',
  'empty-object':
    'An empty object was written where CloudTrail writes log files or digests: a placeholder or an attempt to overwrite one.',
  'digest-overwritten':
    'A digest was written again with other content after CloudTrail delivered it: the proof for its hour was replaced.',
  'planted-object':
    'Objects named like CloudTrail deliveries that cannot be deliveries (empty, from the future, or a second file for a time already delivered): someone may be feeding the watchdog decoys to hide that deliveries stopped.',
};

export type TamperObjectSubtype = Exclude<
  TamperSubtype,
  'digest-invalid' | 'digest-missing' | 'chain-broken'
>;

export interface TamperObjectInput {
  topic: string;
  subtype: TamperObjectSubtype;
  bucket: string;
  key: string;
  account: string;
  region: string;
  /** When the change happened (the S3 event's time, or when it was found). */
  at?: string;
  /** Who made the change, when an S3 data event or notification says so. */
  principal?: string;
  /** More about what was found (sizes, the hash expected and found). */
  detail?: string;
  severity?: Severity;
  /** Further objects of the same finding in the same place (many unlisted or planted files: one message). */
  others?: { key: string; detail?: string }[];
}

/** Objects named in one message's text; the data keeps them all. */
const OTHERS_IN_TEXT = 20;

const TITLES: Record<TamperObjectSubtype, string> = {
  'log-overwritten': 'CloudTrail log file overwritten',
  'log-deleted': 'CloudTrail log file deleted',
  'digest-deleted': 'CloudTrail digest deleted',
  'unlisted-log-file': 'Log file no digest lists',
  'empty-object': 'Empty object in the trail bucket',
  'digest-overwritten': 'CloudTrail digest overwritten',
  'planted-object': 'Objects planted among CloudTrail deliveries',
};

/** One alert per tampered object: what happened to which file, by whom when known, and what it means. */
export function tamperObjectAlert(input: TamperObjectInput): Notification {
  const others = input.others ?? [];
  const uri = `s3://${input.bucket}/${input.key}`;
  const text = [
    TAMPER_MEANING[input.subtype],
    '',
    `Object:    ${uri}`,
    `When:      ${input.at ?? 'unknown'}`,
    `Who:       ${input.principal ?? 'not recorded (enable S3 data events on the trail bucket to know)'}`,
    ...(input.detail ? [`Detail:    ${input.detail}`] : []),
    ...(others.length > 0
      ? [
          `And ${others.length} more in the same place:`,
          ...others
            .slice(0, OTHERS_IN_TEXT)
            .map((o) => `  s3://${input.bucket}/${o.key}${o.detail ? ` (${o.detail})` : ''}`),
          ...(others.length > OTHERS_IN_TEXT ? [`  ... ${others.length - OTHERS_IN_TEXT} more`] : []),
        ]
      : []),
    '',
    `Check: aws s3api list-object-versions --bucket ${input.bucket} --prefix ${input.key}`,
  ].join('\n');
  return buildAlert({
    topic: input.topic,
    severity: input.severity ?? 'HIGH',
    title: TITLES[input.subtype],
    ...(input.principal ? { subjectDetails: [`by ${input.principal.split('/').pop()}`] } : {}),
    account: input.account,
    region: input.region,
    kind: 'tamper',
    text,
    incidentKey: objectIncidentKey({ subtype: input.subtype, bucket: input.bucket, key: input.key }),
    decision:
      'Act now: find who changed the trail bucket, and treat the hour of logs this file covers as untrusted.',
    chat: {
      nextSteps: [
        `List the object's versions: \`aws s3api list-object-versions --bucket ${input.bucket} --prefix ${input.key}\``,
        'Check who can write to the trail bucket (bucket policy, IAM)',
      ],
      keywords: [input.subtype],
      relatedResources: [uri, ...(input.principal?.startsWith('arn:') ? [input.principal] : [])],
    },
    data: {
      tamper: {
        subtype: input.subtype,
        object: { bucket: input.bucket, key: input.key },
        at: input.at ?? null,
        principal: input.principal ?? null,
        detail: input.detail ?? null,
        ...(others.length > 0 ? { others } : {}),
      },
    },
    attributes: { check: input.subtype },
  });
}

/** A digest chain that was broken is whole again: a later digest links to a predecessor that checks out. */
export function chainRecoveredAlert(input: {
  topic: string;
  incidentKey: string;
  account: string;
  region: string;
  bucket: string;
  /** The digest whose valid link closes the incident. */
  digestKey: string;
  /** When the break was first found. */
  since: string;
}): Notification {
  return buildAlert({
    topic: input.topic,
    severity: 'LOW',
    title: 'CloudTrail digest chain whole again',
    account: input.account,
    region: input.region,
    kind: 'tamper',
    text: [
      `The digest chain for ${input.account} in ${input.region}, broken since ${input.since}, links again: s3://${input.bucket}/${input.digestKey} and its predecessor check out.`,
      'The hours reported as broken stay unproven: this closes the alerting, not the investigation.',
    ].join('\n'),
    incidentKey: input.incidentKey,
    resolves: input.incidentKey,
    decision: 'Resolved: the chain links again; the hours reported before stay unproven.',
    data: {
      tamper: {
        subtype: 'chain-broken',
        state: 'recovered',
        digest: { bucket: input.bucket, key: input.digestKey },
        since: input.since,
      },
    },
    attributes: { check: 'chain-broken', state: 'recovered' },
  });
}

export interface HealthAlertInput {
  topic: string;
  /** What is unwell, e.g. `rejected-files`, `outbox-backlog`, `dead-letters`. */
  check: string;
  /** Where: a function, a queue, an account and region. */
  scope: string;
  /** When the condition started (part of the incident key: a recovery names the same). */
  since: string;
  title: string;
  text: string;
  severity?: Severity;
  account?: string;
  region?: string;
  /** A recovery: the condition is over. */
  recovered?: boolean;
  nextSteps?: string[];
}

/** trailwatch's own health: a condition of the pipeline, and its recovery in the same incident. */
export function healthAlert(input: HealthAlertInput): Notification {
  const incidentKey = healthIncidentKey({ check: input.check, scope: input.scope, since: input.since });
  return buildAlert({
    topic: input.topic,
    severity: input.recovered ? 'LOW' : (input.severity ?? 'MEDIUM'),
    title: input.title,
    ...(input.account ? { account: input.account } : {}),
    ...(input.region ? { region: input.region } : {}),
    kind: 'health',
    text: input.text,
    incidentKey,
    ...(input.recovered ? { resolves: incidentKey } : {}),
    ...(input.recovered
      ? {}
      : { decision: 'Look today: trailwatch itself needs attention; alerts may be late until it is fixed.' }),
    chat: { nextSteps: input.nextSteps ?? [], keywords: [input.check] },
    data: {
      health: {
        check: input.check,
        scope: input.scope,
        since: input.since,
        state: input.recovered ? 'recovered' : 'open',
      },
    },
    attributes: { check: input.check, state: input.recovered ? 'recovered' : 'open' },
  });
}

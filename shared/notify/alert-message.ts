/**
 * The one envelope every trailwatch alert uses (rules, insights, tampering, the watchdog, health); its JSON
 * document is the published contract, schema/alert.schema.json (`trailwatch.alert/2`):
 *
 * - subject: `[SEVERITY] title details (account, region)`, printable ASCII, under 100 characters;
 * - `messageStructure: 'json'` with a body per subscriber protocol: the JSON document alone for machines
 *   (`sqs`, `lambda`, `email-json`, `http`, `https`, `firehose`), text for people (`email`: what happened and
 *   what to do in its first two lines), one line under 140 characters for `sms`, and `default` (the text,
 *   then the JSON between {@link JSON_BEGIN} / {@link JSON_END} lines) for any other;
 * - every alert names its incident (`incidentKey`, stable across the incident's messages) and a resolution
 *   names the incident it closes (`resolves`);
 * - `chat`: the AWS Chatbot custom notification for the chat topic, threaded by incident;
 * - String message attributes `severity`, `kind`, `account`, `region`, `incident` (plus e.g. `rule`) for
 *   subscription filter policies;
 * - the whole publish (message, subject, attributes) under SNS's 256 KiB limit, measured in UTF-8 bytes;
 *   text and data shrink with a visible note when they would not fit.
 */
import type { Notification } from '#shared/ports.ts';
import type { Severity } from '#shared/rules/rule-types.ts';
import { chatNotification } from './chat-message.ts';

export const ALERT_SCHEMA = 'trailwatch.alert/2';
/** Where the published JSON Schema of {@link ALERT_SCHEMA} lives (its `$id`). */
export const ALERT_SCHEMA_ID = 'https://trailwatch.dev/schema/alert.schema.json';
/** Subscriber protocols that receive the JSON document alone. */
export const JSON_PROTOCOLS = ['sqs', 'lambda', 'email-json', 'http', 'https', 'firehose'] as const;
export const MAX_SMS_LENGTH = 139;
export const SNS_MAX_BYTES = 256 * 1024;
/** Room kept for the publish request's own framing. */
const HEADROOM_BYTES = 2048;
export const MAX_SUBJECT_LENGTH = 99;
export const JSON_BEGIN = '-----BEGIN TRAILWATCH ALERT JSON-----';
export const JSON_END = '-----END TRAILWATCH ALERT JSON-----';

export interface AlertInput {
  topic: string;
  severity: Severity;
  /** Headline, e.g. the rule title "Console sign-in without MFA". */
  title: string;
  /** Optional subject suffixes after the title (e.g. `: 3 events`, `by alice`), dropped last-first when too long. */
  subjectDetails?: string[];
  account?: string;
  region?: string;
  kind: AlertKind;
  /** Readable body (email, chat), after the two lines buildAlert puts first (subject and decision). */
  text: string;
  /** The incident this message belongs to (see incident.ts). */
  incidentKey: string;
  /** For a resolution: the incident it closes (usually its own incidentKey). */
  resolves?: string;
  /** What the reader should do, one line (default: from the severity, or "Resolved" for a resolution). */
  decision?: string;
  /** For the chat message: next steps (markdown), keywords, and ARNs or S3 URIs custom actions can use. */
  chat?: { nextSteps?: string[]; keywords?: string[]; relatedResources?: string[] };
  /** Structured details; the envelope adds schema, kind, severity, title, account and region. */
  data: Record<string, unknown>;
  /** More String message attributes (e.g. `rule`). Empty values are left out (SNS rejects them). */
  attributes?: Record<string, string>;
  /** Override the size limit (tests). */
  maxBytes?: number;
}

export type AlertKind = 'rule' | 'insight' | 'tamper' | 'watchdog' | 'health';

const DECISIONS: Record<Severity, string> = {
  CRITICAL:
    'Act now: confirm with whoever did this that it was intended; if nobody can, treat it as an incident.',
  HIGH: 'Act within the hour: confirm this was expected, or start the runbook.',
  MEDIUM: 'Look today: confirm this was expected.',
  LOW: 'For information: no action unless this was unexpected.',
};

export function decisionFor(severity: Severity, resolves?: string): string {
  return resolves
    ? 'Resolved: no action needed; the thread of this incident can be closed.'
    : DECISIONS[severity];
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Cuts a string to at most `maxBytes` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, maxBytes: number): string {
  if (utf8Bytes(s) <= maxBytes) return s;
  const buf = Buffer.from(s, 'utf8');
  let end = Math.max(0, maxBytes);
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString('utf8');
}

function ascii(s: string): string {
  return s
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
}

/** `[HIGH] title details (account, region)`: printable ASCII, at most 99 characters. */
export function formatSubject(
  severity: string,
  title: string,
  details: string[],
  account?: string,
  region?: string,
): string {
  const where = [account, region].filter((x): x is string => !!x).map(ascii);
  const tail = where.length ? ` (${where.join(', ')})` : '';
  const head = `[${ascii(severity)}] `;
  const cleanTitle = ascii(title) || 'trailwatch alert';
  const parts = details
    .map(ascii)
    .filter((d) => d !== '')
    .map((d) => (d.startsWith(':') ? d : ` ${d}`));
  const shortTail = where.length ? ` (${where[0]})` : '';
  // Who did it matters more on a phone than the region: drop the region before dropping a detail.
  for (let n = parts.length; n >= 0; n--) {
    for (const t of n > 0 ? [tail, shortTail] : [tail]) {
      const s = `${head}${cleanTitle}${parts.slice(0, n).join('')}${t}`;
      if (s.length <= MAX_SUBJECT_LENGTH) return s;
    }
    // A long caller name (an SSO role, a session) still names who it is by its start: cut it rather than drop it.
    if (n > 0) {
      const before = `${head}${cleanTitle}${parts.slice(0, n - 1).join('')}`;
      const room = MAX_SUBJECT_LENGTH - before.length - shortTail.length;
      if (room >= 16) return `${before}${parts[n - 1].slice(0, room - 3).trimEnd()}...${shortTail}`;
    }
  }
  const room = MAX_SUBJECT_LENGTH - head.length - shortTail.length;
  const t = cleanTitle.length <= room ? cleanTitle : `${cleanTitle.slice(0, Math.max(0, room - 3))}...`;
  return `${head}${t}${shortTail}`.slice(0, MAX_SUBJECT_LENGTH);
}

function truncateText(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const note = `\n\n[Message truncated to fit the SNS size limit: ${utf8Bytes(text)} bytes of text were cut to about ${maxBytes}. The structured JSON and the source log file hold the details.]`;
  return truncateUtf8(text, Math.max(0, maxBytes - utf8Bytes(note))) + note;
}

/**
 * Shrinks structured data below `maxBytes` of JSON: halves the largest top-level array until it fits,
 * then keeps only short scalar fields. Sets `truncated: true` when anything was dropped.
 */
export function fitData(data: Record<string, unknown>, maxBytes: number): Record<string, unknown> {
  let d = data;
  for (let round = 0; round < 64; round++) {
    if (utf8Bytes(JSON.stringify(d)) <= maxBytes) return d;
    let largest: string | undefined;
    let largestSize = 0;
    for (const [k, v] of Object.entries(d)) {
      if (!Array.isArray(v) || v.length === 0) continue;
      const size = utf8Bytes(JSON.stringify(v));
      if (size > largestSize) {
        largest = k;
        largestSize = size;
      }
    }
    if (largest === undefined) break;
    const arr = d[largest] as unknown[];
    d = { ...d, [largest]: arr.slice(0, Math.floor(arr.length / 2)), truncated: true };
  }
  // Small values (scalars, and objects such as the rule or the place a gap is in) are what consumers key on.
  const small: Record<string, unknown> = { truncated: true };
  for (const [k, v] of Object.entries(d)) {
    if (typeof v === 'number' || typeof v === 'boolean') small[k] = v;
    else if (typeof v === 'string') small[k] = truncateUtf8(v, 512);
    else if (v !== null && typeof v === 'object' && utf8Bytes(JSON.stringify(v)) <= 2048) small[k] = v;
  }
  small.truncated = true;
  if (utf8Bytes(JSON.stringify(small)) <= maxBytes) return small;
  const envelope: Record<string, unknown> = {};
  for (const k of ENVELOPE_FIELDS) if (k in data) envelope[k] = data[k];
  return { ...envelope, truncated: true };
}

const ENVELOPE_FIELDS = [
  'schema',
  'kind',
  'severity',
  'title',
  'account',
  'region',
  'incidentKey',
  'resolves',
  'decision',
] as const;

function attributeBytes(attrs: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(attrs)) n += utf8Bytes(k) + utf8Bytes('String') + utf8Bytes(v);
  return n;
}

/** Text and data byte caps, tried in order until the whole publish fits. */
const TIERS: [number, number][] = [
  [32_000, 24_000],
  [16_000, 16_000],
  [8_000, 8_000],
  [4_000, 4_000],
  [1_000, 1_000],
];

function smsLine(subject: string, decision: string): string {
  const verb = decision.split(':')[0];
  const line = `trailwatch ${subject} - ${verb}`;
  return line.length <= MAX_SMS_LENGTH ? line : subject.slice(0, MAX_SMS_LENGTH);
}

export function buildAlert(input: AlertInput): Notification {
  const account = input.account || 'unknown';
  const region = input.region || 'unknown';
  const subject = formatSubject(
    input.severity,
    input.title,
    input.subjectDetails ?? [],
    input.account,
    input.region,
  );
  const decision = input.decision ?? decisionFor(input.severity, input.resolves);
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries({
    ...input.attributes,
    severity: input.severity,
    kind: input.kind,
    account,
    region,
    incident: input.incidentKey,
    ...(input.resolves ? { resolves: input.resolves } : {}),
  })) {
    if (typeof v === 'string' && v !== '') attributes[k] = truncateUtf8(v, 1024);
  }
  const data: Record<string, unknown> = {
    schema: ALERT_SCHEMA,
    kind: input.kind,
    severity: input.severity,
    title: input.title,
    account,
    region,
    incidentKey: input.incidentKey,
    ...(input.resolves ? { resolves: input.resolves } : {}),
    decision,
    ...input.data,
  };
  // The decision comes first: a phone's preview shows two lines.
  const fullText = `${subject}\n${decision}\n\n${input.text}`;
  const limit =
    (input.maxBytes ?? SNS_MAX_BYTES) - HEADROOM_BYTES - utf8Bytes(subject) - attributeBytes(attributes);
  let message = '';
  let text = fullText;
  for (const [textCap, dataCap] of TIERS) {
    text = truncateText(fullText, textCap);
    const json = JSON.stringify(fitData(data, dataCap));
    const variants: Record<string, string> = {
      default: `${text}\n\n${JSON_BEGIN}\n${json}\n${JSON_END}\n`,
      email: text,
      sms: smsLine(subject, decision),
    };
    for (const protocol of JSON_PROTOCOLS) variants[protocol] = json;
    message = JSON.stringify(variants);
    if (utf8Bytes(message) <= limit) break;
  }
  const chat = chatNotification({
    severity: input.severity,
    kind: input.kind,
    subject,
    decision,
    incidentKey: input.incidentKey,
    ...(input.resolves ? { resolves: input.resolves } : {}),
    text: truncateText(input.text, 6_000),
    nextSteps: input.chat?.nextSteps ?? [],
    keywords: [input.severity, input.kind, account, region, ...(input.chat?.keywords ?? [])],
    relatedResources: input.chat?.relatedResources ?? [],
    context: { incidentKey: input.incidentKey, account, region, severity: input.severity },
  });
  return {
    topic: input.topic,
    subject,
    message,
    messageStructure: 'json',
    attributes,
    chat: JSON.stringify(chat),
  };
}

/** The structured JSON of an alert, from a published message (any variant) or its default text. */
export function alertData(message: string): Record<string, unknown> | undefined {
  try {
    const variants = JSON.parse(message) as Record<string, string>;
    if (typeof variants.sqs === 'string') return JSON.parse(variants.sqs);
    message = variants.default ?? message;
  } catch {
    // not the JSON envelope: maybe the default text itself
  }
  const start = message.indexOf(JSON_BEGIN);
  const end = message.indexOf(JSON_END);
  if (start < 0 || end < start) return undefined;
  try {
    return JSON.parse(message.slice(start + JSON_BEGIN.length, end));
  } catch {
    return undefined;
  }
}

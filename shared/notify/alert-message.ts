/**
 * The one envelope every trailwatch alert uses (rules, digest tampering, insights, watchdog):
 *
 * - subject: `[SEVERITY] title details (account, region)`, printable ASCII, under 100 characters;
 * - `messageStructure: 'json'` with per-protocol variants: `default` (readable text, then the structured
 *   JSON between {@link JSON_BEGIN} / {@link JSON_END} lines), `email` (the readable text only) and
 *   `sqs` / `lambda` (the structured JSON only, for machines);
 * - String message attributes `severity`, `kind`, `account`, `region` (plus e.g. `rule`) for
 *   subscription filter policies;
 * - the whole publish (message, subject, attributes) under SNS's 256 KiB limit, measured in UTF-8 bytes;
 *   text and data shrink with a visible note when they would not fit.
 */
import type { Notification } from '#shared/ports.ts';
import type { Severity } from '#shared/rules/rule-types.ts';

export const ALERT_SCHEMA = 'trailwatch.alert/1';
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
  /** `rule`, `digest`, `insight`, `watchdog`, ... */
  kind: string;
  /** Readable body (email, chat). */
  text: string;
  /** Structured details; the envelope adds schema, kind, severity, title, account and region. */
  data: Record<string, unknown>;
  /** More String message attributes (e.g. `rule`). Empty values are left out (SNS rejects them). */
  attributes?: Record<string, string>;
  /** Override the size limit (tests). */
  maxBytes?: number;
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
  const scalars: Record<string, unknown> = { truncated: true };
  for (const [k, v] of Object.entries(d)) {
    if (typeof v === 'number' || typeof v === 'boolean') scalars[k] = v;
    else if (typeof v === 'string') scalars[k] = truncateUtf8(v, 512);
  }
  scalars.truncated = true;
  if (utf8Bytes(JSON.stringify(scalars)) <= maxBytes) return scalars;
  return { schema: data.schema, kind: data.kind, truncated: true };
}

function attributeBytes(attrs: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(attrs)) n += utf8Bytes(k) + utf8Bytes('String') + utf8Bytes(v);
  return n;
}

/** Text and data byte caps, tried in order until the whole publish fits. */
const TIERS: [number, number][] = [
  [40_000, 48_000],
  [24_000, 32_000],
  [12_000, 16_000],
  [4_000, 4_000],
  [1_000, 1_000],
];

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
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries({
    ...input.attributes,
    severity: input.severity,
    kind: input.kind,
    account,
    region,
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
    ...input.data,
  };
  const limit =
    (input.maxBytes ?? SNS_MAX_BYTES) - HEADROOM_BYTES - utf8Bytes(subject) - attributeBytes(attributes);
  let message = '';
  for (const [textCap, dataCap] of TIERS) {
    const text = truncateText(input.text, textCap);
    const json = JSON.stringify(fitData(data, dataCap));
    message = JSON.stringify({
      default: `${text}\n\n${JSON_BEGIN}\n${json}\n${JSON_END}\n`,
      email: text,
      sqs: json,
      lambda: json,
    });
    if (utf8Bytes(message) <= limit) break;
  }
  return { topic: input.topic, subject, message, messageStructure: 'json', attributes };
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

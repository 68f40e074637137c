/**
 * What each kind of subscriber receives for the alerts a replay wrote to notifications.jsonl (one SNS publish
 * per line): the e-mail (subject and text), the SMS line, the chat message AWS Chatbot renders, and the JSON
 * document machines read (sqs, lambda, email-json, http, https, firehose).
 */
import { JSON_PROTOCOLS } from '#shared/notify/alert-message.ts';
import type { Notification } from '#shared/ports.ts';

export const VIEW_FORMATS = ['email', 'chat', 'json', 'sms'] as const;
export type ViewFormat = (typeof VIEW_FORMATS)[number];

export interface ParsedLines {
  notifications: Notification[];
  /** Lines that are not an SNS publish trailwatch wrote, with what was wrong: reported, never fatal. */
  problems: { line: number; problem: string }[];
}

/** Reads notifications.jsonl text; a bad line is reported by number and skipped. */
export function parseNotificationLines(text: string): ParsedLines {
  const notifications: Notification[] = [];
  const problems: ParsedLines['problems'] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      problems.push({ line: i + 1, problem: `not JSON (${(err as Error).message})` });
      return;
    }
    const n = value as Partial<Notification>;
    if (typeof n?.subject !== 'string' || typeof n.message !== 'string' || typeof n.attributes !== 'object') {
      problems.push({ line: i + 1, problem: 'expected an SNS publish with subject, message and attributes' });
      return;
    }
    notifications.push(n as Notification);
  });
  return { notifications, problems };
}

function variantsOf(n: Notification): Record<string, string> {
  if (n.messageStructure !== 'json') return { default: n.message };
  try {
    return JSON.parse(n.message) as Record<string, string>;
  } catch {
    return { default: n.message };
  }
}

function pretty(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

/** One subscriber's view of one alert. Undefined: the message has no body for it (an older file). */
export function viewOf(n: Notification, format: ViewFormat): string | undefined {
  const v = variantsOf(n);
  switch (format) {
    case 'email':
      return `Subject: ${n.subject}\n\n${v.email ?? v.default}`;
    case 'sms':
      return v.sms ?? v.default?.split('\n')[0];
    case 'json':
      return v.sqs;
    case 'chat':
      return pretty(n.chat);
  }
}

/** Every view of every alert (no format), or one view per alert, as printed by `alerts show`. */
export function renderViews(notifications: Notification[], format?: ViewFormat): string {
  if (format === 'json' || format === 'sms') {
    // One line per alert: ready for jq, or as a phone shows it.
    return notifications.map((n) => viewOf(n, format) ?? '').join('\n');
  }
  const rule = (title: string) => `--- ${title} ${'-'.repeat(Math.max(3, 76 - title.length))}`;
  const blocks = notifications.map((n, i) => {
    const head = `=== ${i + 1}/${notifications.length} ${n.subject}`;
    if (format) return [head, viewOf(n, format) ?? `(no ${format} body in this message)`].join('\n');
    return [
      head,
      rule('email'),
      viewOf(n, 'email'),
      rule('sms'),
      viewOf(n, 'sms') ?? '(none)',
      rule('chat: AWS Chatbot custom notification, chat topic'),
      viewOf(n, 'chat') ?? '(none: written before chat notifications)',
      rule(`json: ${JSON_PROTOCOLS.join(', ')}`),
      pretty(viewOf(n, 'json')) ?? '(none)',
    ].join('\n');
  });
  return blocks.join('\n\n');
}

/**
 * The message a chat channel receives through AWS Chatbot (Amazon Q Developer in chat applications). Chatbot
 * drops SNS messages that are neither CloudWatch alarms nor its custom notification event, so the chat topic
 * carries that event alone: `version` "1.0", `source` "custom", `content` (markdown title, description, next
 * steps, keywords) and `metadata` (thread id, summary, event type, related resources, additional context).
 *
 * Structure from https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html ("Event schema",
 * "Parameter details"); `eventType` and `relatedResources` feed custom action buttons, whose notification type
 * and variable values are constrained as in
 * https://docs.aws.amazon.com/chatbot/latest/APIReference/API_CustomActionAttachment.html. The length caps
 * below are what trailwatch keeps to (schema/chatbot-custom-notification.schema.json checks them in tests).
 */
import { threadIdOf } from '#shared/notify/incident.ts';

export const CHAT_LIMITS = {
  title: 250,
  description: 8000,
  nextSteps: 10,
  nextStep: 350,
  keywords: 10,
  keyword: 75,
  summary: 250,
  /** CustomActionAttachment NotificationType: 1-100 of [a-zA-Z0-9-]. */
  eventType: 100,
  relatedResources: 10,
  /** CustomActionAttachment variable values: at most 1024 of [\x21-\x7F]. */
  relatedResource: 1024,
  additionalContext: 10,
  contextValue: 1024,
} as const;

export interface ChatNotification {
  version: '1.0';
  source: 'custom';
  id: string;
  content: {
    textType: 'client-markdown';
    title: string;
    description: string;
    nextSteps: string[];
    keywords: string[];
  };
  metadata: {
    threadId: string;
    summary: string;
    eventType: string;
    relatedResources: string[];
    additionalContext: Record<string, string>;
  };
}

export interface ChatInput {
  severity: string;
  kind: string;
  /** `[SEVERITY] title details (account, region)`. */
  subject: string;
  decision: string;
  incidentKey: string;
  resolves?: string;
  /** Readable text of the alert (the e-mail body), shown as a preformatted block. */
  text: string;
  nextSteps?: string[];
  keywords?: string[];
  relatedResources?: string[];
  context: Record<string, string>;
}

const ICON: Record<string, string> = {
  CRITICAL: ':rotating_light:',
  HIGH: ':red_circle:',
  MEDIUM: ':large_orange_diamond:',
  LOW: ':information_source:',
};

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 3))}...`;
}

/** Values custom actions can read: printable ASCII without spaces. */
function actionValue(s: string): string {
  return s.replace(/[^\x21-\x7e]/g, '_').slice(0, CHAT_LIMITS.relatedResource);
}

function unique(list: string[]): string[] {
  return [...new Set(list.filter((x) => x !== ''))];
}

export function chatNotification(input: ChatInput): ChatNotification {
  const icon = input.resolves ? ':white_check_mark:' : (ICON[input.severity] ?? ':bell:');
  // A code fence inside the text would end the block early: the text is shown as it is, minus fences.
  const fence = '```';
  const head = `*${input.decision.replace(/\*/g, '')}*\n\n`;
  const room = CHAT_LIMITS.description - head.length - 2 * (fence.length + 1) - 40;
  const body = input.text.replace(/```/g, "'''");
  const shown = body.length <= room ? body : `${body.slice(0, room)}\n[... cut; the e-mail has the rest]`;
  return {
    version: '1.0',
    source: 'custom',
    id: cut(`${input.incidentKey}${input.resolves ? ':resolved' : ''}`, 256),
    content: {
      textType: 'client-markdown',
      title: cut(`${icon} ${input.subject}`, CHAT_LIMITS.title),
      description: `${head}${fence}\n${shown}\n${fence}`,
      nextSteps: unique(input.nextSteps ?? [])
        .slice(0, CHAT_LIMITS.nextSteps)
        .map((s) => cut(s, CHAT_LIMITS.nextStep)),
      keywords: unique(input.keywords ?? [])
        .slice(0, CHAT_LIMITS.keywords)
        .map((k) => cut(k, CHAT_LIMITS.keyword)),
    },
    metadata: {
      // The thread is the incident's: a resolution names the incident it closes, so it lands in its thread.
      threadId: threadIdOf(input.resolves ?? input.incidentKey),
      summary: cut(input.subject, CHAT_LIMITS.summary),
      eventType: `trailwatch-${input.kind}`.replace(/[^a-zA-Z0-9-]/g, '-').slice(0, CHAT_LIMITS.eventType),
      relatedResources: unique((input.relatedResources ?? []).map(actionValue)).slice(
        0,
        CHAT_LIMITS.relatedResources,
      ),
      additionalContext: Object.fromEntries(
        Object.entries(input.context)
          .filter(([, v]) => v !== '')
          .slice(0, CHAT_LIMITS.additionalContext)
          .map(([k, v]) => [k, cut(v, CHAT_LIMITS.contextValue)]),
      ),
    },
  };
}

export {
  ALERT_SCHEMA,
  type AlertInput,
  alertData,
  buildAlert,
  formatSubject,
  JSON_BEGIN,
  JSON_END,
  SNS_MAX_BYTES,
  truncateUtf8,
  utf8Bytes,
} from '#shared/notify/alert.ts';
export { describeEvent, type EventSummary, summarizeEvent } from '#shared/notify/describe.ts';
export {
  buildRuleNotification,
  buildRuleNotifications,
  type RuleNotificationContext,
} from '#shared/notify/rules.ts';

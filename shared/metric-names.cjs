'use strict';
/**
 * Every metric trailwatch publishes, by name, and how rules and their alarms are named: the one list that
 * the functions (TypeScript, through metric-names.d.cts), the alarm generators and the dashboard in deploy/
 * all read. Plain CommonJS so that osls can require it while it builds the template.
 */

/** Namespace when the `metricsNamespace` parameter (POWERTOOLS_METRICS_NAMESPACE) is not set. */
exports.DEFAULT_NAMESPACE = 'Trailwatch';
/** Powertools adds `service` as a dimension to every metric; the alarms select on it. */
exports.SERVICE = 'trailwatch';

exports.METRIC = Object.freeze({
  // ingest
  InvalidEvents: 'InvalidEvents',
  IgnoredObjects: 'IgnoredObjects',
  SkippedObjects: 'SkippedObjects',
  DuplicateDeliveries: 'DuplicateDeliveries',
  DigestsDispatched: 'DigestsDispatched',
  ProcessingFailures: 'ProcessingFailures',
  FilesIngested: 'FilesIngested',
  Records: 'Records',
  UncompressedBytes: 'UncompressedBytes',
  BadRecords: 'BadRecords',
  DeliveryLagSeconds: 'DeliveryLagSeconds',
  RejectedFiles: 'RejectedFiles',
  RuleAlerts: 'RuleAlerts',
  RuleAlertsThrottled: 'RuleAlertsThrottled',
  OversizedRecords: 'OversizedRecords',
  EventTimesOutOfRange: 'EventTimesOutOfRange',
  TamperAlerts: 'TamperAlerts',
  /** Rule matches an exception silenced; published with a `rule` dimension (the rule id). */
  RuleMatchesSuppressed: 'RuleMatchesSuppressed',
  // verify
  DigestsValid: 'DigestsValid',
  DigestsInvalid: 'DigestsInvalid',
  LogFilesValid: 'LogFilesValid',
  LogFilesInvalid: 'LogFilesInvalid',
  LogFilesMissing: 'LogFilesMissing',
  LogFilesVerified: 'LogFilesVerified',
  // detection (ingest and the scheduled detect)
  InsightsStarted: 'InsightsStarted',
  InsightsEnded: 'InsightsEnded',
  InsightsOpen: 'InsightsOpen',
  // watchdog
  DigestsOverdue: 'DigestsOverdue',
  SilentLogPlaces: 'SilentLogPlaces',
  PlacesWatched: 'PlacesWatched',
  UnlistedLogFiles: 'UnlistedLogFiles',
  PlantedObjects: 'PlantedObjects',
  TrailBucketUnversioned: 'TrailBucketUnversioned',
  TrailBucketWithoutObjectLock: 'TrailBucketWithoutObjectLock',
  /** Accounts none of whose watched regions delivered a log file within the silence threshold. */
  SilentAccounts: 'SilentAccounts',
});

/** The metric a rule without `metricName` publishes to. */
exports.defaultMetricName = (ruleId) => `Custom_${ruleId.replace(/[^A-Za-z0-9]/g, '_')}`;

/** CloudFormation logical id of a rule's alarm (alphanumeric). */
exports.alarmLogicalId = (metricName) => `RuleAlarm${metricName.replace(/[^A-Za-z0-9]/g, '')}`;

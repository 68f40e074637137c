'use strict';
/**
 * The pipeline's own health, as CloudFormation for serverless.yml: alarms that page when trailwatch itself
 * is unwell (errors, throttles, dead letters, a trail that stopped delivering) and one dashboard.
 *
 *   resources:
 *     - Resources: ${file(./deploy/health-alarms.cjs):resources}
 *
 * Plain CommonJS so that osls can require it. Settings under `custom.trailwatch`: metricNamespace,
 * alertTopic, noIngestMinutes, healthFunctions (defaults in alarm.cjs).
 */
const catalog = require('#shared/rules/catalog.json');
const customRules = require('#shared/rules/custom-rules.json');
const names = require('#shared/metric-names.cjs');
const { alarm, customOf, dimensionList, settingsOf } = require('./alarm.cjs');

const { METRIC } = names;

function healthResources({ namespace, dimensions, healthTopic, noIngestMinutes, functions }) {
  const service = dimensionList(dimensions);
  // Every health alarm goes to the health topic, whose KMS key is not the alerts topic's.
  const health = (description, fields) =>
    alarm({
      topic: healthTopic,
      description: `${description} See README: Operations.`,
      ActionsEnabled: true,
      ...fields,
    });
  const out = {};
  for (const fn of functions) {
    const byFunction = [{ Name: 'FunctionName', Value: { Ref: `${fn}LambdaFunction` } }];
    const name = fn.toLowerCase();
    out[`Health${fn}Errors`] = health(
      `trailwatch ${name} failed (after retries the event goes to the dead-letter queue).`,
      { namespace: 'AWS/Lambda', metric: 'Errors', dimensions: byFunction },
    );
    out[`Health${fn}Throttles`] = health(
      `trailwatch ${name} is being throttled: raise its concurrency or the account limit.`,
      { namespace: 'AWS/Lambda', metric: 'Throttles', dimensions: byFunction },
    );
  }
  out.HealthDeadLetters = health(
    'Events failed every retry and wait in the trailwatch dead-letter queue: nothing was dropped, but nothing will happen until they are redriven.',
    {
      namespace: 'AWS/SQS',
      metric: 'ApproximateNumberOfMessagesVisible',
      dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }],
      statistic: 'Maximum',
    },
  );
  const periods = Math.max(1, Math.round(noIngestMinutes / 5));
  out.HealthNoLogFilesIngested = health(
    `No CloudTrail log file ingested for ${noIngestMinutes} minutes: the trail may be stopped, or delivery or trailwatch broken. Missing data counts as breaching.`,
    {
      namespace,
      metric: METRIC.FilesIngested,
      dimensions: service,
      EvaluationPeriods: periods,
      DatapointsToAlarm: periods,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    },
  );
  // Counters the pipeline adds to as it goes (any in five minutes pages), and gauges the watchdog
  // publishes every run (the worst value in five minutes).
  const counted = {
    HealthRejectedFiles: [
      METRIC.RejectedFiles,
      'A delivered CloudTrail log file could not be read (corrupt, truncated, over the size caps). The verdict is under rejected/ in the state bucket.',
    ],
    HealthInvalidDigests: [
      METRIC.DigestsInvalid,
      'A CloudTrail digest or log file failed integrity validation. The SNS alert names the files.',
    ],
    HealthBadRecords: [
      METRIC.BadRecords,
      'Records in delivered log files could not be used (not JSON, missing fields). CloudTrail writes none: look at the file named in the ingest log.',
    ],
    HealthOversizedRecords: [
      METRIC.OversizedRecords,
      'A record over the record size cap was skipped (TRAILWATCH_MAX_RECORD_BYTES): rules did not see it.',
    ],
    HealthTamperAlerts: [
      METRIC.TamperAlerts,
      'A CloudTrail file in the trail bucket was rewritten, deleted or planted empty. The alerts topic has the details; this alarm reaches you even if that topic cannot.',
    ],
  };
  const gauges = {
    HealthDigestsOverdue: [
      METRIC.DigestsOverdue,
      'A CloudTrail digest is overdue in some account and region (stopped trail, or the newest digests deleted).',
    ],
    HealthSilentLogPlaces: [
      METRIC.SilentLogPlaces,
      'Some account and region that delivered log files this week has been silent past the threshold.',
    ],
    // Per-account silence without a metric per account: the watchdog judges each account against its own
    // recent deliveries and counts the accounts whose every region is silent. One quiet account trips it,
    // however busy the others are (the sum of FilesIngested above cannot tell).
    HealthSilentAccounts: [
      METRIC.SilentAccounts,
      'An account of the trail delivered no log file in any region past the silence threshold.',
    ],
    HealthUnlistedLogFiles: [
      METRIC.UnlistedLogFiles,
      'Log files that no valid digest lists two hours after delivery: not written by CloudTrail, or their digest is gone.',
    ],
    HealthPlantedObjects: [
      METRIC.PlantedObjects,
      'Objects named like CloudTrail deliveries that cannot be deliveries were found in the trail bucket.',
    ],
    HealthTrailBucketUnversioned: [
      METRIC.TrailBucketUnversioned,
      'The trail bucket does not keep object versions: a rewritten log file cannot be read back. Turn on versioning (and Object Lock).',
    ],
  };
  for (const [id, [metric, description]] of Object.entries(counted))
    out[id] = health(description, { namespace, metric, dimensions: service });
  for (const [id, [metric, description]] of Object.entries(gauges))
    out[id] = health(description, { namespace, metric, dimensions: service, statistic: 'Maximum' });
  return out;
}

function dashboardBody({ namespace, dimensions, functions }) {
  const dims = Object.entries(dimensions).flatMap(([k, v]) => [k, String(v)]);
  const metric = (name, stat = 'Sum', label = name) => [namespace, name, ...dims, { stat, label }];
  const rules = [...catalog, ...customRules].map((r) =>
    metric(r.metricName || names.defaultMetricName(r.id), 'Sum', r.id),
  );
  const widget = (title, metrics, x, y, extra = {}) => ({
    type: 'metric',
    x,
    y,
    width: 12,
    height: 6,
    properties: {
      title,
      metrics,
      period: 300,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript
      region: '${AWS::Region}',
      view: 'timeSeries',
      stacked: false,
      ...extra,
    },
  });
  const fnMetrics = (name) =>
    functions.map((fn) => [
      'AWS/Lambda',
      name,
      'FunctionName',
      `\${${fn}LambdaFunction}`,
      { stat: 'Sum', label: fn },
    ]);
  return {
    widgets: [
      widget(
        'Log files ingested, rejected, duplicate',
        [metric(METRIC.FilesIngested), metric(METRIC.RejectedFiles), metric(METRIC.DuplicateDeliveries)],
        0,
        0,
      ),
      widget('Records and unusable records', [metric(METRIC.Records), metric(METRIC.BadRecords)], 12, 0),
      widget(
        'Delivery lag (s): eventTime to delivery',
        [
          metric(METRIC.DeliveryLagSeconds, 'Maximum', 'max'),
          metric(METRIC.DeliveryLagSeconds, 'Average', 'avg'),
        ],
        0,
        6,
      ),
      widget('Rule hits', rules, 12, 6, { stacked: true }),
      widget(
        'Digest verdicts',
        [
          metric(METRIC.DigestsValid),
          metric(METRIC.DigestsInvalid),
          metric(METRIC.LogFilesInvalid),
          metric(METRIC.LogFilesMissing),
        ],
        0,
        12,
      ),
      widget(
        'Open insights and watchdog',
        [
          metric(METRIC.InsightsOpen, 'Maximum'),
          metric(METRIC.InsightsStarted),
          metric(METRIC.DigestsOverdue, 'Maximum'),
          metric(METRIC.SilentLogPlaces, 'Maximum'),
        ],
        12,
        12,
      ),
      widget('Function errors', fnMetrics('Errors'), 0, 18),
      widget('Function throttles', fnMetrics('Throttles'), 12, 18),
    ],
  };
}

async function resources(args = {}) {
  const s = settingsOf(await customOf(args), names);
  return {
    ...healthResources(s),
    Dashboard: {
      Type: 'AWS::CloudWatch::Dashboard',
      Properties: {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript
        DashboardName: { 'Fn::Sub': '${AWS::StackName}' },
        // Fn::Sub fills in the region and function names inside the JSON body.
        DashboardBody: { 'Fn::Sub': JSON.stringify(dashboardBody(s)) },
      },
    },
  };
}

module.exports = { resources, healthResources, dashboardBody };

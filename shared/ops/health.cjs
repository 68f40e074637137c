'use strict';
/**
 * The pipeline's own health, as CloudFormation for serverless.yml: alarms that page when trailwatch itself
 * is unwell (errors, throttles, dead letters, a trail that stopped delivering) and one dashboard.
 *
 *   resources:
 *     - Resources: ${file(./shared/ops/health.cjs):resources}
 *
 * Plain CommonJS so that osls can require it. Settings under `custom.trailwatch`: metricNamespace
 * (default Trailwatch), alertTopic (default AlertTopic), noIngestMinutes (default 60).
 */
const catalog = require('../rules/catalog.json');
const customRules = require('../rules/custom-rules.json');

const FUNCTIONS = ['Ingest', 'Verify', 'Watchdog', 'Detect'];

/**
 * An alarm on "at least one in five minutes" (what every health alarm but the silence one is), wired to
 * the alerts topic for ALARM and OK.
 */
function alarm(topic, { description, namespace, metric, dimensions, statistic = 'Sum', ...rest }) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      ActionsEnabled: true,
      AlarmActions: [{ Ref: topic }],
      OKActions: [{ Ref: topic }],
      AlarmDescription: `${description} See README: Operations.`,
      Namespace: namespace,
      MetricName: metric,
      Dimensions: dimensions,
      Statistic: statistic,
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      ...rest,
    },
  };
}

function healthResources({ namespace, topic, noIngestMinutes, functions }) {
  const service = [{ Name: 'service', Value: 'trailwatch' }];
  const out = {};
  for (const fn of functions) {
    const dimensions = [{ Name: 'FunctionName', Value: { Ref: `${fn}LambdaFunction` } }];
    const name = fn.toLowerCase();
    out[`Health${fn}Errors`] = alarm(topic, {
      description: `trailwatch ${name} failed (after retries the event goes to the dead-letter queue).`,
      namespace: 'AWS/Lambda',
      metric: 'Errors',
      dimensions,
    });
    out[`Health${fn}Throttles`] = alarm(topic, {
      description: `trailwatch ${name} is being throttled: raise its concurrency or the account limit.`,
      namespace: 'AWS/Lambda',
      metric: 'Throttles',
      dimensions,
    });
  }
  out.HealthDeadLetters = alarm(topic, {
    description:
      'Events failed every retry and wait in the trailwatch dead-letter queue: nothing was dropped, but nothing will happen until they are redriven.',
    namespace: 'AWS/SQS',
    metric: 'ApproximateNumberOfMessagesVisible',
    dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': ['DeadLetterQueue', 'QueueName'] } }],
    statistic: 'Maximum',
  });
  const periods = Math.max(1, Math.round(noIngestMinutes / 5));
  out.HealthNoLogFilesIngested = alarm(topic, {
    description: `No CloudTrail log file ingested for ${noIngestMinutes} minutes: the trail may be stopped, or delivery or trailwatch broken. Missing data counts as breaching.`,
    namespace,
    metric: 'FilesIngested',
    dimensions: service,
    EvaluationPeriods: periods,
    DatapointsToAlarm: periods,
    ComparisonOperator: 'LessThanThreshold',
    TreatMissingData: 'breaching',
  });
  out.HealthRejectedFiles = alarm(topic, {
    description:
      'A delivered CloudTrail log file could not be read (corrupt, truncated, over the size caps). The verdict is under rejected/ in the state bucket.',
    namespace,
    metric: 'RejectedFiles',
    dimensions: service,
  });
  out.HealthInvalidDigests = alarm(topic, {
    description:
      'A CloudTrail digest or log file failed integrity validation. The SNS alert names the files.',
    namespace,
    metric: 'DigestsInvalid',
    dimensions: service,
  });
  return out;
}

function dashboardBody({ namespace, functions }) {
  const metric = (name, stat = 'Sum', label = name) => [
    namespace,
    name,
    'service',
    'trailwatch',
    { stat, label },
  ];
  const rules = [...catalog, ...customRules].map((r) =>
    metric(r.metricName || `Custom_${r.id.replace(/[^A-Za-z0-9]/g, '_')}`, 'Sum', r.id),
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
        [metric('FilesIngested'), metric('RejectedFiles'), metric('DuplicateDeliveries')],
        0,
        0,
      ),
      widget('Records and unusable records', [metric('Records'), metric('BadRecords')], 12, 0),
      widget(
        'Delivery lag (s): eventTime to delivery',
        [metric('DeliveryLagSeconds', 'Maximum', 'max'), metric('DeliveryLagSeconds', 'Average', 'avg')],
        0,
        6,
      ),
      widget('Rule hits', rules, 12, 6, { stacked: true }),
      widget(
        'Digest verdicts',
        [
          metric('DigestsValid'),
          metric('DigestsInvalid'),
          metric('LogFilesInvalid'),
          metric('LogFilesMissing'),
        ],
        0,
        12,
      ),
      widget(
        'Open insights and watchdog',
        [
          metric('InsightsOpen', 'Maximum'),
          metric('InsightsStarted'),
          metric('DigestsOverdue', 'Maximum'),
          metric('SilentLogPlaces', 'Maximum'),
        ],
        12,
        12,
      ),
      widget('Function errors', fnMetrics('Errors'), 0, 18),
      widget('Function throttles', fnMetrics('Throttles'), 12, 18),
    ],
  };
}

function settingsOf(custom) {
  const t = custom?.trailwatch || {};
  return {
    namespace: t.metricNamespace || 'Trailwatch',
    topic: t.alertTopic || 'AlertTopic',
    noIngestMinutes: Number(t.noIngestMinutes || 60),
    functions: Array.isArray(t.healthFunctions) ? t.healthFunctions : FUNCTIONS,
  };
}

async function resources({ resolveConfigurationProperty } = {}) {
  const custom = resolveConfigurationProperty ? await resolveConfigurationProperty(['custom']) : {};
  const s = settingsOf(custom);
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

module.exports = { resources, healthResources, dashboardBody, settingsOf };

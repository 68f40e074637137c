'use strict';
/**
 * The one CloudWatch alarm shape trailwatch deploys: "at least one in five minutes", wired to the alerts
 * topic for ALARM and OK. Rule alarms and health alarms differ only in what they override.
 */

/** Settings read from `custom.trailwatch` in serverless.yml, with the defaults from shared/metric-names.cjs. */
function settingsOf(custom, names) {
  const t = custom?.trailwatch || {};
  return {
    namespace: t.metricNamespace || names.DEFAULT_NAMESPACE,
    dimensions: t.metricDimensions || { service: names.SERVICE },
    topic: t.alertTopic || 'AlertTopic',
    healthTopic: t.healthTopic || 'HealthTopic',
    noIngestMinutes: Number(t.noIngestMinutes || 60),
    functions: Array.isArray(t.healthFunctions)
      ? t.healthFunctions
      : ['Ingest', 'Verify', 'Watchdog', 'Detect'],
  };
}

/** `{ service: trailwatch }` as CloudFormation's `[{ Name, Value }]`. */
function dimensionList(dimensions) {
  return Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value: String(Value) }));
}

function alarm({ topic, name, description, namespace, metric, dimensions, statistic = 'Sum', ...overrides }) {
  return {
    Type: 'AWS::CloudWatch::Alarm',
    Properties: {
      ...(name ? { AlarmName: name } : {}),
      AlarmDescription: description,
      Namespace: namespace,
      MetricName: metric,
      ...(dimensions?.length ? { Dimensions: dimensions } : {}),
      Statistic: statistic,
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: topic }],
      OKActions: [{ Ref: topic }],
      ...overrides,
    },
  };
}

/** What osls passes to a `${file(x.cjs):fn}` function, reduced to the `custom` block. */
async function customOf(args) {
  const resolve = args?.resolveConfigurationProperty;
  return typeof resolve === 'function' ? (await resolve(['custom'])) || {} : {};
}

module.exports = { alarm, customOf, dimensionList, settingsOf };

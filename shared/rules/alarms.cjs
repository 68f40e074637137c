'use strict';
/**
 * CloudWatch alarms for the rule catalog and the bundled custom rules, for serverless.yml (osls / Serverless
 * Framework v3), which calls the exported function with `{ options, resolveVariable,
 * resolveConfigurationProperty }`:
 *
 *   resources:
 *     - Resources: ${file(./shared/rules/alarms.cjs):alarms}
 *
 * Settings, all optional, under `custom.trailwatch`:
 *   metricNamespace   namespace the rule metrics are published to (default `Trailwatch`)
 *   metricDimensions  dimensions published with them (default `{ service: trailwatch }`, the `service`
 *                     dimension Powertools Metrics always adds; `{}` for none)
 *   alertTopic        logical id of the SNS topic for AlarmActions / OKActions (default `AlertTopic`)
 *
 * Plain CommonJS so that osls can require it without a TypeScript loader. Patterns are validated by
 * shared/rules/load.ts (tests load the same files); this file only shapes the CloudFormation.
 */
const catalog = require('./catalog.json');
const customRules = require('./custom-rules.json');

const DEFAULTS = Object.freeze({
  namespace: 'Trailwatch',
  dimensions: Object.freeze({ service: 'trailwatch' }),
  topic: 'AlertTopic',
});
const MAX_DESCRIPTION = 1024;

/** Mirrors defaultMetricName in load.ts. */
function defaultMetricName(id) {
  return `Custom_${id.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** Mirrors alarmLogicalId in load.ts. */
function alarmLogicalId(metricName) {
  return `RuleAlarm${metricName.replace(/[^A-Za-z0-9]/g, '')}`;
}

function clip(s, max) {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

/** The rules the alarms cover: catalog first, then custom rules, each with its metric name. */
function ruleList(custom = customRules) {
  if (!Array.isArray(catalog) || !Array.isArray(custom)) {
    throw new Error('shared/rules/catalog.json and custom-rules.json must each hold a JSON array of rules');
  }
  return [...catalog, ...custom].map((r) => {
    if (!r || typeof r.id !== 'string' || typeof r.title !== 'string' || typeof r.pattern !== 'string') {
      throw new Error(`rule ${JSON.stringify(r?.id)}: expected id, title and pattern strings`);
    }
    return { ...r, metricName: r.metricName || defaultMetricName(r.id) };
  });
}

/** CloudFormation Resources: one AWS::CloudWatch::Alarm per rule. */
function buildAlarmResources(settings = {}) {
  const namespace = settings.namespace || DEFAULTS.namespace;
  const dimensions = settings.dimensions || DEFAULTS.dimensions;
  const topic = settings.topic || DEFAULTS.topic;
  const rules = settings.rules || ruleList();
  const resources = {};
  for (const rule of rules) {
    const id = alarmLogicalId(rule.metricName);
    if (resources[id])
      throw new Error(
        `rule ${rule.id}: alarm ${id} already defined by another rule; give it a distinct metricName`,
      );
    const dims = Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value: String(Value) }));
    resources[id] = {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        AlarmName: {
          'Fn::Sub': `\${AWS::StackName} ${rule.id} ${rule.title}`.replace(
            /\$\{(?!AWS::StackName\})/g,
            '${!',
          ),
        },
        AlarmDescription: clip(
          `[${rule.severity}] ${rule.title} (${rule.id}). Pattern: ${rule.pattern}`,
          MAX_DESCRIPTION,
        ),
        Namespace: namespace,
        MetricName: rule.metricName,
        ...(dims.length ? { Dimensions: dims } : {}),
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topic }],
        OKActions: [{ Ref: topic }],
      },
    };
  }
  return resources;
}

async function settingsFrom(resolveConfigurationProperty) {
  if (typeof resolveConfigurationProperty !== 'function') return {};
  const get = async (key) => resolveConfigurationProperty(['custom', 'trailwatch', key]);
  return {
    namespace: await get('metricNamespace'),
    dimensions: await get('metricDimensions'),
    topic: await get('alertTopic'),
  };
}

/** `${file(./shared/rules/alarms.cjs):alarms}`: the alarm resources map. */
async function alarms({ resolveConfigurationProperty } = {}) {
  return buildAlarmResources(await settingsFrom(resolveConfigurationProperty));
}

/** `${file(./shared/rules/alarms.cjs):resources}`: the same wrapped as `{ Resources }`. */
async function resources(args = {}) {
  return { Resources: await alarms(args) };
}

module.exports = {
  alarms,
  resources,
  buildAlarmResources,
  ruleList,
  defaultMetricName,
  alarmLogicalId,
  DEFAULTS,
};

'use strict';
/**
 * CloudWatch alarms for the rule catalog, the pack's HIGH and CRITICAL rules and the bundled custom rules, for serverless.yml (osls / Serverless
 * Framework v3), which calls the exported function with `{ options, resolveVariable,
 * resolveConfigurationProperty }`:
 *
 *   resources:
 *     - Resources: ${file(./deploy/rule-alarms.cjs):alarms}
 *
 * Settings, all optional, under `custom.trailwatch`:
 *   metricNamespace   namespace the rule metrics are published to (the `metricsNamespace` parameter)
 *   metricDimensions  dimensions published with them (default `{ service: trailwatch }`, the `service`
 *                     dimension Powertools Metrics always adds; `{}` for none)
 *   alertTopic        logical id of the SNS topic for AlarmActions / OKActions (default `AlertTopic`)
 *
 * Patterns are validated by shared/rules/load.ts (tests load the same files); this file only shapes the
 * CloudFormation.
 */
const catalog = require('#shared/rules/catalog.json');
const customRules = require('#shared/rules/custom-rules.json');
const pack = require('#shared/rules/pack.json');
const names = require('#shared/metric-names.cjs');
const { alarm, customOf, dimensionList, settingsOf } = require('./alarm.cjs');

const MAX_DESCRIPTION = 1024;

function clip(s, max) {
  return s.length <= max ? s : `${s.slice(0, max - 3)}...`;
}

/** Pack rules page through an alarm only when they are HIGH or CRITICAL; the rest keep their metric. */
const ALARMED_PACK_SEVERITIES = new Set(['HIGH', 'CRITICAL']);

/** The rules the alarms cover: catalog first, then the pack's HIGH and CRITICAL rules, then custom rules. */
function ruleList(custom = customRules) {
  if (!Array.isArray(catalog) || !Array.isArray(pack) || !Array.isArray(custom)) {
    throw new Error(
      'shared/rules/catalog.json, pack.json and custom-rules.json must each hold a JSON array of rules',
    );
  }
  const alarmedPack = pack.filter((r) => ALARMED_PACK_SEVERITIES.has(r?.severity));
  return [...catalog, ...alarmedPack, ...custom].map((r) => {
    if (!r || typeof r.id !== 'string' || typeof r.title !== 'string' || typeof r.pattern !== 'string') {
      throw new Error(`rule ${JSON.stringify(r?.id)}: expected id, title and pattern strings`);
    }
    return { ...r, metricName: r.metricName || names.defaultMetricName(r.id) };
  });
}

/** CloudFormation Resources: one AWS::CloudWatch::Alarm per rule. */
function buildAlarmResources(settings = {}) {
  const defaults = settingsOf({}, names);
  const namespace = settings.namespace || defaults.namespace;
  const dimensions = dimensionList(settings.dimensions || defaults.dimensions);
  const topic = settings.topic || defaults.topic;
  const rules = settings.rules || ruleList();
  const resources = {};
  for (const rule of rules) {
    const id = names.alarmLogicalId(rule.metricName);
    if (resources[id])
      throw new Error(
        `rule ${rule.id}: alarm ${id} already defined by another rule; give it a distinct metricName`,
      );
    resources[id] = alarm({
      topic,
      name: {
        // A rule title may hold `${`: escaped so Fn::Sub leaves it alone.
        'Fn::Sub': `\${AWS::StackName} ${rule.id} ${rule.title}`.replace(/\$\{(?!AWS::StackName\})/g, '${!'),
      },
      description: clip(
        `[${rule.severity}] ${rule.title} (${rule.id}). Pattern: ${rule.pattern}`,
        MAX_DESCRIPTION,
      ),
      namespace,
      metric: rule.metricName,
      dimensions,
    });
  }
  return resources;
}

/** `${file(./deploy/rule-alarms.cjs):alarms}`: the alarm resources map. */
async function alarms(args = {}) {
  const custom = await customOf(args);
  const t = custom.trailwatch || {};
  return buildAlarmResources({
    namespace: t.metricNamespace,
    dimensions: t.metricDimensions,
    topic: t.alertTopic,
  });
}

/** `${file(./deploy/rule-alarms.cjs):resources}`: the same wrapped as `{ Resources }`. */
async function resources(args = {}) {
  return { Resources: await alarms(args) };
}

module.exports = { alarms, resources, buildAlarmResources, ruleList };

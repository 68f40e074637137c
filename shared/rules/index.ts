/** Rules: the catalog, custom rules, evaluation over records. Alarms for serverless.yml: alarms.cjs. */
export {
  type EvaluatorOptions,
  OTHER,
  principalKey,
  RuleEvaluator,
  type RuleMatches,
} from '#shared/rules/evaluate.ts';
export {
  alarmLogicalId,
  CATALOG_FILE,
  catalogRules,
  DEFAULT_CUSTOM_RULES_FILE,
  defaultMetricName,
  defaultRules,
  loadRules,
  mergeRules,
  RuleError,
  validateRuleFile,
} from '#shared/rules/load.ts';
export { type CompiledPattern, compilePattern, PatternError } from '#shared/rules/pattern/index.ts';
export {
  type Rule,
  type RuleExample,
  type RuleExamples,
  SEVERITIES,
  type Severity,
} from '#shared/rules/types.ts';

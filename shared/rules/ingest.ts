/**
 * The rules as an ingest record processor: every record of a log file goes through every rule once, and
 * `finish()` hands back the matches for metrics and notifications.
 *
 *   const rules = ruleProcessor();
 *   const outcome = await ingestLogFile(deps, src, [rules], {
 *     beforeCommit: async (summary, [matches]) => {
 *       emitRuleMetrics(metrics, matches as RuleMatches[]);
 *       for (const n of buildRuleNotifications(matches as RuleMatches[], { topic, source: summary.source,
 *         account: summary.account, region: summary.region })) await notifier.publish(n);
 *     },
 *   });
 */
import type { RecordProcessor } from '#shared/ingest/ingest-file.ts';
import type { MetricsSink } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { type EvaluatorOptions, RuleEvaluator, type RuleMatches } from '#shared/rules/evaluate.ts';
import { defaultRules } from '#shared/rules/load.ts';
import type { Rule } from '#shared/rules/types.ts';

export interface RuleProcessor extends RecordProcessor<RuleMatches[]> {
  readonly evaluator: RuleEvaluator;
}

/** A fresh processor per log file (the evaluator keeps that file's counts and samples). */
export function ruleProcessor(
  rules: readonly Rule[] = defaultRules(),
  options?: EvaluatorOptions,
): RuleProcessor {
  const evaluator = new RuleEvaluator(rules, options);
  return {
    evaluator,
    onRecords(batch: CloudTrailRecord[]): void {
      for (const r of batch) evaluator.onRecord(r);
    },
    finish: () => evaluator.results(),
  };
}

/** One Count metric per matched rule, under the rule's metric name (what the alarms watch). */
export function emitRuleMetrics(metrics: MetricsSink, matches: readonly RuleMatches[]): void {
  for (const m of matches) if (m.count > 0) metrics.addMetric(m.rule.metricName, 'Count', m.count);
}

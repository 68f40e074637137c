/** The rule model shared by the catalog, custom rules files, the evaluator, alarms and notifications. */

export const SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Rule {
  /** Unique id, e.g. `CloudWatch.3`. */
  id: string;
  /** Short, readable on a phone: used as the notification subject, e.g. "Console sign-in without MFA". */
  title: string;
  severity: Severity;
  /** What a match means and why it matters, one or two sentences. */
  description: string;
  /** CloudWatch Logs JSON filter pattern. */
  pattern: string;
  /**
   * Field comparisons a filter pattern cannot express, all required besides the pattern: each pair
   * `[a, b]` of selectors holds when `a` points at a string or number and `b` does not point at the same
   * value (an absent `b` differs). E.g. `["$.requestParameters.userName", "$.userIdentity.userName"]`:
   * the call names a user other than the caller.
   */
  fieldsDiffer?: [string, string][];
  /** CloudWatch metric the match count is published under (and the alarm watches). */
  metricName: string;
  /** Where the rule comes from (benchmark and control, or the custom rules file). */
  source: string;
  /** `catalog`, `pack`, or the path of the custom rules file that defined it. */
  origin: string;
}

export interface RuleExample {
  name: string;
  record: unknown;
}

/** Records a rule must match (`positive`) and must not match (`negative`). */
export interface RuleExamples {
  positive: RuleExample[];
  negative: RuleExample[];
}

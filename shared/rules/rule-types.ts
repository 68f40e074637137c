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
  /** CloudWatch Logs JSON filter pattern; empty for a Sigma rule (see `sigma`). */
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
  /** Set for a rule loaded from a Sigma file: what it says about itself, and its detection as written. */
  sigma?: SigmaInfo;
}

export const SIGMA_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type SigmaLevel = (typeof SIGMA_LEVELS)[number];

/** Severity of a Sigma level (trailwatch has no informational severity: such rules count and alert as LOW). */
export const SIGMA_SEVERITY: Record<SigmaLevel, Severity> = {
  informational: 'LOW',
  low: 'LOW',
  medium: 'MEDIUM',
  high: 'HIGH',
  critical: 'CRITICAL',
};

/**
 * A Sigma rule as data (JSON-safe: the detection is kept as written and compiled once per process by
 * shared/rules/sigma). Author, references and licence travel with it into every alert it raises.
 */
export interface SigmaInfo {
  /** The rule's own `id` (a UUID for SigmaHQ rules). */
  id: string;
  title: string;
  /** `author` as written: the Detection Rule License asks that every alert name it. */
  author: string;
  level: SigmaLevel;
  references: string[];
  status?: string;
  tags: string[];
  /** The file the rule came from (repository-relative for bundled rules). */
  file: string;
  /** The licence the rule is shared under, e.g. `DRL 1.1`, when known. */
  license?: string;
  /** The detection block as written (search identifiers and condition). */
  detection?: Record<string, unknown>;
  /** For a count rule (Sigma correlation): what is counted, by what, over how long. */
  correlation?: CorrelationInfo;
}

export interface CorrelationInfo {
  type: 'event_count' | 'value_count';
  /** Ids of the Sigma rules whose matches are counted. */
  rules: string[];
  /** Their detection blocks, as written (a match of any one counts). */
  detections: Record<string, unknown>[];
  /** Fields whose values form a group (empty: one group for the account and region). */
  groupBy: string[];
  timespanSeconds: number;
  /** Matches (event_count) or distinct values of `field` (value_count) a group needs within the timespan. */
  threshold: number;
  /** value_count: the field whose distinct values are counted. */
  field?: string;
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

/**
 * The `trailwatch` commands and the one line each says about itself. `trailwatch --help` prints this table
 * without loading any command module (they pull in the AWS SDK and the handlers); each command's `register`
 * gives its command the same line.
 */
export const COMMAND_DESCRIPTIONS = Object.freeze({
  alerts: 'show what each kind of subscriber (e-mail, SMS, chat, machines) receives for replayed alerts',
  athena: 'the Athena table over the trail bucket: print its DDL (lookup --engine athena queries it)',
  audit:
    'a lookup with a verdict: PROVEN (complete and untampered), NOT PROVEN (each hole named) or UNVERIFIABLE',
  changes: 'the mutating calls just before a time, grouped by resource, newest first: what changed?',
  demo: 'generate a sample trail (cached) and replay it through the pipeline, offline',
  generate:
    'write a deterministic sample CloudTrail trail (log files, signed digests, public key) into a folder',
  insights: 'Insights-style anomaly detection: baselines and reports',
  lookup:
    "CloudTrail Event history's filters over a trail's own log files, for as long as the bucket keeps them",
  replay: 'feed existing deliveries through the real handlers in delivery order, offline',
  rules: 'List the rule catalog or test a filter pattern on local log files',
  validate:
    'validate CloudTrail digest and log files of a trail (aws cloudtrail validate-logs, plus what it misses)',
});

export type CommandName = keyof typeof COMMAND_DESCRIPTIONS;

export function isCommandName(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMAND_DESCRIPTIONS, name);
}

/**
 * Option values as commander parses them, one definition each, and the event filters that `lookup` and
 * `audit` share: a bad value stops the command with the option's name, what was expected and what was found.
 */
import { type Command, InvalidArgumentError } from 'commander';

export function nonEmpty(v: string): string {
  if (v === '') throw new InvalidArgumentError('expected a value, found an empty string');
  return v;
}

export function positiveInteger(what: string): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v) || Number(v) < 1) {
      throw new InvalidArgumentError(`expected ${what} as a whole number of 1 or more, found '${v}'`);
    }
    return Number(v);
  };
}

export function trueOrFalse(v: string): boolean {
  const b = v.toLowerCase();
  if (b !== 'true' && b !== 'false') throw new InvalidArgumentError(`expected true or false, found '${v}'`);
  return b === 'true';
}

/** Which event, by whom, on what: the filters of `lookup` and `audit`, with an example fitting each command. */
export function eventFilterOptions(
  command: Command,
  examples: { eventName: string; eventSource: string; resourceType: string },
): Command {
  const [service] = examples.eventSource.split('.');
  return command
    .option('--event-name <name>', `API name, e.g. ${examples.eventName}`, nonEmpty)
    .option(
      '--event-source <source>',
      `service endpoint, e.g. ${examples.eventSource} (or just ${service})`,
      nonEmpty,
    )
    .option('--username <name>', 'IAM user, role or session name, root, or service', nonEmpty)
    .option('--resource-name <name>', 'a resource ARN, or its name or id', nonEmpty)
    .option('--resource-type <type>', `resource type, e.g. ${examples.resourceType}`, nonEmpty)
    .option('--event-id <id>', 'CloudTrail event ID', nonEmpty)
    .option('--access-key-id <key>', 'access key ID that signed the request', nonEmpty)
    .option('--read-only <true|false>', 'read events only (true) or write events only (false)', trueOrFalse);
}

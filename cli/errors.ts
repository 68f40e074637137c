/**
 * How every `trailwatch` command ends. Exit 0: done, nothing found that needs attention. Exit 1: findings
 * (validate's INVALID, as the AWS CLI). Exit 2: a usage or input error the user can fix, said in one line on
 * stderr, with no stack trace unless `--debug` is given.
 */

export const EXIT = Object.freeze({ ok: 0, findings: 1, usage: 2 });

/** An expected failure: its message is the one line the user reads, naming what to fix. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? EXIT.usage;
  }
}

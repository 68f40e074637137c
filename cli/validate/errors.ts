/**
 * What stops `trailwatch validate` before or while it validates: an option it cannot use, a source it
 * cannot read. A usage or input error (exit 2), its message the one line naming what to fix.
 */
import { CliError } from '#cli/errors.ts';

export class ValidateError extends CliError {}

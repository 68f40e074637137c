/**
 * `trailwatch changes --at T`: the mutating calls in the window before T (and a few minutes after), grouped
 * by resource, newest first; who, from where, with which client, succeeded or refused. See
 * cli/changes/find-changes.ts. Exit 0 with or without changes; 2 on a usage or input error.
 */
import type { Command } from 'commander';
import { AFTER_MS, type ChangesResult, DEFAULT_WINDOW_MS, findChanges } from '#cli/changes/find-changes.ts';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { CliError, EXIT } from '#cli/errors.ts';
import { LookupError } from '#cli/lookup/filter.ts';
import { nonEmpty } from '#cli/option-parsers.ts';
import { displayText } from '#cli/output.ts';
import { openSource } from '#cli/source.ts';
import { minutesText, plural } from '#cli/text-format.ts';
import { durationOption, timeOption } from '#cli/time.ts';
import { displayDate } from '#shared/digest/verdict.ts';

export interface ChangesCommandOptions {
  source: string;
  at: string;
  window?: string;
  after?: string;
  resource?: string;
  account?: string;
  region?: string;
  includeRead?: boolean;
  bucketRegion?: string;
  json?: boolean;
}

export interface ChangesIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const service = (s: string | null) => (s ?? '').replace(/\.amazonaws\.com$/, '');

export function renderChanges(r: ChangesResult): string {
  const q = r.query;
  const out: string[] = [];
  const scope = [
    q.resource && `on ${q.resource}`,
    q.account && `in account ${q.account}`,
    q.region && `in ${q.region}`,
  ].filter(Boolean);
  out.push(
    `${q.includeRead ? 'Calls' : 'Changes'}${scope.length ? ` ${scope.join(' ')}` : ''} from ${displayDate(r.from)} to ${displayDate(r.to)} ` +
      `(${minutesText(q.windowMs / 60_000)} before ${displayDate(q.at)}, ${minutesText(q.afterMs / 60_000)} after), by resource, newest first`,
  );
  if (r.groups.length === 0) {
    out.push(
      '',
      `No ${q.includeRead ? 'call' : 'mutating call'} in the window (${plural(r.recordsRead, 'record')} read).`,
    );
    return `${out.join('\n')}\n`;
  }
  for (const g of r.groups) {
    out.push('', `${displayText(g.resource)}  (${plural(g.changes.length, 'change')})`);
    for (const c of g.changes) {
      const outcome = c.outcome === 'succeeded' ? 'succeeded' : `REFUSED ${c.outcome}`;
      out.push(
        `  ${displayDate(new Date(c.time))}  ${displayText(`${service(c.eventSource)}:${c.eventName ?? ''}`)}  ${displayText(outcome)}`,
        `      by ${displayText(c.who)} from ${displayText(c.sourceIp ?? '?')}${c.userAgent ? ` with ${displayText(c.userAgent)}` : ''}`,
        `      event ${displayText(c.eventId ?? '?')} (${displayText(c.account ?? '?')}, ${displayText(c.region ?? '?')})`,
      );
    }
  }
  out.push(
    '',
    `${plural(r.calls, q.includeRead ? 'call' : 'change')} on ${plural(r.groups.length, 'resource')}; ${plural(r.recordsRead, 'record')} read`,
  );
  return `${out.join('\n')}\n`;
}

export function changesJson(r: ChangesResult): Record<string, unknown> {
  return {
    at: displayDate(r.query.at),
    from: displayDate(r.from),
    to: displayDate(r.to),
    ...(r.query.resource ? { resource: r.query.resource } : {}),
    ...(r.query.account ? { account: r.query.account } : {}),
    ...(r.query.region ? { region: r.query.region } : {}),
    includeRead: r.query.includeRead,
    groups: r.groups,
    recordsRead: r.recordsRead,
    unreadable: r.unreadable,
  };
}

export async function runChanges(opts: ChangesCommandOptions, io: ChangesIo = process): Promise<number> {
  const at = timeOption('--at', opts.at, 'start');
  if (!at) throw new CliError('--at: expected a time, found none');
  if (opts.account !== undefined && !/^\d{12}$/.test(opts.account)) {
    throw new CliError(`--account: expected a 12-digit account id, found '${opts.account}'`);
  }
  const windowMs = opts.window === undefined ? DEFAULT_WINDOW_MS : durationOption('--window', opts.window);
  const afterMs = opts.after === undefined ? AFTER_MS : durationOption('--after', opts.after);
  // Its --region narrows the query: the bucket's region comes from --bucket-region or the environment.
  const source = await openSource(opts.source, {
    expect: 'json',
    regionOption: false,
    ...(opts.bucketRegion ? { region: opts.bucketRegion } : {}),
  });
  let result: ChangesResult;
  try {
    result = await findChanges(source, {
      at,
      windowMs,
      afterMs,
      includeRead: opts.includeRead === true,
      ...(opts.resource ? { resource: opts.resource } : {}),
      ...(opts.account ? { account: opts.account } : {}),
      ...(opts.region ? { region: opts.region } : {}),
    });
  } catch (err) {
    if (err instanceof LookupError) throw new CliError(err.message, { cause: err });
    throw err;
  }
  for (const u of result.unreadable) {
    io.stderr.write(`trailwatch changes: cannot read ${displayText(u.key)}: ${displayText(u.reason)}\n`);
  }
  io.stdout.write(opts.json ? `${JSON.stringify(changesJson(result), null, 2)}\n` : renderChanges(result));
  return EXIT.ok;
}

export function register(program: Command): void {
  program
    .command('changes')
    .description(COMMAND_DESCRIPTIONS.changes)
    .requiredOption(
      '--source <folder|s3://bucket[/prefix]>',
      'a folder laid out like the trail bucket, the bucket, or a folder of .json record files',
    )
    .requiredOption(
      '--at <time>',
      'when it went wrong: ISO 8601 (UTC unless a zone is given), -2h, Unix seconds',
      nonEmpty,
    )
    .option('--window <length>', 'how far back from --at: 30m, 2h, 1d', '30m')
    .option('--after <length>', 'how far past --at', '5m')
    .option('--resource <name>', 'only this resource: an id, a name or an ARN', nonEmpty)
    .option('--account <id>', 'only this account', nonEmpty)
    .option('--region <region>', 'only this region', nonEmpty)
    .option('--include-read', 'also list read-only calls (Get, List, Describe, ...)')
    .option(
      '--bucket-region <region>',
      'for an S3 source: its region (default: AWS_REGION, else AWS_DEFAULT_REGION)',
    )
    .option('--json', 'the groups as one JSON document')
    .addHelpText(
      'after',
      `\nExit codes: ${EXIT.ok} listed, with or without changes; ${EXIT.usage} a usage or input error.`,
    )
    .action(async (opts: ChangesCommandOptions) => {
      process.exitCode = await runChanges(opts);
    });
}

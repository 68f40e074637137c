/**
 * `trailwatch audit`: the lookup's filters over a time range, and a verdict on whether the answer (including
 * "none") is the whole truth: PROVEN, NOT PROVEN (each hole named) or UNVERIFIABLE (no digests). Reads a
 * folder laid out like the trail bucket, or the bucket. See cli/audit/run-audit.ts.
 *
 * Exit 0: PROVEN. 1: NOT PROVEN or UNVERIFIABLE (the answer cannot be relied on). 2: usage or input error.
 */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { renderHtml } from '#cli/audit/render-html.ts';
import { auditJson, renderText } from '#cli/audit/render-text.ts';
import { type AuditQuery, type AuditResult, runAuditQuery } from '#cli/audit/run-audit.ts';
import { asCliError, openPublicKeys } from '#cli/commands/validate.ts';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { CliError, EXIT } from '#cli/errors.ts';
import { LookupError, type LookupFilter, TEXT_ATTRIBUTES } from '#cli/lookup/filter.ts';
import { eventFilterOptions, nonEmpty } from '#cli/option-parsers.ts';
import { terminalWidth } from '#cli/output.ts';
import { openSource } from '#cli/source.ts';
import { timeRange } from '#cli/time.ts';
import { parseTrailArn } from '#cli/validate/validate-trail.ts';

export interface AuditCommandOptions extends Omit<LookupFilter, 'startTime' | 'endTime'> {
  source: string;
  startTime: string;
  endTime?: string;
  account?: string;
  region?: string;
  bucketRegion?: string;
  trailArn?: string;
  publicKeys?: string;
  json?: boolean;
  html?: string;
  now?: string;
}

export interface AuditIo {
  stdout: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown };
}

/** Exit code of a verdict: only a proof is a clean answer. */
export function exitCodeOf(r: AuditResult): number {
  return r.verdict === 'PROVEN' ? EXIT.ok : EXIT.findings;
}

export async function runAudit(opts: AuditCommandOptions, io: AuditIo = process): Promise<number> {
  const now = opts.now ? new Date(opts.now) : new Date();
  const range = timeRange(
    { flag: '--start-time', text: opts.startTime },
    { flag: '--end-time', text: opts.endTime },
    now,
  );
  if (!range.start) throw new CliError('--start-time: expected a time, found none');
  const end = range.end ?? now;
  if (range.start.getTime() > end.getTime()) {
    throw new CliError(`--start-time ${range.start.toISOString()} is after the end ${end.toISOString()}`);
  }
  if (opts.account !== undefined && !/^\d{12}$/.test(opts.account)) {
    throw new CliError(`--account: expected a 12-digit account id, found '${opts.account}'`);
  }
  if (opts.trailArn !== undefined) {
    try {
      parseTrailArn(opts.trailArn);
    } catch (err) {
      throw new CliError(
        `--trail-arn ${opts.trailArn}: expected arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME`,
        {
          cause: err,
        },
      );
    }
  }
  const filter: AuditQuery['filter'] = {};
  for (const k of TEXT_ATTRIBUTES) if (opts[k] !== undefined) filter[k] = opts[k];
  if (opts.readOnly !== undefined) filter.readOnly = opts.readOnly;
  const query: AuditQuery = {
    start: range.start,
    end,
    filter,
    ...(opts.account ? { account: opts.account } : {}),
    ...(opts.region
      ? {
          regions: opts.region
            .split(',')
            .map((r) => r.trim())
            .filter(Boolean),
        }
      : {}),
  };
  let result: AuditResult;
  try {
    // Its --region narrows the query: the bucket's region comes from --bucket-region or the environment.
    const source = await openSource(opts.source, {
      regionOption: false,
      ...(opts.bucketRegion ? { region: opts.bucketRegion } : {}),
    });
    const keys = await openPublicKeys(opts.publicKeys, source);
    let trailStatus: Parameters<typeof runAuditQuery>[0]['trailStatus'];
    if (source.s3) {
      const { CloudTrailTrailStatus } = await import('#cli/adapters/cloudtrail-trail-status.ts');
      trailStatus = new CloudTrailTrailStatus();
    }
    result = await runAuditQuery({
      source,
      keys,
      query,
      now,
      ...(opts.trailArn ? { trailArn: opts.trailArn } : {}),
      ...(trailStatus ? { trailStatus } : {}),
      onUnreadable: (key, reason) => io.stderr.write(`trailwatch audit: cannot read ${key}: ${reason}\n`),
    });
  } catch (err) {
    if (err instanceof LookupError) throw new CliError(err.message, { cause: err });
    throw asCliError(err);
  }
  if (opts.html) {
    const path = resolve(opts.html);
    try {
      await writeFile(path, renderHtml(result, now));
    } catch (err) {
      throw new CliError(`--html ${path}: cannot be written (${(err as NodeJS.ErrnoException).code})`, {
        cause: err,
      });
    }
  }
  if (opts.json) io.stdout.write(`${JSON.stringify(auditJson(result), null, 2)}\n`);
  else io.stdout.write(renderText(result, terminalWidth(io.stdout, 160)));
  if (opts.html) io.stderr.write(`report written to ${resolve(opts.html)}\n`);
  return exitCodeOf(result);
}

export function register(program: Command): void {
  const command = program
    .command('audit')
    .description(COMMAND_DESCRIPTIONS.audit)
    .requiredOption(
      '--source <folder|s3://bucket[/prefix]>',
      'a folder laid out like the trail bucket, or the bucket',
    )
    .requiredOption(
      '--start-time <time>',
      'from: ISO 8601 (UTC unless a zone is given), a date, -2h, -7d, Unix seconds',
      nonEmpty,
    )
    .option('--end-time <time>', 'until (default: now; a date alone is its end)', nonEmpty);
  eventFilterOptions(command, {
    eventName: 'PutBucketPolicy',
    eventSource: 's3.amazonaws.com',
    resourceType: 'AWS::S3::Bucket',
  })
    .option(
      '--account <id>',
      'only this account (with --region: audited even when the bucket holds nothing for it)',
      nonEmpty,
    )
    .option(
      '--region <list>',
      "only these regions (R or R1,R2), each audited even when the bucket holds nothing for it: name the trail's regions so that one deleted whole is a hole",
      nonEmpty,
    )
    .option('--trail-arn <arn>', 'the trail whose digests vouch (default: read from the digest names)')
    .option('--public-keys <file>', 'ListPublicKeys JSON file (default: CloudTrail ListPublicKeys)')
    .option(
      '--bucket-region <region>',
      'for an S3 source: its region (default: AWS_REGION, else AWS_DEFAULT_REGION)',
    )
    .option('--json', 'the verdict, holes, coverage and results as one JSON document')
    .option('--html <file>', 'also write a self-contained HTML report to FILE')
    .addHelpText(
      'after',
      `\nExit codes: ${EXIT.ok} PROVEN; ${EXIT.findings} NOT PROVEN or UNVERIFIABLE; ${EXIT.usage} a usage or input error.`,
    )
    .action(async (opts: AuditCommandOptions) => {
      process.exitCode = await runAudit(opts);
    });
}

/**
 * `trailwatch lookup --engine athena`: the same filters as one SQL query on the Athena table the stack
 * creates (deploy/athena-table.cjs), run through the Athena API, printed as lookup prints.
 */
import { AthenaClient } from '@aws-sdk/client-athena';
import { AthenaQuery, AthenaQueryError } from '#cli/adapters/athena-query.ts';
import type { AthenaEngineOptions, Io, LookupCommandOptions } from '#cli/commands/lookup.ts';
import { writeRows } from '#cli/commands/lookup.ts';
import { CliError } from '#cli/errors.ts';
import { checkFilter, LookupError } from '#cli/lookup/filter.ts';
import type { LookupEvent } from '#cli/lookup/row.ts';
import { plural } from '#cli/text-format.ts';
import { eventFromRow } from './result-record.ts';
import { buildQuery, QueryBuildError } from './sql.ts';

/** Athena's words when a query leaves an injected partition open, and the option that closes it. */
const INJECTED = /injected projected partition column (\w+)/i;
const OPTION_OF: Record<string, string> = { account: '--account', region: '--aws-region' };

export async function runAthenaLookup(
  opts: LookupCommandOptions,
  engine: AthenaEngineOptions,
  io: Io,
  client: AthenaClient = new AthenaClient(opts.region ? { region: opts.region } : {}),
): Promise<number> {
  let sql: string;
  try {
    checkFilter(opts.filter);
    sql = buildQuery(opts.filter, {
      dialect: 'athena',
      table: `"${engine.database}"."${engine.table}"`,
      accounts: engine.accounts,
      regions: engine.regions,
      order: opts.order,
      ...(opts.maxResults !== undefined ? { maxResults: opts.maxResults } : {}),
    });
  } catch (err) {
    if (err instanceof LookupError || err instanceof QueryBuildError)
      throw new CliError(err.message, { cause: err });
    throw err;
  }
  const started = Date.now();
  const query = new AthenaQuery(client, { workgroup: engine.workgroup, database: engine.database });
  const events: LookupEvent[] = [];
  try {
    for await (const row of query.rows(sql)) events.push(eventFromRow(row));
  } catch (err) {
    if (err instanceof AthenaQueryError) {
      const column = INJECTED.exec(err.message)?.[1]?.toLowerCase();
      if (column && OPTION_OF[column]) {
        throw new CliError(
          `${OPTION_OF[column]}: the table projects ${column} values by injection, so Athena needs them named: give ${OPTION_OF[column]} (comma-separated)`,
          { cause: err },
        );
      }
      throw new CliError(`athena: ${err.message}`, { cause: err });
    }
    // The SDK's own failures (no region, no credentials, access denied) are the user's to fix.
    const e = err as Error & { $metadata?: unknown };
    if (e?.message === 'Region is missing')
      throw new CliError('athena: no region: set AWS_REGION or --region', { cause: err });
    if (e?.$metadata !== undefined || e?.name === 'CredentialsProviderError') {
      throw new CliError(`athena: ${e.name}: ${e.message}`, { cause: err });
    }
    throw err;
  }
  const shown = writeRows(events, opts, io);
  const scanned = query.stats.dataScannedBytes;
  io.stderr.write(
    `${plural(shown, 'event')} matched; Athena query ${query.stats.queryExecutionId} on ${engine.database}.${engine.table}` +
      `${scanned !== undefined ? ` scanned ${(scanned / 1e6).toFixed(1)} MB` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  return 0;
}

/**
 * `trailwatch athena ddl`: the CREATE TABLE statement of the Athena table over the trail bucket, the same
 * table the stack creates with `--param="athenaTable=true"` (one definition: deploy/athena-table.cjs).
 */
import type { Command } from 'commander';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { CliError } from '#cli/errors.ts';
import { type AthenaTableSettings, createTableDdl } from '#deploy/athena-table.cjs';

export interface DdlOptions {
  bucket: string;
  prefix?: string;
  orgId?: string;
  accounts?: string;
  regions: string;
  startDate?: string;
  database?: string;
  table?: string;
}

const FLAG_OF: Record<string, string> = {
  athenaAccounts: '--accounts',
  athenaRegions: '--regions',
  athenaStartDate: '--start-date',
  trailPrefix: '--prefix',
  trailBucket: '--bucket',
  orgId: '--org-id',
};

/** The DDL for these options; a bad option is a {@link CliError} naming it. */
export function ddl(o: DdlOptions): string {
  const settings: AthenaTableSettings = {
    bucket: o.bucket,
    prefix: o.prefix,
    orgId: o.orgId,
    accounts: o.accounts,
    regions: o.regions,
    startDate: o.startDate,
    database: o.database,
    table: o.table,
  };
  try {
    return `${createTableDdl(settings)}\n`;
  } catch (err) {
    // The table's checks name the stack parameters; here the options are named.
    let message = (err as Error).message.replace(/^athena table: /, '');
    for (const [param, flag] of Object.entries(FLAG_OF)) message = message.replaceAll(param, flag);
    throw new CliError(message, { cause: err });
  }
}

export function register(program: Command): void {
  const athena = program.command('athena').description(COMMAND_DESCRIPTIONS.athena);
  athena
    .command('ddl')
    .description('print the CREATE TABLE statement (partition projection on account, region and day)')
    .requiredOption('--bucket <name>', 'the trail bucket')
    .option('--prefix <prefix>', "the trail's key prefix, ending with /")
    .option('--org-id <id>', 'organization trail: the organization id (o-...)')
    .option('--accounts <ids>', 'account IDs to project (comma-separated); none: queries name their accounts')
    .option('--regions <regions>', 'regions to project (comma-separated)', 'us-east-1')
    .option('--start-date <yyyy/MM/dd>', 'the first day queries can reach', '2024/01/01')
    .option('--database <name>', 'Glue database', 'trailwatch')
    .option('--table <name>', 'table name', 'cloudtrail_logs')
    .action((o: DdlOptions) => {
      process.stdout.write(ddl(o));
    });
}

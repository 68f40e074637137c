/**
 * `trailwatch lookup --engine athena` against a mocked Athena API: the query it starts, the polling, the
 * paging of results, and the output, which must equal lookup's own over the same files. The rows the mock
 * returns are what the table holds for the matching events: the same query run in DuckDB over the files.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  type GetQueryResultsOutput,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AthenaQuery, AthenaQueryError } from '#cli/adapters/athena-query.ts';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { buildQuery, RESULT_COLUMNS } from '#cli/athena/sql.ts';
import { commandOptions, type RawOptions, runLookup } from '#cli/commands/lookup.ts';
import { CliError } from '#cli/errors.ts';
import { allStratusRecords, writeTrail } from '#test/fixtures/lookup/trail.ts';
import { duckdbTrail } from '#test/support/duckdb-trail.ts';

const athena = mockClient(AthenaClient);
let dir: string;
let duck: Awaited<ReturnType<typeof duckdbTrail>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lookup-athena-'));
  await writeTrail(new FsObjectStore(dir), allStratusRecords(), { prefix: 'org/', orgId: 'o-a1b2c3d4e5' });
  duck = await duckdbTrail(dir);
}, 60_000);

afterAll(async () => {
  duck?.close();
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => athena.reset());

/** Athena's GetQueryResults pages for these rows: the header row first, `perPage` rows a page. */
function pages(rows: Record<string, string | null>[], perPage: number): GetQueryResultsOutput[] {
  const header = { Data: RESULT_COLUMNS.map((c) => ({ VarCharValue: c })) };
  const data = rows.map((r) => ({
    Data: RESULT_COLUMNS.map((c) => (r[c] === null || r[c] === undefined ? {} : { VarCharValue: r[c]! })),
  }));
  const all = [header, ...data];
  const out: GetQueryResultsOutput[] = [];
  for (let i = 0; i < all.length; i += perPage) {
    out.push({
      ResultSet: {
        ResultSetMetadata: { ColumnInfo: RESULT_COLUMNS.map((Name) => ({ Name, Type: 'varchar' })) },
        Rows: all.slice(i, i + perPage),
      },
      ...(i + perPage < all.length ? { NextToken: `page-${i + perPage}` } : {}),
    });
  }
  return out;
}

function mockQuery(results: GetQueryResultsOutput[], states = ['QUEUED', 'RUNNING', 'SUCCEEDED']) {
  athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
  const status = athena.on(GetQueryExecutionCommand);
  const reply = (State: string) => ({
    QueryExecution: {
      QueryExecutionId: 'q-1',
      Status: {
        State: State as 'SUCCEEDED',
        ...(State === 'FAILED'
          ? {
              StateChangeReason:
                'CONSTRAINT_VIOLATION: For the injected projected partition column account, the WHERE clause must contain only static equality conditions',
            }
          : {}),
      },
      Statistics: { DataScannedInBytes: 1_234_567 },
    },
  });
  for (const State of states.slice(0, -1)) status.resolvesOnce(reply(State));
  status.resolves(reply(states[states.length - 1]));
  athena.on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: undefined }).resolves(results[0]);
  results.slice(1).forEach((page, i) => {
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: results[i].NextToken })
      .resolves(page);
  });
}

async function run(options: Partial<RawOptions>) {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  };
  const code = await runLookup(
    commandOptions({ output: 'json', concurrency: 4, ...options } as RawOptions),
    io,
  );
  return { code, stdout, stderr };
}

describe('lookup --engine athena', () => {
  it('runs one query in the workgroup, polls it, pages the results and prints what lookup prints', async () => {
    // Prepare: what the table holds for the events naming the instance
    const filter = { resourceName: 'i-DDd6c7B0e18F0E35f' };
    const rows = await duck.query(buildQuery(filter, { dialect: 'duckdb', table: 'cloudtrail_logs' }));
    mockQuery(pages(rows, 2));
    // Act
    const viaAthena = await run({
      engine: 'athena',
      workgroup: 'security',
      account: '309303190113',
      awsRegion: 'ca-northsouth-2r',
      region: 'us-east-1',
      ...filter,
    });
    const local = await run({ source: dir, ...filter });
    // Assess
    expect(viaAthena.code).toBe(0);
    expect(rows.length).toBeGreaterThan(2);
    const lines = (out: string) =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    // Every printed field equal; the record carries the table's columns (no tlsDetails, eventCategory...).
    const athenaLines = lines(viaAthena.stdout);
    const localLines = lines(local.stdout);
    expect(athenaLines.map(({ record: _, ...row }) => row)).toEqual(
      localLines.map(({ record: _, ...row }) => row),
    );
    athenaLines.forEach((line, i) => {
      const { tlsDetails: _t, eventCategory: _c, managementEvent: _m, ...rest } = localLines[i].record;
      expect(line.record).toEqual(rest);
    });
    const start = athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input;
    expect(start.WorkGroup).toBe('security');
    expect(start.QueryExecutionContext).toEqual({ Database: 'trailwatch' });
    expect(start.QueryString).toBe(
      buildQuery(filter, {
        dialect: 'athena',
        table: '"trailwatch"."cloudtrail_logs"',
        accounts: ['309303190113'],
        regions: ['ca-northsouth-2r'],
        order: 'oldest-first',
      }),
    );
    expect(start.QueryString).toContain("account IN ('309303190113')");
    expect(athena.commandCalls(GetQueryExecutionCommand)).toHaveLength(3);
    expect(athena.commandCalls(GetQueryResultsCommand).map((c) => c.args[0].input.NextToken)).toEqual(
      pages(rows, 2).map((_, i) => (i === 0 ? undefined : `page-${i * 2}`)),
    );
    expect(viaAthena.stderr).toMatch(
      /^\d+ events matched; Athena query q-1 on trailwatch.cloudtrail_logs scanned 1.2 MB/,
    );
  });

  it('says in one line which option Athena needs when the table injects the account partition', async () => {
    // Prepare
    mockQuery([], ['RUNNING', 'FAILED']);
    // Act
    const failing = run({ engine: 'athena', workgroup: 'security', eventName: 'StopLogging' });
    // Assess
    await expect(failing).rejects.toThrow(CliError);
    await expect(run({ engine: 'athena', workgroup: 'w', eventName: 'StopLogging' })).rejects.toThrow(
      /^--account: the table projects account values by injection/,
    );
  });

  it('refuses contradictory or missing options, naming them', () => {
    const base = { output: 'table', concurrency: 1 } as RawOptions;
    expect(() => commandOptions({ ...base, engine: 'athena' })).toThrow(/--engine athena needs --workgroup/);
    expect(() => commandOptions({ ...base, engine: 'athena', workgroup: 'w', source: dir })).toThrow(
      /give one of them/,
    );
    expect(() => commandOptions({ ...base, engine: 'athena', workgroup: 'w', account: '12' })).toThrow(
      /^--account: expected 12-digit/,
    );
    expect(() => commandOptions({ ...base, source: dir, workgroup: 'w' })).toThrow(
      /^--workgroup is for --engine athena/,
    );
    expect(() => commandOptions({ ...base })).toThrow(/required option '--source/);
  });
});

describe('AthenaQuery', () => {
  it('stops with Athena’s reason when the query fails', async () => {
    // Prepare
    mockQuery([], ['QUEUED', 'FAILED']);
    const query = new AthenaQuery(new AthenaClient({ region: 'us-east-1' }), {
      workgroup: 'w',
      sleep: async () => {},
    });
    // Act
    const all = async () => {
      for await (const _ of query.rows('SELECT 1')) {
        // no rows expected
      }
    };
    // Assess
    await expect(all()).rejects.toThrow(AthenaQueryError);
    await expect(all()).rejects.toThrow(/^query q-1 failed: CONSTRAINT_VIOLATION/);
  });
});

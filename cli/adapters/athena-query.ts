/**
 * Runs one SQL query on Athena and pages its results: StartQueryExecution, GetQueryExecution until the
 * query ends (polling with a growing pause), then GetQueryResults page by page. The first row of the first
 * page holds the column names (Athena returns them as data for SELECT), so it is skipped.
 */
import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';

export interface AthenaQueryOptions {
  workgroup: string;
  /** Database the query's unqualified table names refer to. */
  database?: string;
  /** First pause between status checks (doubles up to 5 s). */
  pollMs?: number;
  /** Give up (and say so) after this long. */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The query failed, was cancelled or timed out: the message is Athena's reason. */
export class AthenaQueryError extends Error {
  readonly queryExecutionId: string | undefined;
  constructor(message: string, queryExecutionId?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.queryExecutionId = queryExecutionId;
  }
}

export interface AthenaQueryStats {
  queryExecutionId: string;
  dataScannedBytes?: number;
  engineMs?: number;
  pages: number;
}

export class AthenaQuery {
  readonly stats: AthenaQueryStats = { queryExecutionId: '', pages: 0 };
  private readonly client: AthenaClient;
  private readonly options: AthenaQueryOptions;

  constructor(client: AthenaClient, options: AthenaQueryOptions) {
    this.client = client;
    this.options = options;
  }

  /** Runs the query and yields its rows as column name → value (null for SQL NULL). */
  async *rows(sql: string): AsyncGenerator<Record<string, string | null>> {
    const id = await this.start(sql);
    await this.wait(id);
    let token: string | undefined;
    let columns: string[] | undefined;
    let first = true;
    do {
      const page = await this.client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, ...(token ? { NextToken: token } : {}) }),
      );
      this.stats.pages++;
      columns ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
      const rows = page.ResultSet?.Rows ?? [];
      for (let i = first ? 1 : 0; i < rows.length; i++) {
        const data = rows[i].Data ?? [];
        const row: Record<string, string | null> = {};
        columns.forEach((c, j) => {
          row[c] = data[j]?.VarCharValue ?? null;
        });
        yield row;
      }
      first = false;
      token = page.NextToken;
    } while (token);
  }

  private async start(sql: string): Promise<string> {
    const out = await this.client.send(
      new StartQueryExecutionCommand({
        QueryString: sql,
        WorkGroup: this.options.workgroup,
        ...(this.options.database ? { QueryExecutionContext: { Database: this.options.database } } : {}),
      }),
    );
    if (!out.QueryExecutionId) throw new AthenaQueryError('Athena started no query (no QueryExecutionId)');
    this.stats.queryExecutionId = out.QueryExecutionId;
    return out.QueryExecutionId;
  }

  private async wait(id: string): Promise<void> {
    const sleep = this.options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    const deadline = Date.now() + (this.options.timeoutMs ?? 30 * 60_000);
    let pause = this.options.pollMs ?? 250;
    for (;;) {
      const { QueryExecution: q } = await this.client.send(
        new GetQueryExecutionCommand({ QueryExecutionId: id }),
      );
      const state = q?.Status?.State;
      if (state === 'SUCCEEDED') {
        this.stats.dataScannedBytes = q?.Statistics?.DataScannedInBytes;
        this.stats.engineMs = q?.Statistics?.EngineExecutionTimeInMillis;
        return;
      }
      if (state === 'FAILED' || state === 'CANCELLED') {
        const reason =
          q?.Status?.StateChangeReason ?? q?.Status?.AthenaError?.ErrorMessage ?? 'no reason given';
        throw new AthenaQueryError(`query ${id} ${state.toLowerCase()}: ${reason}`, id);
      }
      if (Date.now() > deadline)
        throw new AthenaQueryError(`query ${id} still ${state ?? 'unknown'} after the timeout`, id);
      await sleep(pause);
      pause = Math.min(pause * 2, 5000);
    }
  }
}

/**
 * One DuckDB query in its own process, its result written as CSV to stdout: the DuckDB side of
 * `npm run bench -- lookup` (test/bench/lookup.ts). Usage: node test/bench/duckdb-query.ts '<SQL>'
 */
import { DuckDBInstance } from '@duckdb/node-api';

const sql = process.argv[2];
if (!sql) throw new Error('expected the SQL as the first argument');
const db = await DuckDBInstance.create(':memory:');
const connection = await db.connect();
const reader = await connection.runAndReadAll(sql);
const cell = (v: unknown) => {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const lines = [reader.columnNames().map(cell).join(',')];
for (const row of reader.getRows()) lines.push(row.map(cell).join(','));
process.stdout.write(`${lines.join('\n')}\n`);

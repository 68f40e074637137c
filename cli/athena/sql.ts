/**
 * Lookup's filters as one SQL query over the CloudTrail table AWS documents for Athena
 * (https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html), in two
 * dialects: Athena (Trino) and DuckDB. The query is the same in both; only the functions that read JSON,
 * lists and patterns differ ({@link DIALECTS}).
 *
 * The table keeps `requestparameters` and `responseelements` as JSON text and `resources` as an array of
 * `{arn, accountid, type}`, so the resource filter is the resource tables of `shared/resources/` written out
 * as JSON path lookups: for every rule of the wanted type (all rules for a name alone), the event source and
 * event name the rule applies to, and one of its paths holding a value that is the name (or ends with
 * `/name` or `:name`, as `nameMatches`) and fits the rule's pattern; or a `resources` entry of that type
 * (typed by its ARN when CloudTrail gave no type) whose ARN is the name.
 *
 * Differences from the in-memory lookup, by design of the engines: Athena reads paths in JSON path's lax
 * mode, where a field of an array reads that field of every element (the extractor reads only the paths
 * written); neither engine drops the duplicates of one event delivered twice.
 */

import type { LookupFilter } from '#cli/lookup/filter.ts';
import type { LookupOrder } from '#cli/lookup/scan.ts';
import { dayRange } from '#cli/lookup/select-files.ts';
import { READ_PREFIXES } from '#shared/record.ts';
import {
  ARN_TYPES,
  arnTypePatterns,
  parsePath,
  type ResourceRule,
  type ServiceTable,
  TABLES,
} from '#shared/resources/index.ts';

export type DialectName = 'athena' | 'duckdb';

/** A filter the engine cannot run as asked: the message names the option. */
export class QueryBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

interface Dialect {
  /** The strings at a path in a JSON text column, as a list (`steps` from `parsePath`, `[]` marked). */
  anyAtPath(column: string, path: { key: string; each: boolean }[], test: (v: string) => string): string;
  anyInList(list: string, test: (x: string) => string): string;
  regex(value: string, pattern: string): string;
  timestamp(iso: string): string;
  eventTime: string;
  /** A struct or array column as JSON text. */
  json(expr: string): string;
}

const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** `$.a.b[*].c` from steps, with `[*]` where `wild` says. */
function jsonPath(steps: { key: string }[], wild: boolean[]): string {
  return `$${steps.map((s, i) => `.${s.key}${wild[i] ? '[*]' : ''}`).join('')}`;
}

export const DIALECTS: Record<DialectName, Dialect> = {
  athena: {
    // Lax mode reads an object where an array was expected as one element, as the extractor does.
    anyAtPath: (column, steps, test) =>
      `any_match(CAST(json_parse(json_query(${column}, ${lit(
        `lax ${jsonPath(
          steps,
          steps.map(() => true),
        )}`,
      )} WITH ARRAY WRAPPER)) AS ARRAY(JSON)), x -> ${test("json_extract_scalar(x, '$')")})`,
    anyInList: (list, test) => `any_match(${list}, x -> ${test('x')})`,
    regex: (value, pattern) => `regexp_like(${value}, ${lit(pattern)})`,
    timestamp: (iso) => `from_iso8601_timestamp(${lit(iso)})`,
    // try(): a record with a malformed eventTime (anyone who can write to the bucket can add one) must not
    // fail the whole query; it sorts last and matches no time bound, as in lookup.
    eventTime: 'try(from_iso8601_timestamp(eventtime))',
    json: (expr) => `json_format(CAST(${expr} AS JSON))`,
  },
  duckdb: {
    // No lax mode: every `[]` is read both as an array and as a single object, and the last step both as
    // a value and as a list of values.
    anyAtPath: (column, steps, test) => {
      const alternatives: string[] = [];
      const eachAt = steps.map((s, i) => (s.each || i === steps.length - 1 ? i : -1)).filter((i) => i >= 0);
      for (let mask = 0; mask < 1 << eachAt.length; mask++) {
        const wild = steps.map((_, i) => eachAt.includes(i) && (mask & (1 << eachAt.indexOf(i))) !== 0);
        const path = lit(jsonPath(steps, wild));
        alternatives.push(
          wild.some(Boolean)
            ? `len(list_filter(json_extract_string(${column}, ${path}), x -> ${test('x')})) > 0`
            : `coalesce(${test(`json_extract_string(${column}, ${path})`)}, false)`,
        );
      }
      return `(${alternatives.join(' OR ')})`;
    },
    anyInList: (list, test) => `len(list_filter(${list}, x -> ${test('x')})) > 0`,
    regex: (value, pattern) => `regexp_matches(${value}, ${lit(pattern)})`,
    timestamp: (iso) => `CAST(${lit(iso)} AS TIMESTAMPTZ)`,
    eventTime: 'TRY_CAST(eventtime AS TIMESTAMPTZ)',
    json: (expr) => `CAST(to_json(${expr}) AS VARCHAR)`,
  },
};

/** Where the query looks and how many rows it keeps. */
export interface QueryOptions {
  dialect: DialectName;
  /** `database.table`, or a table name. */
  table: string;
  /** Partition values: only these accounts and regions are read. */
  accounts?: string[];
  regions?: string[];
  maxResults?: number;
  order?: LookupOrder;
}

/** The columns a query returns, in order: enough to rebuild the record lookup prints. */
export const RESULT_COLUMNS = [
  'eventversion',
  'useridentity',
  'eventtime',
  'eventsource',
  'eventname',
  'awsregion',
  'sourceipaddress',
  'useragent',
  'errorcode',
  'errormessage',
  'requestparameters',
  'responseelements',
  'additionaleventdata',
  'requestid',
  'eventid',
  'readonly',
  'resources',
  'eventtype',
  'recipientaccountid',
  'account',
  'region',
] as const;

/** Patterns every engine reads the same way: no lookaround, backreferences or flags. */
function portable(pattern: RegExp | string, option: string): string {
  const source = typeof pattern === 'string' ? pattern : pattern.source;
  if ((typeof pattern !== 'string' && pattern.flags !== '') || /\(\?[=!<]|\\[1-9]|\\k</.test(source)) {
    throw new QueryBuildError(
      `${option}: the pattern /${source}/ cannot run in SQL (lookaround, backreference or flags)`,
    );
  }
  return source;
}

/** The value test of `nameMatches` in SQL, for a name known when the query is built. */
function nameTest(_d: Dialect, name: string): (v: string) => string {
  const n = name.length;
  return (v) => {
    const ending = `substr(${v}, length(${v}) - ${n - 1}) = ${lit(name)}`;
    const after =
      name.startsWith('/') || name.startsWith(':')
        ? ending
        : `(${ending} AND substr(${v}, length(${v}) - ${n}, 1) IN ('/', ':'))`;
    return `(${v} = ${lit(name)} OR (length(${v}) > ${n} AND ${after}))`;
  };
}

function ruleEvents(d: Dialect, rule: ResourceRule): string | undefined {
  if (rule.events === undefined) return undefined;
  if (rule.events instanceof RegExp) return d.regex('eventname', portable(rule.events, '--resource-type'));
  return `eventname IN (${rule.events.map(lit).join(', ')})`;
}

/** The resource filter: rules of the wanted type (or every rule), plus the `resources` array. */
export function resourcePredicate(
  d: Dialect,
  want: { name?: string; type?: string },
  tables: readonly ServiceTable[] = TABLES,
): string {
  const valueTest = (rule: ResourceRule) => (v: string) => {
    const parts = [want.name !== undefined ? nameTest(d, want.name)(v) : `${v} <> ''`];
    if (rule.match) parts.push(d.regex(v, portable(rule.match, '--resource-type')));
    return parts.join(' AND ');
  };
  const alternatives: string[] = [];
  for (const table of tables) {
    const rules = table.rules.filter((r) => want.type === undefined || r.type === want.type);
    if (rules.length === 0) continue;
    const perRule = rules.map((rule) => {
      const paths = rule.paths.map((p) => {
        const [root, ...rest] = parsePath(p);
        const column = root.key === 'requestParameters' ? 'requestparameters' : 'responseelements';
        return d.anyAtPath(column, rest, valueTest(rule));
      });
      const events = ruleEvents(d, rule);
      const any = paths.length === 1 ? paths[0] : `(${paths.join(' OR ')})`;
      return events ? `(${events} AND ${any})` : any;
    });
    alternatives.push(`(eventsource = ${lit(table.eventSource)} AND (${perRule.join(' OR ')}))`);
  }
  // resources[]: its own type, else the type its ARN names.
  const entryTest = (x: string) => {
    const parts: string[] = [];
    if (want.type !== undefined) {
      const byArn = arnTypePatterns(want.type).map((p) => d.regex(`${x}.arn`, p));
      parts.push(
        byArn.length > 0
          ? `(${x}.type = ${lit(want.type)} OR (${x}.type IS NULL AND (${byArn.join(' OR ')})))`
          : `${x}.type = ${lit(want.type)}`,
      );
    }
    if (want.name !== undefined) parts.push(nameTest(d, want.name)(`${x}.arn`));
    return parts.length > 0 ? parts.join(' AND ') : 'true';
  };
  alternatives.unshift(`coalesce(${d.anyInList('resources', entryTest)}, false)`);
  const any = `(${alternatives.join('\n    OR ')})`;
  // A cheap test first: the name must be somewhere in the text the record carries.
  if (want.name === undefined) return any;
  const text = (c: string) => `coalesce(strpos(${c}, ${lit(want.name!)}), 0) > 0`;
  return `((${text('requestparameters')} OR ${text('responseelements')} OR resources IS NOT NULL) AND ${any})`;
}

/** The names `--username` finds a caller by (`userNames` in cli/lookup/filter.ts), as SQL. */
function usernamePredicate(name: string): string {
  const u = 'useridentity';
  const v = lit(name);
  const arnTail = `(strpos(${u}.arn, '/') > 0 AND (substr(${u}.arn, strpos(${u}.arn, '/') + 1) = ${v} OR ${nameTestPlain(`${u}.arn`, name)}))`;
  return `(${u}.username = ${v} OR ${u}.sessioncontext.sessionissuer.username = ${v} OR ${u}.invokedby = ${v}
    OR (${u}.type = 'Root' AND ${v} = 'root') OR ${arnTail}
    OR (${u}.type IN ('AssumedRole', 'FederatedUser') AND ${nameTestColon(`${u}.principalid`, name)}))`;
}

/** The last `/` segment of a value is the name. */
function nameTestPlain(v: string, name: string): string {
  return `(length(${v}) > ${name.length} AND substr(${v}, length(${v}) - ${name.length - 1}) = ${lit(name)} AND substr(${v}, length(${v}) - ${name.length}, 1) = '/' AND strpos(substr(${v}, length(${v}) - ${name.length - 1}), '/') = 0)`;
}

/** The part after the first `:` is the name (`ROLEID:session`). */
function nameTestColon(v: string, name: string): string {
  return `(strpos(${v}, ':') > 0 AND substr(${v}, strpos(${v}, ':') + 1) = ${lit(name)})`;
}

/** One SQL query for a lookup filter. Throws {@link QueryBuildError} for a filter the engine cannot run. */
export function buildQuery(filter: LookupFilter, opts: QueryOptions): string {
  const d = DIALECTS[opts.dialect];
  const where: string[] = [];
  // Partitions first: they decide which files the engine reads at all.
  const days = dayRange(filter.startTime, filter.endTime);
  if (days.first !== undefined) where.push(`"timestamp" >= ${lit(days.first)}`);
  if (days.last !== undefined) where.push(`"timestamp" <= ${lit(days.last)}`);
  if (opts.accounts?.length) where.push(`account IN (${opts.accounts.map(lit).join(', ')})`);
  if (opts.regions?.length) where.push(`region IN (${opts.regions.map(lit).join(', ')})`);
  if (filter.startTime) where.push(`${d.eventTime} >= ${d.timestamp(filter.startTime.toISOString())}`);
  if (filter.endTime) where.push(`${d.eventTime} <= ${d.timestamp(filter.endTime.toISOString())}`);
  if (filter.eventName !== undefined) where.push(`eventname = ${lit(filter.eventName)}`);
  if (filter.eventSource !== undefined) {
    const source = filter.eventSource.includes('.')
      ? filter.eventSource
      : `${filter.eventSource}.amazonaws.com`;
    where.push(`eventsource = ${lit(source)}`);
  }
  if (filter.eventId !== undefined) where.push(`eventid = ${lit(filter.eventId)}`);
  if (filter.accessKeyId !== undefined) where.push(`useridentity.accesskeyid = ${lit(filter.accessKeyId)}`);
  if (filter.readOnly !== undefined) {
    const verb = d.regex('eventname', portable(READ_PREFIXES, '--read-only'));
    const isRead = `coalesce(CASE readonly WHEN 'true' THEN true WHEN 'false' THEN false END, ${verb}, false)`;
    where.push(filter.readOnly ? isRead : `NOT ${isRead}`);
  }
  if (filter.username !== undefined) where.push(usernamePredicate(filter.username));
  if (filter.resourceName !== undefined || filter.resourceType !== undefined) {
    where.push(resourcePredicate(d, { name: filter.resourceName, type: filter.resourceType }));
  }
  const columns = RESULT_COLUMNS.map((c) =>
    c === 'useridentity' || c === 'resources'
      ? `${d.json(c)} AS ${c}`
      : c === 'account' || c === 'region'
        ? c
        : c,
  );
  const direction = opts.order === 'newest-first' ? 'DESC' : 'ASC';
  return [
    `SELECT ${columns.join(', ')}`,
    `FROM ${opts.table}`,
    where.length > 0 ? `WHERE ${where.join('\n  AND ')}` : '',
    // As lookup sorts: by time, then by event ID (ascending either way).
    `ORDER BY ${d.eventTime} ${direction} NULLS LAST, eventid ASC`,
    opts.maxResults !== undefined ? `LIMIT ${opts.maxResults}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** Every type a resource filter can name: the tables' and the ARN types'. */
export function knownResourceTypes(): string[] {
  return [
    ...new Set([...TABLES.flatMap((t) => t.rules.map((r) => r.type)), ...Object.values(ARN_TYPES)]),
  ].sort();
}

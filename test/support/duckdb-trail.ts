/**
 * A DuckDB view with the columns of the Athena CloudTrail table (deploy/athena-table.cjs), read with
 * read_json straight from a folder laid out like the trail bucket: the SQL lookup runs on it in DuckDB's
 * dialect exactly as it runs on Athena. Field names are lower-cased as the table's are; request and
 * response stay JSON text; account, region and `timestamp` come from the key, as partition projection
 * derives them.
 */
import { DuckDBInstance } from '@duckdb/node-api';

const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;
const s = (path: string) => `r->>${lit(`$.${path}`)}`;

const ISSUER = `struct_pack(type := ${s('userIdentity.sessionContext.sessionIssuer.type')},
  principalid := ${s('userIdentity.sessionContext.sessionIssuer.principalId')},
  arn := ${s('userIdentity.sessionContext.sessionIssuer.arn')},
  accountid := ${s('userIdentity.sessionContext.sessionIssuer.accountId')},
  username := ${s('userIdentity.sessionContext.sessionIssuer.userName')})`;

const IDENTITY = `struct_pack(type := ${s('userIdentity.type')}, principalid := ${s('userIdentity.principalId')},
  arn := ${s('userIdentity.arn')}, accountid := ${s('userIdentity.accountId')},
  invokedby := ${s('userIdentity.invokedBy')}, accesskeyid := ${s('userIdentity.accessKeyId')},
  username := ${s('userIdentity.userName')},
  sessioncontext := struct_pack(
    attributes := struct_pack(mfaauthenticated := ${s('userIdentity.sessionContext.attributes.mfaAuthenticated')},
      creationdate := ${s('userIdentity.sessionContext.attributes.creationDate')}),
    sessionissuer := ${ISSUER}))`;

/** JSON text of a field, NULL when missing or null (as the table's SerDe reads it). */
const text = (field: string) =>
  `CASE WHEN json_type(r, ${lit(`$.${field}`)}) IS NULL OR json_type(r, ${lit(`$.${field}`)}) = 'NULL' THEN NULL ELSE CAST(json_extract(r, ${lit(`$.${field}`)}) AS VARCHAR) END`;

const KEY = String.raw`/AWSLogs/(o-[a-z0-9]+/)?(\d{12})/CloudTrail/([^/]+)/(\d{4}/\d{2}/\d{2})/[^/]+$`;

export async function duckdbTrail(folder: string, view = 'cloudtrail_logs') {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  await connection.run(`CREATE VIEW ${view} AS
SELECT ${s('eventVersion')} AS eventversion, ${IDENTITY} AS useridentity,
  ${s('eventTime')} AS eventtime, ${s('eventSource')} AS eventsource, ${s('eventName')} AS eventname,
  ${s('awsRegion')} AS awsregion, ${s('sourceIPAddress')} AS sourceipaddress, ${s('userAgent')} AS useragent,
  ${s('errorCode')} AS errorcode, ${s('errorMessage')} AS errormessage,
  ${text('requestParameters')} AS requestparameters, ${text('responseElements')} AS responseelements,
  ${text('additionalEventData')} AS additionaleventdata,
  ${s('requestID')} AS requestid, ${s('eventID')} AS eventid, ${s('readOnly')} AS readonly,
  list_transform(CAST(json_extract(r, '$.resources') AS JSON[]),
    e -> struct_pack(arn := e->>'$.ARN', accountid := e->>'$.accountId', type := e->>'$.type')) AS resources,
  ${s('eventType')} AS eventtype, ${s('recipientAccountId')} AS recipientaccountid,
  regexp_extract(filename, ${lit(KEY)}, 2) AS account,
  regexp_extract(filename, ${lit(KEY)}, 3) AS region,
  regexp_extract(filename, ${lit(KEY)}, 4) AS "timestamp"
FROM (
  SELECT unnest(Records) AS r, filename
  FROM read_json(${lit(`${folder}/**/*.json.gz`)}, columns = {Records: 'JSON[]'}, filename = true)
)`);
  return {
    /** Runs a query; every value as text (NULL as null), the way Athena returns rows. */
    async query(sql: string): Promise<Record<string, string | null>[]> {
      const reader = await connection.runAndReadAll(sql);
      const columns = reader.columnNames();
      return reader.getRows().map((row) => {
        const out: Record<string, string | null> = {};
        columns.forEach((c, i) => {
          const v = row[i];
          out[c] = v === null || v === undefined ? null : String(v);
        });
        return out;
      });
    },
    close(): void {
      connection.closeSync();
      db.closeSync();
    },
  };
}

'use strict';
/**
 * The Athena (Glue) table over the trail bucket, with partition projection on account, region and day, as
 * AWS documents it for CloudTrail: "Create the table for CloudTrail logs in Athena using partition
 * projection", https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-partition-projection.html
 * (columns, SerDe and input format as there; the account and region partitions added for organization and
 * multi-region trails).
 *
 * One definition for both uses:
 *   resources:
 *     - Resources: ${file(./deploy/athena-table.cjs):resources}    (osls; empty unless athenaTable=true)
 *   `trailwatch athena ddl`                                         (the same table as CREATE TABLE)
 *
 * Settings under `custom.trailwatch.athena` (serverless.yml fills them from the stack parameters):
 *   enabled ('true' to create), database, table, bucket, prefix, orgId, accounts (comma-separated account
 *   IDs; empty: the account partition is `injected`, so every query names its accounts), regions
 *   (comma-separated), startDate (yyyy/MM/dd, the first day queries can reach).
 */
const { customOf } = require('./alarm.cjs');

/** Columns as AWS's CloudTrail table declares them (Hive types). */
const COLUMNS = [
  ['eventversion', 'string'],
  [
    'useridentity',
    'struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,accesskeyid:string,' +
      'username:string,onbehalfof:struct<userid:string,identitystorearn:string>,' +
      'sessioncontext:struct<attributes:struct<mfaauthenticated:string,creationdate:string>,' +
      'sessionissuer:struct<type:string,principalid:string,arn:string,accountid:string,username:string>,' +
      'ec2roledelivery:string,webidfederationdata:struct<federatedprovider:string,attributes:map<string,string>>>>',
  ],
  ['eventtime', 'string'],
  ['eventsource', 'string'],
  ['eventname', 'string'],
  ['awsregion', 'string'],
  ['sourceipaddress', 'string'],
  ['useragent', 'string'],
  ['errorcode', 'string'],
  ['errormessage', 'string'],
  ['requestparameters', 'string'],
  ['responseelements', 'string'],
  ['additionaleventdata', 'string'],
  ['requestid', 'string'],
  ['eventid', 'string'],
  ['readonly', 'string'],
  ['resources', 'array<struct<arn:string,accountid:string,type:string>>'],
  ['eventtype', 'string'],
  ['apiversion', 'string'],
  ['recipientaccountid', 'string'],
  ['serviceeventdetails', 'string'],
  ['sharedeventid', 'string'],
  ['vpcendpointid', 'string'],
  ['vpcendpointaccountid', 'string'],
  ['eventcategory', 'string'],
  ['addendum', 'struct<reason:string,updatedfields:string,originalrequestid:string,originaleventid:string>'],
  ['sessioncredentialfromconsole', 'string'],
  ['edgedevicedetails', 'string'],
  ['tlsdetails', 'struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>'],
];

const PARTITIONS = ['account', 'region', 'timestamp'];
const SERDE = 'org.apache.hive.hcatalog.data.JsonSerDe';
const INPUT_FORMAT = 'com.amazon.emr.cloudtrail.CloudTrailInputFormat';
const OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

const list = (v) =>
  String(v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Settings with defaults, checked: a bad value stops the deployment with a message naming it. */
function tableSettings(raw = {}) {
  const s = {
    database: raw.database || 'trailwatch',
    table: raw.table || 'cloudtrail_logs',
    bucket: raw.bucket,
    prefix: raw.prefix || '',
    orgId: raw.orgId || '',
    accounts: list(raw.accounts),
    regions: list(raw.regions),
    startDate: raw.startDate || '2024/01/01',
  };
  const fail = (what) => {
    throw new Error(`athena table: ${what}`);
  };
  if (!s.bucket) fail('trailBucket is required');
  for (const [k, v] of [
    ['database', s.database],
    ['table', s.table],
  ])
    if (!/^[a-z0-9_]{1,255}$/.test(v)) fail(`${k} must be lower-case letters, digits and _, found '${v}'`);
  if (s.prefix && !s.prefix.endsWith('/')) fail(`trailPrefix must end with '/', found '${s.prefix}'`);
  if (s.orgId && !/^o-[a-z0-9]{10,32}$/.test(s.orgId))
    fail(`orgId must look like o-abc1234567, found '${s.orgId}'`);
  for (const a of s.accounts)
    if (!/^\d{12}$/.test(a)) fail(`athenaAccounts: expected 12-digit account IDs, found '${a}'`);
  if (s.regions.length === 0) fail('athenaRegions must list at least one region');
  for (const r of s.regions)
    if (!/^[a-z0-9-]+$/.test(r)) fail(`athenaRegions: expected region names, found '${r}'`);
  if (!/^\d{4}\/\d{2}\/\d{2}$/.test(s.startDate))
    fail(`athenaStartDate must be yyyy/MM/dd, found '${s.startDate}'`);
  return s;
}

/** `s3://bucket/[prefix]AWSLogs/[o-org/]` */
function location(s) {
  return `s3://${s.bucket}/${s.prefix}AWSLogs/${s.orgId ? `${s.orgId}/` : ''}`;
}

/** Partition projection, as table properties. */
function tableProperties(s) {
  const p = {
    'projection.enabled': 'true',
    'projection.region.type': 'enum',
    'projection.region.values': s.regions.join(','),
    'projection.timestamp.type': 'date',
    'projection.timestamp.format': 'yyyy/MM/dd',
    'projection.timestamp.interval': '1',
    'projection.timestamp.interval.unit': 'DAYS',
    'projection.timestamp.range': `${s.startDate},NOW`,
    'storage.location.template': `${location(s)}\${account}/CloudTrail/\${region}/\${timestamp}`,
    classification: 'cloudtrail',
  };
  if (s.accounts.length > 0) {
    p['projection.account.type'] = 'enum';
    p['projection.account.values'] = s.accounts.join(',');
  } else p['projection.account.type'] = 'injected';
  return p;
}

/** The table as a CREATE TABLE statement (what `trailwatch athena ddl` prints). */
function createTableDdl(raw) {
  const s = tableSettings(raw);
  const q = (v) => `'${String(v).replaceAll("'", "''")}'`;
  const props = Object.entries(tableProperties(s)).map(([k, v]) => `  ${q(k)}=${q(v)}`);
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS \`${s.database}\`.\`${s.table}\` (`,
    COLUMNS.map(([n, t]) => `  \`${n}\` ${t}`).join(',\n'),
    ')',
    `PARTITIONED BY (${PARTITIONS.map((p) => `\`${p}\` string`).join(', ')})`,
    `ROW FORMAT SERDE ${q(SERDE)}`,
    `STORED AS INPUTFORMAT ${q(INPUT_FORMAT)}`,
    `OUTPUTFORMAT ${q(OUTPUT_FORMAT)}`,
    `LOCATION ${q(location(s))}`,
    'TBLPROPERTIES (',
    props.join(',\n'),
    ');',
  ].join('\n');
}

/** The Glue database and table as CloudFormation resources. */
function glueResources(raw) {
  const s = tableSettings(raw);
  return {
    AthenaDatabase: {
      Type: 'AWS::Glue::Database',
      Properties: {
        CatalogId: { Ref: 'AWS::AccountId' },
        DatabaseInput: { Name: s.database, Description: 'trailwatch: CloudTrail logs for Athena' },
      },
    },
    AthenaTable: {
      Type: 'AWS::Glue::Table',
      DependsOn: ['AthenaDatabase'],
      Properties: {
        CatalogId: { Ref: 'AWS::AccountId' },
        DatabaseName: s.database,
        TableInput: {
          Name: s.table,
          TableType: 'EXTERNAL_TABLE',
          Parameters: { EXTERNAL: 'TRUE', ...tableProperties(s) },
          PartitionKeys: PARTITIONS.map((Name) => ({ Name, Type: 'string' })),
          StorageDescriptor: {
            Columns: COLUMNS.map(([Name, Type]) => ({ Name, Type })),
            Location: location(s),
            InputFormat: INPUT_FORMAT,
            OutputFormat: OUTPUT_FORMAT,
            SerdeInfo: { SerializationLibrary: SERDE },
          },
        },
      },
    },
  };
}

/** For serverless.yml: nothing unless `custom.trailwatch.athena.enabled` is 'true'. */
async function resources(args = {}) {
  const raw = (await customOf(args)).trailwatch?.athena ?? {};
  return String(raw.enabled) === 'true' ? glueResources(raw) : {};
}

module.exports = { COLUMNS, PARTITIONS, createTableDdl, glueResources, resources, tableSettings };

/**
 * A row of the SQL lookup (columns {@link RESULT_COLUMNS}) back as the CloudTrail record it was read from,
 * so an engine's answer prints exactly as lookup's own. The table lower-cases every field name
 * (`useridentity.accesskeyid`); the record's names come back from the one list of them below.
 */

import type { LookupEvent } from '#cli/lookup/row.ts';
import type { TrailKey } from '#shared/keys.ts';
import type { CloudTrailRecord } from '#shared/record.ts';

/** CloudTrail's field names whose lower-case form the table uses. */
const NAMES = [
  'eventVersion',
  'userIdentity',
  'type',
  'principalId',
  'arn',
  'accountId',
  'invokedBy',
  'accessKeyId',
  'userName',
  'sessionContext',
  'attributes',
  'mfaAuthenticated',
  'creationDate',
  'sessionIssuer',
  'onBehalfOf',
  'userId',
  'identityStoreArn',
  'ec2RoleDelivery',
  'webIdFederationData',
  'federatedProvider',
  'eventTime',
  'eventSource',
  'eventName',
  'awsRegion',
  'sourceIPAddress',
  'userAgent',
  'errorCode',
  'errorMessage',
  'requestParameters',
  'responseElements',
  'additionalEventData',
  'requestID',
  'eventID',
  'readOnly',
  'resources',
  'eventType',
  'recipientAccountId',
];
const CASED = new Map(NAMES.map((n) => [n.toLowerCase(), n]));
CASED.set('arn', 'arn');

/** A struct from the table with CloudTrail's field names; `ARN` in resources entries. */
function recase(v: unknown, inResources = false): unknown {
  if (Array.isArray(v)) return v.map((e) => recase(e, inResources));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val === null || val === undefined) continue;
    const name = inResources && k === 'arn' ? 'ARN' : (CASED.get(k) ?? k);
    const value = recase(val, inResources);
    // A struct the record did not have comes back with every field null: leave it out, as the record did.
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      Object.keys(value).length === 0
    )
      continue;
    out[name] = value;
  }
  return out;
}

function parseJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined || text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** One result row (column name → text, null for SQL NULL) as a lookup event. */
export function eventFromRow(row: Record<string, string | null>): LookupEvent {
  const r: CloudTrailRecord = {};
  const text = (k: string) => row[k] ?? undefined;
  r.eventVersion = text('eventversion');
  const identity = recase(parseJson(row.useridentity));
  if (identity && typeof identity === 'object') r.userIdentity = identity as CloudTrailRecord['userIdentity'];
  r.eventTime = text('eventtime');
  r.eventSource = text('eventsource');
  r.eventName = text('eventname');
  r.awsRegion = text('awsregion');
  r.sourceIPAddress = text('sourceipaddress');
  r.userAgent = text('useragent');
  r.errorCode = text('errorcode');
  r.errorMessage = text('errormessage');
  r.requestParameters = (parseJson(row.requestparameters) ?? null) as CloudTrailRecord['requestParameters'];
  r.responseElements = (parseJson(row.responseelements) ?? null) as CloudTrailRecord['responseElements'];
  const additional = parseJson(row.additionaleventdata);
  if (additional !== undefined) r.additionalEventData = additional as CloudTrailRecord['additionalEventData'];
  r.requestID = text('requestid');
  r.eventID = text('eventid');
  if (row.readonly === 'true' || row.readonly === 'false') r.readOnly = row.readonly === 'true';
  const resources = recase(parseJson(row.resources), true);
  if (Array.isArray(resources)) r.resources = resources as CloudTrailRecord['resources'];
  r.eventType = text('eventtype');
  r.recipientAccountId = text('recipientaccountid');
  for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
  const file: TrailKey = {
    kind: 'log',
    key: '',
    prefix: '',
    account: row.account ?? r.recipientAccountId ?? '',
    region: row.region ?? r.awsRegion ?? '',
    day: row.timestamp ?? '',
    time: new Date(Number.NaN),
  } as TrailKey;
  return { record: r, file };
}

/** One looked-up event as a flat row: who did what, when, on which resource, from where. */
import { csvRecord, jsonLine } from '#cli/output.ts';
import type { TrailKey } from '#shared/keys.ts';
import { type CloudTrailRecord, isReadOnly } from '#shared/record.ts';
import { extractResources, type ResourceRef } from '#shared/resources/index.ts';
import { safeCallerName } from './filter.ts';

export interface LookupEvent {
  record: CloudTrailRecord;
  /** The log file it was read from. */
  file: TrailKey;
}

export interface LookupRow {
  eventTime: string | null;
  account: string | null;
  region: string | null;
  eventSource: string | null;
  eventName: string | null;
  /** The caller as a person names it: user name, role session, service ({@link safeCallerName}). */
  username: string | null;
  principalArn: string | null;
  /** `userIdentity.type`: IAMUser, AssumedRole, Root, AWSService, FederatedUser... */
  principalType: string | null;
  /** For temporary credentials: the role or user that issued them (`sessionContext.sessionIssuer.arn`). */
  sessionIssuer: string | null;
  /** Whether the session was signed in with MFA (`sessionContext.attributes.mfaAuthenticated`, or a console sign-in's `MFAUsed`); null when the record does not say. */
  mfaAuthenticated: boolean | null;
  accessKeyId: string | null;
  sourceIPAddress: string | null;
  userAgent: string | null;
  /** The resources the event names, as Event history lists them (`extractResources`). */
  resources: ResourceRef[];
  readOnly: boolean;
  errorCode: string | null;
  eventID: string | null;
}

/** Column order of {@link LookupRow}, for csv headers and the like. */
export const ROW_FIELDS = [
  'eventTime',
  'account',
  'region',
  'eventSource',
  'eventName',
  'username',
  'principalArn',
  'principalType',
  'sessionIssuer',
  'mfaAuthenticated',
  'accessKeyId',
  'sourceIPAddress',
  'userAgent',
  'resources',
  'readOnly',
  'errorCode',
  'eventID',
] as const satisfies readonly (keyof LookupRow)[];

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export function toRow({ record: r, file }: LookupEvent): LookupRow {
  const u = r.userIdentity && typeof r.userIdentity === 'object' ? r.userIdentity : undefined;
  return {
    eventTime: str(r.eventTime),
    account: str(r.recipientAccountId) ?? file.account,
    region: str(r.awsRegion) ?? file.region,
    eventSource: str(r.eventSource),
    eventName: str(r.eventName),
    username: safeCallerName(r) ?? null,
    principalArn: str(u?.arn) ?? str(u?.sessionContext?.sessionIssuer?.arn),
    principalType: str(u?.type),
    sessionIssuer: str(u?.sessionContext?.sessionIssuer?.arn),
    mfaAuthenticated: mfaOf(r),
    accessKeyId: str(u?.accessKeyId),
    sourceIPAddress: str(r.sourceIPAddress),
    userAgent: str(r.userAgent),
    resources: extractResources(r),
    readOnly: isReadOnly(r),
    errorCode: str(r.errorCode),
    eventID: str(r.eventID),
  };
}

const YES_NO: Record<string, boolean> = { true: true, false: false, Yes: true, No: false };

/** The session's MFA flag, or for a console sign-in whether MFA was used. */
function mfaOf(r: CloudTrailRecord): boolean | null {
  const session = r.userIdentity?.sessionContext?.attributes?.mfaAuthenticated;
  const signIn = r.additionalEventData?.MFAUsed;
  for (const v of [session, signIn]) if (typeof v === 'string' && Object.hasOwn(YES_NO, v)) return YES_NO[v];
  return null;
}

/** The resources in one CSV field: `TYPE NAME` pairs separated by `; `. */
export function resourcesText(row: LookupRow): string {
  return row.resources.map((x) => `${x.type} ${x.name}`).join('; ');
}

/** A row's fields in {@link ROW_FIELDS} order, as CSV writes them. */
export function csvValues(row: LookupRow): unknown[] {
  return ROW_FIELDS.map((f) => (f === 'resources' ? resourcesText(row) : row[f]));
}

/** The output formats whose lines a lookup can write as it reads (the table needs every row first). */
export type LineFormat = 'csv' | 'json';

/** The CSV header line of {@link renderLine}'s `csv` lines. */
export const CSV_HEADER = csvRecord(ROW_FIELDS);

/**
 * One event as the line `trailwatch lookup` prints for it: a CSV record of its row, or a JSON line of its row
 * with the record. Rendered where the record is read, so that only the line is kept until output.
 */
export function renderLine(event: LookupEvent, format: LineFormat): string {
  const row = toRow(event);
  return format === 'csv' ? csvRecord(csvValues(row)) : jsonLine({ ...row, record: event.record });
}

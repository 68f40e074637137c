/** One looked-up event as a flat row: who did what, when, on which resource, from where. */
import type { TrailKey } from '#shared/keys.ts';
import { type CloudTrailRecord, isReadOnly } from '#shared/record.ts';
import { resourceLabels, safeCallerName } from './filter.ts';

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
  accessKeyId: string | null;
  sourceIPAddress: string | null;
  userAgent: string | null;
  /** ARNs of `resources[]` (the type where an entry has no ARN). */
  resources: string[];
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
    accessKeyId: str(u?.accessKeyId),
    sourceIPAddress: str(r.sourceIPAddress),
    userAgent: str(r.userAgent),
    resources: resourceLabels(r),
    readOnly: isReadOnly(r),
    errorCode: str(r.errorCode),
    eventID: str(r.eventID),
  };
}

/**
 * A CloudTrail record as delivered. Every field may be missing or of an unexpected type in real files,
 * so readers check types before use instead of trusting this shape.
 */

export interface UserIdentity {
  type?: string;
  principalId?: string;
  arn?: string;
  accountId?: string;
  accessKeyId?: string;
  userName?: string;
  invokedBy?: string;
  sessionContext?: {
    sessionIssuer?: {
      type?: string;
      principalId?: string;
      arn?: string;
      accountId?: string;
      userName?: string;
    };
    attributes?: { creationDate?: string; mfaAuthenticated?: string };
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface CloudTrailRecord {
  eventVersion?: string;
  userIdentity?: UserIdentity;
  eventTime?: string;
  eventSource?: string;
  eventName?: string;
  awsRegion?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  errorCode?: string;
  errorMessage?: string;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
  additionalEventData?: Record<string, unknown>;
  requestID?: string;
  eventID?: string;
  readOnly?: boolean;
  resources?: { ARN?: string; accountId?: string; type?: string }[];
  eventType?: string;
  managementEvent?: boolean;
  recipientAccountId?: string;
  eventCategory?: string;
  sharedEventID?: string;
  vpcEndpointId?: string;
  [k: string]: unknown;
}

export const READ_PREFIXES =
  /^(Get|List|Describe|Head|Lookup|Search|Query|Scan|Select|BatchGet|Check|Validate|View)/;

/** CloudTrail's `readOnly` flag; when a record lacks it, the API name's verb decides. */
export function isReadOnly(r: CloudTrailRecord): boolean {
  if (typeof r.readOnly === 'boolean') return r.readOnly;
  return typeof r.eventName === 'string' && READ_PREFIXES.test(r.eventName);
}

/** The name a person would use for the caller: user name, role session, or service. */
export function callerName(r: CloudTrailRecord): string {
  const u = objectOf(r.userIdentity);
  if (!u) return 'unknown';
  const userName = textOf(u.userName);
  if (userName) return userName;
  const type = textOf(u.type);
  if (type === 'Root') return 'root';
  if (type === 'AWSService') return textOf(u.invokedBy) ?? 'AWS service';
  const arn = textOf(u.arn);
  if (arn) return arn.slice(arn.indexOf('/') + 1) || arn;
  const issuer = textOf(objectOf(objectOf(u.sessionContext)?.sessionIssuer)?.userName);
  return issuer ?? textOf(u.principalId) ?? type ?? 'unknown';
}

/** A field's value when it is a non-empty string: records are untrusted, so a field of another type is absent. */
export function textOf(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * A field's value as text of at most `max` characters: a string is cut (marked with `…`), anything else is
 * absent. What reaches a summary or the state goes through here.
 */
export function cappedText(v: unknown, max: number): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return v.length > max ? `${v.slice(0, max - 1)}…` : v;
}

/** A field's value when it is a JSON object (not an array). */
export function objectOf(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

/**
 * Who made the call, as one stable key: the identity CloudTrail would attribute it to (Insights'
 * `userIdentityArn`). Rules count principals by it, summaries rank them by it, alerts name them by it.
 * Fields of an unexpected type count as absent: a record written by an adversary cannot break it.
 */
export function principalOf(record: unknown): string {
  const r = objectOf(record);
  const u = objectOf(r?.userIdentity);
  if (!u) return 'unknown';
  const arn = textOf(u.arn);
  if (arn) return arn;
  const type = textOf(u.type);
  if (type === 'AWSService') return textOf(u.invokedBy) ?? 'AWSService';
  if (type === 'Root')
    return `arn:aws:iam::${textOf(u.accountId) ?? textOf(r?.recipientAccountId) ?? ''}:root`;
  return textOf(u.principalId) ?? type ?? 'unknown';
}

/** The account a record belongs to: the recipient account, else the caller's. */
export function recordAccount(record: unknown): string | undefined {
  const r = objectOf(record);
  return textOf(r?.recipientAccountId) ?? textOf(objectOf(r?.userIdentity)?.accountId);
}

/** {@link callerName}, or undefined when the record's identity has fields of unexpected types. */
export function safeCallerName(r: CloudTrailRecord): string | undefined {
  try {
    return textOf(callerName(r));
  } catch {
    return undefined;
  }
}

/**
 * The names under which lookup's `username` filter finds a record's caller (LookupEvents' Username, see
 * cli/lookup/filter.ts), and under which ingest's per-file index lists it.
 */
export function userNames(r: CloudTrailRecord): string[] {
  const u = r.userIdentity;
  if (!u || typeof u !== 'object') return [];
  const names = new Set<string>();
  const add = (v: unknown) => {
    const s = textOf(v);
    if (s) names.add(s);
  };
  add(u.userName);
  add(safeCallerName(r));
  if (u.type === 'Root') names.add('root');
  add(u.invokedBy);
  const arn = textOf(u.arn);
  if (arn) {
    const resource = arn.split(':').slice(5).join(':');
    const slash = resource.lastIndexOf('/');
    if (slash >= 0) add(resource.slice(slash + 1));
  }
  const principal = textOf(u.principalId);
  if (principal && (u.type === 'AssumedRole' || u.type === 'FederatedUser')) {
    const colon = principal.indexOf(':');
    if (colon >= 0) add(principal.slice(colon + 1));
  }
  const issuer = u.sessionContext?.sessionIssuer;
  if (issuer && typeof issuer === 'object') add(issuer.userName);
  return [...names];
}

/**
 * The filters of CloudTrail's Event history (the console page and the LookupEvents API), applied to records
 * read from a trail's own log files, so they work on any period the bucket still holds.
 *
 * Semantics, chosen to agree with LookupEvents where AWS documents it:
 * - Every attribute value is compared exactly and case-sensitively (LookupEvents attribute values are
 *   case-sensitive and are not patterns). Unlike the console, which takes one attribute besides the time
 *   range, any number of attributes may be given: a record must match all of them.
 * - Time range: `startTime <= eventTime <= endTime`, both ends inclusive as in LookupEvents. A record whose
 *   eventTime is missing or unparseable never matches a filter that has a time bound.
 * - `eventName`, `eventId` (record `eventID`), `accessKeyId` (`userIdentity.accessKeyId`): equality.
 * - `eventSource`: equality with the record's `eventSource`; a value without a dot is taken as the service
 *   prefix, so `iam` means `iam.amazonaws.com`.
 * - `readOnly`: CloudTrail's `readOnly` flag; for records that lack it, the API name's verb decides
 *   ({@link isReadOnly}), the same rule the rest of trailwatch uses.
 * - `username`: LookupEvents' Username is the user name of an IAM user, the session name of an assumed
 *   role or federated user, `root` for the root user, and the console says it "can be an IAM user, an IAM
 *   role name, or a service role". So the value matches when it equals any of {@link userNames}: the
 *   record's `userIdentity.userName`, the trailwatch caller name ({@link callerName}), the last segment of
 *   the principal ARN (user name or session name), the session name in `principalId` (`ROLEID:session`),
 *   the role or user that issued the session (`sessionContext.sessionIssuer.userName`), `root` for the
 *   root user, and `invokedBy` for AWS services.
 * - `resourceName` and `resourceType`: match the resources the record names, as Event history derives them
 *   from each management event's request and response (`extractResources`, the service tables of
 *   `shared/resources/`), plus the record's own `resources[]`. A name matches a resource written as that
 *   name or ARN, or as an ARN, URL or path ending with `/name` or `:name` (`admin`, `role/admin` and the
 *   whole ARN all find `arn:aws:iam::1:role/admin`); a part of a name does not. The type is compared
 *   exactly (`AWS::IAM::Role`). With both, one resource must match both.
 */
import { type CloudTrailRecord, callerName, isReadOnly, textOf } from '#shared/record.ts';
import { namesResource } from '#shared/resources/index.ts';

/** The attributes matched as text, in the order the console lists them. */
export const TEXT_ATTRIBUTES = [
  'eventName',
  'eventSource',
  'username',
  'resourceName',
  'resourceType',
  'eventId',
  'accessKeyId',
] as const;

export interface LookupFilter {
  startTime?: Date;
  endTime?: Date;
  eventName?: string;
  eventSource?: string;
  username?: string;
  resourceName?: string;
  resourceType?: string;
  eventId?: string;
  accessKeyId?: string;
  readOnly?: boolean;
}

/** Lookup failures that stop the whole lookup (as opposed to one unreadable file, which is reported). */
export class LookupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Throws {@link LookupError} for a filter no record could match because it contradicts itself. */
export function checkFilter(filter: LookupFilter): void {
  for (const name of ['startTime', 'endTime'] as const) {
    const t = filter[name];
    if (t !== undefined && Number.isNaN(t.getTime())) throw new LookupError(`${name} is not a valid date`);
  }
  if (filter.startTime && filter.endTime && filter.startTime.getTime() > filter.endTime.getTime()) {
    throw new LookupError(
      `the start time ${filter.startTime.toISOString()} is after the end time ${filter.endTime.toISOString()}`,
    );
  }
  for (const name of TEXT_ATTRIBUTES) {
    if (filter[name] === '') throw new LookupError(`${name} must not be empty`);
  }
}

const str = textOf;

/** Milliseconds of a record's eventTime, or NaN when it has none that parses. */
export function eventTimeMs(r: CloudTrailRecord): number {
  return typeof r.eventTime === 'string' ? Date.parse(r.eventTime) : Number.NaN;
}

/** {@link callerName}, or undefined when the record's identity has fields of unexpected types. */
export function safeCallerName(r: CloudTrailRecord): string | undefined {
  try {
    return str(callerName(r));
  } catch {
    return undefined;
  }
}

/** The names under which a `username` filter finds a record's caller (see the module comment). */
export function userNames(r: CloudTrailRecord): string[] {
  const u = r.userIdentity;
  if (!u || typeof u !== 'object') return [];
  const names = new Set<string>();
  const add = (v: unknown) => {
    const s = str(v);
    if (s) names.add(s);
  };
  add(u.userName);
  add(safeCallerName(r));
  if (u.type === 'Root') names.add('root');
  add(u.invokedBy);
  const arn = str(u.arn);
  if (arn) {
    const resource = arn.split(':').slice(5).join(':');
    const slash = resource.lastIndexOf('/');
    if (slash >= 0) add(resource.slice(slash + 1));
  }
  const principal = str(u.principalId);
  if (principal && (u.type === 'AssumedRole' || u.type === 'FederatedUser')) {
    const colon = principal.indexOf(':');
    if (colon >= 0) add(principal.slice(colon + 1));
  }
  const issuer = u.sessionContext?.sessionIssuer;
  if (issuer && typeof issuer === 'object') add(issuer.userName);
  return [...names];
}

/** The resource part of an ARN (`arn:partition:service:region:account:RESOURCE`); a non-ARN is its own. */
export function arnResource(arn: string): string {
  const parts = arn.split(':');
  return parts.length >= 6 && parts[0] === 'arn' ? parts.slice(5).join(':') : arn;
}

/** The resource id after the resource type (`role/admin` → `admin`, `function:f` → `f`, `bucket` → `bucket`). */
export function resourceId(arn: string): string {
  const resource = arnResource(arn);
  const sep = resource.search(/[/:]/);
  return sep >= 0 && sep < resource.length - 1 ? resource.slice(sep + 1) : resource;
}

function sourceMatches(actual: unknown, wanted: string): boolean {
  return actual === (wanted.includes('.') ? wanted : `${wanted}.amazonaws.com`);
}

/** Whether a record passes every attribute of the filter. */
export function matchesFilter(r: CloudTrailRecord, f: LookupFilter): boolean {
  if (f.startTime || f.endTime) {
    const t = eventTimeMs(r);
    if (Number.isNaN(t)) return false;
    if (f.startTime && t < f.startTime.getTime()) return false;
    if (f.endTime && t > f.endTime.getTime()) return false;
  }
  if (f.eventName !== undefined && r.eventName !== f.eventName) return false;
  if (f.eventSource !== undefined && !sourceMatches(r.eventSource, f.eventSource)) return false;
  if (f.eventId !== undefined && r.eventID !== f.eventId) return false;
  if (f.accessKeyId !== undefined && r.userIdentity?.accessKeyId !== f.accessKeyId) return false;
  if (f.readOnly !== undefined && isReadOnly(r) !== f.readOnly) return false;
  if (f.username !== undefined && !userNames(r).includes(f.username)) return false;
  if (f.resourceName !== undefined || f.resourceType !== undefined) {
    // Both given: one resource must have both, or `--resource-type AWS::IAM::Role --resource-name x` would
    // match a record naming a role y and a bucket x.
    if (!namesResource(r, { name: f.resourceName, type: f.resourceType })) return false;
  }
  return true;
}

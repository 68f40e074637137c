/**
 * Turns a CloudTrail record of any shape into what an on-call engineer asks first: who (principal, key,
 * MFA, user agent), what (service, API, key parameters, outcome), when, where (region, source IP) and
 * which resources. Size-bounded and total: unexpected shapes are skipped, never thrown on.
 */
import { objectOf, principalOf, recordAccount } from '#shared/record.ts';
import { extractResources, nameMatches } from '#shared/resources/index.ts';

export interface PrincipalSummary {
  /** Stable grouping key: the ARN, or type and id. */
  key: string;
  type?: string;
  arn?: string;
  userName?: string;
  accountId?: string;
  accessKeyId?: string;
  invokedBy?: string;
  /** Role (or user) a session was issued from. */
  sessionIssuer?: string;
}

export interface EventSummary {
  eventID?: string;
  eventTime?: string;
  eventSource?: string;
  eventName?: string;
  eventType?: string;
  awsRegion?: string;
  account?: string;
  sourceIPAddress?: string;
  userAgent?: string;
  principal: PrincipalSummary;
  /** e.g. `MFAUsed=No` (console sign-in) or `mfaAuthenticated=false` (session). */
  mfa?: string;
  /** Console sign-in result (`Success` / `Failure`). */
  outcome?: string;
  errorCode?: string;
  errorMessage?: string;
  /** Top-level request parameters as short text. */
  requestParameters?: Record<string, string>;
  /** ARNs and ids of what the call touched. */
  resources: string[];
  vpcEndpointId?: string;
}

const MAX_VALUE_CHARS = 200;
const MAX_PARAMS = 10;
const MAX_RESOURCES = 10;

const obj = objectOf;

function str(v: unknown, max = MAX_VALUE_CHARS): string | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  return clip(v, max);
}

export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 3))}...`;
}

/**
 * JSON text of a value, cut at `max` characters and `depth` levels without serializing the rest, so a
 * huge or deeply nested value costs no more than its prefix.
 */
export function compactJson(value: unknown, max = MAX_VALUE_CHARS, depth = 4): string {
  let out = '';
  const walk = (v: unknown, d: number): void => {
    if (out.length > max) return;
    if (v === null || typeof v === 'boolean' || typeof v === 'number') out += String(v);
    else if (typeof v === 'string') out += JSON.stringify(v.length > max ? v.slice(0, max) : v);
    else if (Array.isArray(v)) {
      if (d >= depth) {
        out += '[...]';
        return;
      }
      out += '[';
      for (let i = 0; i < v.length && out.length <= max; i++) {
        if (i) out += ',';
        walk(v[i], d + 1);
      }
      out += ']';
    } else if (typeof v === 'object') {
      if (d >= depth) {
        out += '{...}';
        return;
      }
      out += '{';
      let first = true;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        if (out.length > max) break;
        if (!first) out += ',';
        first = false;
        out += `${JSON.stringify(k)}:`;
        walk((v as Record<string, unknown>)[k], d + 1);
      }
      out += '}';
    } else out += 'null';
  };
  walk(value, 0);
  return clip(out, max);
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return clip(v, MAX_VALUE_CHARS);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

const RESOURCE_KEY = /(Arn|ARN|Id|Ids|Name|Names)$|^(arn|name|bucketName|key|keyId|instanceId|groupId)$/;
/** Tags label resources; their keys and values are not resources themselves. */
const TAGS = /^(tags|tagSet|tagList|tagSpecificationSet|tagSpecifications|tagKeys|resourceTags)$/i;
const NOT_A_RESOURCE =
  /^(requestId|requestID|clientToken|ClientToken|idempotencyToken|policyName|x-amz-id-2)$/;

/** Ids and ARNs named in a parameter tree: keys ending in Arn/Id/Name, a few levels deep. */
function collectResources(value: unknown, out: Set<string>, depth: number): void {
  if (out.size >= MAX_RESOURCES || depth > 4) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length && i < MAX_RESOURCES && out.size < MAX_RESOURCES; i++) {
      collectResources(value[i], out, depth + 1);
    }
    return;
  }
  const o = obj(value);
  if (!o) return;
  for (const k in o) {
    if (out.size >= MAX_RESOURCES) return;
    if (!Object.hasOwn(o, k) || TAGS.test(k)) continue;
    const v = o[k];
    if (typeof v === 'string' && v !== '' && RESOURCE_KEY.test(k) && !NOT_A_RESOURCE.test(k)) {
      out.add(v.startsWith('arn:') ? clip(v, MAX_VALUE_CHARS) : `${k}=${clip(v, MAX_VALUE_CHARS)}`);
    } else if (typeof v === 'object' && v !== null) {
      collectResources(v, out, depth + 1);
    }
  }
}

export function summarizePrincipal(record: unknown): PrincipalSummary {
  const u = obj(obj(record)?.userIdentity);
  const issuer = obj(obj(u?.sessionContext)?.sessionIssuer);
  return {
    key: principalOf(record),
    type: str(u?.type),
    arn: str(u?.arn),
    userName: str(u?.userName),
    accountId: str(u?.accountId),
    accessKeyId: str(u?.accessKeyId),
    invokedBy: str(u?.invokedBy),
    sessionIssuer: str(issuer?.arn),
  };
}

/** A compact, size-bounded view of one record. */
export function summarizeEvent(record: unknown): EventSummary {
  const r = obj(record) ?? {};
  const ad = obj(r.additionalEventData);
  const attrs = obj(obj(obj(r.userIdentity)?.sessionContext)?.attributes);
  const mfaUsed = scalarText(ad?.MFAUsed);
  const mfaSession = scalarText(attrs?.mfaAuthenticated);
  const params = obj(r.requestParameters);
  let requestParameters: Record<string, string> | undefined;
  if (params) {
    requestParameters = {};
    let n = 0;
    for (const k in params) {
      if (!Object.hasOwn(params, k)) continue;
      if (n++ >= MAX_PARAMS) {
        requestParameters['...'] = `${Object.keys(params).length - MAX_PARAMS} more`;
        break;
      }
      requestParameters[k] = scalarText(params[k]) ?? compactJson(params[k]);
    }
  }
  // The resource tables first (what Event history would list), then any other id the request names.
  const resources = new Set<string>();
  const named: string[] = [];
  for (const res of extractResources(record).slice(0, MAX_RESOURCES)) {
    resources.add(
      res.name.startsWith('arn:')
        ? clip(res.name, MAX_VALUE_CHARS)
        : `${res.type} ${clip(res.name, MAX_VALUE_CHARS)}`,
    );
    named.push(res.name);
  }
  const others = new Set<string>();
  collectResources(params, others, 0);
  collectResources(r.responseElements, others, 0);
  for (const o of others) {
    if (resources.size >= MAX_RESOURCES) break;
    const value = o.startsWith('arn:') ? o : o.slice(o.indexOf('=') + 1);
    if (!named.some((n) => nameMatches(n, value))) resources.add(o);
  }
  const response = obj(r.responseElements);
  return {
    eventID: str(r.eventID),
    eventTime: str(r.eventTime),
    eventSource: str(r.eventSource),
    eventName: str(r.eventName),
    eventType: str(r.eventType),
    awsRegion: str(r.awsRegion),
    account: recordAccount(record),
    sourceIPAddress: str(r.sourceIPAddress),
    userAgent: str(r.userAgent),
    principal: summarizePrincipal(record),
    mfa:
      mfaUsed !== undefined
        ? `MFAUsed=${mfaUsed}`
        : mfaSession !== undefined
          ? `mfaAuthenticated=${mfaSession}`
          : undefined,
    outcome: scalarText(response?.ConsoleLogin),
    errorCode: str(r.errorCode),
    errorMessage: str(r.errorMessage, 400),
    requestParameters,
    resources: [...resources],
    vpcEndpointId: str(r.vpcEndpointId),
  };
}

/** The principal on one line: ARN, then what kind of caller it is and with which key. */
export function principalText(p: PrincipalSummary): string {
  const details = [
    p.type,
    p.userName && !p.arn?.endsWith(`/${p.userName}`) ? `user ${p.userName}` : undefined,
    p.sessionIssuer ? `session of ${p.sessionIssuer}` : undefined,
    p.invokedBy ? `invoked by ${p.invokedBy}` : undefined,
    p.accessKeyId ? `access key ${p.accessKeyId}` : undefined,
  ].filter(Boolean);
  return `${p.arn ?? p.key}${details.length ? ` (${details.join(', ')})` : ''}`;
}

/** Text lines for one event, indented for a message body. */
export function describeEvent(e: EventSummary): string[] {
  const lines: string[] = [];
  const row = (label: string, value: string | undefined) => {
    if (value !== undefined && value !== '') lines.push(`  ${`${label}:`.padEnd(11)}${value}`);
  };
  row('When', e.eventTime ?? 'unknown');
  row('Who', principalText(e.principal));
  row('MFA', e.mfa ?? 'not recorded');
  row('Agent', e.userAgent);
  const api = `${e.eventSource ?? 'unknown service'} ${e.eventName ?? 'unknown API'}`;
  row('What', e.outcome ? `${api} (result: ${e.outcome})` : api);
  if (e.errorCode || e.errorMessage) row('Error', [e.errorCode, e.errorMessage].filter(Boolean).join(': '));
  const where = [e.awsRegion ?? 'unknown region', e.account ? `account ${e.account}` : undefined];
  where.push(e.sourceIPAddress ? `from ${e.sourceIPAddress}` : 'source IP not recorded');
  if (e.vpcEndpointId) where.push(`via ${e.vpcEndpointId}`);
  row('Where', where.filter(Boolean).join(', '));
  row('Resources', e.resources.length ? e.resources.join(', ') : 'none named in the record');
  if (e.requestParameters && Object.keys(e.requestParameters).length) {
    row(
      'Request',
      Object.entries(e.requestParameters)
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    );
  }
  row('Event ID', e.eventID ?? 'missing');
  return lines;
}

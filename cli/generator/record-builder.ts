/**
 * Turns "this principal called this API at this second" into a CloudTrail record, with the fields in
 * CloudTrail's own order, failures where the principal's profile or a burst says so, and TLS details on
 * most direct calls.
 */
import type { CloudTrailRecord } from '#shared/record.ts';
import type { ApiSpec, CallContext } from './catalog.ts';
import { type AgentKind, inventoryOf, type Principal, userAgentFor } from './identities.ts';
import type { Rng } from './random.ts';

export const EVENT_VERSION = '1.11';

export interface RecordOptions {
  /** Force a failure with this code (every call of an injected burst). */
  errorCode?: string;
  errorMessage?: string;
  readOnly?: boolean;
  userAgent?: string;
  sourceIPAddress?: string;
  /** Skip the principal's random failures (scheduled events must happen as written). */
  noRandomErrors?: boolean;
}

export interface SignInOptions {
  success: boolean;
  mfa: boolean;
  sourceIPAddress: string;
  userAgent?: string;
  /** The user name a failed sign-in tried; CloudTrail hides names it does not know. */
  unknownUser?: boolean;
}

const GLOBAL_HOSTS: Record<string, string> = {
  iam: 'iam.amazonaws.com',
  sts: 'sts.amazonaws.com',
  signin: 'signin.aws.amazon.com',
};
const DENY_CODES: Record<string, string> = {
  ec2: 'Client.UnauthorizedOperation',
  s3: 'AccessDenied',
  iam: 'AccessDenied',
  sts: 'AccessDenied',
  cloudformation: 'AccessDenied',
};
const MESSAGES: Record<string, string> = {
  ThrottlingException: 'Rate exceeded',
  Throttling: 'Rate exceeded',
  'Client.RequestLimitExceeded': 'Request limit exceeded.',
  ResourceNotFoundException: 'The requested resource was not found.',
  ValidationException: 'The request failed validation.',
  InvalidParameterValue: 'The parameter value is not valid.',
};

function isoSeconds(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** IAM action name: Lambda's CloudTrail names carry an API version the action does not. */
function actionOf(api: { name: string }): string {
  return api.name.replace(/\d{8}(v\d)?$/, '');
}

export function deniedMessage(
  rng: Rng,
  api: { service: string; name: string },
  arn: string,
  target: string,
): string {
  const action = `${api.service}:${actionOf(api)}`;
  if (api.service === 's3') return 'Access Denied';
  const why = `User: ${arn} is not authorized to perform: ${action} on resource: ${target} because no identity-based policy allows the ${action} action`;
  if (api.service === 'ec2') {
    return `You are not authorized to perform this operation. ${why}. Encoded authorization failure message: ${rng.alnum(96)}`;
  }
  return why;
}

/** A message for an error code that an injected burst names without one. */
export function messageFor(
  rng: Rng,
  code: string,
  api: { service: string; name: string },
  arn: string,
  target: string,
): string {
  if (/AccessDenied|Unauthorized/.test(code)) return deniedMessage(rng, api, arn, target);
  return MESSAGES[code] ?? `The request failed with ${code}.`;
}

/** Builds the records of one account and region. */
export class RecordFactory {
  readonly account: string;
  readonly region: string;
  readonly trailName: string;
  private readonly tls = new Map<string, Record<string, string>>();

  constructor(account: string, region: string, trailName: string) {
    this.account = account;
    this.region = region;
    this.trailName = trailName;
  }

  private tlsDetails(service: string): Record<string, string> {
    let t = this.tls.get(service);
    if (!t) {
      t = {
        tlsVersion: 'TLSv1.3',
        cipherSuite: 'TLS_AES_128_GCM_SHA256',
        clientProvidedHostHeader: GLOBAL_HOSTS[service] ?? `${service}.${this.region}.amazonaws.com`,
      };
      this.tls.set(service, t);
    }
    return t;
  }

  private agentKind(rng: Rng, p: Principal, api: ApiSpec): AgentKind {
    const special = p.def.apiAgents?.[api.key];
    if (special) return special;
    const agents = p.def.agents;
    if (agents.length === 1) return agents[0][0];
    let total = 0;
    for (const a of agents) total += a[1];
    let x = rng.float() * total;
    for (const a of agents) {
      x -= a[1];
      if (x < 0) return a[0];
    }
    return agents[agents.length - 1][0];
  }

  build(rng: Rng, p: Principal, api: ApiSpec, ms: number, opts: RecordOptions = {}): CloudTrailRecord {
    const def = p.def;
    const service = def.kind === 'AWSService' || def.service !== undefined;
    const time = isoSeconds(ms);
    const userAgent = opts.userAgent ?? userAgentFor(this.agentKind(rng, p, api), api.service, api.name, def);
    const sourceIPAddress = opts.sourceIPAddress ?? (service ? def.service! : rng.pick(def.ips));
    const requestId =
      api.requestIdStyle === 'none' ? '' : api.requestIdStyle === 's3' ? rng.upperAlnum(16) : rng.uuid();
    const ctx: CallContext = {
      rng,
      inv: inventoryOf(this.account, this.region),
      account: this.account,
      region: this.region,
      ms,
      principal: p,
      requestId,
      trailName: this.trailName,
    };
    const call = api.call(ctx);

    let errorCode = opts.errorCode;
    let errorMessage = opts.errorMessage;
    if (errorCode === undefined && !opts.noRandomErrors && (def.errorRate > 0 || def.throttleRate > 0)) {
      const x = rng.float();
      if (x < def.errorRate) {
        errorCode = DENY_CODES[api.service] ?? 'AccessDeniedException';
        errorMessage = deniedMessage(rng, api, p.arn, call.target ?? '*');
      } else if (x < def.errorRate + def.throttleRate) {
        errorCode = api.service === 'ec2' ? 'Client.RequestLimitExceeded' : 'ThrottlingException';
      }
    }
    if (errorCode !== undefined && errorMessage === undefined) {
      errorMessage = messageFor(rng, errorCode, api, p.arn, call.target ?? '*');
    }

    const r: CloudTrailRecord = {
      eventVersion: EVENT_VERSION,
      userIdentity: p.identity(time.slice(0, 13)),
      eventTime: time,
      eventSource: api.source,
      eventName: api.name,
      awsRegion: this.region,
      sourceIPAddress,
      userAgent,
    };
    if (errorCode !== undefined) {
      r.errorCode = errorCode;
      r.errorMessage = errorMessage;
    }
    r.requestParameters = call.req;
    r.responseElements = errorCode === undefined ? (call.res ?? null) : null;
    if (requestId) r.requestID = requestId;
    r.eventID = rng.uuid();
    r.readOnly = opts.readOnly ?? api.readOnly;
    if (call.resources) r.resources = call.resources;
    r.eventType = api.eventType;
    r.managementEvent = true;
    r.recipientAccountId = this.account;
    r.eventCategory = 'Management';
    if (!service && rng.chance(0.85)) r.tlsDetails = this.tlsDetails(api.service);
    if (def.console && def.kind !== 'Root') r.sessionCredentialFromConsole = 'true';
    return r;
  }

  /** A console sign-in: no request id, no access key, the result in responseElements. */
  signIn(rng: Rng, p: Principal, ms: number, o: SignInOptions): CloudTrailRecord {
    const identity =
      !o.success && o.unknownUser
        ? {
            type: 'IAMUser',
            accountId: this.account,
            accessKeyId: '',
            userName: 'HIDDEN_DUE_TO_SECURITY_REASONS',
          }
        : p.signInIdentity();
    const r: CloudTrailRecord = {
      eventVersion: EVENT_VERSION,
      userIdentity: identity,
      eventTime: isoSeconds(ms),
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      awsRegion: this.region,
      sourceIPAddress: o.sourceIPAddress,
      userAgent: o.userAgent ?? userAgentFor('console', 'signin', 'ConsoleLogin', p.def),
    };
    if (!o.success) r.errorMessage = 'Failed authentication';
    r.requestParameters = null;
    r.responseElements = { ConsoleLogin: o.success ? 'Success' : 'Failure' };
    r.additionalEventData = {
      LoginTo:
        'https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_c63b1f5c2f3ab3f4',
      MobileVersion: 'No',
      MFAUsed: o.mfa ? 'Yes' : 'No',
      ...(o.mfa && p.def.kind === 'IAMUser'
        ? { MFAIdentifier: `arn:aws:iam::${this.account}:mfa/${p.def.userName}` }
        : {}),
    };
    r.eventID = rng.uuid();
    r.readOnly = false;
    r.eventType = 'AwsConsoleSignIn';
    r.managementEvent = true;
    r.recipientAccountId = this.account;
    r.eventCategory = 'Management';
    r.tlsDetails = this.tlsDetails('signin');
    return r;
  }
}

const fragments = new WeakMap<object, string>();
const keyText = new Map<string, string>();

/**
 * `JSON.stringify(record)`, faster: identities and TLS details are shared between records (never
 * mutated once built), so their text is made once and reused.
 */
export function serializeRecord(r: CloudTrailRecord): string {
  const parts: string[] = ['{'];
  for (const k in r) {
    const v = r[k];
    if (v === undefined || typeof v === 'function') continue;
    let kt = keyText.get(k);
    if (kt === undefined) {
      kt = `${JSON.stringify(k)}:`;
      keyText.set(k, kt);
    }
    parts.push(parts.length === 1 ? kt : `,${kt}`);
    if ((k === 'userIdentity' || k === 'tlsDetails') && typeof v === 'object' && v !== null) {
      let cached = fragments.get(v);
      if (cached === undefined) {
        cached = JSON.stringify(v);
        fragments.set(v, cached);
      }
      parts.push(cached);
    } else parts.push(JSON.stringify(v));
  }
  // One flat string: records wait minutes for their delivery, and a rope of pieces costs the GC more.
  parts.push('}');
  return parts.join('');
}

/**
 * When calls happen: Poisson-like per-minute counts following a daily and weekly rhythm, the weekday
 * deploy burst, injected bursts, and the rare scheduled events (console sign-ins, root sessions and the
 * security events). Each source draws from its own random stream so that switching one on or off leaves
 * the others' calls unchanged.
 */
import type { CloudTrailRecord } from '#shared/record.ts';
import { isReadOnly } from '#shared/record.ts';
import { type ApiSpec, apiSpec, findApi } from './catalog.ts';
import {
  PRINCIPALS,
  type Principal,
  type PrincipalDef,
  principalFromArn,
  ROOT,
  resolvePrincipal,
  type Shape,
} from './identities.ts';
import { Rng } from './random.ts';
import type { RecordFactory } from './record-builder.ts';
import type { InjectedBurst, TrailScenario } from './scenario.ts';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Receives every generated call with the delay after which CloudTrail delivers it. */
export type Emit = (record: CloudTrailRecord, eventMs: number, lagMs: number) => void;

// Relative activity by hour of day (UTC) on a weekday, and the weekend factor.
const CURVES: Record<Shape, { hours: number[]; weekend: number }> = {
  office: {
    hours: [
      0.04, 0.03, 0.03, 0.03, 0.03, 0.05, 0.12, 0.35, 0.7, 0.9, 1, 0.95, 0.8, 0.9, 1, 0.95, 0.85, 0.6, 0.35,
      0.2, 0.12, 0.08, 0.06, 0.05,
    ],
    weekend: 0.08,
  },
  app: {
    hours: [
      0.3, 0.26, 0.24, 0.23, 0.24, 0.28, 0.36, 0.5, 0.66, 0.78, 0.88, 0.95, 1, 0.98, 0.95, 0.92, 0.9, 0.85,
      0.78, 0.7, 0.6, 0.5, 0.42, 0.35,
    ],
    weekend: 0.45,
  },
  flat: { hours: new Array(24).fill(1), weekend: 1 },
};

export function isWeekend(ms: number): boolean {
  const day = new Date(ms).getUTCDay();
  return day === 0 || day === 6;
}

/** Activity of a shape at a moment, 1 at the weekday peak; linear between whole hours. */
export function shapeAt(shape: Shape, ms: number): number {
  const curve = CURVES[shape];
  const minuteOfDay = Math.floor((ms % DAY_MS) / MINUTE_MS);
  const h = Math.floor(minuteOfDay / 60);
  const f = (minuteOfDay % 60) / 60;
  const v = curve.hours[h] * (1 - f) + curve.hours[(h + 1) % 24] * f;
  return isWeekend(ms) ? v * curve.weekend : v;
}

/** Global services' calls are recorded in us-east-1 only. */
export function apiAllowedIn(api: ApiSpec, region: string): boolean {
  return !api.global || region === 'us-east-1';
}

interface ActivePrincipal {
  principal: Principal;
  apis: ApiSpec[];
  cumulative: number[];
  weights: number[];
}

function activate(def: PrincipalDef, account: string, region: string): ActivePrincipal | undefined {
  const apis: ApiSpec[] = [];
  const weights: number[] = [];
  for (const [key, w] of def.apis) {
    const api = apiSpec(key);
    if (!apiAllowedIn(api, region)) continue;
    apis.push(api);
    weights.push(w);
  }
  if (apis.length === 0) return undefined;
  const cumulative: number[] = [];
  let total = 0;
  for (const w of weights) {
    total += w;
    cumulative.push(total);
  }
  return { principal: resolvePrincipal(def, account, region), apis, cumulative, weights };
}

/** The peak of the principals' combined weekday activity, so that the peak rate is `eventsPerMinute`. */
function peakOf(active: ActivePrincipal[]): number {
  const wednesday = Date.UTC(2026, 0, 7);
  let peak = 0;
  for (let m = 0; m < 1440; m += 5) {
    let sum = 0;
    for (const a of active)
      sum += a.principal.def.share * shapeAt(a.principal.def.shape, wednesday + m * MINUTE_MS);
    peak = Math.max(peak, sum);
  }
  return peak || 1;
}

/** Lag between an event and the delivery that carries it: at least 5 minutes, now and then much more. */
export function lagMs(rng: Rng): number {
  const base = 300_000 + rng.int(420_000);
  return rng.chance(0.03) ? base + rng.int(480_000) : base;
}

/** Steady traffic of one account and region. */
export class NormalTraffic {
  private readonly active: ActivePrincipal[];
  private readonly scale: number;
  private readonly rng: Rng;
  private readonly factory: RecordFactory;

  constructor(scenario: TrailScenario, factory: RecordFactory) {
    this.factory = factory;
    this.rng = new Rng(scenario.seed, 'traffic', factory.account, factory.region);
    this.active = PRINCIPALS.map((d) => activate(d, factory.account, factory.region)).filter(
      (a): a is ActivePrincipal => a !== undefined,
    );
    this.scale = scenario.eventsPerMinute / peakOf(this.active);
  }

  /** The mean number of calls of one principal's API at a moment (the deploy burst multiplies it). */
  rateOf(principalId: string, apiKey: string, ms: number): number {
    const a = this.active.find((x) => x.principal.def.id === principalId);
    if (!a) return 0;
    const i = a.apis.findIndex((x) => x.key === apiKey);
    if (i < 0) return 0;
    const def = a.principal.def;
    return (
      (this.scale * def.share * shapeAt(def.shape, ms) * a.weights[i]) / a.cumulative[a.cumulative.length - 1]
    );
  }

  principal(id: string): Principal | undefined {
    return this.active.find((x) => x.principal.def.id === id)?.principal;
  }

  minute(ms: number, emit: Emit): void {
    const rng = this.rng;
    for (const a of this.active) {
      const def = a.principal.def;
      const n = rng.poisson(this.scale * def.share * shapeAt(def.shape, ms));
      for (let i = 0; i < n; i++) {
        const t = ms + rng.int(60) * 1000;
        const api = a.apis[rng.pickCumulative(a.cumulative)];
        emit(this.factory.build(rng, a.principal, api, t), t, lagMs(rng));
      }
    }
  }

  /** One call drawn from the weekday-peak mix, for files that need many records fast. */
  sample(rng: Rng, ms: number): CloudTrailRecord {
    let total = 0;
    for (const a of this.active) total += a.principal.def.share;
    let x = rng.float() * total;
    let chosen = this.active[this.active.length - 1];
    for (const a of this.active) {
      x -= a.principal.def.share;
      if (x < 0) {
        chosen = a;
        break;
      }
    }
    return this.factory.build(rng, chosen.principal, chosen.apis[rng.pickCumulative(chosen.cumulative)], ms);
  }
}

export const DEPLOY_APIS = ['cloudformation:UpdateStack', 'lambda:UpdateFunctionCode', 'ecs:UpdateService'];
/** The deploy window: weekdays 10:00-10:15 UTC. */
export const DEPLOY_START_MINUTE = 600;
export const DEPLOY_MINUTES = 15;

/** Every weekday at 10:00 UTC the CI pipeline deploys: its write calls run at 15-20 times their usual rate. */
export class DeployBurst {
  private readonly rng: Rng;
  private readonly normal: NormalTraffic;
  private readonly factory: RecordFactory;
  private readonly principal: Principal | undefined;
  private day = -1;
  private factor = 0;

  constructor(scenario: TrailScenario, factory: RecordFactory, normal: NormalTraffic) {
    this.rng = new Rng(scenario.seed, 'deploy', factory.account, factory.region);
    this.normal = normal;
    this.factory = factory;
    this.principal = normal.principal('ci-deploy');
  }

  minute(ms: number, emit: Emit): void {
    if (!this.principal || isWeekend(ms)) return;
    const minuteOfDay = Math.floor((ms % DAY_MS) / MINUTE_MS);
    if (minuteOfDay < DEPLOY_START_MINUTE || minuteOfDay >= DEPLOY_START_MINUTE + DEPLOY_MINUTES) return;
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.day) {
      this.day = day;
      this.factor = 15 + this.rng.float() * 5;
    }
    for (const key of DEPLOY_APIS) {
      // The usual calls go on in the normal traffic; the burst adds the rest of the raised rate.
      const n = this.rng.poisson(this.normal.rateOf('ci-deploy', key, ms) * (this.factor - 1));
      for (let i = 0; i < n; i++) {
        const t = ms + this.rng.int(60) * 1000;
        emit(this.factory.build(this.rng, this.principal, apiSpec(key), t), t, lagMs(this.rng));
      }
    }
  }
}

/** An API named by a burst but missing from the catalog: recorded with its name and no parameters. */
function adHocApi(eventSource: string, eventName: string, readOnly: boolean | undefined): ApiSpec {
  const service = eventSource.split('.')[0];
  return {
    key: `${service}:${eventName}`,
    service,
    source: eventSource,
    name: eventName,
    readOnly: readOnly ?? isReadOnly({ eventName }),
    global: false,
    eventType: 'AwsApiCall',
    requestIdStyle: 'uuid',
    call: () => ({ req: null, res: null, target: '*' }),
  };
}

/** Exactly `perMinute` extra calls in each minute of the burst. */
export class BurstTraffic {
  private readonly rng: Rng;
  private readonly burst: InjectedBurst;
  private readonly startMs: number;
  private readonly endMs: number;
  private readonly api: ApiSpec;
  private readonly principal: Principal;
  private readonly factory: RecordFactory;

  constructor(scenario: TrailScenario, factory: RecordFactory, burst: InjectedBurst, index: number) {
    this.rng = new Rng(scenario.seed, 'burst', String(index), factory.account, factory.region);
    this.burst = burst;
    this.factory = factory;
    this.startMs = Date.parse(burst.start);
    this.endMs = this.startMs + burst.minutes * MINUTE_MS;
    this.api =
      findApi(burst.eventSource, burst.eventName) ??
      adHocApi(burst.eventSource, burst.eventName, burst.readOnly);
    this.principal = burst.principalArn
      ? principalFromArn(burst.principalArn, factory.region)
      : defaultBurstPrincipal(this.api, factory.account, factory.region);
  }

  minute(ms: number, emit: Emit): void {
    if (ms < this.startMs || ms >= this.endMs) return;
    const b = this.burst;
    for (let i = 0; i < b.perMinute; i++) {
      const t = ms + this.rng.int(60) * 1000;
      const record = this.factory.build(this.rng, this.principal, this.api, t, {
        errorCode: b.errorCode,
        errorMessage: b.errorMessage,
        readOnly: b.readOnly,
        userAgent: b.userAgent,
        sourceIPAddress: b.sourceIPAddress,
        noRandomErrors: true,
      });
      emit(record, t, lagMs(this.rng));
    }
  }
}

/** Whoever usually calls the API, else the operations engineer. */
function defaultBurstPrincipal(api: ApiSpec, account: string, region: string): Principal {
  const def =
    PRINCIPALS.find((p) => p.kind !== 'AWSService' && p.apis.some(([k]) => k === api.key)) ??
    PRINCIPALS.find((p) => p.id === 'bob')!;
  return resolvePrincipal(def, account, region);
}

/** One planned call: a sign-in, a root session step, a security event. */
export interface ScheduledEvent {
  ms: number;
  region: string;
  build(factory: RecordFactory, rng: Rng): CloudTrailRecord;
}

function principalDef(id: string): PrincipalDef {
  return PRINCIPALS.find((p) => p.id === id)!;
}

function signInEvent(
  region: string,
  account: string,
  def: PrincipalDef,
  ms: number,
  o: { success: boolean; mfa: boolean; ip: string; unknownUser?: boolean },
): ScheduledEvent {
  return {
    ms,
    region,
    build: (f, rng) =>
      f.signIn(rng, resolvePrincipal(def, account, region), ms, {
        success: o.success,
        mfa: o.mfa,
        sourceIPAddress: o.ip,
        unknownUser: o.unknownUser,
      }),
  };
}

function callEvent(
  region: string,
  account: string,
  def: PrincipalDef,
  apiKey: string,
  ms: number,
  patch?: (r: CloudTrailRecord) => void,
  opts?: { sourceIPAddress?: string },
): ScheduledEvent {
  return {
    ms,
    region,
    build: (f, rng) => {
      const r = f.build(rng, resolvePrincipal(def, account, region), apiSpec(apiKey), ms, {
        noRandomErrors: true,
        sourceIPAddress: opts?.sourceIPAddress,
      });
      patch?.(r);
      return r;
    },
  };
}

/** A period with nothing recorded: from the StopLogging call (ms) to the StartLogging call. */
export interface Pause {
  from: number;
  to: number;
}

export function pausesOf(scenario: TrailScenario): Pause[] {
  return (scenario.loggingStops ?? [])
    .map((p) => ({ from: Date.parse(p.start), to: Date.parse(p.start) + p.minutes * MINUTE_MS }))
    .sort((a, b) => a.from - b.from);
}

/** Whether an event at `ms` falls while the trail is stopped (the two calls themselves are recorded). */
export function isPaused(pauses: readonly Pause[], ms: number): boolean {
  return pauses.some((p) => ms > p.from && ms < p.to);
}

/**
 * The StopLogging and StartLogging calls of each logging stop, in the trail's home region of the trail's
 * account (the first), by the stop's principal.
 */
export function loggingStopEvents(scenario: TrailScenario, account: string): ScheduledEvent[] {
  if (account !== scenario.accounts[0]) return [];
  const home = scenario.regions.includes(scenario.homeRegion) ? scenario.homeRegion : scenario.regions[0];
  const out: ScheduledEvent[] = [];
  for (const stop of scenario.loggingStops ?? []) {
    const from = Date.parse(stop.start);
    const call = (apiKey: string, ms: number): ScheduledEvent => ({
      ms,
      region: home,
      build: (f, rng) => {
        const principal = stop.principalArn
          ? principalFromArn(stop.principalArn, home)
          : resolvePrincipal(principalDef('carol'), account, home);
        return f.build(rng, principal, apiSpec(apiKey), ms, {
          noRandomErrors: true,
          ...(stop.sourceIPAddress ? { sourceIPAddress: stop.sourceIPAddress } : {}),
        });
      },
    });
    out.push(call('cloudtrail:StopLogging', from));
    out.push(call('cloudtrail:StartLogging', from + stop.minutes * MINUTE_MS));
  }
  return out;
}

/** Where a global service's call lands: us-east-1, or the first region when the trail lacks it. */
function globalRegion(scenario: TrailScenario): string {
  return scenario.regions.includes('us-east-1') ? 'us-east-1' : scenario.regions[0];
}

/**
 * The day-to-day console use of an account: the engineers sign in on weekday mornings (now and then
 * mistyping their password first) and the root user shows up on a few days for account chores.
 * Sign-ins are recorded in us-east-1; a trail without it has none.
 */
export function consoleSessions(scenario: TrailScenario, account: string): ScheduledEvent[] {
  if (!scenario.regions.includes('us-east-1')) return [];
  const region = 'us-east-1';
  const rng = new Rng(scenario.seed, 'sessions', account);
  const start = Date.parse(scenario.start);
  const end = start + scenario.hours * HOUR_MS;
  const out: ScheduledEvent[] = [];
  const add = (e: ScheduledEvent) => {
    if (e.ms >= start && e.ms < end) out.push(e);
  };
  const root = ROOT;
  for (let day = Math.floor(start / DAY_MS) * DAY_MS; day < end; day += DAY_MS) {
    const weekend = isWeekend(day);
    for (const [id, p, from, to] of [
      ['alice', 0.95, 7.75, 9.5],
      ['bob', 0.7, 7.5, 9],
    ] as const) {
      const present = rng.chance(weekend ? 0.05 : p);
      const t = day + Math.floor((from + rng.float() * (to - from)) * 60) * MINUTE_MS + rng.int(60) * 1000;
      const typo = rng.chance(0.1);
      if (!present) continue;
      const def = principalDef(id);
      const ip = def.ips[0];
      if (typo) add(signInEvent(region, account, def, t - 40_000, { success: false, mfa: false, ip }));
      add(signInEvent(region, account, def, t, { success: true, mfa: true, ip }));
    }
    const rootDay = rng.chance(0.15);
    const rootT = day + Math.floor((10 + rng.float() * 6) * 60) * MINUTE_MS + rng.int(60) * 1000;
    if (rootDay && !weekend) {
      add(signInEvent(region, account, root, rootT, { success: true, mfa: true, ip: root.ips[0] }));
      ['iam:GetAccountSummary', 'iam:GetAccountPasswordPolicy', 'iam:ListUsers'].forEach((key, i) => {
        add(
          callEvent(region, account, root, key, rootT + (i + 1) * 47_000, undefined, {
            sourceIPAddress: root.ips[0],
          }),
        );
      });
    }
  }
  return out;
}

const ATTACKER_IP = '45.155.205.233';

/**
 * A handful of security-relevant events over the trail (first account only), each at a fixed fraction
 * of the trail, for rule demos: a password-guessing run, root sign-in without MFA, SSH opened to the
 * world, a public bucket policy, logging stopped and restarted, an admin backdoor user, and a console
 * sign-in without MFA.
 */
export function securityEvents(scenario: TrailScenario, account: string): ScheduledEvent[] {
  if (!scenario.securityEvents || account !== scenario.accounts[0]) return [];
  const rng = new Rng(scenario.seed, 'security', account);
  const start = Date.parse(scenario.start);
  // Leave room at the end for the follow-up calls (StartLogging comes 25 minutes after StopLogging).
  const spanMinutes = Math.max(scenario.hours * 60 - 40, 1);
  const at = (fraction: number) =>
    start + Math.floor(fraction * spanMinutes) * MINUTE_MS + rng.int(60) * 1000;
  const global = globalRegion(scenario);
  const first = scenario.regions[0];
  const home = scenario.regions.includes(scenario.homeRegion) ? scenario.homeRegion : first;
  const bob = principalDef('bob');
  const alice = principalDef('alice');
  const carol = principalDef('carol');
  const out: ScheduledEvent[] = [];

  const guess = at(0.17);
  for (let i = 0; i < 4; i++) {
    out.push(
      signInEvent(global, account, bob, guess + i * 23_000, { success: false, mfa: false, ip: ATTACKER_IP }),
    );
  }

  const rootLogin = at(0.29);
  out.push(signInEvent(global, account, ROOT, rootLogin, { success: true, mfa: false, ip: ROOT.ips[0] }));
  ['iam:GetAccountSummary', 'iam:ListAccessKeys', 'iam:ListUsers'].forEach((key, i) => {
    out.push(
      callEvent(global, account, ROOT, key, rootLogin + (i + 1) * 31_000, undefined, {
        sourceIPAddress: ROOT.ips[0],
      }),
    );
  });

  out.push(
    callEvent(first, account, bob, 'ec2:AuthorizeSecurityGroupIngress', at(0.41), (r) => {
      const req = r.requestParameters as Record<string, unknown>;
      req.fromPort = 22;
      req.toPort = 22;
      req.cidrIp = '0.0.0.0/0';
      const rule = (r.responseElements as { securityGroupRuleSet: { items: Record<string, unknown>[] } })
        .securityGroupRuleSet.items[0];
      rule.fromPort = 22;
      rule.toPort = 22;
      rule.cidrIpv4 = '0.0.0.0/0';
    }),
  );

  out.push(
    callEvent(first, account, alice, 's3:PutBucketPolicy', at(0.53), (r) => {
      const req = r.requestParameters as { bucketName: string; bucketPolicy: unknown };
      req.bucketPolicy = {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'PublicRead',
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            Resource: `arn:aws:s3:::${req.bucketName}/*`,
          },
        ],
      };
    }),
  );

  const stop = at(0.64);
  out.push(callEvent(home, account, carol, 'cloudtrail:StopLogging', stop));
  out.push(callEvent(home, account, carol, 'cloudtrail:StartLogging', stop + 25 * MINUTE_MS));

  const backdoor = at(0.76);
  ['iam:CreateUser', 'iam:AttachUserPolicy', 'iam:CreateAccessKey', 'iam:CreateLoginProfile'].forEach(
    (key, i) => {
      out.push(callEvent(global, account, carol, key, backdoor + i * 38_000));
    },
  );

  out.push(signInEvent(global, account, alice, at(0.88), { success: true, mfa: false, ip: alice.ips[2] }));
  return out;
}

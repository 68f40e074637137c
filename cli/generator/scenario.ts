/**
 * What a sample trail looks like before it is generated: the scenario, the demo scenario `npm start`
 * uses, and the checks that turn a bad scenario into a clear error instead of a strange trail.
 */

import { GeneratorError } from './errors.ts';
import { inventoryOf } from './identities.ts';

export interface InjectedBurst {
  /** Default: the first account. */
  account?: string;
  /** Default: the first region. */
  region?: string;
  eventSource: string;
  eventName: string;
  /** ISO time, minute-aligned. */
  start: string;
  minutes: number;
  /** Extra calls per minute on top of normal traffic. */
  perMinute: number;
  /** Every burst call fails with this code. */
  errorCode?: string;
  errorMessage?: string;
  /** Default: derived from the API name. */
  readOnly?: boolean;
  principalArn?: string;
  userAgent?: string;
  sourceIPAddress?: string;
}

/**
 * The trail stopped for a while: a StopLogging call by a named principal, then nothing recorded and nothing
 * delivered (no log file, no digest) until the StartLogging call `minutes` later; the digests after it start
 * a new chain, as CloudTrail's do after logging was off.
 */
export interface LoggingStop {
  /** ISO time of the StopLogging call, minute-aligned. */
  start: string;
  minutes: number;
  /** Who stopped and restarted it (default: the sample account's operations engineer, carol). */
  principalArn?: string;
  sourceIPAddress?: string;
}

export interface TrailScenario {
  seed: number;
  /** ISO, hour-aligned: first event hour. */
  start: string;
  /** Length of the trail. */
  hours: number;
  /** 12-digit ids. */
  accounts: string[];
  /** e.g. ['us-east-1', 'eu-west-1'] */
  regions: string[];
  /** Trail bucket name written into digests. */
  bucket: string;
  /** Key prefix before AWSLogs/, e.g. 'trail/' (with trailing slash). */
  prefix?: string;
  /** Organization trail layout AWSLogs/o-xxx/ACCOUNT/... */
  orgId?: string;
  trailName: string;
  homeRegion: string;
  /** Mean management events per minute per account+region at the weekday peak. */
  eventsPerMinute: number;
  /** Write hourly signed, chained digest files. */
  digests: boolean;
  /** A weekday deploy burst at the same hour every weekday. */
  recurringDeployBurst: boolean;
  bursts: InjectedBurst[];
  /** Rare, security-relevant events sprinkled in (root console sign-in, security group change, StopLogging...), for rule demos. */
  securityEvents: boolean;
  /** Periods the trail was stopped (the whole trail: every account and region). */
  loggingStops?: LoggingStop[];
}

export { GeneratorError };

/**
 * Thursday 2026-03-05 to Saturday 2026-03-07: two weekdays with their 10:00 deploy bursts and a quiet
 * Saturday, one write-rate anomaly at night and one error-rate anomaly in business hours.
 */
export const demoScenario: TrailScenario = {
  seed: 20260305,
  start: '2026-03-05T00:00:00Z',
  hours: 72,
  accounts: ['111122223333'],
  regions: ['us-east-1', 'eu-west-1'],
  bucket: 'trailwatch-demo-trail-111122223333',
  trailName: 'management-events',
  homeRegion: 'us-east-1',
  eventsPerMinute: 30,
  digests: true,
  recurringDeployBurst: true,
  bursts: [
    {
      region: 'eu-west-1',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'RunInstances',
      start: '2026-03-07T02:14:00Z',
      minutes: 12,
      perMinute: 25,
      // The web servers' own role, used from outside AWS: stolen instance credentials.
      principalArn: `arn:aws:sts::111122223333:assumed-role/web-app-instance-role/${inventoryOf('111122223333', 'eu-west-1').instances[0]}`,
      userAgent:
        'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.0-18-amd64 md/arch#x86_64 lang/python#3.11.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69',
      sourceIPAddress: '185.220.101.47',
    },
    {
      region: 'us-east-1',
      eventSource: 'secretsmanager.amazonaws.com',
      eventName: 'GetSecretValue',
      start: '2026-03-06T15:32:00Z',
      minutes: 18,
      perMinute: 30,
      errorCode: 'AccessDeniedException',
      principalArn: 'arn:aws:iam::111122223333:user/ci-deploy',
      sourceIPAddress: '45.155.205.233',
    },
  ],
  securityEvents: true,
};

const ACCOUNT_RE = /^\d{12}$/;
const REGION_RE = /^[a-z]{2}(?:-[a-z]+)+-\d$/;
const ORG_RE = /^o-[a-z0-9]{10,32}$/;
const HOUR_MS = 3_600_000;
/** The callers a burst can name (see identities.ts principalFromArn). */
export const PRINCIPAL_ARN_RE =
  /^arn:aws:(?:iam|sts)::(\d{12}):(?:user\/([\w+=,.@-]+)|assumed-role\/([\w+=,.@-]+)\/([\w+=,.@-]+)|root)$/;

export function parseIso(text: string, what: string): number {
  const t = Date.parse(text);
  if (typeof text !== 'string' || Number.isNaN(t)) {
    throw new GeneratorError(`expected ${what} to be an ISO time, found ${JSON.stringify(text)}`);
  }
  return t;
}

/** Throws {@link GeneratorError} naming the first field that cannot make a trail. */
export function checkScenario(s: TrailScenario): void {
  if (!Number.isInteger(s.seed)) throw new GeneratorError(`expected an integer seed, found ${s.seed}`);
  const start = parseIso(s.start, 'start');
  if (start % HOUR_MS !== 0) throw new GeneratorError(`expected start on a whole hour, found ${s.start}`);
  if (!Number.isInteger(s.hours) || s.hours < 1) {
    throw new GeneratorError(`expected hours to be a positive integer, found ${s.hours}`);
  }
  if (s.accounts.length === 0) throw new GeneratorError('expected at least one account, found none');
  for (const a of s.accounts) {
    if (!ACCOUNT_RE.test(a))
      throw new GeneratorError(`expected a 12-digit account id, found ${JSON.stringify(a)}`);
  }
  if (s.regions.length === 0) throw new GeneratorError('expected at least one region, found none');
  for (const r of [...s.regions, s.homeRegion]) {
    if (!REGION_RE.test(r))
      throw new GeneratorError(`expected a region name like us-east-1, found ${JSON.stringify(r)}`);
  }
  if (new Set(s.regions).size !== s.regions.length)
    throw new GeneratorError(`regions repeat: ${s.regions.join(',')}`);
  if (new Set(s.accounts).size !== s.accounts.length) {
    throw new GeneratorError(`accounts repeat: ${s.accounts.join(',')}`);
  }
  if (s.orgId !== undefined && !ORG_RE.test(s.orgId)) {
    throw new GeneratorError(
      `expected an organization id like o-a1b2c3d4e5, found ${JSON.stringify(s.orgId)}`,
    );
  }
  if (s.prefix && !s.prefix.endsWith('/')) {
    throw new GeneratorError(`expected the prefix to end with '/', found ${JSON.stringify(s.prefix)}`);
  }
  if (s.prefix?.split('/').some((p, i, all) => p === '..' || (p === '' && i < all.length - 1))) {
    throw new GeneratorError(
      `expected a prefix of non-empty folder names, found ${JSON.stringify(s.prefix)}`,
    );
  }
  if (!s.bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket)) {
    throw new GeneratorError(`expected an S3 bucket name, found ${JSON.stringify(s.bucket)}`);
  }
  if (!s.trailName || !/^[A-Za-z0-9._-]{3,128}$/.test(s.trailName)) {
    throw new GeneratorError(
      `expected a trail name of 3-128 letters, digits, '.', '_' or '-', found ${JSON.stringify(s.trailName)}`,
    );
  }
  if (!(s.eventsPerMinute >= 0) || !Number.isFinite(s.eventsPerMinute)) {
    throw new GeneratorError(`expected eventsPerMinute >= 0, found ${s.eventsPerMinute}`);
  }
  const end = start + s.hours * HOUR_MS;
  const stops = [...(s.loggingStops ?? [])].sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
  stops.forEach((p, i) => {
    const what = `loggingStops[${i}]`;
    const t = parseIso(p.start, `${what}.start`);
    if (t % 60_000 !== 0)
      throw new GeneratorError(`expected ${what}.start on a whole minute, found ${p.start}`);
    if (!Number.isInteger(p.minutes) || p.minutes < 1) {
      throw new GeneratorError(`expected ${what}.minutes to be a positive integer, found ${p.minutes}`);
    }
    if (t <= start || t + p.minutes * 60_000 >= end) {
      throw new GeneratorError(
        `expected ${what} (${p.start}, ${p.minutes} min) strictly inside the trail ${s.start} + ${s.hours} h`,
      );
    }
    const previous = stops[i - 1];
    if (previous && Date.parse(previous.start) + previous.minutes * 60_000 >= t) {
      throw new GeneratorError(
        `expected logging stops not to overlap, found ${previous.start} and ${p.start}`,
      );
    }
    if (p.principalArn !== undefined && !PRINCIPAL_ARN_RE.test(p.principalArn)) {
      throw new GeneratorError(
        `expected ${what}.principalArn to name a user, an assumed-role session or root, found ${JSON.stringify(p.principalArn)}`,
      );
    }
  });
  s.bursts.forEach((b, i) => {
    const what = `bursts[${i}]`;
    const t = parseIso(b.start, `${what}.start`);
    if (t % 60_000 !== 0)
      throw new GeneratorError(`expected ${what}.start on a whole minute, found ${b.start}`);
    if (t < start || t + b.minutes * 60_000 > end) {
      throw new GeneratorError(
        `expected ${what} (${b.start}, ${b.minutes} min) inside the trail ${s.start} + ${s.hours} h`,
      );
    }
    if (!Number.isInteger(b.minutes) || b.minutes < 1) {
      throw new GeneratorError(`expected ${what}.minutes to be a positive integer, found ${b.minutes}`);
    }
    if (!Number.isInteger(b.perMinute) || b.perMinute < 1) {
      throw new GeneratorError(`expected ${what}.perMinute to be a positive integer, found ${b.perMinute}`);
    }
    if (b.account !== undefined && !s.accounts.includes(b.account)) {
      throw new GeneratorError(
        `expected ${what}.account to be one of ${s.accounts.join(',')}, found ${b.account}`,
      );
    }
    if (b.region !== undefined && !s.regions.includes(b.region)) {
      throw new GeneratorError(
        `expected ${what}.region to be one of ${s.regions.join(',')}, found ${b.region}`,
      );
    }
    if (b.principalArn !== undefined && !PRINCIPAL_ARN_RE.test(b.principalArn)) {
      throw new GeneratorError(
        `expected ${what}.principalArn to name a user, an assumed-role session or root, found ${JSON.stringify(b.principalArn)}`,
      );
    }
    if (!/^[a-z0-9-]+\.amazonaws\.com$/.test(b.eventSource) || !/^[A-Za-z0-9]+$/.test(b.eventName)) {
      throw new GeneratorError(
        `expected ${what} to name an API like ec2.amazonaws.com RunInstances, found ${b.eventSource} ${b.eventName}`,
      );
    }
  });
}

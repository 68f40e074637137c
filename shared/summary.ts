/**
 * What ingest learns from one log file: the per-minute counts the detectors need and the top talkers an
 * on-call engineer asks for first. One summary per source file, written once, never updated.
 */

import { MAX_FIELD_CHARS } from '#shared/limits.ts';
import type { FileIndex } from '#shared/logfile/file-index.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { cappedText, isReadOnly, principalOf } from '#shared/record.ts';

export const SUMMARY_SCHEMA = 'trailwatch.summary/1';

/** Counts for one API in one minute. */
export interface MinuteRow {
  /** Minute, `YYYY-MM-DDTHH:MM` (UTC). */
  m: string;
  /** eventSource */
  s: string;
  /** eventName */
  n: string;
  /** `Management` or `Data` (Insights series are kept apart by category). */
  c: string;
  /** read calls */
  r: number;
  /** write calls */
  w: number;
  /** failed calls by errorCode (read and write) */
  e?: Record<string, number>;
}

export interface Ranked {
  value: string;
  count: number;
}

/** Per API (eventSource + eventName + category) over the whole file: who and what called it. */
export interface ApiAttribution {
  s: string;
  n: string;
  c: string;
  total: number;
  principals: Ranked[];
  userAgents: Ranked[];
  errorCodes: Ranked[];
}

export interface LogFileSummary {
  schema: typeof SUMMARY_SCHEMA;
  source: { bucket: string; key: string; etag?: string; versionId?: string; size: number };
  /** SHA-256 (hex) of the uncompressed bytes, computed while reading: what the digest must list. */
  sha256?: string;
  /**
   * Set by ingest: not yet found in a valid digest. Detection may count such a file's calls as they
   * arrive, but the baselines take them only once verify has found the file listed.
   */
  unverified?: true;
  account: string;
  region: string;
  orgId?: string;
  /** Delivery time from the file name (ISO). */
  deliveredAt: string;
  records: number;
  /** Uncompressed bytes. */
  bytes: number;
  oldestEventTime: string | null;
  newestEventTime: string | null;
  /** Seconds between each record's eventTime and the file's delivery time. */
  lagSeconds: { min: number; max: number; mean: number } | null;
  /** Records that were not usable: not an object, invalid JSON, over the size cap. */
  badRecords: { invalid: number; oversized: number; missingFields: number; outOfRange?: number };
  minutes: MinuteRow[];
  apis: ApiAttribution[];
  topPrincipals: Ranked[];
  topUserAgents: Ranked[];
  topSourceIps: Ranked[];
  topErrorCodes: Ranked[];
  /** What lookup needs to skip the file (absent in summaries written before it existed). */
  index?: FileIndex;
}

const TOP_N = 10;
const API_TOP_N = 5;

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export function topOf(map: Map<string, number>, n: number): Ranked[] {
  return [...map]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, n)
    .map(([value, count]) => ({ value, count }));
}

interface ApiAcc {
  s: string;
  n: string;
  c: string;
  total: number;
  principals: Map<string, number>;
  userAgents: Map<string, number>;
  errorCodes: Map<string, number>;
}

interface MinuteAcc {
  r: number;
  w: number;
  e?: Map<string, number>;
}

export class SummaryBuilder {
  private records = 0;
  private oldest: string | null = null;
  private newest: string | null = null;
  private lagMin = Number.POSITIVE_INFINITY;
  private lagMax = Number.NEGATIVE_INFINITY;
  private lagSum = 0;
  private lagCount = 0;
  private missingFields = 0;
  private outOfRange = 0;
  private readonly deliveredMs: number;
  private readonly range: { from: number; to: number } | undefined;
  private readonly minutes = new Map<string, Map<ApiAcc, MinuteAcc>>();
  private readonly minuteMs = new Map<string, number>();
  private readonly apis = new Map<string, ApiAcc>();
  private readonly principals = new Map<string, number>();
  private readonly userAgents = new Map<string, number>();
  private readonly sourceIps = new Map<string, number>();
  private readonly errorCodes = new Map<string, number>();

  /**
   * `eventTimes`: the event times a genuine file can hold (limits.ts eventTimeRange); a record outside it is
   * counted in `badRecords.outOfRange` and adds nothing else.
   */
  constructor(deliveredAt: Date, eventTimes?: { from: number; to: number }) {
    this.deliveredMs = deliveredAt.getTime();
    this.range = eventTimes;
  }

  /** eventTime in ms; CloudTrail's `YYYY-MM-DDTHH:MM:SSZ` is read from a per-minute cache, others parsed. */
  private timeOf(eventTime: string, minute: string): number {
    if (eventTime.length !== 20 || eventTime.charCodeAt(19) !== 90 /* Z */) return Date.parse(eventTime);
    let base = this.minuteMs.get(minute);
    if (base === undefined) {
      base = Date.parse(`${minute}:00Z`);
      this.minuteMs.set(minute, base);
    }
    const sec = (eventTime.charCodeAt(17) - 48) * 10 + (eventTime.charCodeAt(18) - 48);
    return sec >= 0 && sec < 60 ? base + sec * 1000 : Date.parse(eventTime);
  }

  add(r: CloudTrailRecord): void {
    this.records++;
    const eventTime = typeof r.eventTime === 'string' && r.eventTime.length <= 40 ? r.eventTime : undefined;
    const source = cappedText(r.eventSource, MAX_FIELD_CHARS.name);
    const name = cappedText(r.eventName, MAX_FIELD_CHARS.name);
    if (!eventTime || !source || !name || eventTime.length < 16) {
      this.missingFields++;
      return;
    }
    const minute = eventTime.slice(0, 16);
    const t = this.timeOf(eventTime, minute);
    if (this.range && (Number.isNaN(t) || t < this.range.from || t > this.range.to)) {
      this.outOfRange++;
      return;
    }
    if (this.oldest === null || eventTime < this.oldest) this.oldest = eventTime;
    if (this.newest === null || eventTime > this.newest) this.newest = eventTime;
    if (!Number.isNaN(t)) {
      const lag = (this.deliveredMs - t) / 1000;
      if (lag < this.lagMin) this.lagMin = lag;
      if (lag > this.lagMax) this.lagMax = lag;
      this.lagSum += lag;
      this.lagCount++;
    }
    const category = r.eventCategory === 'Data' ? 'Data' : 'Management';
    const apiKey = `${source}\u0000${name}\u0000${category}`;
    let api = this.apis.get(apiKey);
    if (!api) {
      api = {
        s: source,
        n: name,
        c: category,
        total: 0,
        principals: new Map(),
        userAgents: new Map(),
        errorCodes: new Map(),
      };
      this.apis.set(apiKey, api);
    }
    // Rows are keyed by minute, then by the API's accumulator itself: no per-record key strings.
    let perMinute = this.minutes.get(minute);
    if (!perMinute) {
      perMinute = new Map();
      this.minutes.set(minute, perMinute);
    }
    let row = perMinute.get(api);
    if (!row) {
      row = { r: 0, w: 0 };
      perMinute.set(api, row);
    }
    if (isReadOnly(r)) row.r++;
    else row.w++;
    const errorCode = cappedText(r.errorCode, MAX_FIELD_CHARS.name);
    if (errorCode) {
      row.e ??= new Map();
      bump(row.e, errorCode);
      bump(this.errorCodes, errorCode);
    }
    api.total++;
    const principal = cappedText(principalOf(r), MAX_FIELD_CHARS.principal) ?? 'unknown';
    const agent = cappedText(r.userAgent, MAX_FIELD_CHARS.userAgent) ?? 'unknown';
    bump(api.principals, principal);
    bump(api.userAgents, agent);
    // Insights attributes error-rate anomalies by code and uses the text "null" for calls that succeeded.
    bump(api.errorCodes, errorCode ?? 'null');
    bump(this.principals, principal);
    bump(this.userAgents, agent);
    const ip = cappedText(r.sourceIPAddress, MAX_FIELD_CHARS.sourceIp);
    if (ip) bump(this.sourceIps, ip);
  }

  build(args: {
    source: LogFileSummary['source'];
    sha256?: string;
    account: string;
    region: string;
    orgId?: string;
    bytes: number;
    badRecords: { invalid: number; oversized: number };
  }): LogFileSummary {
    const minutes: MinuteRow[] = [];
    for (const [m, perMinute] of this.minutes) {
      for (const [api, acc] of perMinute) {
        const row: MinuteRow = { m, s: api.s, n: api.n, c: api.c, r: acc.r, w: acc.w };
        if (acc.e) row.e = Object.fromEntries([...acc.e].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
        minutes.push(row);
      }
    }
    // Sorted output makes the summary a pure function of the file's records, whatever their order.
    minutes.sort((a, b) => cmp(a.m, b.m) || cmp(a.s, b.s) || cmp(a.n, b.n) || cmp(a.c, b.c));
    const apis: ApiAttribution[] = [...this.apis.values()]
      .map((a) => ({
        s: a.s,
        n: a.n,
        c: a.c,
        total: a.total,
        principals: topOf(a.principals, API_TOP_N),
        userAgents: topOf(a.userAgents, API_TOP_N),
        errorCodes: topOf(a.errorCodes, API_TOP_N),
      }))
      .sort((a, b) => cmp(a.s, b.s) || cmp(a.n, b.n) || cmp(a.c, b.c));
    return {
      schema: SUMMARY_SCHEMA,
      source: args.source,
      ...(args.sha256 ? { sha256: args.sha256 } : {}),
      account: args.account,
      region: args.region,
      ...(args.orgId ? { orgId: args.orgId } : {}),
      deliveredAt: new Date(this.deliveredMs).toISOString(),
      records: this.records,
      bytes: args.bytes,
      oldestEventTime: this.oldest,
      newestEventTime: this.newest,
      lagSeconds:
        this.lagCount > 0
          ? { min: this.lagMin, max: this.lagMax, mean: Math.round((this.lagSum / this.lagCount) * 10) / 10 }
          : null,
      badRecords: {
        ...args.badRecords,
        missingFields: this.missingFields,
        ...(this.outOfRange > 0 ? { outOfRange: this.outOfRange } : {}),
      },
      minutes,
      apis,
      topPrincipals: topOf(this.principals, TOP_N),
      topUserAgents: topOf(this.userAgents, TOP_N),
      topSourceIps: topOf(this.sourceIps, TOP_N),
      topErrorCodes: topOf(this.errorCodes, TOP_N),
    };
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

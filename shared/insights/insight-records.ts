/**
 * CloudTrail Insights event records: building them in CloudTrail's exact shape, reading them back (ours and
 * AWS's own), and the gzip `{"Records":[...]}` files under `CloudTrail-Insight/`.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type {
  Attribution,
  AttributionValue,
  InsightDetails,
  InsightRecord,
} from '#shared/insights/insight-types.ts';
import { InsightFormatError } from '#shared/insights/insight-types.ts';
import { logFileKey } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';

export const INSIGHT_EVENT_VERSION = '1.07';

/** The fields of a record and of its insightDetails, in CloudTrail's order (docs/cloudtrail-format.md section 3). */
export const RECORD_FIELDS = [
  'eventVersion',
  'eventTime',
  'awsRegion',
  'eventID',
  'eventType',
  'recipientAccountId',
  'sharedEventID',
  'insightDetails',
  'eventCategory',
] as const;
export const DETAIL_FIELDS = ['state', 'eventSource', 'eventName', 'insightType', 'insightContext'] as const;
export const ERROR_DETAIL_FIELDS = [
  'state',
  'eventSource',
  'eventName',
  'insightType',
  'errorCode',
  'insightContext',
] as const;
export const STATISTICS_FIELDS = ['baseline', 'insight', 'insightDuration', 'baselineDuration'] as const;

/** A UUID-shaped id derived from its inputs, so a re-run produces the same ids. */
export function stableUuid(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  // Version 5 and RFC 4122 variant bits, so the ids look like the name-based UUIDs they are.
  const variant = ((Number.parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Six significant digits, like CloudTrail's averages (0.0000882145 has six). */
export function roundAverage(x: number): number {
  if (!Number.isFinite(x) || x === 0) return 0;
  return Number(x.toPrecision(6));
}

export interface RecordInput {
  state: 'Start' | 'End';
  account: string;
  region: string;
  /** Minute-aligned event time (ms). */
  time: number;
  sharedEventID: string;
  eventSource: string;
  eventName: string;
  insightType: string;
  errorCode?: string;
  baselineAverage: number;
  insightAverage: number;
  insightDuration: number;
  baselineDuration: number;
  attributions: Attribution[];
}

export function buildRecord(i: RecordInput): InsightRecord {
  const details: InsightDetails = {
    state: i.state,
    eventSource: i.eventSource,
    eventName: i.eventName,
    insightType: i.insightType,
    ...(i.errorCode !== undefined ? { errorCode: i.errorCode } : {}),
    insightContext: {
      statistics: {
        baseline: { average: roundAverage(i.baselineAverage) },
        insight: { average: roundAverage(i.insightAverage) },
        insightDuration: i.insightDuration,
        baselineDuration: i.baselineDuration,
      },
      attributions: i.attributions.map((a) => ({
        attribute: a.attribute,
        insight: a.insight.map(roundValue),
        baseline: a.baseline.map(roundValue),
      })),
    },
  };
  return {
    eventVersion: INSIGHT_EVENT_VERSION,
    eventTime: new Date(Math.floor(i.time / 60_000) * 60_000).toISOString().replace('.000Z', 'Z'),
    awsRegion: i.region,
    eventID: stableUuid(i.sharedEventID, i.state),
    eventType: 'AwsCloudTrailInsight',
    recipientAccountId: i.account,
    sharedEventID: i.sharedEventID,
    insightDetails: details,
    eventCategory: 'Insight',
  };
}

function roundValue(v: AttributionValue): AttributionValue {
  return { value: v.value, average: roundAverage(v.average) };
}

// ---------------------------------------------------------------------------------------------------
// Reading

function fail(where: string, expected: string, found: unknown): never {
  const shown = found === undefined ? 'nothing' : JSON.stringify(found)?.slice(0, 80);
  throw new InsightFormatError(`${where}: expected ${expected}, found ${shown}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkString(o: Record<string, unknown>, field: string, where: string): void {
  if (typeof o[field] !== 'string' || o[field] === '')
    fail(`${where}.${field}`, 'a non-empty string', o[field]);
}

function checkNumber(o: Record<string, unknown>, field: string, where: string): void {
  if (typeof o[field] !== 'number' || !Number.isFinite(o[field]))
    fail(`${where}.${field}`, 'a number', o[field]);
}

function checkValues(list: unknown, where: string): void {
  if (!Array.isArray(list)) fail(where, 'an array of {value, average}', list);
  list.forEach((v, i) => {
    if (!isObject(v)) fail(`${where}[${i}]`, 'an object {value, average}', v);
    if (typeof v.value !== 'string') fail(`${where}[${i}].value`, 'a string', v.value);
    checkNumber(v, 'average', `${where}[${i}]`);
  });
}

/** Checks one record's shape; returns it unchanged (all fields kept, so records round-trip byte for byte). */
export function checkInsightRecord(r: unknown, where = 'record'): InsightRecord {
  if (!isObject(r)) fail(where, 'an object', r);
  for (const f of [
    'eventVersion',
    'eventTime',
    'awsRegion',
    'eventID',
    'recipientAccountId',
    'sharedEventID',
  ]) {
    checkString(r, f, where);
  }
  if (r.eventType !== 'AwsCloudTrailInsight')
    fail(`${where}.eventType`, '"AwsCloudTrailInsight"', r.eventType);
  if (r.eventCategory !== 'Insight') fail(`${where}.eventCategory`, '"Insight"', r.eventCategory);
  if (Number.isNaN(Date.parse(r.eventTime as string))) fail(`${where}.eventTime`, 'an ISO time', r.eventTime);
  const d = r.insightDetails;
  const dw = `${where}.insightDetails`;
  if (!isObject(d)) fail(dw, 'an object', d);
  if (d.state !== 'Start' && d.state !== 'End') fail(`${dw}.state`, '"Start" or "End"', d.state);
  for (const f of ['eventSource', 'eventName', 'insightType']) checkString(d, f, dw);
  if (d.errorCode !== undefined && typeof d.errorCode !== 'string')
    fail(`${dw}.errorCode`, 'a string', d.errorCode);
  const c = d.insightContext;
  if (!isObject(c)) fail(`${dw}.insightContext`, 'an object', c);
  const s = c.statistics;
  const sw = `${dw}.insightContext.statistics`;
  if (!isObject(s)) fail(sw, 'an object', s);
  for (const f of ['baseline', 'insight']) {
    const v = s[f];
    if (!isObject(v)) fail(`${sw}.${f}`, 'an object {average}', v);
    checkNumber(v, 'average', `${sw}.${f}`);
  }
  // CloudTrail documents both durations as always present; some published examples omit them.
  for (const f of ['insightDuration', 'baselineDuration']) if (s[f] !== undefined) checkNumber(s, f, sw);
  if (c.attributions !== undefined) {
    if (!Array.isArray(c.attributions)) fail(`${dw}.insightContext.attributions`, 'an array', c.attributions);
    c.attributions.forEach((a, i) => {
      const aw = `${dw}.insightContext.attributions[${i}]`;
      if (!isObject(a)) fail(aw, 'an object', a);
      if (a.attribute !== 'userIdentityArn' && a.attribute !== 'userAgent' && a.attribute !== 'errorCode') {
        fail(`${aw}.attribute`, 'userIdentityArn, userAgent or errorCode', a.attribute);
      }
      checkValues(a.insight, `${aw}.insight`);
      checkValues(a.baseline, `${aw}.baseline`);
    });
  }
  return r as unknown as InsightRecord;
}

/**
 * Reads Insights records from an Insights file (`{"Records":[...]}`, gzip or not), from `aws cloudtrail
 * lookup-events --event-category insight` output (`{"Events":[...]}`, records inline as in the user guide,
 * or as `CloudTrailEvent` JSON strings as the API returns them), from an array, or from a single record.
 */
export function parseInsightRecords(input: string | Uint8Array | unknown): InsightRecord[] {
  let value: unknown = input;
  if (input instanceof Uint8Array) {
    const bytes = input[0] === 0x1f && input[1] === 0x8b ? gunzipSync(input) : Buffer.from(input);
    value = bytes.toString('utf8');
  }
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (err) {
      throw new InsightFormatError(
        `expected JSON Insights records, found unparsable text (${(err as Error).message})`,
        {
          cause: err,
        },
      );
    }
  }
  let list: unknown[];
  if (Array.isArray(value)) list = value;
  else if (isObject(value) && Array.isArray(value.Records)) list = value.Records;
  else if (isObject(value) && Array.isArray(value.Events)) {
    list = value.Events.map((e) =>
      isObject(e) && typeof e.CloudTrailEvent === 'string' ? JSON.parse(e.CloudTrailEvent) : e,
    );
  } else if (isObject(value) && value.eventType === 'AwsCloudTrailInsight') list = [value];
  else fail('input', '{"Records":[...]}, {"Events":[...]}, an array or one Insights record', value);
  return list.map((r, i) => checkInsightRecord(r, `records[${i}]`));
}

// ---------------------------------------------------------------------------------------------------
// Files

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** 16 letters and digits from the records' ids: the same records always get the same file name. */
export function uniqueSuffix(records: InsightRecord[]): string {
  const h = createHash('sha256')
    .update(records.map((r) => r.eventID).join(','))
    .digest();
  let out = '';
  for (let i = 0; i < 16; i++) out += ALNUM[h[i] % ALNUM.length];
  return out;
}

export function insightFileKey(p: {
  prefix?: string;
  orgId?: string;
  account: string;
  region: string;
  time: Date;
  records: InsightRecord[];
}): string {
  return logFileKey({
    ...(p.prefix ? { prefix: p.prefix } : {}),
    ...(p.orgId ? { orgId: p.orgId } : {}),
    account: p.account,
    region: p.region,
    folder: 'CloudTrail-Insight',
    time: p.time,
    unique: uniqueSuffix(p.records),
  });
}

export function encodeInsightFile(records: InsightRecord[]): Buffer {
  return gzipSync(JSON.stringify({ Records: records }));
}

/** Writes one Insights file; rewriting the same records writes the same key and bytes. */
export async function writeInsightFile(
  store: ObjectStore,
  p: {
    prefix?: string;
    orgId?: string;
    account: string;
    region: string;
    time: Date;
    records: InsightRecord[];
  },
): Promise<string> {
  const key = insightFileKey(p);
  await store.put(key, encodeInsightFile(p.records), {
    contentType: 'application/json',
    contentEncoding: 'gzip',
  });
  return key;
}

/**
 * `trailwatch changes`: what changed just before a time. The mutating calls from `window` before `at` to a
 * few minutes after it (an outage is noticed after its cause), grouped by the resource they acted on
 * (resources.ts), groups ordered by their newest change, each change with who, from where, with which client,
 * and whether it succeeded or was refused. Read-only calls are left out unless asked for.
 *
 * Reads a trail (a folder laid out like the bucket, or the bucket: only the day folders of the window, via
 * the lookup's file selection) or any folder of `.json` / `.json.gz` files holding records (a bare array, or
 * CloudTrail's `{"Records": [...]}`), such as the vendored Stratus detonation logs.
 */
import { logFileKeys, NotRecordsError, recordsOf } from '#cli/commands/rules.ts';
import { CliError } from '#cli/errors.ts';
import { eventTimeMs, resourceId, safeCallerName } from '#cli/lookup/filter.ts';
import { FileSelector, lookup } from '#cli/lookup/index.ts';
import type { Source } from '#cli/source.ts';
import { LogFileError } from '#shared/logfile/read.ts';
import { type CloudTrailRecord, isReadOnly } from '#shared/record.ts';
import { nameMatches } from '#shared/resources/index.ts';
import { resourcesOf } from './resources.ts';

export const DEFAULT_WINDOW_MS = 30 * 60_000;
/** How far past `at` changes are still shown: the time given is when it was noticed, not when it began. */
export const AFTER_MS = 5 * 60_000;
/** The group of calls that name no resource. */
export const NO_RESOURCE = '(no resource named)';

export interface ChangesQuery {
  at: Date;
  windowMs: number;
  afterMs: number;
  resource?: string;
  account?: string;
  region?: string;
  includeRead: boolean;
}

export interface Change {
  time: string;
  account: string | null;
  region: string | null;
  eventSource: string | null;
  eventName: string | null;
  /** The caller's ARN, else its name. */
  who: string;
  sourceIp: string | null;
  userAgent: string | null;
  /** `succeeded`, or the error code that refused it. */
  outcome: string;
  errorMessage: string | null;
  readOnly: boolean;
  eventId: string | null;
  resources: string[];
}

export interface ResourceGroup {
  resource: string;
  /** Newest first. */
  changes: Change[];
}

export interface ChangesResult {
  query: ChangesQuery;
  from: Date;
  to: Date;
  groups: ResourceGroup[];
  calls: number;
  recordsRead: number;
  unreadable: { key: string; reason: string }[];
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

export function changeOf(r: CloudTrailRecord): Change {
  const u = r.userIdentity;
  return {
    time: String(r.eventTime),
    account: text(r.recipientAccountId) ?? text(u?.accountId),
    region: text(r.awsRegion),
    eventSource: text(r.eventSource),
    eventName: text(r.eventName),
    who: text(u?.arn) ?? safeCallerName(r) ?? 'unknown',
    sourceIp: text(r.sourceIPAddress),
    userAgent: text(r.userAgent),
    outcome: text(r.errorCode) ?? 'succeeded',
    errorMessage: text(r.errorMessage),
    readOnly: isReadOnly(r),
    eventId: text(r.eventID),
    resources: resourcesOf(r),
  };
}

function wanted(r: CloudTrailRecord, q: ChangesQuery, from: number, to: number): boolean {
  const t = eventTimeMs(r);
  if (!(t >= from && t <= to)) return false;
  if (!q.includeRead && isReadOnly(r)) return false;
  if (r.eventType === 'AwsCloudTrailInsight') return false;
  if (q.account && (text(r.recipientAccountId) ?? text(r.userIdentity?.accountId)) !== q.account)
    return false;
  if (q.region && r.awsRegion !== q.region) return false;
  return true;
}

/** Whether a resource (a short name) is the one asked for, by any name lookup would find it under. */
function isResource(resource: string, wantedName: string): boolean {
  // Resources are kept by their short name; an ARN asked for is compared by its resource id.
  const name = wantedName.startsWith('arn:') ? resourceId(wantedName) : wantedName;
  return resource === name || nameMatches(resource, name) || nameMatches(name, resource);
}

/** Groups changes by resource, newest change first in each group and newest group first. */
export function groupChanges(changes: Change[], resource?: string): ResourceGroup[] {
  const groups = new Map<string, Change[]>();
  const newestFirst = [...changes].sort(
    (a, b) => Date.parse(b.time) - Date.parse(a.time) || String(a.eventId).localeCompare(String(b.eventId)),
  );
  for (const c of newestFirst) {
    const names = c.resources.length > 0 ? c.resources : [NO_RESOURCE];
    for (const name of names) {
      if (resource !== undefined && !isResource(name, resource)) continue;
      const list = groups.get(name) ?? [];
      list.push(c);
      groups.set(name, list);
    }
  }
  return [...groups.entries()]
    .map(([name, list]) => ({ resource: name, changes: list }))
    .sort(
      (a, b) =>
        Date.parse(b.changes[0].time) - Date.parse(a.changes[0].time) || a.resource.localeCompare(b.resource),
    );
}

export async function findChanges(source: Source, query: ChangesQuery): Promise<ChangesResult> {
  const from = query.at.getTime() - query.windowMs;
  const to = query.at.getTime() + query.afterMs;
  const records: CloudTrailRecord[] = [];
  const unreadable: { key: string; reason: string }[] = [];
  let recordsRead = 0;
  const { roots } = await new FileSelector(source.store, source.prefix).roots();
  if (roots.length > 0) {
    // A trail: only the day folders of the window are listed, only files delivered from its start on read.
    const result = await lookup({
      store: source.store,
      prefix: source.prefix,
      filter: {
        startTime: new Date(from),
        endTime: new Date(to),
        ...(query.includeRead ? {} : { readOnly: false }),
      },
      order: 'newest-first',
      onUnreadable: (key, reason) => unreadable.push({ key, reason }),
    });
    recordsRead = result.stats.records;
    for (const e of result.events) if (wanted(e.record, query, from, to)) records.push(e.record);
  } else {
    // Any folder of record files, whatever their names.
    const keys = await logFileKeys(source);
    for (const key of keys) {
      try {
        for await (const batch of recordsOf(source, key)) {
          for (const r of batch) {
            recordsRead++;
            if (r && typeof r === 'object' && wanted(r, query, from, to)) records.push(r);
          }
        }
      } catch (err) {
        if (!(err instanceof LogFileError || err instanceof SyntaxError || err instanceof NotRecordsError))
          throw err;
        unreadable.push({ key: key.slice(source.prefix.length), reason: (err as Error).message });
      }
    }
    if (keys.length > 0 && unreadable.length === keys.length) {
      // The same words as rules test, which reads such folders the same way.
      const none =
        keys.length === 1
          ? 'its only .json file holds no CloudTrail records'
          : `none of its ${keys.length} .json files holds CloudTrail records`;
      throw new CliError(
        `--source ${source.description}: ${none} (${unreadable[0].key}: ${unreadable[0].reason})`,
      );
    }
  }
  const changes = records.map(changeOf);
  const groups = groupChanges(changes, query.resource);
  return {
    query,
    from: new Date(from),
    to: new Date(to),
    groups,
    calls: new Set(groups.flatMap((g) => g.changes)).size,
    recordsRead,
    unreadable,
  };
}

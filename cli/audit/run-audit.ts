/**
 * `trailwatch audit`: a lookup over a time range, and a verdict on whether its answer is the whole truth.
 *
 * 1. Places: the account-regions of the source (`AWSLogs/[o-org/]ACCOUNT/CloudTrail[-Digest]/REGION/`),
 *    narrowed by the query's account and region.
 * 2. The trail: given, or read from the digest names; no digest anywhere means the answer is UNVERIFIABLE.
 * 3. Validation (`validateTrail`, the code of `trailwatch validate`) of each account over the range plus the
 *    delivery lag: every digest's signature and chain, every listed log file's hash, missing digests, log
 *    files no digest lists, chains that restart, digests that stop.
 * 4. The lookup (cli/lookup, the code of `trailwatch lookup`) of each account-region with the query's filters;
 *    the same pass picks up the trail's own StopLogging / StartLogging / DeleteTrail calls, which name who
 *    stopped it when a silence needs explaining.
 * 5. Coverage per account-region-hour (coverage.ts) and the verdict: PROVEN when no hole is left, NOT PROVEN
 *    with each hole named, UNVERIFIABLE when there is no digest at all.
 */
import { CliError } from '#cli/errors.ts';
import { safeCallerName } from '#cli/lookup/filter.ts';
import { LookupError, type LookupEvent, type LookupFilter, lookup } from '#cli/lookup/index.ts';
import type { Source } from '#cli/source.ts';
import type { TrailStatusSource } from '#cli/validate/trail-status.ts';
import { parseTrailArn, type ValidationEvent, validateTrail } from '#cli/validate/validate-trail.ts';
import type { PublicKeySource } from '#shared/digest/public-keys.ts';
import { classifyKey } from '#shared/keys.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import {
  coverageOf,
  type Hole,
  type HourState,
  LATE_MS,
  type PlaceCoverage,
  type TrailCall,
} from './coverage.ts';

export type AuditVerdict = 'PROVEN' | 'NOT PROVEN' | 'UNVERIFIABLE';

export interface AuditQuery {
  start: Date;
  end: Date;
  /** The lookup's attribute filters (times come from start and end). */
  filter: Omit<LookupFilter, 'startTime' | 'endTime'>;
  account?: string;
  /**
   * Only these regions, each audited whether or not the bucket holds anything for it: a region whose files
   * were all deleted is then a hole, not a region quietly left out.
   */
  regions?: string[];
}

export interface AuditOptions {
  source: Source;
  keys: PublicKeySource;
  query: AuditQuery;
  /** Default: read from the digests' names. */
  trailArn?: string;
  /** CloudTrail's view of the trail (S3 sources): why digests stop. */
  trailStatus?: TrailStatusSource;
  now?: Date;
  concurrency?: number;
  onUnreadable?: (key: string, reason: string) => void;
}

export interface AuditFinding extends LookupEvent {
  /** The file it came from is listed in a valid, chained digest with a matching hash. */
  proven: boolean;
  /** The state of the hour its file was delivered in. */
  hour: HourState;
}

export interface AuditResult {
  verdict: AuditVerdict;
  query: AuditQuery;
  source: string;
  trailArn?: string;
  places: PlaceCoverage[];
  holes: Hole[];
  results: AuditFinding[];
  stats: {
    digests: { valid: number; invalid: number };
    logFiles: { valid: number; invalid: number };
    filesRead: number;
    records: number;
  };
}

interface Place {
  account: string;
  orgId?: string;
  region: string;
}

const ACCOUNT_RE = /^\d{12}$/;
const ORG_RE = /^o-[a-z0-9]{10,32}$/;
const TRAIL_CALLS = new Set(['StopLogging', 'StartLogging', 'DeleteTrail']);
const HOUR_MS = 3_600_000;

const leaf = (folder: string) => folder.slice(0, -1).split('/').at(-1) ?? '';

function accountRoot(prefix: string, p: { account: string; orgId?: string }): string {
  return `${prefix}AWSLogs/${p.orgId ? `${p.orgId}/` : ''}${p.account}/`;
}

/**
 * The account-regions holding log files or digests, narrowed by the query; the account and regions the
 * query names are audited even when the bucket holds nothing for them.
 */
async function findPlaces(source: Source, query: AuditQuery): Promise<Place[]> {
  const store = source.store;
  const accounts: { account: string; orgId?: string }[] = [];
  for (const f of await store.listFolders(`${source.prefix}AWSLogs/`)) {
    const name = leaf(f);
    if (ACCOUNT_RE.test(name)) accounts.push({ account: name });
    else if (ORG_RE.test(name)) {
      for (const a of await store.listFolders(f)) {
        if (ACCOUNT_RE.test(leaf(a))) accounts.push({ account: leaf(a), orgId: name });
      }
    }
  }
  if (query.account && query.regions && !accounts.some((a) => a.account === query.account)) {
    accounts.push({ account: query.account });
  }
  const places: Place[] = [];
  for (const a of accounts) {
    if (query.account && a.account !== query.account) continue;
    if (query.regions) {
      for (const region of query.regions) places.push({ ...a, region });
      continue;
    }
    const root = accountRoot(source.prefix, a);
    const regions = new Set<string>();
    for (const folder of ['CloudTrail/', 'CloudTrail-Digest/']) {
      for (const r of await store.listFolders(`${root}${folder}`)) regions.add(leaf(r));
    }
    for (const region of [...regions].sort()) places.push({ ...a, region });
  }
  if (places.length === 0) {
    const which = query.account ? `account ${query.account}` : '';
    throw new CliError(
      `${source.description}: no CloudTrail log or digest folders${which ? ` for ${which}` : ''}; expected ${source.prefix}AWSLogs/ACCOUNT/CloudTrail/REGION/`,
    );
  }
  return places;
}

/** The trail whose digests the places hold, from the first digest name of each; undefined when none. */
async function findTrail(source: Source, places: Place[]): Promise<string | undefined> {
  const found = new Map<string, string>();
  for (const p of places) {
    for await (const o of source.store.list(
      `${accountRoot(source.prefix, p)}CloudTrail-Digest/${p.region}/`,
    )) {
      const c = classifyKey(o.key);
      if (c.kind !== 'digest' || !c.trailName || !c.homeRegion) continue;
      const arn = `arn:aws:cloudtrail:${c.homeRegion}:${p.account}:trail/${c.trailName}`;
      found.set(`${c.trailName} (${c.homeRegion})`, arn);
      break;
    }
  }
  if (found.size > 1) {
    throw new CliError(
      `digests of several trails in ${source.description} (${[...found.keys()].join(', ')}): name one with --trail-arn`,
    );
  }
  return [...found.values()][0];
}

/** Whether a CloudTrail management call names this trail (by ARN or by name). */
function namesTrail(r: CloudTrailRecord, trailName: string | undefined): boolean {
  if (!trailName) return true;
  const req = r.requestParameters as { name?: unknown } | null | undefined;
  const name = typeof req?.name === 'string' ? req.name : undefined;
  return name === trailName || (name?.endsWith(`:trail/${trailName}`) ?? false);
}

function trailCall(r: CloudTrailRecord): TrailCall | undefined {
  const time = typeof r.eventTime === 'string' ? new Date(r.eventTime) : undefined;
  if (!time || Number.isNaN(time.getTime())) return undefined;
  const u = r.userIdentity;
  return {
    eventName: String(r.eventName),
    time,
    actor: (typeof u?.arn === 'string' && u.arn) || safeCallerName(r) || 'unknown',
    ...(typeof r.sourceIPAddress === 'string' ? { sourceIp: r.sourceIPAddress } : {}),
    ...(typeof r.userAgent === 'string' ? { userAgent: r.userAgent } : {}),
    ...(typeof r.eventID === 'string' ? { eventId: r.eventID } : {}),
  };
}

export async function runAuditQuery(options: AuditOptions): Promise<AuditResult> {
  const { source, query } = options;
  const now = options.now ?? new Date();
  const places = await findPlaces(source, query);
  const trailArn = options.trailArn ?? (await findTrail(source, places));
  const trailName = trailArn ? parseTrailArn(trailArn).name : undefined;
  const validateEnd = new Date(Math.min(query.end.getTime() + LATE_MS, now.getTime()));

  // 3. Validation, one walk per account over its regions in scope.
  const events = new Map<string, ValidationEvent[]>();
  const stats: AuditResult['stats'] = {
    digests: { valid: 0, invalid: 0 },
    logFiles: { valid: 0, invalid: 0 },
    filesRead: 0,
    records: 0,
  };
  if (trailArn) {
    const byAccount = new Map<string, Place[]>();
    for (const p of places) byAccount.set(p.account, [...(byAccount.get(p.account) ?? []), p]);
    for (const [account, ps] of byAccount) {
      const out: ValidationEvent[] = [];
      for await (const e of validateTrail({
        store: source.store,
        bucket: source.bucket,
        keys: options.keys,
        trailArn,
        start: query.start,
        end: validateEnd,
        prefix: source.prefix,
        accountId: account,
        ...(ps[0].orgId ? { orgId: ps[0].orgId } : {}),
        regions: ps.map((p) => p.region),
        ...(options.trailStatus ? { trailStatus: options.trailStatus } : {}),
        now,
      })) {
        out.push(e);
        if (e.type === 'summary') {
          stats.digests.valid += e.digests.valid + e.backfillDigests.valid;
          stats.digests.invalid += e.digests.invalid + e.backfillDigests.invalid;
          stats.logFiles.valid += e.logs.valid;
          stats.logFiles.invalid += e.logs.invalid;
        }
      }
      events.set(account, out);
    }
  }

  // 4. The lookup, place by place, and the trail's own stop and start calls seen on the way.
  const calls: TrailCall[] = [];
  const found: { place: Place; event: LookupEvent }[] = [];
  const onRecord = (r: CloudTrailRecord) => {
    if (
      r.eventSource === 'cloudtrail.amazonaws.com' &&
      TRAIL_CALLS.has(String(r.eventName)) &&
      namesTrail(r, trailName)
    ) {
      const c = trailCall(r);
      if (c) calls.push(c);
    }
  };
  const lookIn = async (place: Place, filter: LookupFilter) => {
    try {
      return await lookup({
        store: source.store,
        prefix: `${accountRoot(source.prefix, place)}CloudTrail/${place.region}/`,
        filter,
        order: 'oldest-first',
        ...(options.concurrency ? { concurrency: options.concurrency } : {}),
        ...(options.onUnreadable ? { onUnreadable: options.onUnreadable } : {}),
        onRecord,
      });
    } catch (err) {
      // A place with digests and no log folder in range has nothing to look up.
      if (err instanceof LookupError && /no CloudTrail logs/.test(err.message)) return undefined;
      throw err;
    }
  };
  for (const place of places) {
    const result = await lookIn(place, { ...query.filter, startTime: query.start, endTime: query.end });
    if (!result) continue;
    stats.filesRead += result.stats.filesRead;
    stats.records += result.stats.records;
    for (const event of result.events) found.push({ place, event });
  }
  // A trail is stopped and started in its home region: read it for those calls when the query left it out
  // and the digests show a silence to explain.
  const silent = [...events.values()].some((es) =>
    es.some((e) => e.type === 'gap' || e.type === 'digest-gap'),
  );
  if (trailArn && silent) {
    const arn = parseTrailArn(trailArn);
    const home = places.find((p) => p.account === arn.account) ?? places[0];
    if (!places.some((p) => p.account === home.account && p.region === arn.region)) {
      await lookIn(
        { ...home, region: arn.region },
        {
          eventSource: 'cloudtrail.amazonaws.com',
          startTime: new Date(query.start.getTime() - HOUR_MS),
          endTime: query.end,
        },
      );
    }
  }
  calls.sort((a, b) => a.time.getTime() - b.time.getTime());

  // 5. Coverage and verdict.
  const coverage = places.map((p) =>
    coverageOf({
      account: p.account,
      region: p.region,
      start: query.start,
      end: query.end,
      now,
      events: events.get(p.account) ?? [],
      trailCalls: calls,
    }),
  );
  const holes = coverage.flatMap((c) => c.holes);
  const digests = coverage.reduce((sum, c) => sum + c.place.digests, 0);
  const verdict: AuditVerdict = digests === 0 ? 'UNVERIFIABLE' : holes.length > 0 ? 'NOT PROVEN' : 'PROVEN';
  const results: AuditFinding[] = found
    .map(({ place, event }) => {
      const c = coverage[places.indexOf(place)];
      const t = Math.floor(event.file.time.getTime() / HOUR_MS) * HOUR_MS;
      const hour = c.place.hours.find((h) => h.start.getTime() === t)?.state ?? 'missing';
      return { ...event, proven: c.verifiedFiles.has(event.file.key), hour };
    })
    .sort((a, b) => String(a.record.eventTime).localeCompare(String(b.record.eventTime)));
  return {
    verdict,
    query,
    source: source.description,
    ...(trailArn ? { trailArn } : {}),
    places: coverage.map((c) => c.place),
    holes,
    results,
    stats,
  };
}

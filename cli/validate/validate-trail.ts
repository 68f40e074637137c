/**
 * On-demand validation of a trail over a time range: the AWS CLI's walk (`aws cloudtrail validate-logs`,
 * docs/cloudtrail-format.md section 2.4), with the same verdicts in the same order, plus what it misses
 * (section 2.5):
 * - the previous digest found is compared with the hash and signature its successor recorded;
 * - digests are hourly, so an hour with no digest is reported: every one of several consecutive deleted
 *   digests, not only the first; and the overdue hours after the newest digest found, as one digest gap
 *   (a trail stopped months ago would otherwise read as thousands of missing files), explained by the
 *   trail's status when CloudTrail can be asked (trail-status.ts);
 * - a digest listed but never reached along the chain (a copy under another key) is checked on its own;
 * - key validity windows and bytes after a gzip stream (in verify.ts);
 * - a log file in the range that no digest lists (planted, or delivered while validation was off) is
 *   INVALID `unlisted` ({@link unlistedLogFiles}); `trailwatch audit` reads the same verdicts.
 *
 * Verdicts come out as an async iterator, in walk order, while log files are fetched and hashed
 * concurrently (bounded) behind it.
 */

import type { DigestFile } from '#shared/digest/digest-format.ts';
import { DigestError } from '#shared/digest/errors.ts';
import { type DigestPlace, HOUR_MS, hoursBetween, missingDigest, overdueAfter } from '#shared/digest/gaps.ts';
import { OrderedChannel, Pool } from '#shared/digest/pool.ts';
import { KeyRing, type PublicKeySource } from '#shared/digest/public-keys.ts';
import { type FileVerdict, invalid, REASONS } from '#shared/digest/verdict.ts';
import {
  type CheckedDigest,
  checkChainLink,
  checkDigest,
  checkLogFile,
  type FetchedDigest,
  fetchDigest,
  storeResolver,
} from '#shared/digest/verify-digest.ts';
import { classifyKey, dayFolder, dayPath, digestFileKey } from '#shared/keys.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { explainGap, type GapCause, type TrailStatusSource } from './trail-status.ts';

const MINUTE_MS = 60_000;

export interface ValidateTrailOptions {
  /** The trail's bucket (or a local mirror of it). */
  store: ObjectStore;
  /** Its name, as digests record it. Default: from `store.location` when it is `s3://bucket`. */
  bucket?: string;
  /** Other buckets a chain or a digest's log files may lead to. */
  resolveStore?: (bucket: string) => ObjectStore | undefined;
  keys: PublicKeySource | KeyRing;
  /** `arn:aws:cloudtrail:HOME_REGION:ACCOUNT:trail/NAME` */
  trailArn: string;
  start: Date;
  end: Date;
  /** Key prefix before `AWSLogs/` (with or without its trailing slash). */
  prefix?: string;
  /** Default: the trail ARN's account (for organization trails: the member account to check). */
  accountId?: string;
  /** Organization trails: `o-...`. Default: found in the bucket when the account sits under one. */
  orgId?: string;
  /** Source regions whose chains are walked; 'all' walks every region with digests. Default: the ARN's. */
  regions?: string[] | 'all';
  /** Log files fetched and hashed at once. Default 16. */
  concurrency?: number;
  /** How late a digest may be delivered after its end time before its absence is reported. Default 1 h. */
  deliveryDelayMs?: number;
  /** Digests fetched ahead of the walk. Default 8. */
  prefetch?: number;
  /** CloudTrail's view of the trail, asked only when digests stop before the end of the range. */
  trailStatus?: TrailStatusSource;
  /** The current time, for how far back CloudTrail's event history reaches. Default: the clock. */
  now?: Date;
  onProgress?: (done: number, total: number) => void;
}

export interface GapEvent {
  type: 'gap';
  region: string;
  backfill?: boolean;
  /** End of the older digest found. */
  from: Date;
  /** Start of the newer digest that starts a new chain. */
  to: Date;
}

/**
 * trailwatch's own finding: no digest after the newest one found, though one was due every hour up to the
 * end of the range. One event per source region, however many hours.
 */
export interface DigestGapEvent {
  type: 'digest-gap';
  region: string;
  bucket: string;
  /** The time in the newest digest's name (its end). */
  from: Date;
  /** The end of the range. */
  to: Date;
  /** Hourly digests due in between whose delivery is overdue. */
  missing: number;
  /** The key the first of them would have. */
  firstMissingKey: string;
  cause: GapCause;
}

export interface StartEvent {
  type: 'start';
  trailArn: string;
  start: Date;
  end: Date;
  bucket: string;
  account: string;
  orgId?: string;
  regions: string[];
}

export interface Tally {
  valid: number;
  invalid: number;
}

export interface ValidationSummary {
  type: 'summary';
  trailArn: string;
  requestedStart: Date;
  requestedEnd: Date;
  /** From the valid digests only, clamped to the requested range, as the AWS CLI reports it. */
  foundStart?: Date;
  foundEnd?: Date;
  digests: Tally;
  backfillDigests: Tally;
  logs: Tally;
  /** The digest gaps reported, in the order found. */
  digestGaps: DigestGapEvent[];
  /** Nothing invalid and no digest known to be deleted (exit code 0). */
  ok: boolean;
}

export type ValidationEvent = StartEvent | FileVerdict | GapEvent | DigestGapEvent | ValidationSummary;

export interface TrailArn {
  partition: string;
  region: string;
  account: string;
  name: string;
}

export function parseTrailArn(arn: string): TrailArn {
  // The AWS CLI's own check, then its own way of taking the parts apart.
  if (!/^arn:.+:cloudtrail:.+:\d{12}:trail\/.+/.test(arn)) {
    throw new DigestError(`Invalid trail ARN provided: ${arn}`);
  }
  const parts = arn.split(':');
  return { partition: parts[1], region: parts[3], account: parts[4], name: arn.split('/').at(-1)! };
}

interface Listed {
  key: string;
  time: number;
}

interface Ctx {
  bucket: string;
  store: ObjectStore;
  storeFor: (bucket: string) => ObjectStore | undefined;
  ring: KeyRing;
  trail: TrailArn;
  account: string;
  orgId?: string;
  prefix: string;
  start: number;
  end: number;
  delay: number;
  prefetch: number;
  pool: Pool;
  emit: (event: ValidationEvent | Promise<ValidationEvent>) => Promise<void>;
  stopped: () => boolean;
  explain: (from: Date, to: Date) => Promise<GapCause>;
  /** Per source region, what the digests walked say about log files (see {@link unlistedLogFiles}). */
  coverage: Map<string, RegionCoverage>;
}

/** What the digests of one source region vouch for, gathered during the walk. */
interface RegionCoverage {
  /** Keys of the log files valid digests list. */
  listed: Set<string>;
  /** Delivery-time windows [from, to] (ms) of digests missing or INVALID: their files are reported by them. */
  excused: [number, number][];
  /** The end time of the newest digest found in place (ms). */
  newestEnd?: number;
}

/** A log file's name carries its delivery time to the minute; digest windows are cut to the second. */
const EDGE_MS = 2 * MINUTE_MS;

function coverageOf(ctx: Pick<Ctx, 'coverage'>, region: string): RegionCoverage {
  let c = ctx.coverage.get(region);
  if (!c) {
    c = { listed: new Set(), excused: [] };
    ctx.coverage.set(region, c);
  }
  return c;
}

/** Notes a digest verdict: a missing or INVALID digest answers for the log files of its hour. */
function noteDigestVerdict(ctx: Pick<Ctx, 'coverage'>, v: FileVerdict): void {
  if (v.type !== 'digest' || v.status === 'valid' || v.code === 'moved') return;
  const c = classifyKey(v.key);
  if (c.kind !== 'digest') return;
  const t = c.time.getTime();
  coverageOf(ctx, c.region).excused.push([t - HOUR_MS - EDGE_MS, t + EDGE_MS]);
}

/**
 * Log files of one source region delivered in the range (up to the newest digest found, whose successor
 * may still be due) that no digest walked lists and that lie in no hour whose own digest is missing or
 * INVALID (that digest's verdict already reports them). Nothing vouches for such a file: it was written
 * by someone other than CloudTrail, or delivered while validation was off. One verdict each, key order.
 */
async function unlistedLogFiles(ctx: Ctx, region: string): Promise<FileVerdict[]> {
  const c = ctx.coverage.get(region);
  if (c?.newestEnd === undefined) return [];
  const last = Math.min(ctx.end, c.newestEnd - EDGE_MS);
  const out: FileVerdict[] = [];
  const place = { prefix: ctx.prefix, orgId: ctx.orgId, account: ctx.account, region };
  const lastDay = dayPath(new Date(last));
  for (let day = new Date(ctx.start); dayPath(day) <= lastDay; day = new Date(day.getTime() + 86_400_000)) {
    if (ctx.stopped()) return out;
    for await (const o of ctx.store.list(dayFolder({ ...place, folder: 'CloudTrail', day }))) {
      const k = classifyKey(o.key);
      if (k.kind !== 'log' || k.account !== ctx.account || k.region !== region) continue;
      const t = k.time.getTime();
      if (t < ctx.start || t > last || c.listed.has(o.key)) continue;
      if (c.excused.some(([from, to]) => t >= from && t <= to)) continue;
      out.push(invalid('log', ctx.bucket, o.key, 'unlisted', REASONS.unlisted));
    }
  }
  return out;
}

function normalizePrefix(p: string | undefined): string {
  const trimmed = (p ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed ? `${trimmed}/` : '';
}

/** Where the account's files live: `AWSLogs/ACCOUNT/` or, for organization trails, `AWSLogs/o-.../ACCOUNT/`. */
async function findOrgId(store: ObjectStore, prefix: string, account: string): Promise<string | undefined> {
  const top = await store.listFolders(`${prefix}AWSLogs/`);
  if (top.includes(`${prefix}AWSLogs/${account}/`)) return undefined;
  for (const folder of top) {
    if (!/\/o-[a-z0-9]{10,32}\/$/.test(folder)) continue;
    if ((await store.listFolders(folder)).includes(`${folder}${account}/`))
      return folder.slice(0, -1).split('/').at(-1);
  }
  return undefined;
}

function accountRoot(ctx: Pick<Ctx, 'prefix' | 'orgId' | 'account'>): string {
  return `${ctx.prefix}AWSLogs/${ctx.orgId ? `${ctx.orgId}/` : ''}${ctx.account}/`;
}

/** Digest keys of one chain folder in the AWS CLI's range: names from `start` to `end + 1 h`. */
async function listDigests(
  ctx: Ctx,
  store: ObjectStore,
  region: string,
): Promise<{ standard: Listed[]; backfill: Listed[] }> {
  const dir = `${accountRoot(ctx)}CloudTrail-Digest/${region}/`;
  const start = Math.floor(ctx.start / 1000) * 1000;
  const marker = digestFileKey({
    prefix: ctx.prefix,
    orgId: ctx.orgId,
    account: ctx.account,
    region,
    trailName: ctx.trail.name,
    homeRegion: ctx.trail.region,
    endTime: new Date(start - MINUTE_MS),
  });
  const last = Math.floor(ctx.end / 1000) * 1000 + HOUR_MS;
  const standard: Listed[] = [];
  const backfill: Listed[] = [];
  for await (const o of store.list(dir, { startAfter: marker })) {
    const c = classifyKey(o.key);
    if (
      c.kind !== 'digest' ||
      c.account !== ctx.account ||
      c.region !== region ||
      c.trailName !== ctx.trail.name ||
      c.homeRegion !== ctx.trail.region ||
      c.prefix !== ctx.prefix ||
      c.orgId !== ctx.orgId
    ) {
      continue;
    }
    const t = c.time.getTime();
    if (t > last) break;
    if (t < start) continue;
    (c.backfill ? backfill : standard).push({ key: o.key, time: t });
  }
  return { standard, backfill };
}

function keyTime(key: string): number {
  const c = classifyKey(key);
  return c.kind === 'digest' ? c.time.getTime() : Number.NaN;
}

/** One chain (standard or backfill digests of one source region), newest first, like the AWS CLI. */
async function walkChain(ctx: Ctx, region: string, initial: Listed[], backfill: boolean): Promise<void> {
  let bucket = ctx.bucket;
  let store = ctx.store;
  let remaining = [...initial];
  // Every listing walked (one per bucket the chain passes through), for the digests never reached.
  const listings: { store: ObjectStore; bucket: string; listed: Listed[] }[] = [
    { store, bucket, listed: initial },
  ];
  const cache = new Map<string, Promise<{ fetched: FetchedDigest; checked: CheckedDigest }>>();
  const visited = new Set<string>();
  const accounted: number[] = initial.map((l) => l.time);

  const check = (s: ObjectStore, b: string, key: string) => {
    const id = `${b}/${key}`;
    let p = cache.get(id);
    if (!p) {
      p = (async () => {
        const fetched = await fetchDigest(s, b, key);
        return { fetched, checked: await checkDigest(fetched, ctx.ring, { region }) };
      })();
      p.catch(() => undefined);
      cache.set(id, p);
    }
    return p;
  };
  const take = async (s: ObjectStore, b: string, key: string) => {
    const r = await check(s, b, key);
    cache.delete(`${b}/${key}`);
    visited.add(`${b}/${key}`);
    return r;
  };
  const prefetchBefore = (time: number) => {
    let n = 0;
    for (let i = remaining.length - 1; i >= 0 && n < ctx.prefetch; i--) {
      if (remaining[i].time >= time) continue;
      const id = `${bucket}/${remaining[i].key}`;
      if (!visited.has(id)) void check(store, bucket, remaining[i].key);
      n++;
    }
  };
  /** The newest listed digest older than `time` (the AWS CLI drops the newer ones from its list). */
  const popBefore = (time: number): Listed | undefined => {
    while (remaining.length > 0) {
      const next = remaining.pop()!;
      if (next.time < time) return next;
    }
    return undefined;
  };
  const place: DigestPlace = {
    prefix: ctx.prefix,
    orgId: ctx.orgId,
    account: ctx.account,
    region,
    trailName: ctx.trail.name,
    homeRegion: ctx.trail.region,
  };
  const missing = async (time: number) => {
    if (accounted.some((t) => Math.abs(t - time) < HOUR_MS / 2)) return;
    accounted.push(time);
    await ctx.emit(missingDigest(bucket, place, time));
  };
  /** Hourly digests that should lie strictly between two found (or named) ones and were never seen. */
  const between = async (older: number, newer: number) => {
    if (backfill || !Number.isFinite(older) || !Number.isFinite(newer)) return;
    for (const t of hoursBetween(older, newer).reverse()) await missing(t);
  };
  const coverage = coverageOf(ctx, region);
  const emitDigest = async (verdict: FileVerdict, digest: DigestFile | undefined) => {
    await ctx.emit(verdict);
    if (verdict.status !== 'valid' || !digest) return;
    const end = Date.parse(digest.digestEndTime);
    if (!backfill && !(end <= (coverage.newestEnd ?? Number.NEGATIVE_INFINITY))) coverage.newestEnd = end;
    for (const entry of digest.logFiles) {
      if (entry.s3Bucket === ctx.bucket) coverage.listed.add(entry.s3Object);
    }
    for (const entry of digest.logFiles) {
      if (ctx.stopped()) return;
      await ctx.emit(ctx.pool.run(() => checkLogFile(ctx.storeFor(entry.s3Bucket), entry)));
    }
  };

  if (remaining.length === 0) return;

  // The newest digests: one is due every hour, so no digest after the newest one found, up to the end of
  // the range, means logging stopped or the newest digests were deleted. That is one finding however many
  // hours it spans; the trail's status tells which. A listed copy sitting under a later name than it
  // belongs to is not an anchor.
  if (!backfill) {
    let anchor: number | undefined;
    for (let i = remaining.length - 1; i >= 0 && anchor === undefined; i--) {
      const { checked } = await check(store, bucket, remaining[i].key);
      if (checked.verdict.code !== 'moved') anchor = remaining[i].time;
    }
    const due = anchor === undefined ? [] : overdueAfter(anchor, ctx.end, ctx.delay);
    if (anchor !== undefined && due.length > 0) {
      const from = new Date(anchor);
      const to = new Date(ctx.end);
      await ctx.emit({
        type: 'digest-gap',
        region,
        bucket,
        from,
        to,
        missing: due.length,
        firstMissingKey: digestFileKey({ ...place, endTime: new Date(due[0]) }),
        cause: await ctx.explain(from, to),
      });
    }
  }

  let current: Listed | undefined = remaining.pop();
  let lastStart = current!.time;
  let chainedFrom: DigestFile | undefined;
  while (current && ctx.start <= lastStart && !ctx.stopped()) {
    const key = current.key;
    prefetchBefore(current.time);
    const { fetched, checked } = await take(store, bucket, key);
    let verdict = checked.verdict;
    if (verdict.status === 'valid' && chainedFrom) {
      const link = checkChainLink(chainedFrom, fetched);
      if (link.status === 'invalid') verdict = { ...link, ...(backfill ? { backfill } : {}) };
    }
    const digest = checked.digest;
    if (verdict.status === 'valid' && digest) {
      await emitDigest(verdict, digest);
      lastStart = Date.parse(digest.digestStartTime);
      if (digest.previousDigestS3Bucket === null || digest.previousDigestS3Object === null) {
        // The chain starts here (validation or logging was off before): not an error.
        const next = popBefore(current.time);
        if (next)
          await ctx.emit({
            type: 'gap',
            region,
            from: new Date(next.time),
            to: new Date(lastStart),
            ...(backfill ? { backfill } : {}),
          });
        current = next;
        chainedFrom = undefined;
        continue;
      }
      chainedFrom = digest;
      current = { key: digest.previousDigestS3Object, time: keyTime(digest.previousDigestS3Object) };
      if (digest.previousDigestS3Bucket !== bucket) {
        const other = ctx.storeFor(digest.previousDigestS3Bucket);
        bucket = digest.previousDigestS3Bucket;
        if (!other) {
          // Not reachable: reported as not found, and the walk ends with nothing more to list.
          await ctx.emit({
            ...invalid('digest', bucket, current.key, 'not-found', REASONS.notFound),
            ...(backfill ? { backfill } : {}),
          });
          break;
        }
        store = other;
        const relisted = await listDigests(ctx, store, region);
        const listed = backfill ? relisted.backfill : relisted.standard;
        listings.push({ store, bucket, listed });
        remaining = [...listed];
        accounted.push(...listed.map((l) => l.time));
      }
      continue;
    }
    await ctx.emit(verdict);
    const next = popBefore(current.time);
    // Several digests deleted in a row: the chain names only the newest of them; the hours down to the next
    // digest found tell how many more are gone. A digest under a foreign name says nothing about its hour.
    if (next && verdict.code !== 'moved') await between(next.time, current.time);
    current = next;
    chainedFrom = undefined;
  }

  // Listed but never reached along the chain: a copy under another key, a second chain. Checked on its own.
  for (const listing of listings) {
    for (const l of listing.listed) {
      if (ctx.stopped()) return;
      if (visited.has(`${listing.bucket}/${l.key}`)) continue;
      const { checked } = await take(listing.store, listing.bucket, l.key);
      await emitDigest(checked.verdict, checked.digest);
    }
  }
}

/**
 * Validates digests and log files of a trail between `start` and `end`. Yields a start event, then each
 * verdict (and chain gap) in the AWS CLI's order, a digest gap before a region's walk when its digests stop
 * early, then the summary. Bad files are verdicts; a store or key source that fails, or options that make
 * no sense, throw DigestError (a store's own error, such as the CLI's checked S3 store's, passes through as
 * it is or as the cause). A trail status that cannot be read is said in the gap's cause, not thrown.
 */
export async function* validateTrail(
  options: ValidateTrailOptions,
): AsyncGenerator<ValidationEvent, void, undefined> {
  const trail = parseTrailArn(options.trailArn);
  const start = options.start.getTime();
  const end = options.end.getTime();
  if (Number.isNaN(start) || Number.isNaN(end)) throw new DigestError('expected valid start and end times');
  if (start > end)
    throw new DigestError('Invalid time range specified: start-time must occur before end-time');
  let bucket: string;
  if (options.bucket) bucket = options.bucket;
  else {
    const m = /^s3:\/\/([^/]+)\/?$/.exec(options.store.location);
    if (!m)
      throw new DigestError(`expected the bucket name of ${options.store.location}: give it (option bucket)`);
    bucket = m[1];
  }
  const account = options.accountId ?? trail.account;
  if (!/^\d{12}$/.test(account)) throw new DigestError(`expected a 12-digit account id, found ${account}`);
  const prefix = normalizePrefix(options.prefix);
  const orgId = options.orgId ?? (await findOrgId(options.store, prefix, account));
  const ring = options.keys instanceof KeyRing ? options.keys : new KeyRing(options.keys);

  let stopped = false;
  const channel = new OrderedChannel<ValidationEvent>(4096);
  // One GetTrailStatus for every region's gap.
  const statusSource = options.trailStatus;
  let status: ReturnType<TrailStatusSource['status']> | undefined;
  const trailStatus: TrailStatusSource | undefined = statusSource && {
    status: (arn) => {
      status ??= statusSource.status(arn);
      return status;
    },
    changes: (arn, from, to) => statusSource.changes(arn, from, to),
  };
  let total = 0;
  const ctx: Ctx = {
    bucket,
    store: options.store,
    storeFor: storeResolver(options.store, bucket, options.resolveStore),
    ring,
    trail,
    account,
    ...(orgId ? { orgId } : {}),
    prefix,
    start,
    end,
    delay: options.deliveryDelayMs ?? HOUR_MS,
    prefetch: options.prefetch ?? 8,
    pool: new Pool(options.concurrency ?? 16),
    // Log verdicts arrive as promises; digests are counted up front from the listing.
    emit: (event) => {
      if (event instanceof Promise) total++;
      else if (event.type === 'digest') noteDigestVerdict(ctx, event);
      return channel.push(Promise.resolve(event));
    },
    stopped: () => stopped,
    explain: (from, to) => explainGap(trailStatus, options.trailArn, { from, to }, options.now),
    coverage: new Map(),
  };
  let regions: string[];
  if (options.regions === 'all') {
    const root = accountRoot({ prefix, orgId, account });
    regions = (await options.store.listFolders(`${root}CloudTrail-Digest/`)).map(
      (f) => f.slice(0, -1).split('/').at(-1)!,
    );
  } else {
    regions = options.regions && options.regions.length > 0 ? options.regions : [trail.region];
  }

  yield {
    type: 'start',
    trailArn: options.trailArn,
    start: new Date(start),
    end: new Date(end),
    bucket,
    account,
    ...(orgId ? { orgId } : {}),
    regions,
  };

  const producer = (async () => {
    for (const region of regions) {
      if (stopped) break;
      const { standard, backfill } = await listDigests(ctx, options.store, region);
      // The AWS CLI asks for the keys of [start, end + 2 h] once; other hours are asked for when met.
      if (standard.length > 0) await ring.load(region, new Date(start), new Date(end + 2 * HOUR_MS));
      total += standard.length + backfill.length;
      await walkChain(ctx, region, standard, false);
      await walkChain(ctx, region, backfill, true);
      for (const v of await unlistedLogFiles(ctx, region)) await ctx.emit(v);
    }
  })();
  producer.then(
    () => channel.close(),
    (err) => channel.fail(err),
  );

  const summary: ValidationSummary = {
    type: 'summary',
    trailArn: options.trailArn,
    requestedStart: new Date(start),
    requestedEnd: new Date(end),
    digests: { valid: 0, invalid: 0 },
    backfillDigests: { valid: 0, invalid: 0 },
    logs: { valid: 0, invalid: 0 },
    digestGaps: [],
    ok: true,
  };
  let done = 0;
  try {
    for await (const event of channel) {
      if (event.type === 'digest' || event.type === 'log') {
        const tally =
          event.type === 'log' ? summary.logs : event.backfill ? summary.backfillDigests : summary.digests;
        tally[event.status]++;
        if (event.status === 'invalid') summary.ok = false;
        if (event.type === 'digest' && event.status === 'valid' && event.startTime && event.endTime) {
          const s = Math.max(Date.parse(event.startTime), start);
          const e = Math.min(Date.parse(event.endTime), end);
          if (!summary.foundStart || s < summary.foundStart.getTime()) summary.foundStart = new Date(s);
          if (!summary.foundEnd || e > summary.foundEnd.getTime()) summary.foundEnd = new Date(e);
        }
        done++;
        options.onProgress?.(done, Math.max(total, done));
      } else if (event.type === 'digest-gap') {
        summary.digestGaps.push(event);
        if (event.cause.digestsDeleted) summary.ok = false;
      }
      yield event;
    }
  } finally {
    stopped = true;
  }
  yield summary;
}

/** Runs a validation to the end and returns every event (tests, small ranges). */
export async function collectValidation(options: ValidateTrailOptions): Promise<ValidationEvent[]> {
  const out: ValidationEvent[] = [];
  for await (const e of validateTrail(options)) out.push(e);
  return out;
}

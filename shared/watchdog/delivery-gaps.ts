/**
 * The watchdog: what did not arrive. CloudTrail delivers a digest every hour per account and region, even
 * for an hour without events, so a missing digest means a stopped trail, a broken delivery, or a deleted
 * newest digest, which no validation of the digests that are there can notice. Log files have no schedule,
 * so silence is judged against the account and region's own recent activity.
 *
 * State (one object) remembers which gaps were already reported, so each gap alerts once, and a recovery
 * is reported when deliveries resume.
 */
import { classifyKey, dayFolder } from '#shared/keys.ts';
import { type ObjectStore, PreconditionFailedError, readAll } from '#shared/ports.ts';

export interface WatchdogOptions {
  /** A digest older than this many minutes past its hour is missing. Default 90 (hourly + CloudTrail's delay). */
  digestGraceMinutes: number;
  /** No log file for this many minutes is a silence. Default 60. */
  logSilenceMinutes: number;
  /** Only places that delivered within this many days are watched (a region never used is not silent). */
  activeWithinDays: number;
}

export const DEFAULT_WATCHDOG: WatchdogOptions = {
  digestGraceMinutes: 90,
  logSilenceMinutes: 60,
  activeWithinDays: 7,
};

export interface Place {
  prefix: string;
  orgId?: string;
  account: string;
  region: string;
}

export interface Finding {
  kind: 'digest-missing' | 'logs-silent';
  place: Place;
  /** Newest file found, or null when none in the window looked at. */
  newestKey: string | null;
  newestTime: string | null;
  /** Minutes since the newest file (or since the window start). */
  silentMinutes: number;
  thresholdMinutes: number;
}

export interface WatchdogState {
  schema: 'trailwatch.watchdog/1';
  /** `kind|prefix|account|region` → the newest key when the gap was reported. */
  open: Record<string, { since: string; newestKey: string | null; reportedAt: string }>;
  /** Keys of planted objects already reported → when. */
  planted?: Record<string, string>;
}

/** An object named like a delivery that cannot be one (see {@link deliveryProblem}). */
export interface Planted {
  key: string;
  size: number;
  reason: string;
}

export interface WatchdogResult {
  /** Gaps found now that were not reported before. */
  opened: Finding[];
  /** Gaps reported before that are closed now. */
  closed: { id: string; kind: Finding['kind']; place: Place; since: string }[];
  /** Every gap present now, reported or not. */
  current: Finding[];
  placesWatched: number;
  /** Planted objects found now that were not reported before. */
  planted: Planted[];
  /** Accounts none of whose watched regions delivered a log file within the silence threshold. */
  silentAccounts: string[];
}

/** Clock skew allowed between CloudTrail's file names and the watchdog's clock. */
const SKEW_MS = 5 * 60_000;

/**
 * Why an object listed among deliveries cannot be one CloudTrail delivered, or undefined when it can. Only
 * what can be told from the listing: CloudTrail never writes an empty file, names every file after the
 * account and region of its folders and the day it is filed under, never from the future, and writes one
 * digest per trail and hour (several log files a minute are normal, so only digests can be duplicates).
 */
export function deliveryProblem(
  o: { key: string; size: number },
  place: Place,
  now: Date,
  seenDigestHours?: Set<string>,
): string | undefined {
  const k = classifyKey(o.key);
  if (k.kind === 'other') return `not a CloudTrail file name (${k.reason})`;
  if (k.account !== place.account || k.region !== place.region) return 'named for another account or region';
  const day = k.time.toISOString().slice(0, 10).replaceAll('-', '/');
  if (k.day !== day) return `its time ${k.time.toISOString()} is not in the day folder ${k.day}`;
  if (o.size === 0) return 'empty (CloudTrail never writes an empty file)';
  if (k.time.getTime() > now.getTime() + SKEW_MS) return `its time ${k.time.toISOString()} is in the future`;
  if (k.kind === 'digest' && seenDigestHours) {
    const hour = `${k.trailName ?? ''}|${Math.floor(k.time.getTime() / 3_600_000)}`;
    if (seenDigestHours.has(hour)) return 'a second digest for the same trail and hour';
    seenDigestHours.add(hour);
  }
  return undefined;
}

const DAY_MS = 86_400_000;

/** The id of a watched place in the watchdog's state: one per kind, prefix, organization, account, region. */
export function placeId(kind: string, p: Place): string {
  return [kind, p.prefix, p.orgId ?? '', p.account, p.region].join('|');
}

/** The watchdog state at `key` (an empty one before the first run) and the ETag to write it back with. */
export async function readWatchdogState(
  state: ObjectStore,
  key: string,
): Promise<{ previous: WatchdogState; etag?: string }> {
  const head = await state.head(key);
  if (!head) return { previous: { schema: 'trailwatch.watchdog/1', open: {} } };
  const previous = JSON.parse((await readAll(state, key)).toString('utf8')) as WatchdogState;
  return head.etag ? { previous, etag: head.etag } : { previous };
}

/** This run's findings as open gaps: those already open keep their start; the others are newly opened. */
export function openGaps(
  previous: WatchdogState,
  findings: readonly Finding[],
  now: Date,
): { open: WatchdogState['open']; opened: Finding[] } {
  const open: WatchdogState['open'] = {};
  const opened: Finding[] = [];
  for (const f of findings) {
    const id = placeId(f.kind, f.place);
    const before = previous.open[id];
    open[id] = before ?? {
      since: f.newestTime ?? now.toISOString(),
      newestKey: f.newestKey,
      reportedAt: now.toISOString(),
    };
    if (!before) opened.push(f);
  }
  return { open, opened };
}

/** Account and region folders under every `[prefix]AWSLogs/[o-org/]ACCOUNT/FOLDER/REGION/`. */
export async function discoverPlaces(
  store: ObjectStore,
  folder: 'CloudTrail' | 'CloudTrail-Digest',
  prefixes: string[],
): Promise<Place[]> {
  const out: Place[] = [];
  for (const prefix of prefixes) {
    for (const level of await store.listFolders(`${prefix}AWSLogs/`)) {
      const name = level.slice(`${prefix}AWSLogs/`.length, -1);
      const accounts = /^o-[a-z0-9]+$/.test(name)
        ? (await store.listFolders(level)).map((a) => ({ orgId: name, account: a.slice(level.length, -1) }))
        : [{ orgId: undefined, account: name }];
      for (const a of accounts) {
        if (!/^\d{12}$/.test(a.account)) continue;
        const base = `${prefix}AWSLogs/${a.orgId ? `${a.orgId}/` : ''}${a.account}/${folder}/`;
        for (const r of await store.listFolders(base)) {
          out.push({
            prefix,
            ...(a.orgId ? { orgId: a.orgId } : {}),
            account: a.account,
            region: r.slice(base.length, -1),
          });
        }
      }
    }
  }
  return out;
}

/**
 * The newest CloudTrail file of one kind in a place, looking back day folder by day folder. Only objects
 * that can be deliveries count; the others found on the way are added to `planted`.
 */
export async function newestFile(
  store: ObjectStore,
  place: Place,
  folder: 'CloudTrail' | 'CloudTrail-Digest',
  now: Date,
  days: number,
  planted: Planted[] = [],
): Promise<{ key: string; time: Date } | undefined> {
  for (let d = 0; d <= days; d++) {
    const day = new Date(now.getTime() - d * DAY_MS);
    let best: { key: string; time: Date } | undefined;
    // Listed in key order: for digests of one trail, the time order of their names.
    const seen = new Set<string>();
    for await (const o of store.list(dayFolder({ ...place, folder, day }))) {
      const k = classifyKey(o.key);
      const problem = deliveryProblem(o, place, now, seen);
      if (problem) {
        planted.push({ key: o.key, size: o.size, reason: problem });
        continue;
      }
      if (k.kind === 'other' || k.kind === 'insight') continue;
      if (!best || k.time > best.time) best = { key: o.key, time: k.time };
    }
    if (best) return best;
  }
  return undefined;
}

export async function findGaps(
  store: ObjectStore,
  now: Date,
  prefixes: string[] = [''],
  options: WatchdogOptions = DEFAULT_WATCHDOG,
): Promise<{ findings: Finding[]; placesWatched: number; planted: Planted[]; silentAccounts: string[] }> {
  const findings: Finding[] = [];
  const planted: Planted[] = [];
  const logAccounts = new Map<string, boolean>();
  let placesWatched = 0;
  const checks: { folder: 'CloudTrail' | 'CloudTrail-Digest'; kind: Finding['kind']; threshold: number }[] = [
    // A digest covers the hour before its own time: the next one is due an hour after the newest, plus grace.
    { folder: 'CloudTrail-Digest', kind: 'digest-missing', threshold: 60 + options.digestGraceMinutes },
    { folder: 'CloudTrail', kind: 'logs-silent', threshold: options.logSilenceMinutes },
  ];
  for (const check of checks) {
    for (const place of await discoverPlaces(store, check.folder, prefixes)) {
      const newest = await newestFile(store, place, check.folder, now, options.activeWithinDays, planted);
      if (!newest) continue;
      placesWatched++;
      const silentMinutes = Math.floor((now.getTime() - newest.time.getTime()) / 60_000);
      if (check.kind === 'logs-silent') {
        const account = `${place.prefix}|${place.orgId ?? ''}|${place.account}`;
        logAccounts.set(account, (logAccounts.get(account) ?? true) && silentMinutes > check.threshold);
      }
      if (silentMinutes > check.threshold) {
        findings.push({
          kind: check.kind,
          place,
          newestKey: newest.key,
          newestTime: newest.time.toISOString(),
          silentMinutes,
          thresholdMinutes: check.threshold,
        });
      }
    }
  }
  const silentAccounts = [...logAccounts].filter(([, silent]) => silent).map(([a]) => a.split('|')[2]);
  return { findings, placesWatched, planted, silentAccounts };
}

const STATE_KEY = 'watchdog/state.json';

function sameMessages(a: WatchdogResult, b: WatchdogResult): boolean {
  const ids = (r: WatchdogResult) =>
    JSON.stringify([
      r.opened.map((f) => placeId(f.kind, f.place)),
      r.closed.map((c) => c.id),
      r.planted.map((p) => p.key),
    ]);
  return ids(a) === ids(b);
}

/**
 * Finds the gaps and planted objects, works out which are new and which gaps closed, has `publish` send
 * their messages, and only then records them as reported, with a conditional write so that two overlapping
 * runs do not both record the same gap. A publish that fails leaves nothing recorded: the next run reports
 * again (a message may repeat, never vanish).
 */
export async function runWatchdog(
  trail: ObjectStore,
  state: ObjectStore,
  now: Date,
  prefixes: string[] = [''],
  options: WatchdogOptions = DEFAULT_WATCHDOG,
  publish: (result: WatchdogResult) => Promise<void> = async () => {},
): Promise<WatchdogResult> {
  const {
    findings,
    placesWatched,
    planted: plantedNow,
    silentAccounts,
  } = await findGaps(trail, now, prefixes, options);
  let published: WatchdogResult | undefined;
  for (let attempt = 0; ; attempt++) {
    const { previous, etag } = await readWatchdogState(state, STATE_KEY);
    const { open, opened } = openGaps(previous, findings, now);
    const closed = Object.entries(previous.open)
      .filter(([id]) => !(id in open))
      .map(([id, v]) => {
        const [kind, prefix, orgId, account, region] = id.split('|');
        return {
          id,
          kind: kind as Finding['kind'],
          place: { prefix, ...(orgId ? { orgId } : {}), account, region },
          since: v.since,
        };
      });
    const planted = plantedNow.filter((p) => !previous.planted?.[p.key]);
    const result: WatchdogResult = {
      opened,
      closed,
      current: findings,
      placesWatched,
      planted,
      silentAccounts,
    };
    if (opened.length === 0 && closed.length === 0 && planted.length === 0) return result;
    // Publish once per finding set: a retry after a conflicting write sends only what is new to it.
    if (!published || !sameMessages(published, result)) await publish(result);
    published = result;
    const next: WatchdogState = {
      schema: 'trailwatch.watchdog/1',
      open,
      planted: {
        // Reported planted objects are remembered while they are still there.
        ...Object.fromEntries(
          Object.entries(previous.planted ?? {}).filter(([k]) => plantedNow.some((p) => p.key === k)),
        ),
        ...Object.fromEntries(planted.map((p) => [p.key, now.toISOString()])),
      },
    };
    try {
      await state.put(STATE_KEY, JSON.stringify(next), etag ? { ifMatch: etag } : { ifNoneMatch: '*' });
      return result;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= 5) throw err;
    }
  }
}

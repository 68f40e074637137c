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
}

export interface WatchdogResult {
  /** Gaps found now that were not reported before. */
  opened: Finding[];
  /** Gaps reported before that are closed now. */
  closed: { id: string; kind: Finding['kind']; place: Place; since: string }[];
  /** Every gap present now, reported or not. */
  current: Finding[];
  placesWatched: number;
}

const DAY_MS = 86_400_000;

function placeId(kind: string, p: Place): string {
  return [kind, p.prefix, p.orgId ?? '', p.account, p.region].join('|');
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

/** The newest CloudTrail file of one kind in a place, looking back day folder by day folder. */
export async function newestFile(
  store: ObjectStore,
  place: Place,
  folder: 'CloudTrail' | 'CloudTrail-Digest',
  now: Date,
  days: number,
): Promise<{ key: string; time: Date } | undefined> {
  for (let d = 0; d <= days; d++) {
    const day = new Date(now.getTime() - d * DAY_MS);
    let best: { key: string; time: Date } | undefined;
    for await (const o of store.list(dayFolder({ ...place, folder, day }))) {
      const k = classifyKey(o.key);
      if (k.kind === 'other' || k.time > now) continue;
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
): Promise<{ findings: Finding[]; placesWatched: number }> {
  const findings: Finding[] = [];
  let placesWatched = 0;
  const checks: { folder: 'CloudTrail' | 'CloudTrail-Digest'; kind: Finding['kind']; threshold: number }[] = [
    // A digest covers the hour before its own time: the next one is due an hour after the newest, plus grace.
    { folder: 'CloudTrail-Digest', kind: 'digest-missing', threshold: 60 + options.digestGraceMinutes },
    { folder: 'CloudTrail', kind: 'logs-silent', threshold: options.logSilenceMinutes },
  ];
  for (const check of checks) {
    for (const place of await discoverPlaces(store, check.folder, prefixes)) {
      const newest = await newestFile(store, place, check.folder, now, options.activeWithinDays);
      if (!newest) continue;
      placesWatched++;
      const silentMinutes = Math.floor((now.getTime() - newest.time.getTime()) / 60_000);
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
  return { findings, placesWatched };
}

const STATE_KEY = 'watchdog/state.json';

/**
 * Finds the gaps and records which are new and which closed, with a conditional write so that two
 * overlapping runs do not both report the same gap.
 */
export async function runWatchdog(
  trail: ObjectStore,
  state: ObjectStore,
  now: Date,
  prefixes: string[] = [''],
  options: WatchdogOptions = DEFAULT_WATCHDOG,
): Promise<WatchdogResult> {
  const { findings, placesWatched } = await findGaps(trail, now, prefixes, options);
  for (let attempt = 0; ; attempt++) {
    const head = await state.head(STATE_KEY);
    const previous: WatchdogState = head
      ? (JSON.parse((await readAll(state, STATE_KEY)).toString('utf8')) as WatchdogState)
      : { schema: 'trailwatch.watchdog/1', open: {} };
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
    if (opened.length === 0 && closed.length === 0)
      return { opened, closed, current: findings, placesWatched };
    const next: WatchdogState = { schema: 'trailwatch.watchdog/1', open };
    try {
      await state.put(
        STATE_KEY,
        JSON.stringify(next),
        head?.etag ? { ifMatch: head.etag } : { ifNoneMatch: '*' },
      );
      return { opened, closed, current: findings, placesWatched };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= 5) throw err;
    }
  }
}

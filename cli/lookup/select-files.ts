/**
 * Which log files a lookup reads. CloudTrail files a log under the day (UTC) of its delivery time
 * (`[prefix/]AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`), and a file is delivered after every
 * event it holds, usually within 5-15 minutes but with no guarantee. So for events in [start, end]:
 * - no folder of a day before the start's day can hold one;
 * - the day folders after the end's day can, for events near midnight: the range is widened by the
 *   delivery delay (one day by default) and records are filtered by eventTime anyway;
 * - inside the start's day, a file delivered well before the start cannot hold one either: the file's
 *   name carries its delivery time to the minute, and files delivered more than `clockSkewMs` before the
 *   start are skipped (the margin absorbs clock differences between the services stamping eventTime).
 *
 * Folders are discovered level by level with `listFolders`, pruning years, months and days outside the
 * range, so a lookup over one day of a bucket holding years lists a handful of folders, not every key.
 */
import { classifyKey, dayPath, type TrailKey } from '#shared/keys.ts';
import type { ObjectInfo, ObjectStore } from '#shared/ports.ts';
import { LookupError } from './filter.ts';

export const DAY_MS = 86_400_000;

export interface SelectOptions {
  startTime?: Date;
  endTime?: Date;
  /** How long after an event its log file may be delivered (widens the end of the day range). */
  deliveryDelayMs?: number;
  /** Files delivered this long before the start time are still read. */
  clockSkewMs?: number;
  /** How many folder levels below the prefix are searched for `AWSLogs/`. */
  searchDepth?: number;
}

export interface DayRange {
  /** `YYYY/MM/DD` of the first day folder to read, or undefined for no lower bound. */
  first?: string;
  /** `YYYY/MM/DD` of the last day folder to read, or undefined for no upper bound. */
  last?: string;
}

export interface SelectStats {
  /** Folders listed while discovering the layout. */
  foldersListed: number;
  /** Day folders whose keys were listed. */
  dayFolders: number;
  /** Log files in those day folders. */
  logFiles: number;
  /** Log files skipped because they were delivered before the start time. */
  skippedBeforeStart: number;
  /** Keys in day folders that are not CloudTrail log files (folder markers, stray objects). */
  otherKeys: number;
}

export interface SelectedFile {
  trailKey: TrailKey;
  size: number;
  /** As listed: an index is trusted only for the object it was built from. */
  etag?: string;
}

/** The day folders that may hold events in [start, end]. */
export function dayRange(startTime?: Date, endTime?: Date, deliveryDelayMs = DAY_MS): DayRange {
  return {
    ...(startTime ? { first: dayPath(startTime) } : {}),
    ...(endTime ? { last: dayPath(new Date(endTime.getTime() + deliveryDelayMs)) } : {}),
  };
}

/** Whether a folder name (`YYYY`, `YYYY/MM` or `YYYY/MM/DD`) can hold days of the range. */
function inRange(datePart: string, range: DayRange): boolean {
  const n = datePart.length;
  if (range.first !== undefined && datePart < range.first.slice(0, n)) return false;
  if (range.last !== undefined && datePart > range.last.slice(0, n)) return false;
  return true;
}

const AWSLOGS = 'AWSLogs/';
const ORG_RE = /^o-[a-z0-9]{10,32}\/$/;
const ACCOUNT_RE = /^\d{12}\/$/;

/** The last path segment of a folder prefix, with its slash. */
function leaf(folder: string): string {
  const trimmed = folder.slice(0, -1);
  return folder.slice(trimmed.lastIndexOf('/') + 1);
}

/** `within` is a prefix inside the layout the user pointed at: only folders on its path are kept. */
function compatible(folder: string, within: string | undefined): boolean {
  return within === undefined || folder.startsWith(within) || within.startsWith(folder);
}

/**
 * A store that lists a folder in one blocking call (a local folder, cli/adapters/fs-object-store.ts): a day
 * folder's hundreds of keys then cost no promise each.
 */
type ListsNow = ObjectStore & { listNow(prefix: string): ObjectInfo[] };

function listsNow(store: ObjectStore): store is ListsNow {
  return typeof (store as Partial<ListsNow>).listNow === 'function';
}

export class FileSelector {
  readonly stats: SelectStats = {
    foldersListed: 0,
    dayFolders: 0,
    logFiles: 0,
    skippedBeforeStart: 0,
    otherKeys: 0,
  };
  readonly range: DayRange;
  private readonly store: ObjectStore;
  private readonly prefix: string;
  private readonly options: SelectOptions;

  constructor(store: ObjectStore, prefix: string, options: SelectOptions = {}) {
    this.store = store;
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.options = options;
    this.range = dayRange(options.startTime, options.endTime, options.deliveryDelayMs ?? DAY_MS);
  }

  private async listFolders(prefix: string): Promise<string[]> {
    this.stats.foldersListed++;
    return this.store.listFolders(prefix);
  }

  /**
   * The `…/AWSLogs/` folders the prefix leads to: the one it lies in, or those found below it, breadth
   * first, at the shallowest depth where any is found.
   */
  async roots(): Promise<{ roots: string[]; within?: string }> {
    const at = this.prefix.lastIndexOf(AWSLOGS);
    if (at >= 0) {
      const root = this.prefix.slice(0, at + AWSLOGS.length);
      return { roots: [root], ...(this.prefix.length > root.length ? { within: this.prefix } : {}) };
    }
    let level = [this.prefix];
    const maxDepth = this.options.searchDepth ?? 3;
    for (let depth = 0; depth <= maxDepth && level.length > 0; depth++) {
      const roots: string[] = [];
      const next: string[] = [];
      for (const p of level) {
        for (const f of await this.listFolders(p)) (f === `${p}${AWSLOGS}` ? roots : next).push(f);
      }
      if (roots.length > 0) return { roots };
      level = next;
    }
    return { roots: [] };
  }

  /** The `…/CloudTrail/REGION/YYYY/MM/DD/` folders in range, in key order. */
  async *dayFolders(): AsyncGenerator<string> {
    const { roots, within } = await this.roots();
    if (roots.length === 0) {
      throw new LookupError(
        `no CloudTrail logs under ${this.where()}: expected [prefix/]AWSLogs/[o-org/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ within ${(this.options.searchDepth ?? 3) + 1} folder levels`,
      );
    }
    for (const root of roots) {
      for (const account of await this.accounts(root, within)) {
        const trail = `${account}CloudTrail/`;
        if (!compatible(trail, within)) continue;
        for (const region of await this.listFolders(trail)) {
          if (!compatible(region, within)) continue;
          yield* this.dateFolders(region, within);
        }
      }
    }
  }

  private async accounts(root: string, within: string | undefined): Promise<string[]> {
    const out: string[] = [];
    for (const f of await this.listFolders(root)) {
      if (!compatible(f, within)) continue;
      if (ACCOUNT_RE.test(leaf(f))) out.push(f);
      else if (ORG_RE.test(leaf(f))) {
        for (const a of await this.listFolders(f))
          if (ACCOUNT_RE.test(leaf(a)) && compatible(a, within)) out.push(a);
      }
    }
    return out;
  }

  private async *dateFolders(region: string, within: string | undefined): AsyncGenerator<string> {
    const keep = (f: string, re: RegExp) => re.test(leaf(f)) && compatible(f, within);
    for (const year of await this.listFolders(region)) {
      if (!keep(year, /^\d{4}\/$/) || !inRange(year.slice(region.length, -1), this.range)) continue;
      for (const month of await this.listFolders(year)) {
        if (!keep(month, /^\d{2}\/$/) || !inRange(month.slice(region.length, -1), this.range)) continue;
        for (const day of await this.listFolders(month)) {
          if (!keep(day, /^\d{2}\/$/) || !inRange(day.slice(region.length, -1), this.range)) continue;
          yield day;
        }
      }
    }
  }

  /** The log files that may hold events of the range, folder by folder, in key order. */
  async *files(): AsyncGenerator<SelectedFile> {
    const start = this.options.startTime?.getTime();
    const skew = this.options.clockSkewMs ?? 15 * 60_000;
    // The name's stamp is truncated to the minute: the delivery may be up to 59 s later.
    const deliveredBy = start === undefined ? undefined : start - 60_000 - skew;
    const store = this.store;
    for await (const folder of this.dayFolders()) {
      this.stats.dayFolders++;
      if (listsNow(store)) {
        const objects = store.listNow(folder);
        for (let i = 0; i < objects.length; i++) {
          const file = this.select(objects[i], deliveredBy);
          if (file) yield file;
        }
      } else {
        for await (const o of store.list(folder)) {
          const file = this.select(o, deliveredBy);
          if (file) yield file;
        }
      }
    }
  }

  /** A listed object as a file to read, or undefined (counted) when it is none or was delivered too early. */
  private select(o: ObjectInfo, deliveredBy: number | undefined): SelectedFile | undefined {
    const k = classifyKey(o.key);
    if (k.kind !== 'log') {
      this.stats.otherKeys++;
      return undefined;
    }
    this.stats.logFiles++;
    if (deliveredBy !== undefined && k.time.getTime() < deliveredBy) {
      this.stats.skippedBeforeStart++;
      return undefined;
    }
    return o.etag ? { trailKey: k, size: o.size, etag: o.etag } : { trailKey: k, size: o.size };
  }

  private where(): string {
    return this.prefix ? `${this.store.location}/${this.prefix}` : this.store.location;
  }
}

/**
 * Runs a lookup over a trail's log files: selects the files whose day folders overlap the time range,
 * reads a few at a time, keeps the matching records and returns them sorted.
 *
 * Order and memory: files are read concurrently, so records arrive in no useful order; the result is
 * sorted by eventTime (oldest first, or newest first), then eventID, then file key and position, which
 * makes the output the same on every run. Only matching records are kept, and with `maxResults` only
 * the best `maxResults` of them (a sorted window; anything that sorts after a full window is dropped at
 * once), so memory is bounded by the result, not by the files read. Sorting needs every file read before
 * the first row is known: a lookup always reads all the files in range.
 *
 * The same event delivered twice (same eventID and eventTime, in two files) is shown once; without
 * `maxResults` every such pair is caught, with it only pairs that meet inside the kept window.
 *
 * A file that cannot be read (missing, corrupt, not CloudTrail's format, over a size cap, or the store
 * failing for it) is passed to `onUnreadable` and counted, and the lookup goes on; matches already taken
 * from its readable part are dropped, so a file counts wholly or not at all. Failing to list folders
 * stops the lookup: without a listing there is nothing to report on. So does a {@link CliError} from the
 * store (an unreachable endpoint, a refused permission): it would fail every file the same way.
 *
 * The listing runs ahead of the reading (up to {@link LIST_AHEAD} files), so a progress display knows the
 * total early; `stats.listed` says when it is final.
 */
import { CliError } from '#cli/errors.ts';
import type { TrailKey } from '#shared/keys.ts';
import { readLogRecords, type ScanLimits, type ScanStats } from '#shared/logfile/read.ts';
import type { ObjectStore } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { checkFilter, eventTimeMs, type LookupFilter, matchesFilter } from './filter.ts';
import type { LookupEvent } from './row.ts';
import { FileSelector, type SelectOptions, type SelectStats } from './select-files.ts';

export type LookupOrder = 'oldest-first' | 'newest-first';

export interface LookupOptions extends Omit<SelectOptions, 'startTime' | 'endTime'> {
  store: ObjectStore;
  /** Where to look: a trail prefix above `AWSLogs/`, or any folder inside the layout. */
  prefix?: string;
  filter: LookupFilter;
  /** Keep only the first N events in `order`. */
  maxResults?: number;
  order?: LookupOrder;
  /** Files read at once. */
  concurrency?: number;
  limits?: Partial<ScanLimits>;
  onUnreadable?: (key: string, reason: string) => void;
  /** Called after each file, for progress displays. */
  onFile?: (stats: LookupStats) => void;
  /** Sees every record read, matching or not (what else a caller wants from the same pass). */
  onRecord?: (record: CloudTrailRecord, file: TrailKey) => void;
}

export interface LookupStats extends SelectStats {
  filesRead: number;
  unreadableFiles: number;
  records: number;
  /** Array elements that were not records (skipped by the reader). */
  invalidRecords: number;
  /** Matching events, duplicates removed as far as they were seen. */
  matched: number;
  duplicates: number;
  bytes: number;
  /** Whether every file to read has been listed (`logFiles` is then the final count). */
  listed: boolean;
}

export interface LookupResult {
  events: LookupEvent[];
  stats: LookupStats;
}

export const DEFAULT_CONCURRENCY = 6;

/** Files listed ahead of the readers: enough for an early total, bounded for a bucket of years. */
export const LIST_AHEAD = 10_000;

interface Item extends LookupEvent {
  t: number;
  id: string;
  seq: number;
}

function compareAsc(a: Item, b: Item): number {
  const an = Number.isNaN(a.t);
  const bn = Number.isNaN(b.t);
  if (an !== bn) return an ? 1 : -1;
  if (!an && a.t !== b.t) return a.t - b.t;
  return tieBreak(a, b);
}

function compareDesc(a: Item, b: Item): number {
  const an = Number.isNaN(a.t);
  const bn = Number.isNaN(b.t);
  if (an !== bn) return an ? 1 : -1;
  if (!an && a.t !== b.t) return b.t - a.t;
  return tieBreak(a, b);
}

function tieBreak(a: Item, b: Item): number {
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  if (a.file.key !== b.file.key) return a.file.key < b.file.key ? -1 : 1;
  return a.seq - b.seq;
}

const sameEvent = (a: Item | undefined, b: Item): boolean =>
  a !== undefined &&
  b.id !== '' &&
  a.id === b.id &&
  (a.t === b.t || (Number.isNaN(a.t) && Number.isNaN(b.t)));

/** The matches so far: all of them, or a sorted window of the best `limit`. */
class Collector {
  private items: Item[] = [];
  private readonly limit: number | undefined;
  private readonly compare: (a: Item, b: Item) => number;
  duplicates = 0;

  constructor(limit: number | undefined, compare: (a: Item, b: Item) => number) {
    this.limit = limit;
    this.compare = compare;
  }

  add(item: Item): void {
    if (this.limit === undefined) {
      this.items.push(item);
      return;
    }
    const items = this.items;
    if (items.length >= this.limit && this.compare(item, items[items.length - 1]) >= 0) return;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(items[mid], item) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (sameEvent(items[lo - 1], item) || sameEvent(items[lo], item)) {
      this.duplicates++;
      return;
    }
    items.splice(lo, 0, item);
    if (items.length > this.limit) items.pop();
  }

  result(): Item[] {
    if (this.limit !== undefined) return this.items;
    this.items.sort(this.compare);
    const out: Item[] = [];
    for (const item of this.items) {
      if (sameEvent(out[out.length - 1], item)) this.duplicates++;
      else out.push(item);
    }
    this.items = out;
    return out;
  }
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function lookup(options: LookupOptions): Promise<LookupResult> {
  const { store, filter } = options;
  checkFilter(filter);
  if (options.maxResults !== undefined && !(Number.isInteger(options.maxResults) && options.maxResults > 0)) {
    throw new RangeError(`maxResults must be a positive integer, found ${options.maxResults}`);
  }
  const selector = new FileSelector(store, options.prefix ?? '', {
    ...options,
    ...(filter.startTime ? { startTime: filter.startTime } : {}),
    ...(filter.endTime ? { endTime: filter.endTime } : {}),
  });
  const stats: LookupStats = Object.assign(selector.stats, {
    filesRead: 0,
    unreadableFiles: 0,
    records: 0,
    invalidRecords: 0,
    matched: 0,
    duplicates: 0,
    bytes: 0,
    listed: false,
  });
  const collector = new Collector(
    options.maxResults,
    options.order === 'newest-first' ? compareDesc : compareAsc,
  );

  async function readFile(file: TrailKey): Promise<void> {
    const found: Item[] = [];
    let records = 0;
    let scan: ScanStats | undefined;
    let body: AsyncIterable<Uint8Array> | undefined;
    try {
      const obj = await store.get(file.key);
      body = obj.body;
      const it = readLogRecords(obj.body, {
        // CloudTrail delivers gzip; `.json` copies of its files are plain JSON.
        compression: 'auto',
        ...(options.limits ? { limits: options.limits } : {}),
      });
      for (;;) {
        const next = await it.next();
        if (next.done) {
          scan = next.value;
          break;
        }
        for (const record of next.value as CloudTrailRecord[]) {
          options.onRecord?.(record, file);
          if (!matchesFilter(record, filter)) {
            records++;
            continue;
          }
          found.push({
            record,
            file,
            t: eventTimeMs(record),
            id: typeof record.eventID === 'string' ? record.eventID : '',
            seq: records++,
          });
        }
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      stats.unreadableFiles++;
      const partial =
        found.length > 0 ? ` (${found.length} matching records read before the failure left out)` : '';
      options.onUnreadable?.(file.key, `${reasonOf(err)}${partial}`);
      return;
    } finally {
      // On failure the reader stops early: release the file or connection instead of waiting for GC.
      (body as { destroy?: () => void } | undefined)?.destroy?.();
    }
    stats.filesRead++;
    stats.records += records;
    stats.invalidRecords += scan?.invalidRecords ?? 0;
    stats.bytes += scan?.bytes ?? 0;
    stats.matched += found.length;
    for (const item of found) collector.add(item);
  }

  const files = new ListAhead(selector.files(), LIST_AHEAD, () => {
    stats.listed = true;
  });
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      const next = await files.next();
      if (next === undefined) return;
      await readFile(next.trailKey);
      options.onFile?.(stats);
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const settled = await Promise.allSettled(
    Array.from({ length: concurrency }, () =>
      worker().catch((err: unknown) => {
        // One fatal failure ends the lookup: the other readers stop after their current file.
        stopped = true;
        files.stop();
        throw err;
      }),
    ),
  );
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;

  const items = collector.result();
  stats.duplicates = collector.duplicates;
  stats.matched -= collector.duplicates;
  return { events: items.map(({ record, file }) => ({ record, file })), stats };
}

/** Pulls from an async source ahead of its consumers, holding at most `limit` items. */
class ListAhead<T> {
  private items: T[] = [];
  private head = 0;
  private finished = false;
  private stopped = false;
  private error: unknown;
  private waiting: (() => void)[] = [];
  private room: (() => void) | undefined;

  constructor(source: AsyncIterable<T>, limit: number, onFinished: () => void) {
    void this.fill(source, limit, onFinished);
  }

  private async fill(source: AsyncIterable<T>, limit: number, onFinished: () => void): Promise<void> {
    try {
      for await (const item of source) {
        this.items.push(item);
        this.wake();
        while (this.items.length - this.head >= limit && !this.stopped) {
          await new Promise<void>((resolve) => {
            this.room = resolve;
          });
        }
        if (this.stopped) return;
      }
      onFinished();
    } catch (err) {
      this.error = err;
    } finally {
      this.finished = true;
      this.wake();
    }
  }

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  /** The next item, undefined at the end; throws what the source threw. */
  async next(): Promise<T | undefined> {
    for (;;) {
      if (this.head < this.items.length) {
        const item = this.items[this.head++];
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        this.room?.();
        this.room = undefined;
        return item;
      }
      if (this.error !== undefined) throw this.error;
      if (this.finished || this.stopped) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  stop(): void {
    this.stopped = true;
    this.room?.();
    this.room = undefined;
    this.wake();
  }
}

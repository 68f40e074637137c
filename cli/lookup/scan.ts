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
 *
 * Reading only what can match: with `index` (the summaries ingest wrote), a file whose index shows it holds
 * no record the filter could match is not read; a file without a usable index is read in full
 * (cli/lookup/index-check.ts). In a file, records whose bytes lack what the filter looks for are skipped
 * unparsed (shared/logfile/prefilter.ts), and where the index gives the file's record layout, the records are
 * found by it rather than by walking the bytes (shared/logfile/record-layout.ts). Files are gunzipped and parsed in `workers` threads
 * (cli/lookup/read-pool.ts) once more than {@link IN_THREAD_FIRST} files are to be read.
 */
import { CliError } from '#cli/errors.ts';
import type { TrailKey } from '#shared/keys.ts';
import type { ScanLimits, ScanStats } from '#shared/logfile/read.ts';
import type { IndexLayout } from '#shared/logfile/record-layout.ts';
import type { ObjectStore } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { checkFilter, type LookupFilter } from './filter.ts';
import { indexCanSkip, type SummaryIndex } from './index-check.ts';
import { type FileMatches, type Match, matchFile, type PackedLines } from './match-file.ts';
import { ReadPool, WORKER_MAX_BYTES, WorkerReadError } from './read-pool.ts';
import type { LineFormat, LookupEvent } from './row.ts';
import { FileSelector, type SelectedFile, type SelectOptions, type SelectStats } from './select-files.ts';

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
  /** Worker threads that gunzip and parse (0: all in the main thread). */
  workers?: number;
  /** Files read in the main thread before the threads start (default {@link IN_THREAD_FIRST}). */
  inThreadFirst?: number;
  /** Reading light files in the main thread for this long starts the threads (default {@link THREADS_AFTER_MS}). */
  threadsAfterMs?: number;
  /** Where ingest's summaries are: their indexes let files that cannot match go unread. */
  index?: SummaryIndex;
  /**
   * A file's bytes in one call, where the store can do better than a stream (a local folder); used for files
   * handed to the worker threads.
   */
  readBytes?: (key: string) => Promise<Uint8Array>;
  limits?: Partial<ScanLimits>;
  onUnreadable?: (key: string, reason: string) => void;
  /** Called after each file, for progress displays. */
  onFile?: (stats: LookupStats) => void;
  /**
   * Sees every record read, matching or not (what else a caller wants from the same pass). Every record must
   * then be parsed here: no file is skipped by its index, no record by the byte prefilter, and no thread reads.
   */
  onRecord?: (record: CloudTrailRecord, file: TrailKey) => void;
  /**
   * Keep each match as the line the CLI prints for it (cli/lookup/row.ts, `renderLine`), made where the file
   * is read: the result's `lines` then hold them in order, and `events` is empty.
   */
  render?: LineFormat;
}

export interface LookupStats extends SelectStats {
  filesRead: number;
  unreadableFiles: number;
  records: number;
  /** Records whose bytes showed they cannot match, left unparsed. */
  filteredRecords: number;
  /** Files the index showed cannot match, not read. */
  skippedByIndex: number;
  /** Files read in full for want of a usable index: none, or one for another object, or unparseable. */
  indexMissing: number;
  indexStale: number;
  indexCorrupt: number;
  /** Array elements that were not records (skipped by the reader). */
  invalidRecords: number;
  /** Files read by worker threads (the others by the main thread). */
  filesInThreads: number;
  /** Files whose records were found by their index's layout, their bytes not walked. */
  filesByLayout: number;
  /** Matching events, duplicates removed as far as they were seen. */
  matched: number;
  duplicates: number;
  bytes: number;
  /** Whether every file to read has been listed (`logFiles` is then the final count). */
  listed: boolean;
}

export interface LookupResult {
  /** The matching events in order (empty with `render`). */
  events: LookupEvent[];
  /** With `render`: the matching events' lines in order (made from `rendered` when asked for). */
  lines: string[];
  /** With `render`: the same lines, as bytes to write. */
  rendered?: RenderedLines;
  stats: LookupStats;
}

export const DEFAULT_CONCURRENCY = 6;

/** Files read in the main thread before worker threads start. */
export const IN_THREAD_FIRST = 32;

/** Records left unparsed by the byte prefilter, as a share of those read, above which a file is light work. */
export const LIGHT_FILTERED = 0.9;

/** Reading light files here for this long, a lookup starts its threads anyway. */
export const THREADS_AFTER_MS = 2000;

/** Files of a folder up to this size are read whole in the main thread (bigger ones are streamed). */
export const IN_THREAD_WHOLE_BYTES = 4 << 20;

/** Files listed ahead of the readers: enough for an early total, bounded for a bucket of years. */
export const LIST_AHEAD = 10_000;

interface Item extends Match {
  file: TrailKey;
  /** With `render`: the file's packed lines, this match's being line `k` of them. */
  packed?: PackedLines;
  k?: number;
}

/** Output is written in pieces of about this size. */
const OUTPUT_CHUNK = 1 << 20;

/** A lookup's rendered lines in order, kept as the bytes the files' readers packed them in. */
export class RenderedLines {
  private readonly items: readonly Item[];

  constructor(items: readonly Item[]) {
    this.items = items;
  }

  get length(): number {
    return this.items.length;
  }

  /** The lines as strings. */
  toStrings(): string[] {
    return this.items.map(({ packed, k }) => {
      const p = packed as PackedLines;
      const i = k as number;
      return (p.bytes as Buffer).toString('utf8', i === 0 ? 0 : p.ends[i - 1], p.ends[i]);
    });
  }

  /**
   * The lines' bytes in pieces of whole lines, about {@link OUTPUT_CHUNK} each: copied from where the readers
   * left them, never decoded to strings and encoded again. Each piece is a new buffer (a write may keep it).
   */
  *chunks(): Generator<Buffer> {
    let out = Buffer.allocUnsafeSlow(OUTPUT_CHUNK);
    let n = 0;
    for (const { packed, k } of this.items) {
      const p = packed as PackedLines;
      const i = k as number;
      const from = i === 0 ? 0 : p.ends[i - 1];
      const len = p.ends[i] - from;
      if (n + len > out.length) {
        if (n > 0) yield out.subarray(0, n);
        out = Buffer.allocUnsafeSlow(Math.max(OUTPUT_CHUNK, len));
        n = 0;
      }
      (p.bytes as Buffer).copy(out, n, from, from + len);
      n += len;
    }
    if (n > 0) yield out.subarray(0, n);
  }
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

/** A body's bytes in one buffer of their own (transferable to a worker: no shared pool memory). */
async function collect(body: AsyncIterable<Uint8Array>, sizeHint: number): Promise<Uint8Array> {
  let out = new Uint8Array(Math.max(sizeHint, 1024));
  let n = 0;
  for await (const c of body) {
    if (n + c.length > out.length) {
      const bigger = new Uint8Array(Math.max(out.length * 2, n + c.length));
      bigger.set(out.subarray(0, n));
      out = bigger;
    }
    out.set(c, n);
    n += c.length;
  }
  return n === out.length ? out : out.slice(0, n);
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
    filesInThreads: 0,
    filesByLayout: 0,
    unreadableFiles: 0,
    records: 0,
    filteredRecords: 0,
    skippedByIndex: 0,
    indexMissing: 0,
    indexStale: 0,
    indexCorrupt: 0,
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

  const { onRecord } = options;
  const workers = onRecord ? 0 : (options.workers ?? 0);
  const pool = workers > 0 ? new ReadPool(workers) : undefined;
  // Summaries are not read when no index could rule a file out (a full scan): every file is read in full.
  const index = onRecord || !indexCanSkip(filter) ? undefined : options.index;
  const matchOptions = {
    ...(options.limits ? { limits: options.limits } : {}),
    ...(onRecord ? { noPrefilter: true } : {}),
  };
  let reads = 0;
  const inThreadFirst = options.inThreadFirst ?? IN_THREAD_FIRST;
  /** Whether threads read (undefined until the first files read here tell; true at once without them). */
  let threads: boolean | undefined = inThreadFirst === 0 ? true : undefined;
  /** Time spent reading files in this thread (a bucket's: waiting for them included). */
  let inThreadMs = 0;
  /**
   * Threads pay when the records are parsed: where the byte prefilter leaves most records unparsed, a file is
   * read in about a millisecond, and a thread's start (a few hundred milliseconds of CPU time) and a message
   * each way per file cost more than they save (a user query of 723 files took less time and CPU with none,
   * on two cores). A lookup that goes on reading here for longer than {@link THREADS_AFTER_MS} gets them all
   * the same.
   */
  const threadsPay = () => stats.records > 0 && stats.filteredRecords < stats.records * LIGHT_FILTERED;
  let poolFailed = false;

  async function readFile(selected: SelectedFile): Promise<void> {
    const file = selected.trailKey;
    let layout: IndexLayout | undefined;
    if (index) {
      const { verdict, layout: laid } = await index.check(selected, filter);
      layout = laid;
      if (verdict === 'skip') {
        stats.skippedByIndex++;
        return;
      }
      if (verdict === 'missing') stats.indexMissing++;
      else if (verdict === 'stale') stats.indexStale++;
      else if (verdict === 'corrupt') stats.indexCorrupt++;
    }
    const partial: Match[] = [];
    let read: FileMatches;
    let threaded: FileMatches | undefined;
    let body: AsyncIterable<Uint8Array> | undefined;
    try {
      const sized = {
        ...matchOptions,
        sizeHint: selected.size,
        ...(layout ? { layout } : {}),
        ...(onRecord ? { onRecord: (r: CloudTrailRecord) => onRecord(r, file) } : {}),
        ...(options.render ? { render: { format: options.render, file } } : {}),
      };
      // Threads take a while to start: a lookup that reads a handful of files (the index at work) does without.
      // Threads started while the main thread reads its first files: ready when they are done.
      if (pool && !poolFailed && threads === undefined && stats.filesRead >= Math.max(1, inThreadFirst / 2)) {
        threads = threadsPay();
        if (threads) pool.warm();
      }
      if (
        pool &&
        !poolFailed &&
        threads === false &&
        inThreadMs > (options.threadsAfterMs ?? THREADS_AFTER_MS)
      ) {
        threads = true;
        pool.warm();
      }
      if (
        pool &&
        !poolFailed &&
        ++reads > inThreadFirst &&
        threads === true &&
        selected.size <= WORKER_MAX_BYTES &&
        // With every thread's queue full, this thread reads the file rather than wait idle for room.
        !(options.readBytes && selected.size <= IN_THREAD_WHOLE_BYTES && pool.full())
      ) {
        let bytes: Uint8Array;
        if (options.readBytes) bytes = await options.readBytes(file.key);
        else {
          const obj = await store.get(file.key);
          body = obj.body;
          bytes = await collect(obj.body, obj.size);
        }
        try {
          threaded = await pool.read(bytes, filter, sized);
        } catch (err) {
          if (err instanceof WorkerReadError) throw err;
          // The threads themselves failed (one died, or could not start): this file and the rest are read here.
          poolFailed = true;
        }
      }
      if (threaded) read = threaded;
      else if (options.readBytes && selected.size <= IN_THREAD_WHOLE_BYTES) {
        // A small file of a folder: read in one call and inflated in one, no stream to set up.
        const t0 = performance.now();
        read = await matchFile(await options.readBytes(file.key), filter, sized, partial);
        inThreadMs += performance.now() - t0;
        // Reads in this thread resolve at once, one after another: without a turn of the event loop, the
        // threads' answers would wait, and the threads sit idle, until this thread had read every file.
        if (pool && !poolFailed) await new Promise<void>((resolve) => setImmediate(resolve));
      } else {
        const t0 = performance.now();
        const obj = await store.get(file.key);
        body = obj.body;
        // A layout serves bytes held whole: a small file with one is gathered first (a bucket's, say).
        const whole =
          layout && obj.size <= IN_THREAD_WHOLE_BYTES ? await collect(obj.body, obj.size) : undefined;
        read = await matchFile(whole ?? obj.body, filter, sized, partial);
        inThreadMs += performance.now() - t0;
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      stats.unreadableFiles++;
      const kept =
        partial.length > 0 ? ` (${partial.length} matching records read before the failure left out)` : '';
      options.onUnreadable?.(file.key, `${reasonOf(err)}${kept}`);
      return;
    } finally {
      // On failure the reader stops early: release the file or connection instead of waiting for GC.
      (body as { destroy?: () => void } | undefined)?.destroy?.();
    }
    const scan: ScanStats = read.scan;
    stats.filesRead++;
    if (threaded) stats.filesInThreads++;
    if (scan.laidOut) stats.filesByLayout++;
    stats.records += scan.records;
    stats.filteredRecords += scan.filteredRecords;
    stats.invalidRecords += scan.invalidRecords;
    stats.bytes += scan.bytes;
    const packed = read.lines;
    if (packed) {
      // A Buffer's copy is native; a typed array's set of a subarray costs an object per line.
      const b = packed.bytes;
      if (!Buffer.isBuffer(b)) packed.bytes = Buffer.from(b.buffer, b.byteOffset, b.length);
      const { seqs, times, ids } = packed;
      stats.matched += ids.length;
      for (let k = 0; k < ids.length; k++)
        collector.add({ seq: seqs[k], t: times[k], id: ids[k], file, packed, k });
      return;
    }
    stats.matched += read.matches.length;
    for (const m of read.matches) {
      (m as Item).file = file;
      collector.add(m as Item);
    }
  }

  const files = new ListAhead(selector.files(), LIST_AHEAD, () => {
    stats.listed = true;
  });
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      const next = await files.next();
      if (next === undefined) return;
      await readFile(next);
      options.onFile?.(stats);
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  let settled: PromiseSettledResult<void>[];
  try {
    settled = await Promise.allSettled(
      Array.from({ length: concurrency }, () =>
        worker().catch((err: unknown) => {
          // One fatal failure ends the lookup: the other readers stop after their current file.
          stopped = true;
          files.stop();
          throw err;
        }),
      ),
    );
  } finally {
    await pool?.close();
  }
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  // What this lookup learnt from summaries, for the next one (a state folder's day caches).
  await index?.flush();

  const items = collector.result();
  stats.duplicates = collector.duplicates;
  stats.matched -= collector.duplicates;
  if (options.render) {
    const rendered = new RenderedLines(items);
    return {
      events: [],
      get lines() {
        return rendered.toStrings();
      },
      rendered,
      stats,
    };
  }
  return {
    events: items.map(({ record, file }) => ({ record: record as CloudTrailRecord, file })),
    lines: [],
    stats,
  };
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
    if (this.waiting.length > 0) for (const resolve of this.waiting.splice(0)) resolve();
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

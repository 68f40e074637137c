/**
 * The per-file indexes of one day folder of the trail, gathered into one object of the state folder, so that a
 * lookup reads one object per day instead of one summary per log file (1,732 summaries were most of a needle
 * query's time). Built by lookup itself the first time it reads the summaries of a folder, and brought up to
 * date whenever it reads a summary the object lacked; ingest's summaries stay the source of truth.
 *
 * Never trusted blindly: an entry is used only for the object listed now (same bucket, key, size and ETag as
 * the index it copies was built from, exactly as a summary's index is checked), so a log file rewritten since
 * goes the summary's way (and is read in full there). An object that does not parse, or of another schema or
 * bucket, is refused as a whole (counted in {@link IndexCacheStats.refused}): every file of its folder is then
 * checked against its own summary, as if there were none. A file the object does not name is checked so too.
 *
 * Laid out so that a query parses only what it asks: line 1 is the header (the files, their sizes, ETags,
 * time ranges and read/write flags), then one line per index field, each an array in the files' order, then
 * the files' record layouts (shared/logfile/record-layout.ts), in the same order. A lookup for an event ID
 * parses the header and the event IDs' line, not the resource names of every file, and the layouts' line
 * only of a folder where it reads a file.
 */
import { CliError } from '#cli/errors.ts';
import {
  type FileIndex,
  INDEX_FIELDS,
  INDEX_SCHEMA,
  type IndexSet,
  PAIR_FIELD,
  parseIndexSet,
} from '#shared/logfile/file-index.ts';
import { type IndexLayout, parseIndexLayout } from '#shared/logfile/record-layout.ts';
import { ObjectNotFoundError, type ObjectStore } from '#shared/ports.ts';
import type { SummaryReader } from './index-check.ts';
import type { SelectedFile } from './select-files.ts';

export const INDEX_CACHE_SCHEMA = 'trailwatch.lookup-index-cache/2';

/** Where the cache objects live in the state store, under the trail bucket's name and the day folder's key. */
export const INDEX_CACHE_PREFIX = 'lookup-cache/';

/** The fields a cache object keeps, in its line order after the header. */
export const CACHE_FIELDS = [...INDEX_FIELDS, PAIR_FIELD] as const;
export type CacheField = (typeof CACHE_FIELDS)[number];

/** A cache object bigger than this is not one lookup wrote: refused. */
export const MAX_CACHE_BYTES = 256 << 20;

export interface IndexCacheStats {
  /** Cache objects read and used. */
  loaded: number;
  /** Cache objects refused (unparseable, another schema or bucket): their folders went by the summaries. */
  refused: number;
  /** Files answered from a cache object. */
  hits: number;
  /** Cache objects written (new or brought up to date). */
  written: number;
}

/** A file's header entry: key, size, ETag (null: none listed), time range, read, write, resource rules. */
type HeaderEntry = [string, number, string | null, [number, number] | null, boolean, boolean, string | null];

interface FolderCache {
  /** Position of each key in the header. */
  at: Map<string, number>;
  entries: HeaderEntry[];
  /** The fields parsed, by name: one set per file (null where the index had none of that optional field). */
  fields: Partial<Record<CacheField, (IndexSet | null)[]>>;
  /** The layouts' line, read and parsed when a file of the folder is first read (null: none for that file). */
  layoutText: () => Promise<string>;
  layouts?: (IndexLayout | null)[];
}

/** The day folder a log file's key lies in (its key up to the last `/`, slash included). */
export function folderOf(key: string): string {
  return key.slice(0, key.lastIndexOf('/') + 1);
}

function isEntry(v: unknown): v is HeaderEntry {
  if (!Array.isArray(v) || v.length !== 7) return false;
  const [key, size, etag, range, read, write, rules] = v;
  return (
    typeof key === 'string' &&
    Number.isInteger(size) &&
    (etag === null || typeof etag === 'string') &&
    (range === null ||
      (Array.isArray(range) && range.length === 2 && range.every((t) => Number.isFinite(t)))) &&
    typeof read === 'boolean' &&
    typeof write === 'boolean' &&
    (rules === null || typeof rules === 'string')
  );
}

/** The text of line `i` of a cache object (0: its header), read when asked; throws past its end. */
type LineSource = (i: number) => Promise<string>;

/**
 * Bytes read first of an object read by ranges: enough for its first line, the lengths of the others (about
 * ten numbers).
 */
const TOC_BYTES = 1024;

/** Lines of an object after its table of line lengths, from its bytes held whole. */
function wholeLines(bytes: Buffer): LineSource {
  const lines: [number, number][] = [];
  let from = bytes.indexOf(0x0a) + 1;
  if (from === 0) throw new Error('no line after the table of lengths');
  for (;;) {
    const nl = bytes.indexOf(0x0a, from);
    lines.push([from, nl < 0 ? bytes.length : nl]);
    if (nl < 0) break;
    from = nl + 1;
  }
  return async (i) => {
    if (i >= lines.length) throw new Error(`expected line ${i + 2}, found ${lines.length + 1} lines`);
    return bytes.toString('utf8', lines[i][0], lines[i][1]);
  };
}

/**
 * Lines of an object read by ranges: its first line lists the byte length of every other one, so a lookup
 * reads the header and the lines it asks for, not the whole object (an event ID's line and the header are a
 * quarter of it).
 */
async function rangedLines(read: SummaryReader, key: string): Promise<LineSource | undefined> {
  const first = await read(key, undefined, { from: 0, length: TOC_BYTES });
  if (!first) return undefined;
  const bytes = Buffer.from(first.buffer, first.byteOffset, first.length);
  const nl = bytes.indexOf(0x0a);
  if (nl < 0) throw new Error(`no table of line lengths in the first ${TOC_BYTES} bytes`);
  const toc = (JSON.parse(bytes.toString('utf8', 0, nl)) as { lines?: unknown })?.lines;
  if (!Array.isArray(toc) || !toc.every((n) => Number.isInteger(n) && n > 0))
    throw new Error('expected {lines: [byte lengths]} as the first line');
  const starts = [nl + 1];
  for (const n of toc as number[]) starts.push(starts[starts.length - 1] + n);
  return async (i) => {
    if (i >= toc.length) throw new Error(`expected line ${i + 2}, found ${toc.length + 1} lines`);
    const length = starts[i + 1] - starts[i];
    const got = await read(key, undefined, { from: starts[i], length });
    if (!got || got.length !== length || (i < toc.length - 1 && got[length - 1] !== 0x0a))
      throw new Error(`line ${i + 2}: expected ${length} bytes ending a line`);
    // The newline ending each line but the last is left out.
    return Buffer.from(got.buffer, got.byteOffset, got.length).toString(
      'utf8',
      0,
      got[length - 1] === 0x0a ? length - 1 : length,
    );
  };
}

/**
 * Parses a cache object's header and the `fields` asked; throws (any error) for anything that is not what
 * {@link IndexCache.flush} writes for this bucket.
 */
async function parseCache(
  text: LineSource,
  bucket: string,
  fields: readonly CacheField[],
): Promise<FolderCache> {
  const head = JSON.parse(await text(0)) as Record<string, unknown>;
  if (
    head?.schema !== INDEX_CACHE_SCHEMA ||
    head.indexSchema !== INDEX_SCHEMA ||
    head.bucket !== bucket ||
    !Array.isArray(head.fields) ||
    head.fields.length !== CACHE_FIELDS.length ||
    head.fields.some((f, i) => f !== CACHE_FIELDS[i]) ||
    !Array.isArray(head.files) ||
    !head.files.every(isEntry)
  )
    throw new Error(`not a ${INDEX_CACHE_SCHEMA} object for bucket ${bucket}`);
  const entries = head.files as HeaderEntry[];
  const out: FolderCache = {
    at: new Map(entries.map((e, i) => [e[0], i])),
    entries,
    fields: {},
    layoutText: () => text(1 + CACHE_FIELDS.length),
  };
  for (const name of fields) {
    const sets = JSON.parse(await text(1 + CACHE_FIELDS.indexOf(name))) as unknown;
    if (!Array.isArray(sets) || sets.length !== entries.length)
      throw new Error(`field ${name}: expected ${entries.length} sets`);
    out.fields[name] = sets.map((s) => (s === null && name === PAIR_FIELD ? null : parseIndexSet(name, s)));
  }
  return out;
}

/**
 * The layouts of a folder's files, their line read and parsed the first time a file of the folder is read. One
 * that does not parse, or of the wrong length, gives no layout for any file of the folder (each is then
 * walked, as without a layout).
 */
async function layoutsOf(cache: FolderCache): Promise<(IndexLayout | null)[]> {
  if (!cache.layouts) {
    let layouts: (IndexLayout | null)[];
    try {
      const list = JSON.parse(await cache.layoutText()) as unknown;
      if (!Array.isArray(list) || list.length !== cache.entries.length) throw new Error('wrong length');
      layouts = list.map((l) => (l === null ? null : parseIndexLayout(l)));
    } catch (err) {
      if (err instanceof CliError) throw err;
      layouts = cache.entries.map(() => null);
    }
    cache.layouts = layouts;
  }
  return cache.layouts;
}

/** The index of entry `i`, with only the fields parsed (the ones the filter asks), and its layout once read. */
function indexAt(cache: FolderCache, i: number, bucket: string): FileIndex {
  const [key, size, etag, timeRange, read, write, rules] = cache.entries[i];
  const fields = {} as FileIndex['fields'];
  for (const [name, sets] of Object.entries(cache.fields) as [CacheField, (IndexSet | null)[]][]) {
    const set = sets[i];
    if (set) fields[name] = set;
  }
  return {
    schema: INDEX_SCHEMA,
    source: { bucket, key, size, ...(etag !== null ? { etag } : {}) },
    timeRange,
    readOnly: { read, write },
    ...(rules !== null ? { resourceRules: rules } : {}),
    fields,
    ...(cache.layouts?.[i] ? { layout: cache.layouts[i] } : {}),
  };
}

export class IndexCache {
  readonly stats: IndexCacheStats = { loaded: 0, refused: 0, hits: 0, written: 0 };
  private readonly store: ObjectStore;
  private readonly prefix: string;
  private readonly bucket: string;
  /** By the fields parsed and the folder. */
  private readonly folders = new Map<string, Promise<FolderCache | undefined>>();
  /** Indexes read from summaries this run, by folder and key: what {@link flush} adds. */
  private readonly learned = new Map<string, Map<string, FileIndex>>();

  private readonly read: SummaryReader;

  /**
   * `read`: the state store's objects, whole or by ranges, in one call each (undefined when over
   * {@link MAX_CACHE_BYTES}).
   */
  constructor(store: ObjectStore, read: SummaryReader, bucket: string, prefix: string) {
    this.store = store;
    this.read = read;
    this.bucket = bucket;
    this.prefix = prefix;
  }

  private keyOf(folder: string): string {
    return `${this.prefix}${INDEX_CACHE_PREFIX}${this.bucket}/${folder}index.jsonl`;
  }

  private async readObject(key: string): Promise<Buffer | undefined> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.read(key);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return undefined;
      throw err;
    }
    if (!bytes) throw new Error(`over the size cap of ${MAX_CACHE_BYTES} bytes`);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  /** A folder's cache as the filter needs it, undefined when there is none or it is refused. */
  private load(folder: string, fields: readonly CacheField[]): Promise<FolderCache | undefined> {
    const id = `${fields.join(',')}\n${folder}`;
    let loading = this.folders.get(id);
    if (!loading) {
      loading = (async () => {
        try {
          const lines = await rangedLines(this.read, this.keyOf(folder));
          if (!lines) throw new Error(`over the size cap of ${MAX_CACHE_BYTES} bytes`);
          const cache = await parseCache(lines, this.bucket, fields);
          this.stats.loaded++;
          return cache;
        } catch (err) {
          if (err instanceof CliError) throw err;
          if (!(err instanceof ObjectNotFoundError)) this.stats.refused++;
          return undefined;
        }
      })();
      this.folders.set(id, loading);
    }
    return loading;
  }

  /**
   * The file's index from its folder's cache, when the cache holds one for exactly the object listed; else
   * undefined (the caller reads the summary). It holds only `fields` (those the lookup's filter asks: the
   * others are not parsed).
   */
  async lookup(file: SelectedFile, fields: readonly CacheField[]): Promise<FileIndex | undefined> {
    const key = file.trailKey.key;
    const cache = await this.load(folderOf(key), fields);
    const i = cache?.at.get(key);
    if (cache === undefined || i === undefined) return undefined;
    const [, size, etag] = cache.entries[i];
    if (size !== file.size || file.etag === undefined || etag !== file.etag) return undefined;
    this.stats.hits++;
    return indexAt(cache, i, this.bucket);
  }

  /** The layout of a file {@link lookup} answered for with these `fields`, when its folder's cache has one. */
  async layoutOf(file: SelectedFile, fields: readonly CacheField[]): Promise<IndexLayout | undefined> {
    const key = file.trailKey.key;
    const cache = await this.load(folderOf(key), fields);
    const i = cache?.at.get(key);
    if (cache === undefined || i === undefined) return undefined;
    return (await layoutsOf(cache))[i] ?? undefined;
  }

  /** An index read from a summary and found to describe the file listed: kept for the folder's cache. */
  learn(index: FileIndex): void {
    const folder = folderOf(index.source.key);
    let known = this.learned.get(folder);
    if (!known) {
      known = new Map();
      this.learned.set(folder, known);
    }
    known.set(index.source.key, index);
  }

  /**
   * Writes the cache of every folder that got indexes from summaries this run: the entries the object held
   * (when it parses in full) with the new ones in their place. Failing to write loses nothing but time.
   */
  async flush(): Promise<void> {
    for (const [folder, known] of this.learned) {
      const key = this.keyOf(folder);
      const merged = new Map<string, FileIndex>();
      try {
        const bytes = await this.readObject(key);
        if (bytes) {
          const old = await parseCache(wholeLines(bytes), this.bucket, CACHE_FIELDS);
          await layoutsOf(old);
          for (const [k, i] of old.at) merged.set(k, indexAt(old, i, this.bucket));
        }
      } catch (err) {
        if (err instanceof CliError) throw err;
        // Refused: written again from this run's indexes alone.
      }
      for (const [k, index] of known) merged.set(k, index);
      try {
        await this.store.put(key, serialize(this.bucket, [...merged.values()]));
        this.stats.written++;
      } catch (err) {
        if (err instanceof CliError) throw err;
      }
    }
    this.learned.clear();
  }
}

/** A cache object's text for these indexes (sorted by key, so that the same indexes give the same bytes). */
export function serialize(bucket: string, indexes: FileIndex[]): string {
  const sorted = [...indexes].sort((a, b) => (a.source.key < b.source.key ? -1 : 1));
  const files: HeaderEntry[] = sorted.map((x) => [
    x.source.key,
    x.source.size,
    x.source.etag ?? null,
    x.timeRange,
    x.readOnly.read,
    x.readOnly.write,
    x.resourceRules ?? null,
  ]);
  const head = { schema: INDEX_CACHE_SCHEMA, indexSchema: INDEX_SCHEMA, bucket, fields: CACHE_FIELDS, files };
  const lines = [JSON.stringify(head)];
  for (const name of CACHE_FIELDS) lines.push(JSON.stringify(sorted.map((x) => x.fields[name] ?? null)));
  lines.push(JSON.stringify(sorted.map((x) => x.layout ?? null)));
  // First, the byte length of each line (its newline included), for readers of a few lines.
  const toc = { lines: lines.map((l) => Buffer.byteLength(l) + 1) };
  return `${JSON.stringify(toc)}\n${lines.join('\n')}\n`;
}

/**
 * Object stores without AWS: a folder laid out like a bucket, and an in-memory bucket for tests.
 *
 * In a folder, an object's S3 user metadata (for digests: the signature) is kept in a sidecar file
 * `KEY.metadata.json` holding `{"signature": "...", "signature-algorithm": "SHA256withRSA"}`, the names
 * being those after `x-amz-meta-`. Sidecars are not objects: listings skip them.
 */
import { hash } from 'node:crypto';
import { createReadStream, type Dirent, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import {
  BadKeyError,
  type GetOptions,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStore,
  PreconditionFailedError,
  type PutOptions,
  type StoredObject,
} from '#shared/ports.ts';

export const METADATA_SUFFIX = '.metadata.json';

function md5(body: Uint8Array | string): string {
  return hash('md5', body, 'hex');
}

/** A cheap stand-in for S3's ETag: changes whenever the file is rewritten (rename gives a new inode). */
function fileEtag(s: { size: number; mtimeMs: number; ino: number }): string {
  return `"${md5(`${s.size}:${s.mtimeMs}:${s.ino}`)}"`;
}

function checkConditions(key: string, current: { etag?: string } | undefined, options?: PutOptions): void {
  if (options?.ifNoneMatch === '*' && current) {
    throw new PreconditionFailedError(`expected no object at ${key}, found one (If-None-Match: *)`, key);
  }
  if (options?.ifMatch !== undefined && current?.etag !== options.ifMatch) {
    throw new PreconditionFailedError(
      `expected ETag ${options.ifMatch} at ${key}, found ${current ? current.etag : 'no object'}`,
      key,
    );
  }
}

function isNotFound(err: unknown): boolean {
  return (
    (err as NodeJS.ErrnoException)?.code === 'ENOENT' || (err as NodeJS.ErrnoException)?.code === 'ENOTDIR'
  );
}

/** The folder's own path with its links resolved (as given when that fails: no folder yet). */
function realRootOf(root: string): string {
  try {
    return realpathSync.native(root);
  } catch {
    return root;
  }
}

/** Longest file name most file systems accept, in bytes. */
const MAX_SEGMENT_BYTES = 255;

/**
 * The file name of one key segment. S3 keys may hold empty segments (`/x`, `a//b`) that a path would
 * collapse, so an empty segment is `%` and a literal `%` is `%25`: `/x` and `x` stay two objects.
 */
function segmentName(segment: string): string {
  return segment === '' ? '%' : segment.replaceAll('%', '%25');
}

function segmentOf(name: string): string {
  return name === '%' ? '' : name.replaceAll('%25', '%');
}

/** Why a key cannot be a path under the root, or undefined when it can. */
export function badKeyReason(key: string): string | undefined {
  if (key.includes('\u0000')) return 'it holds a NUL byte';
  for (const p of key.split('/')) {
    if (p === '..' || p === '.') return `it has a '${p}' segment`;
    if (Buffer.byteLength(segmentName(p)) > MAX_SEGMENT_BYTES)
      return `a segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

/** A folder as a bucket. Conditional writes are atomic within one process (replay, CLI, tests). */
export class FsObjectStore implements ObjectStore {
  readonly location: string;
  private readonly root: string;
  private realRoot: string | undefined;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(root: string) {
    this.root = resolve(root);
    this.location = root;
  }

  /** The path of a key; throws {@link BadKeyError} for a key that cannot be one. */
  private pathOf(key: string): string {
    const why = badKeyReason(key);
    if (why) throw new BadKeyError(`refusing key ${JSON.stringify(key.slice(0, 200))}: ${why}`, key);
    return key === '' ? this.root : join(this.root, ...key.split('/').map(segmentName));
  }

  /**
   * The path of a key after following every symbolic link on the way: a link inside the folder that points
   * out of it (an adversary's source folder) must not let a read or a write leave the root. Blocking calls:
   * on a local disk each takes microseconds, less than a round trip through libuv's thread pool.
   */
  private safePathOf(key: string): string {
    const path = this.pathOf(key);
    this.realRoot ??= realRootOf(this.root);
    let probe = path;
    let rest = '';
    for (;;) {
      try {
        const real = realpathSync.native(probe);
        const full = rest ? join(real, rest) : real;
        if (full !== this.realRoot && !full.startsWith(this.realRoot + sep))
          throw new BadKeyError(`refusing key ${key}: it resolves outside ${this.location}`, key);
        return full;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const parent = dirname(probe);
        if (parent === probe) return path;
        rest = rest ? join(probe.slice(parent.length + 1), rest) : probe.slice(parent.length + 1);
        probe = parent;
      }
    }
  }

  private async metadataOf(path: string): Promise<Record<string, string> | undefined> {
    try {
      return JSON.parse(await readFile(path + METADATA_SUFFIX, 'utf8')) as Record<string, string>;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const path = this.safePathOf(key);
    try {
      const s = await stat(path);
      if (!s.isFile()) return undefined;
      const metadata = await this.metadataOf(path);
      const etag = fileEtag(s);
      return { key, size: s.size, etag, lastModified: s.mtime, ...(metadata ? { metadata } : {}) };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * An object as a listing shows it: no user metadata, as S3's listings have none, and a blocking stat, which
   * takes microseconds where a promise round trip per key costs a listing of thousands far more.
   */
  private listed(key: string, path: string): ObjectInfo | undefined {
    try {
      const s = statSync(path);
      return s.isFile() ? { key, size: s.size, etag: fileEtag(s), lastModified: s.mtime } : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<StoredObject> {
    const info = await this.head(key);
    if (!info) throw new ObjectNotFoundError(`no object at ${this.location}/${key}`, key);
    if (options.ifMatch !== undefined && !options.versionId && options.ifMatch !== info.etag)
      throw new PreconditionFailedError(`${this.location}/${key} no longer has ETag ${options.ifMatch}`, key);
    const highWaterMark = Math.min(1 << 20, Math.max(16 * 1024, info.size));
    return { ...info, body: createReadStream(this.safePathOf(key), { highWaterMark }) };
  }

  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    const run = this.lock.then(async () => {
      // Only a conditional write needs to look first.
      if (options?.ifNoneMatch || options?.ifMatch !== undefined)
        checkConditions(key, await this.head(key), options);
      const path = this.safePathOf(key);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(tmp, body);
      if (options?.metadata && Object.keys(options.metadata).length > 0) {
        await writeFile(path + METADATA_SUFFIX, JSON.stringify(options.metadata));
      } else {
        await rm(path + METADATA_SUFFIX, { force: true });
      }
      // Rename is atomic: a reader sees the old object or the new one, never half of one.
      await rename(tmp, path);
      return { etag: fileEtag(await stat(path)) };
    });
    this.lock = run.catch(() => undefined);
    return run;
  }

  async delete(key: string): Promise<void> {
    const path = this.safePathOf(key);
    await rm(path, { force: true });
    await rm(path + METADATA_SUFFIX, { force: true });
  }

  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    // Each file is looked at only when the listing gets to it: a reader that stops early stats no more.
    for (const [key, path] of this.keysUnder(prefix, options?.startAfter)) {
      const info = this.listed(key, path);
      if (info) yield info;
    }
  }

  /**
   * The objects under a prefix, in key order, in one blocking call: what {@link list} yields, without a promise
   * per key (a day folder of a trail holds hundreds of files). See cli/lookup/select-files.ts.
   */
  listNow(prefix: string, options?: { startAfter?: string }): ObjectInfo[] {
    const found = this.keysUnder(prefix, options?.startAfter);
    const out: ObjectInfo[] = [];
    for (let i = 0; i < found.length; i++) {
      const info = this.listed(found[i][0], found[i][1]);
      if (info) out.push(info);
    }
    return out;
  }

  /** The keys under a prefix (after `startAfter`) in key order, each with the path of its file. */
  private keysUnder(prefix: string, startAfter: string | undefined): [key: string, path: string][] {
    // Walk only the folders the prefix can reach.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    const dir = this.safePathOf(dirKey.replace(/\/$/, ''));
    // Each key is made from the names the walk found under a base resolved once, and each file is looked at
    // where the walk found it: resolving (path.relative, path.join) and checking every key again cost a
    // listing of thousands of files most of its time.
    const base = relative(this.realRoot ?? this.root, dir);
    const found: [key: string, path: string][] = [];
    this.walk(dir, base === '' ? '' : `${base.split(sep).map(segmentOf).join('/')}/`, found);
    const kept = found.filter(
      (f) => f[0].startsWith(prefix) && (startAfter === undefined || f[0] > startAfter),
    );
    return kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  async listFolders(prefix: string): Promise<string[]> {
    try {
      const entries = readdirSync(this.safePathOf(prefix.replace(/\/$/, '')), { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory())
        .map((e) => `${prefix}${segmentOf(e.name)}/`)
        .sort();
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  /** Blocking reads of each folder: a folder of a local disk is read in microseconds. */
  private walk(dir: string, keyDir: string, out: [string, string][]): void {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    for (const e of entries) {
      const full = `${dir}${sep}${e.name}`;
      if (e.isDirectory()) this.walk(full, `${keyDir}${segmentOf(e.name)}/`, out);
      else if (e.isFile() && !e.name.endsWith(METADATA_SUFFIX) && !e.name.endsWith('.tmp'))
        out.push([`${keyDir}${segmentOf(e.name)}`, full]);
    }
  }

  /** Appends to a file under the folder (outboxes such as notifications.jsonl). */
  async append(key: string, text: string): Promise<void> {
    const path = this.safePathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(path, 'a');
    try {
      await fh.write(text);
    } finally {
      await fh.close();
    }
  }
}

interface MemoryObject {
  body: Uint8Array;
  etag: string;
  versionId?: string;
  metadata?: Record<string, string>;
  lastModified: Date;
}

/** A bucket in memory, with S3's conditional-write semantics (and its versions, when `versioned`). */
export class MemoryObjectStore implements ObjectStore {
  readonly location: string;
  readonly objects = new Map<string, MemoryObject>();
  /** Every version written per key, oldest first (kept only when versioned). */
  readonly versions = new Map<string, MemoryObject[]>();
  versioned = false;
  private nextVersion = 0;

  constructor(name = 'memory') {
    this.location = `memory://${name}`;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const o = this.objects.get(key);
    return o ? this.infoOf(key, o) : undefined;
  }

  private infoOf(key: string, o: MemoryObject): ObjectInfo {
    return {
      key,
      size: o.body.byteLength,
      etag: o.etag,
      ...(o.versionId ? { versionId: o.versionId } : {}),
      lastModified: o.lastModified,
      ...(o.metadata ? { metadata: { ...o.metadata } } : {}),
    };
  }

  async get(key: string, options: GetOptions = {}): Promise<StoredObject> {
    const o = options.versionId
      ? this.versions.get(key)?.find((v) => v.versionId === options.versionId)
      : this.objects.get(key);
    if (!o) throw new ObjectNotFoundError(`no object at ${this.location}/${key}`, key);
    if (options.ifMatch !== undefined && !options.versionId && options.ifMatch !== o.etag)
      throw new PreconditionFailedError(`${this.location}/${key} no longer has ETag ${options.ifMatch}`, key);
    const info = this.infoOf(key, o);
    const body = o.body;
    return {
      ...info,
      body: (async function* () {
        yield body;
      })(),
    };
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    checkConditions(key, this.objects.get(key), options);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const etag = `"${md5(bytes)}"`;
    const object: MemoryObject = {
      body: bytes,
      etag,
      lastModified: new Date(),
      ...(this.versioned ? { versionId: `v${++this.nextVersion}` } : {}),
      ...(options?.metadata ? { metadata: { ...options.metadata } } : {}),
    };
    this.objects.set(key, object);
    if (this.versioned) this.versions.set(key, [...(this.versions.get(key) ?? []), object]);
    return { etag };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  async listFolders(prefix: string): Promise<string[]> {
    const folders = new Set<string>();
    for (const key of this.objects.keys()) {
      if (!key.startsWith(prefix)) continue;
      const slash = key.indexOf('/', prefix.length);
      if (slash >= 0) folders.add(key.slice(0, slash + 1));
    }
    return [...folders].sort();
  }

  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      if (options?.startAfter !== undefined && key <= options.startAfter) continue;
      const info = await this.head(key);
      if (info) yield info;
    }
  }
}

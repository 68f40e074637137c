/**
 * An ObjectStore wrapper that counts requests by S3 operation and key area, and can add a fixed latency to
 * each request (the bench's simulated S3 round trip). Listing counts one request per 1,000 keys, like
 * ListObjectsV2 pages.
 */
import type { ObjectInfo, ObjectStore, PutOptions, StoredObject } from '#shared/ports.ts';

export type Operation = 'GET' | 'HEAD' | 'PUT' | 'LIST' | 'DELETE';

/** The area of a state-bucket key, for request counts (`insights/state/...` is `state`). */
export function areaOf(key: string): string {
  if (key.startsWith('insights/state/')) return 'state';
  if (key.startsWith('summaries/')) return 'summaries';
  if (key.startsWith('alert-windows/')) return 'claims';
  if (key.startsWith('insights/parked/')) return 'parked';
  if (key.startsWith('insights/active/')) return 'active';
  return key.split('/')[0] || 'root';
}

export class InstrumentedStore implements ObjectStore {
  readonly counts = new Map<string, number>();

  readonly inner: ObjectStore;
  private readonly latencyMs: number;

  constructor(inner: ObjectStore, latencyMs = 0) {
    this.inner = inner;
    this.latencyMs = latencyMs;
  }

  get location(): string {
    return this.inner.location;
  }

  /** Requests of one operation, optionally only in one area. */
  count(op: Operation, area?: string): number {
    let n = 0;
    for (const [k, v] of this.counts) {
      const [o, a] = k.split(' ');
      if (o === op && (area === undefined || a === area)) n += v;
    }
    return n;
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  reset(): void {
    this.counts.clear();
  }

  private async hit(op: Operation, key: string): Promise<void> {
    const id = `${op} ${areaOf(key)}`;
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
  }

  async get(key: string): Promise<StoredObject> {
    await this.hit('GET', key);
    return this.inner.get(key);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    await this.hit('HEAD', key);
    return this.inner.head(key);
  }

  async put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }> {
    await this.hit('PUT', key);
    return this.inner.put(key, body, options);
  }

  async delete(key: string): Promise<void> {
    await this.hit('DELETE', key);
    return this.inner.delete(key);
  }

  async listFolders(prefix: string): Promise<string[]> {
    await this.hit('LIST', prefix);
    const folders = await this.inner.listFolders(prefix);
    // One ListObjectsV2 page per 1,000 common prefixes.
    for (let n = 1000; n < folders.length; n += 1000) await this.hit('LIST', prefix);
    return folders;
  }

  async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    await this.hit('LIST', prefix);
    let n = 0;
    for await (const info of this.inner.list(prefix, options)) {
      if (++n % 1000 === 0) await this.hit('LIST', prefix);
      yield info;
    }
  }
}

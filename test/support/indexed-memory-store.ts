/**
 * A MemoryObjectStore whose listings seek into a sorted key index instead of scanning every key: a bucket of
 * tens of thousands of account-regions (the organization bench) lists like S3 does, in time proportional to
 * what it returns.
 */
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import type { ObjectInfo, PutOptions } from '#shared/ports.ts';

export class IndexedMemoryStore extends MemoryObjectStore {
  private readonly sorted: string[] = [];

  private seek(key: string): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.sorted[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  override async put(
    key: string,
    body: Uint8Array | string,
    options?: PutOptions,
  ): Promise<{ etag: string }> {
    const fresh = !this.objects.has(key);
    const out = await super.put(key, body, options);
    if (fresh) this.sorted.splice(this.seek(key), 0, key);
    return out;
  }

  override async delete(key: string): Promise<void> {
    if (this.objects.has(key)) this.sorted.splice(this.seek(key), 1);
    await super.delete(key);
  }

  override async listFolders(prefix: string): Promise<string[]> {
    const folders: string[] = [];
    let i = this.seek(prefix);
    while (i < this.sorted.length && this.sorted[i].startsWith(prefix)) {
      const key = this.sorted[i];
      const slash = key.indexOf('/', prefix.length);
      if (slash < 0) {
        i++;
        continue;
      }
      const folder = key.slice(0, slash + 1);
      folders.push(folder);
      // Skip the rest of this folder: the next key after every key that starts with it.
      i = this.seek(`${folder}\uffff`);
    }
    return folders;
  }

  override async *list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo> {
    let i = this.seek(
      options?.startAfter !== undefined && options.startAfter > prefix ? options.startAfter : prefix,
    );
    for (; i < this.sorted.length && this.sorted[i].startsWith(prefix); i++) {
      const key = this.sorted[i];
      if (options?.startAfter !== undefined && key <= options.startAfter) continue;
      const info = await this.head(key);
      if (info) yield info;
    }
  }
}

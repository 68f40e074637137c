/**
 * Whether a log file can hold a record a lookup asks for, from the index ingest wrote with the file's summary
 * (shared/logfile/file-index.ts), so that a lookup over a bucket reads only the files that can match.
 *
 * An index is used only when it certainly describes the object listed now: the summary must name the same
 * bucket and key, the same size and the same ETag. A summary that is missing, describes another object
 * (stale: the file was rewritten after ingest), or does not parse (corrupt) gets the file read in full, and
 * is counted, never silently skipped.
 */
import { CliError } from '#cli/errors.ts';
import { type FileIndex, mayContain, parseFileIndex } from '#shared/logfile/file-index.ts';
import { summaryKeyFor } from '#shared/pipeline/ingest-log-files.ts';
import { ObjectNotFoundError, type ObjectStore } from '#shared/ports.ts';
import { objectOf } from '#shared/record.ts';
import type { LookupFilter } from './filter.ts';
import type { SelectedFile } from './select-files.ts';

/** A summary bigger than this is not what ingest writes: read the file instead. */
const MAX_SUMMARY_BYTES = 8 << 20;

export type IndexVerdict = 'skip' | 'may-match' | 'missing' | 'stale' | 'corrupt';

/** Whether a file with this index may hold a record the filter matches. */
export function indexMayMatch(index: FileIndex, f: LookupFilter): boolean {
  if (f.startTime || f.endTime) {
    // No parseable eventTime in the file: no record can pass a time bound.
    if (!index.timeRange) return false;
    if (f.startTime && index.timeRange[1] < f.startTime.getTime()) return false;
    if (f.endTime && index.timeRange[0] > f.endTime.getTime()) return false;
  }
  if (f.readOnly === true && !index.readOnly.read) return false;
  if (f.readOnly === false && !index.readOnly.write) return false;
  const { fields } = index;
  if (f.eventName !== undefined && !mayContain(fields.eventNames, f.eventName)) return false;
  if (f.eventSource !== undefined) {
    const source = f.eventSource.includes('.') ? f.eventSource : `${f.eventSource}.amazonaws.com`;
    if (!mayContain(fields.eventSources, source)) return false;
  }
  if (f.eventId !== undefined && !mayContain(fields.eventIds, f.eventId)) return false;
  if (f.accessKeyId !== undefined && !mayContain(fields.accessKeys, f.accessKeyId)) return false;
  if (f.username !== undefined && !mayContain(fields.users, f.username)) return false;
  if (f.resourceName !== undefined && !mayContain(fields.resources, f.resourceName)) return false;
  return true;
}

async function readText(store: ObjectStore, key: string): Promise<string | undefined> {
  const obj = await store.get(key);
  if (obj.size > MAX_SUMMARY_BYTES) return undefined;
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of obj.body) {
    n += c.length;
    if (n > MAX_SUMMARY_BYTES) return undefined;
    parts.push(c);
  }
  return Buffer.concat(parts).toString('utf8');
}

/** The summaries ingest wrote for the files of one trail bucket. */
export class SummaryIndex {
  private readonly store: ObjectStore;
  private readonly prefix: string;
  private readonly bucket: string;

  /** `bucket`: the trail bucket's name as ingest saw it (summaries are filed under it). */
  constructor(store: ObjectStore, bucket: string, prefix = '') {
    this.store = store;
    this.bucket = bucket;
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  get location(): string {
    return `${this.store.location}/${this.prefix}summaries/${this.bucket}/`;
  }

  /** What the file's index says of the filter, or why there is no index to go by. */
  async check(file: SelectedFile, filter: LookupFilter): Promise<IndexVerdict> {
    const key = file.trailKey.key;
    let text: string | undefined;
    try {
      text = await readText(this.store, `${this.prefix}${summaryKeyFor(this.bucket, key)}`);
    } catch (err) {
      if (err instanceof ObjectNotFoundError) return 'missing';
      if (err instanceof CliError) throw err;
      return 'corrupt';
    }
    if (text === undefined) return 'corrupt';
    let summary: Record<string, unknown> | undefined;
    try {
      summary = objectOf(JSON.parse(text));
    } catch {
      return 'corrupt';
    }
    const source = objectOf(summary?.source);
    if (!summary || !source) return 'corrupt';
    if (
      source.bucket !== this.bucket ||
      source.key !== key ||
      source.size !== file.size ||
      file.etag === undefined ||
      source.etag !== file.etag
    ) {
      return 'stale';
    }
    if (summary.index === undefined) return 'missing';
    let index: FileIndex;
    try {
      index = parseFileIndex(summary.index);
    } catch {
      return 'corrupt';
    }
    return indexMayMatch(index, filter) ? 'may-match' : 'skip';
  }
}

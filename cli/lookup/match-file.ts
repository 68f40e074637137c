/**
 * One log file's matching records: read (gunzip when gzip), skip records whose bytes cannot match (the byte
 * prefilter the filter gives), parse the rest and keep those that match. The same function runs in the
 * lookup's worker threads and, for files too big to hand over whole, in the main thread, so both give the
 * same answer.
 */

import { BytePrefilter } from '#shared/logfile/prefilter.ts';
import { readLogRecords, type ScanLimits, type ScanStats } from '#shared/logfile/read.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { type LookupFilter, matchesFilter, prefilterGroups } from './filter.ts';

export interface FileMatches {
  /** Matching records in file order, with their position among the records parsed. */
  matches: { record: CloudTrailRecord; seq: number }[];
  scan: ScanStats;
}

export interface MatchOptions {
  limits?: Partial<ScanLimits>;
  /** Compressed size, when known: small files get small gunzip buffers. */
  sizeHint?: number;
  /** Parse every record (the path the prefilter is checked against). */
  noPrefilter?: boolean;
  /** Sees every record parsed, matching or not (main thread only: a function does not cross to a worker). */
  onRecord?: (record: CloudTrailRecord) => void;
}

/** Throws what {@link readLogRecords} throws; `found` receives the matches so far (kept by a caller that reports). */
export async function matchFile(
  body: AsyncIterable<Uint8Array>,
  filter: LookupFilter,
  options: MatchOptions = {},
  found: FileMatches['matches'] = [],
): Promise<FileMatches> {
  const prefilter = options.noPrefilter ? undefined : BytePrefilter.of(prefilterGroups(filter));
  const it = readLogRecords(body, {
    // CloudTrail delivers gzip; `.json` copies of its files are plain JSON.
    compression: 'auto',
    ...(options.limits ? { limits: options.limits } : {}),
    ...(prefilter ? { prefilter } : {}),
    ...(options.sizeHint ? { sizeHint: options.sizeHint } : {}),
  });
  let seq = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) return { matches: found, scan: next.value };
    for (const record of next.value) {
      options.onRecord?.(record);
      if (matchesFilter(record, filter)) found.push({ record, seq });
      seq++;
    }
  }
}

/**
 * One log file's matching records: read (gunzip when gzip), skip records whose bytes cannot match (the byte
 * prefilter the filter gives), parse the rest and keep those that match. The same function runs in the
 * lookup's worker threads and in the main thread, so both give the same answer.
 *
 * With `render`, each match is kept as the line the lookup prints for it, made here from the record, and the
 * record is dropped at once: a full scan then keeps (and a worker sends back) short lines, not every record
 * as an object tree, which is what made the garbage collector the largest cost of a scan.
 */

import type { TrailKey } from '#shared/keys.ts';
import { BytePrefilter } from '#shared/logfile/prefilter.ts';
import { readLogRecords, type ScanLimits, type ScanStats } from '#shared/logfile/read.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { eventTimeMs, type LookupFilter, matchesFilter, prefilterGroups } from './filter.ts';
import { type LineFormat, renderLine } from './row.ts';

/** A matching record, with what the lookup sorts by. */
export interface Match {
  /** Position among the records parsed. */
  seq: number;
  /** eventTime in milliseconds, NaN when it has none that parses. */
  t: number;
  /** eventID, '' when it has none. */
  id: string;
  /** The record itself (without `render`)... */
  record?: CloudTrailRecord;
  /** ... or its output line (with `render`). */
  line?: string;
}

export interface FileMatches {
  /** Matching records in file order. */
  matches: Match[];
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
  /** Keep each match as its output line in this format, for the file it was read from, not as the record. */
  render?: { format: LineFormat; file: TrailKey };
}

/**
 * `body`: the file as a stream, or its bytes held whole (small gzip files are then inflated in one call).
 * Throws what {@link readLogRecords} throws; `found` receives the matches so far (kept by a caller that reports).
 */
export async function matchFile(
  body: AsyncIterable<Uint8Array> | Uint8Array,
  filter: LookupFilter,
  options: MatchOptions = {},
  found: Match[] = [],
): Promise<FileMatches> {
  const prefilter = options.noPrefilter ? undefined : BytePrefilter.of(prefilterGroups(filter));
  const it = readLogRecords(body, {
    // CloudTrail delivers gzip; `.json` copies of its files are plain JSON.
    compression: 'auto',
    ...(options.limits ? { limits: options.limits } : {}),
    ...(prefilter ? { prefilter } : {}),
    ...(options.sizeHint ? { sizeHint: options.sizeHint } : {}),
  });
  const { render, onRecord } = options;
  let seq = 0;
  for (;;) {
    const next = await it.next();
    if (next.done) return { matches: found, scan: next.value };
    for (const record of next.value) {
      onRecord?.(record);
      if (matchesFilter(record, filter)) {
        const t = eventTimeMs(record);
        const id = typeof record.eventID === 'string' ? record.eventID : '';
        found.push(
          render
            ? { seq, t, id, line: renderLine({ record, file: render.file }, render.format) }
            : { seq, t, id, record },
        );
      }
      seq++;
    }
  }
}

/**
 * How much of a delivered object trailwatch will read. An adversary can write to the trail bucket, so every
 * reader stops at these sizes; configuration may lower or raise them (TRAILWATCH_MAX_*), nothing else
 * restates them.
 */

export interface ScanLimits {
  /** A record larger than this is skipped and counted, never buffered. */
  maxRecordBytes: number;
  /** Decompressed bytes after which the file is rejected (gzip bombs). */
  maxFileBytes: number;
}

export const DEFAULT_LIMITS: ScanLimits = Object.freeze({
  maxRecordBytes: 16 * 1024 * 1024,
  maxFileBytes: 2 * 1024 * 1024 * 1024,
});

/** Digests list one line per log file of an hour: far below this even for the busiest trails. */
export const MAX_DIGEST_BYTES = 256 * 1024 * 1024;

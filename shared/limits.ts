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

/**
 * Digests list one line (about 400 bytes) per log file of an hour and region: 16 MiB is some 40,000 files,
 * far above the busiest trails, and small enough that a bomb named like a digest costs little memory (a
 * digest is parsed whole).
 */
export const MAX_DIGEST_BYTES = 16 * 1024 * 1024;

/**
 * Longest text kept from one record field in a summary or the detection state (UTF-16 code units). A record
 * can carry a 15 MB userAgent; nothing downstream needs more than its start, and every later file would
 * rewrite it with the state.
 */
export const MAX_FIELD_CHARS = {
  /** eventSource, eventName, errorCode */
  name: 128,
  /** principal ARN or id */
  principal: 512,
  userAgent: 512,
  sourceIp: 256,
} as const;

/** CloudTrail's launch (2013-11-13): no event of any trail is older. */
export const EARLIEST_TRAIL_START = new Date('2013-11-13T00:00:00Z');

/**
 * The event times a log file delivered at `now` can hold: from a day before the trail started to a day after
 * now (clock skew, late delivery). Others are counted and kept out of summaries' counts and the baselines.
 */
export function eventTimeRange(
  now: Date,
  trailStart: Date = EARLIEST_TRAIL_START,
): { from: number; to: number } {
  const day = 86_400_000;
  return { from: trailStart.getTime() - day, to: now.getTime() + day };
}

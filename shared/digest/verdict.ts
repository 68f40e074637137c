/**
 * Verdicts on digest and log files: plain data, never exceptions. The reason texts are the AWS CLI's own
 * (`aws cloudtrail validate-logs`, docs/cloudtrail-format.md section 2.4) where it has one, so output
 * lines can be compared with it; the checks it does not make have reasons of the same form.
 */

export type VerdictCode =
  | 'valid'
  | 'not-found'
  | 'invalid-format'
  | 'trailing-data'
  | 'signature-failed'
  | 'moved'
  | 'key-not-found'
  | 'key-unloadable'
  | 'key-fingerprint-mismatch'
  | 'key-not-valid'
  | 'hash-mismatch'
  | 'unsupported-algorithm'
  | 'chain-hash-mismatch'
  | 'chain-signature-mismatch'
  | 'unlisted';

export interface FileVerdict {
  type: 'digest' | 'log';
  bucket: string;
  key: string;
  status: 'valid' | 'invalid';
  code: VerdictCode;
  /** The text after `INVALID: `; null when valid. */
  reason: string | null;
  /** More about an invalid file, for logs and JSON output (never in the CLI-compatible text line). */
  detail?: string;
  /** A backfill digest (reported as `(backfill) Digest file`, like the AWS CLI). */
  backfill?: boolean;
  /**
   * A digest that should exist and does not, whose key no other digest names: derived from the hourly
   * sequence (the time in the name may be off by the seconds of a drifting digest window).
   */
  inferred?: boolean;
  /** Digests whose content could be read: their window, from the file. */
  startTime?: string;
  endTime?: string;
}

export const REASONS = {
  notFound: 'not found',
  invalidFormat: 'invalid format',
  trailingData: 'unexpected data after end of compressed stream',
  signatureFailed: 'signature verification failed',
  moved: 'has been moved from its original location',
  keyNotFound: (region: string, fingerprint: string) =>
    `public key not found in region ${region} for fingerprint ${fingerprint}`,
  keyUnloadable: (fingerprint: string) => `Unable to load PKCS #1 key with fingerprint ${fingerprint}`,
  keyFingerprintMismatch: (fingerprint: string) =>
    `public key listed with fingerprint ${fingerprint} has another fingerprint`,
  keyNotValid: (fingerprint: string, at: string, from: string, to: string) =>
    `public key with fingerprint ${fingerprint} not valid at ${at} (valid from ${from} to ${to})`,
  hashMismatch: "hash value doesn't match",
  unsupportedAlgorithm: (algorithm: string) => `unsupported hash algorithm ${algorithm}`,
  chainHashMismatch: "hash value doesn't match the next digest's previousDigestHashValue",
  chainSignatureMismatch: "signature doesn't match the next digest's previousDigestSignature",
  /** A log file in the trail's folders that no digest lists: nothing vouches for it (trailwatch's own check). */
  unlisted: 'unlisted: no digest lists this log file',
} as const;

export function valid(type: FileVerdict['type'], bucket: string, key: string): FileVerdict {
  return { type, bucket, key, status: 'valid', code: 'valid', reason: null };
}

export function invalid(
  type: FileVerdict['type'],
  bucket: string,
  key: string,
  code: Exclude<VerdictCode, 'valid'>,
  reason: string,
  detail?: string,
): FileVerdict {
  return { type, bucket, key, status: 'invalid', code, reason, ...(detail ? { detail } : {}) };
}

/** The AWS CLI's line for a verdict: `Digest file\ts3://B/K\tvalid` or `...\tINVALID: reason`. */
export function verdictLine(v: FileVerdict): string {
  const what = v.type === 'digest' ? `${v.backfill ? '(backfill) ' : ''}Digest file` : 'Log file';
  return `${what}\ts3://${v.bucket}/${v.key}\t${v.status === 'valid' ? 'valid' : `INVALID: ${v.reason}`}`;
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the AWS CLI's display format. */
export function displayDate(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

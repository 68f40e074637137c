/**
 * The digest file format and the string CloudTrail signs
 * (docs/cloudtrail-format.md sections 2.1 and 2.2). Shared by the verifier and the sample-trail generator,
 * so that both sides of every test agree on one definition.
 */
import { createHash } from 'node:crypto';

export interface DigestLogFile {
  s3Bucket: string;
  s3Object: string;
  hashValue: string;
  hashAlgorithm: string;
  newestEventTime: string;
  oldestEventTime: string;
}

/** Field order matches CloudTrail's own files. */
export interface DigestFile {
  awsAccountId: string;
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: string;
  newestEventTime: string | null;
  oldestEventTime: string | null;
  previousDigestS3Bucket: string | null;
  previousDigestS3Object: string | null;
  previousDigestHashValue: string | null;
  previousDigestHashAlgorithm: string | null;
  previousDigestSignature: string | null;
  logFiles: DigestLogFile[];
}

export const SIGNATURE_ALGORITHM = 'SHA256withRSA';
/** S3 user-metadata names (without `x-amz-meta-`) that carry a digest's signature. */
export const SIGNATURE_METADATA = 'signature';
export const SIGNATURE_ALGORITHM_METADATA = 'signature-algorithm';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * `digestEndTime \n bucket/key \n sha256(uncompressed digest) \n previousSignature`, where a missing
 * previous signature is the literal text `null`.
 */
export function stringToSign(args: {
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestSha256Hex: string;
  previousDigestSignature: string | null;
}): string {
  return [
    args.digestEndTime,
    `${args.digestS3Bucket}/${args.digestS3Object}`,
    args.digestSha256Hex,
    args.previousDigestSignature ?? 'null',
  ].join('\n');
}

/** CloudTrail's timestamps in digests: second precision, `Z`. */
export function digestTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

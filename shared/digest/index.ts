/**
 * CloudTrail log file integrity validation: single digests (verifyDigest, for a function triggered by a
 * delivery) and whole ranges of a trail (validateTrail, for the CLI). See ../docs/cloudtrail-reference.md
 * section 2.
 */
export {
  collectValidation,
  type GapEvent,
  parseTrailArn,
  type StartEvent,
  type Tally,
  type TrailArn,
  type ValidateTrailOptions,
  type ValidationEvent,
  type ValidationSummary,
  validateTrail,
} from './chain.ts';
export { DigestError } from './errors.ts';
export * from './format.ts';
export { type GzipResult, gunzipFirstMember, inflateFirstMember } from './gzip.ts';
export {
  type KeyLookup,
  KeyRing,
  type PublicKeyRecord,
  type PublicKeySource,
  parsePublicKeyList,
  publicKeysFromStore,
  StaticPublicKeySource,
} from './public-keys.ts';
export { displayDate, type FileVerdict, REASONS, type VerdictCode, verdictLine } from './verdict.ts';
export {
  type CheckedDigest,
  checkChainLink,
  checkDigest,
  checkLogFile,
  type DigestReport,
  digestShapeProblem,
  type FetchedDigest,
  fetchDigest,
  type VerifyDigestOptions,
  verifyDigest,
} from './verify.ts';

/**
 * What an attacker with write access to a trail bucket does to hide their tracks, as functions over any
 * ObjectStore, for the integrity tests (CLI validation here, the digest-verifying function elsewhere).
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { TrailScenario } from '#cli/generator/index.ts';
import {
  type DigestFile,
  SIGNATURE_ALGORITHM,
  SIGNATURE_ALGORITHM_METADATA,
  SIGNATURE_METADATA,
  sha256Hex,
  stringToSign,
} from '#shared/digest/digest-format.ts';
import { classifyKey, logFileKey } from '#shared/keys.ts';
import { type ObjectStore, readAll } from '#shared/ports.ts';

async function metadataOf(store: ObjectStore, key: string): Promise<Record<string, string>> {
  const info = await store.head(key);
  if (!info) throw new Error(`expected an object at ${key} to tamper with, found none`);
  return info.metadata ?? {};
}

/** Rewrites a log file with one record changed (the file stays valid gzip JSON). */
export async function modifyLogFile(store: ObjectStore, key: string): Promise<void> {
  const doc = JSON.parse(gunzipSync(await readAll(store, key)).toString('utf8')) as {
    Records: Record<string, unknown>[];
  };
  if (doc.Records.length === 0) throw new Error(`expected records in ${key}, found none`);
  doc.Records[0].sourceIPAddress = '203.0.113.66';
  await store.put(key, gzipSync(JSON.stringify(doc)));
}

/** Appends a second gzip member with forged records: Node's gunzip (and older AWS CLIs) read past the first. */
export async function appendGzipMember(store: ObjectStore, key: string): Promise<void> {
  const original = await readAll(store, key);
  const forged = gzipSync(
    JSON.stringify({ Records: [{ eventName: 'ConsoleLogin', sourceIPAddress: '203.0.113.66' }] }),
  );
  await store.put(key, Buffer.concat([original, forged]));
}

/**
 * Writes a log file CloudTrail never delivered, named and laid out like one, a minute after `beside` (a
 * real log file) in its folder, holding `records` (default: one forged console sign-in). No digest lists it.
 * Returns its key.
 */
export async function addUnlistedLogFile(
  store: ObjectStore,
  beside: string,
  records: Record<string, unknown>[] = [
    {
      eventVersion: '1.09',
      eventTime: '',
      eventSource: 'signin.amazonaws.com',
      eventName: 'ConsoleLogin',
      sourceIPAddress: '203.0.113.66',
    },
  ],
): Promise<string> {
  const near = classifyKey(beside);
  if (near.kind !== 'log') throw new Error(`expected a log file key to plant beside, found ${beside}`);
  const time = new Date(near.time.getTime() + 60_000);
  const key = logFileKey({ ...near, time, unique: 'Pl4nt3dF1l3x0001' });
  const body = records.map((r) => (r.eventTime === '' ? { ...r, eventTime: time.toISOString() } : r));
  await store.put(key, gzipSync(JSON.stringify({ Records: body })));
  return key;
}

export async function deleteObject(store: ObjectStore, key: string): Promise<void> {
  if (!(await store.head(key))) throw new Error(`expected an object at ${key} to delete, found none`);
  await store.delete(key);
}

/** Copies an object, metadata (the signature) included, to another key. */
export async function copyObject(store: ObjectStore, from: string, to: string): Promise<void> {
  const metadata = await metadataOf(store, from);
  await store.put(to, await readAll(store, from), { metadata });
}

/** A fresh RSA-2048 key that CloudTrail never published. */
export function attackerKey(): KeyObject {
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
}

function signDigest(privateKey: KeyObject, d: DigestFile, uncompressed: Buffer): string {
  const text = stringToSign({
    digestEndTime: d.digestEndTime,
    digestS3Bucket: d.digestS3Bucket,
    digestS3Object: d.digestS3Object,
    digestSha256Hex: sha256Hex(uncompressed),
    previousDigestSignature: d.previousDigestSignature,
  });
  return sign('sha256', Buffer.from(text, 'utf8'), privateKey).toString('hex');
}

export interface EditOptions {
  /** Sign the edited digest with this key (the signature metadata is replaced). Default: keep the old signature. */
  resignWith?: KeyObject;
}

/**
 * Edits a digest's JSON (e.g. drops a log file from its list) and writes it back, keeping its signature
 * metadata, or re-signing with the given key.
 */
export async function editDigest(
  store: ObjectStore,
  key: string,
  edit: (d: DigestFile) => void,
  options: EditOptions = {},
): Promise<DigestFile> {
  const metadata = await metadataOf(store, key);
  const original = gunzipSync(await readAll(store, key));
  const d = JSON.parse(original.toString('utf8')) as DigestFile;
  const before = JSON.stringify(d);
  edit(d);
  // Untouched content keeps its exact bytes: only the signature changes then.
  const after = JSON.stringify(d);
  const body = after === before ? original : Buffer.from(after);
  const newMetadata = options.resignWith
    ? {
        ...metadata,
        [SIGNATURE_METADATA]: signDigest(options.resignWith, d, body),
        [SIGNATURE_ALGORITHM_METADATA]: SIGNATURE_ALGORITHM,
      }
    : metadata;
  await store.put(key, gzipSync(body), { metadata: newMetadata });
  return d;
}

/** Replaces a digest's signature with one made by another key, its content untouched. */
export async function resignDigest(store: ObjectStore, key: string, privateKey: KeyObject): Promise<void> {
  await editDigest(store, key, () => undefined, { resignWith: privateKey });
}

/** The trail the integrity tests tamper with: one account and region, quiet, 48 hours of signed digests. */
export const INTEGRITY_TRAIL = {
  bucket: 'trail-bucket',
  account: '111122223333',
  region: 'us-east-1',
  trailName: 'management-events',
  start: '2026-03-02T00:00:00Z',
} as const;

export function integrityScenario(overrides: Partial<TrailScenario> = {}): TrailScenario {
  return {
    seed: 7,
    start: INTEGRITY_TRAIL.start,
    hours: 48,
    accounts: [INTEGRITY_TRAIL.account],
    regions: [INTEGRITY_TRAIL.region],
    bucket: INTEGRITY_TRAIL.bucket,
    trailName: INTEGRITY_TRAIL.trailName,
    homeRegion: INTEGRITY_TRAIL.region,
    eventsPerMinute: 0.5,
    digests: true,
    recurringDeployBurst: false,
    bursts: [],
    securityEvents: false,
    ...overrides,
  };
}

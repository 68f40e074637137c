/**
 * The project's fixed sample signing key (sample-signing-key.pem, public by design) and the
 * ListPublicKeys-shaped file that lets a verifier find it. It signs generated sample trails only.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GeneratorError } from './errors.ts';

export const SAMPLE_KEY_URL = new URL('./sample-signing-key.pem', import.meta.url);

let cached: { privateKey: KeyObject; publicKeyDer: Buffer; fingerprint: string } | undefined;

/** The fixed sample signing key shipped with the project (sample use only) and its ListPublicKeys entry. */
export function sampleSigningKey(): { privateKey: KeyObject; publicKeyDer: Buffer; fingerprint: string } {
  if (cached) return cached;
  let pem: string;
  try {
    pem = readFileSync(SAMPLE_KEY_URL, 'utf8');
  } catch (err) {
    throw new GeneratorError(
      `expected the sample signing key at ${SAMPLE_KEY_URL.pathname}, could not read it`,
      {
        cause: err,
      },
    );
  }
  const privateKey = createPrivateKey(pem);
  // CloudTrail publishes PKCS#1 RSAPublicKey DER; its fingerprint is the MD5 of exactly those bytes.
  const publicKeyDer = createPublicKey(privateKey).export({ type: 'pkcs1', format: 'der' });
  cached = { privateKey, publicKeyDer, fingerprint: createHash('md5').update(publicKeyDer).digest('hex') };
  return cached;
}

/** RSASSA-PKCS1-v1_5 with SHA-256, hex: the digest signature CloudTrail stores as object metadata. */
export function signHex(privateKey: KeyObject, text: string): string {
  return sign('sha256', Buffer.from(text, 'utf8'), privateKey).toString('hex');
}

export interface PublicKeyEntry {
  Value: string;
  ValidityStartTime: string;
  ValidityEndTime: string;
  Fingerprint: string;
}

export function publicKeysDocument(validFrom: string, validTo: string): { PublicKeyList: PublicKeyEntry[] } {
  const k = sampleSigningKey();
  return {
    PublicKeyList: [
      {
        Value: k.publicKeyDer.toString('base64'),
        ValidityStartTime: validFrom,
        ValidityEndTime: validTo,
        Fingerprint: k.fingerprint,
      },
    ],
  };
}

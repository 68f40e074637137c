/** `--source` arguments: a folder laid out like a bucket, or `s3://bucket[/prefix]`. */
import { readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import {
  type PublicKeySource,
  parsePublicKeyList,
  publicKeysFromStore,
  StaticPublicKeySource,
} from '#shared/digest/public-keys.ts';
import type { ObjectStore } from '#shared/ports.ts';

export interface Source {
  store: ObjectStore;
  bucket: string;
  prefix: string;
  description: string;
}

/**
 * For a folder, the bucket name events and verdicts use: `--bucket` when given, else the one recorded by
 * `trailwatch generate` in its manifest, else the folder's name. Digests record the bucket they were written
 * to, so a wrong name would make every digest look moved.
 */
export async function openSource(arg: string, bucket?: string): Promise<Source> {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(arg);
  if (m) {
    const { S3ObjectStore, s3Client } = await import('#shared/adapters/s3-object-store.ts');
    const prefix = m[2] && !m[2].endsWith('/') ? `${m[2]}/` : m[2];
    return { store: new S3ObjectStore(s3Client(), m[1]), bucket: m[1], prefix, description: arg };
  }
  const root = resolve(arg);
  let name = bucket;
  if (!name) {
    try {
      name = (
        JSON.parse(readFileSync(join(root, 'trailwatch-manifest.json'), 'utf8')) as {
          scenario?: { bucket?: string };
        }
      ).scenario?.bucket;
    } catch {
      // no manifest: not a generated trail
    }
  }
  return {
    store: new FsObjectStore(root),
    bucket: name || basename(root) || 'local',
    prefix: '',
    description: root,
  };
}

/**
 * The public keys digests are checked against: a ListPublicKeys-shaped file when given (or `public-keys.json`
 * at the root of a local source, as the sample trail has), else CloudTrail's ListPublicKeys for S3 sources.
 */
export async function keysFor(source: Source, file?: string): Promise<PublicKeySource | undefined> {
  if (file) return new StaticPublicKeySource(parsePublicKeyList(readFileSync(file)));
  if (source.store instanceof FsObjectStore && (await source.store.head('public-keys.json'))) {
    return publicKeysFromStore(source.store, 'public-keys.json');
  }
  if (source.description.startsWith('s3://')) {
    const { cloudTrailPublicKeys } = await import('#shared/adapters/cloudtrail-public-keys.ts');
    return cloudTrailPublicKeys();
  }
  return undefined;
}

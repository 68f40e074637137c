/** `--source` arguments: a folder laid out like a bucket, or `s3://bucket[/prefix]`. */
import { basename, resolve } from 'node:path';
import { FsObjectStore } from '#shared/adapters/local-store.ts';
import type { ObjectStore } from '#shared/ports.ts';

export interface Source {
  store: ObjectStore;
  bucket: string;
  prefix: string;
  description: string;
}

export async function openSource(arg: string): Promise<Source> {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(arg);
  if (m) {
    const { S3ObjectStore, s3Client } = await import('#shared/adapters/aws-s3-store.ts');
    const prefix = m[2] && !m[2].endsWith('/') ? `${m[2]}/` : m[2];
    return { store: new S3ObjectStore(s3Client(), m[1]), bucket: m[1], prefix, description: arg };
  }
  const root = resolve(arg);
  return { store: new FsObjectStore(root), bucket: basename(root) || 'local', prefix: '', description: root };
}

/**
 * The ObjectStore port over Amazon S3 (or anything speaking its API: the endpoint comes from the SDK's own
 * configuration, `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`).
 */
import {
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  type BucketProtection,
  type GetOptions,
  type ObjectInfo,
  ObjectNotFoundError,
  type ObjectStore,
  PreconditionFailedError,
  type PutOptions,
  type StoredObject,
  StoreError,
} from '#shared/ports.ts';

/** One client per container, created on first use (endpoint and path style from the environment). */
let sharedClient: S3Client | undefined;
export function s3Client(): S3Client {
  // Emulators on an IP address need path-style requests; the SDK picks them for IPs, but not for hostnames.
  sharedClient ??= new S3Client({ forcePathStyle: process.env.AWS_S3_FORCE_PATH_STYLE === 'true' });
  return sharedClient;
}

function statusOf(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata?.httpStatusCode : undefined;
}

function isNotFound(err: unknown): boolean {
  const name = (err as Error)?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || statusOf(err) === 404;
}

export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  readonly bucket: string;
  private readonly client: S3Client;

  constructor(client: S3Client, bucket: string) {
    this.client = client;
    this.bucket = bucket;
    this.location = `s3://${bucket}`;
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      return infoOf(key, await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new StoreError(`HeadObject s3://${this.bucket}/${key} failed: ${(err as Error).message}`, key, {
        cause: err,
      });
    }
  }

  async get(key: string, options: GetOptions = {}): Promise<StoredObject> {
    try {
      const r = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(options.versionId ? { VersionId: options.versionId } : {}),
          ...(options.ifMatch && !options.versionId ? { IfMatch: options.ifMatch } : {}),
        }),
      );
      if (!r.Body) throw new StoreError(`GetObject s3://${this.bucket}/${key} returned no body`, key);
      return { ...infoOf(key, r), body: r.Body as AsyncIterable<Uint8Array> };
    } catch (err) {
      if (err instanceof StoreError) throw err;
      if (isNotFound(err))
        throw new ObjectNotFoundError(
          `no object at s3://${this.bucket}/${key}${options.versionId ? ` (version ${options.versionId})` : ''}`,
          key,
          { cause: err },
        );
      if (statusOf(err) === 412 || (err as Error)?.name === 'PreconditionFailed')
        throw new PreconditionFailedError(
          `s3://${this.bucket}/${key} no longer has ETag ${options.ifMatch}: it was rewritten`,
          key,
          { cause: err },
        );
      throw new StoreError(`GetObject s3://${this.bucket}/${key} failed: ${(err as Error).message}`, key, {
        cause: err,
      });
    }
  }

  async put(key: string, body: Uint8Array | string, options: PutOptions = {}): Promise<{ etag: string }> {
    try {
      const r = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ...(options.ifNoneMatch ? { IfNoneMatch: options.ifNoneMatch } : {}),
          ...(options.ifMatch ? { IfMatch: options.ifMatch } : {}),
          ...(options.metadata ? { Metadata: options.metadata } : {}),
          ...(options.contentType ? { ContentType: options.contentType } : {}),
          ...(options.contentEncoding ? { ContentEncoding: options.contentEncoding } : {}),
        }),
      );
      return { etag: r.ETag ?? '' };
    } catch (err) {
      const status = statusOf(err);
      // 409 ConditionalRequestConflict: a concurrent conditional write to the same key; same remedy as 412.
      if (status === 412 || status === 409 || (err as Error)?.name === 'PreconditionFailed') {
        throw new PreconditionFailedError(
          `conditional write to s3://${this.bucket}/${key} failed (${options.ifNoneMatch ? 'If-None-Match: *' : `If-Match: ${options.ifMatch}`})`,
          key,
          { cause: err },
        );
      }
      throw new StoreError(`PutObject s3://${this.bucket}/${key} failed: ${(err as Error).message}`, key, {
        cause: err,
      });
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async *list(prefix: string, options: { startAfter?: string } = {}): AsyncIterable<ObjectInfo> {
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          ...(token
            ? { ContinuationToken: token }
            : options.startAfter
              ? { StartAfter: options.startAfter }
              : {}),
        }),
      );
      for (const o of r.Contents ?? []) {
        if (!o.Key) continue;
        yield {
          key: o.Key,
          size: o.Size ?? 0,
          ...(o.ETag ? { etag: o.ETag } : {}),
          ...(o.LastModified ? { lastModified: o.LastModified } : {}),
        };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  async listFolders(prefix: string): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const r = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          Delimiter: '/',
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const p of r.CommonPrefixes ?? []) if (p.Prefix) out.push(p.Prefix);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort();
  }
}

/**
 * Versioning and Object Lock of a bucket. A bucket without Object Lock answers
 * ObjectLockConfigurationNotFoundError, which is an answer, not a failure.
 */
export async function s3BucketProtection(bucket: string, client = s3Client()): Promise<BucketProtection> {
  const v = await client.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  let objectLock = false;
  try {
    const lock = await client.send(new GetObjectLockConfigurationCommand({ Bucket: bucket }));
    objectLock = lock.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
  } catch (err) {
    if ((err as Error)?.name !== 'ObjectLockConfigurationNotFoundError' && statusOf(err) !== 404) throw err;
  }
  const status = v.Status === 'Enabled' || v.Status === 'Suspended' ? v.Status : 'Disabled';
  return { versioning: status, objectLock };
}

/** What HeadObject and GetObject both answer about an object. */
function infoOf(
  key: string,
  r: {
    ContentLength?: number;
    ETag?: string;
    VersionId?: string;
    LastModified?: Date;
    Metadata?: Record<string, string>;
  },
): ObjectInfo {
  return {
    key,
    size: r.ContentLength ?? 0,
    ...(r.ETag ? { etag: r.ETag } : {}),
    ...(r.VersionId && r.VersionId !== 'null' ? { versionId: r.VersionId } : {}),
    ...(r.LastModified ? { lastModified: r.LastModified } : {}),
    ...(r.Metadata && Object.keys(r.Metadata).length > 0 ? { metadata: lower(r.Metadata) } : {}),
  };
}

function lower(m: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k.toLowerCase(), v]));
}

const stores = new Map<string, ObjectStore>();
/** One store per bucket per container, over the shared client. */
export function s3Store(bucket: string): ObjectStore {
  let s = stores.get(bucket);
  if (!s) {
    s = new S3ObjectStore(s3Client(), bucket);
    stores.set(bucket, s);
  }
  return s;
}

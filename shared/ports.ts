/**
 * The small interfaces through which the domain reaches the outside world. AWS implementations live in
 * shared/adapters/ (the only code that imports the AWS SDK), local twins for the CLI in cli/adapters/.
 */

export interface ObjectInfo {
  key: string;
  size: number;
  etag?: string;
  /** S3 version id, when the bucket keeps versions. */
  versionId?: string;
  lastModified?: Date;
  /** S3 user metadata without the `x-amz-meta-` prefix, lower-case keys. */
  metadata?: Record<string, string>;
}

export interface StoredObject extends ObjectInfo {
  body: AsyncIterable<Uint8Array>;
}

export interface PutOptions {
  /** `'*'`: write only if no object exists at the key (S3 `If-None-Match: *`). */
  ifNoneMatch?: '*';
  /** Write only if the current object has this ETag (S3 `If-Match`). */
  ifMatch?: string;
  metadata?: Record<string, string>;
  contentType?: string;
  contentEncoding?: string;
}

/**
 * Which object to read: an S3 event names the exact version CloudTrail wrote (versionId on a versioned
 * bucket, its ETag otherwise), so a copy written over it later is never read in its place.
 */
export interface GetOptions {
  versionId?: string;
  /** Read only if the current object still has this ETag (S3 `If-Match`); else {@link PreconditionFailedError}. */
  ifMatch?: string;
}

/** Whether a bucket keeps what was written to it: versioning and Object Lock (GetBucketVersioning, GetObjectLockConfiguration). */
export interface BucketProtection {
  versioning: 'Enabled' | 'Suspended' | 'Disabled';
  objectLock: boolean;
}

/** One bucket (or one folder laid out like a bucket). */
export interface ObjectStore {
  /** Where this store points, for messages: `s3://bucket` or a folder path. */
  readonly location: string;
  /** Throws {@link ObjectNotFoundError} when the key (or version) does not exist. */
  get(key: string, options?: GetOptions): Promise<StoredObject>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Throws {@link PreconditionFailedError} when a condition does not hold. */
  put(key: string, body: Uint8Array | string, options?: PutOptions): Promise<{ etag: string }>;
  /** Keys in lexicographic order, like ListObjectsV2. */
  list(prefix: string, options?: { startAfter?: string }): AsyncIterable<ObjectInfo>;
  /** The immediate sub-folders of `prefix` (which ends with `/`), as full prefixes ending with `/`, sorted. */
  listFolders(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

export interface Notification {
  /** Topic ARN (or a local name when replaying). */
  topic: string;
  /** At most 100 printable ASCII characters (SNS's limit for email subjects). */
  subject: string;
  /** With `messageStructure: 'json'`, a JSON object of per-protocol variants including `default`. */
  message: string;
  messageStructure?: 'json';
  attributes: Record<string, string>;
  /** The AWS Chatbot custom notification (JSON) for the chat topic, when one is configured. */
  chat?: string;
}

export interface Notifier {
  publish(notification: Notification): Promise<void>;
}

export type MetricUnitName = 'Count' | 'Bytes' | 'Seconds' | 'Milliseconds' | 'None';

/** The part of Powertools Metrics the domain uses: any EMF writer fits. */
export interface MetricsSink {
  addMetric(name: string, unit: MetricUnitName, value: number): void;
  /**
   * A metric with dimensions of its own, published at once (Powertools `singleMetric`). Sinks without it
   * get the metric without the extra dimensions.
   */
  singleMetric?(): {
    addDimension(name: string, value: string): unknown;
    addMetric(name: string, unit: MetricUnitName, value: number): unknown;
  };
}

/** `name` with the extra dimensions where the sink supports them, else plain. */
export function addDimensionedMetric(
  metrics: MetricsSink,
  name: string,
  unit: MetricUnitName,
  value: number,
  dimensions: Record<string, string>,
): void {
  if (!metrics.singleMetric) {
    metrics.addMetric(name, unit, value);
    return;
  }
  const single = metrics.singleMetric();
  for (const [k, v] of Object.entries(dimensions)) single.addDimension(k, v);
  single.addMetric(name, unit, value);
}

export class StoreError extends Error {
  readonly key: string;
  constructor(message: string, key: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.key = key;
  }
}

export class ObjectNotFoundError extends StoreError {}

export class PreconditionFailedError extends StoreError {}

/** A key a store cannot hold safely (`..`, NUL, an over-long segment, a path leaving its root): skipped and counted. */
export class BadKeyError extends StoreError {}

/** The part of a structured logger the use cases use: Powertools Logger fits, and so does a silent one. */
export interface Log {
  info(message: string, ...attributes: Record<string, unknown>[]): void;
  warn(message: string, ...attributes: Record<string, unknown>[]): void;
  error(message: string, ...attributes: Record<string, unknown>[]): void;
}

/** A metrics sink that drops everything, for callers that do not publish metrics. */
export const noMetrics: MetricsSink = { addMetric() {} };

/** Reads a whole object; for small objects only (summaries, state, digests). */
export async function readAll(store: ObjectStore, key: string, options?: GetOptions): Promise<Buffer> {
  const obj = await store.get(key, options);
  const parts: Buffer[] = [];
  for await (const chunk of obj.body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/**
 * Ingest of one CloudTrail log file: stream its records once, feed every record to the summary and to the
 * record processors (rules), then commit. The summary object is the commit marker: it is written last,
 * only if absent, so a re-delivered or retried file is recognised and never counted twice, and a crash
 * before it leaves nothing half-written (the retry starts over).
 */

import type { TrailKey } from '#shared/keys.ts';
import { type LogFileError, readLogRecords, type ScanLimits, type ScanStats } from '#shared/logfile/read.ts';
import { LogFileError as LogFileErrorClass } from '#shared/logfile/scanner.ts';
import type { MetricsSink, ObjectStore } from '#shared/ports.ts';
import { PreconditionFailedError } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { type LogFileSummary, SummaryBuilder } from '#shared/summary.ts';

/** Something that looks at every record of a file and acts once the file is complete. */
export interface RecordProcessor<R = unknown> {
  onRecords(batch: CloudTrailRecord[]): void;
  /** Called once the whole file was read; its result is passed to `commit` hooks. */
  finish(): R;
}

export interface IngestSource {
  bucket: string;
  key: TrailKey;
  /** Size from the S3 event when known (zero-byte objects are skipped without a read). */
  size?: number;
}

export type IngestOutcome =
  | { status: 'ingested'; summary: LogFileSummary; summaryKey: string; processed: unknown[] }
  | { status: 'duplicate'; summaryKey: string }
  | { status: 'skipped'; reason: string }
  | { status: 'rejected'; reason: string; rejectionKey: string };

export interface IngestOptions {
  limits?: Partial<ScanLimits>;
  /** Runs after the whole file was read and before the summary is committed (e.g. publish alerts). */
  beforeCommit?: (summary: LogFileSummary, processed: unknown[]) => Promise<void>;
}

/** Where the summary of a log file lives in the state store: one object per source object. */
export function summaryKeyFor(bucket: string, key: string): string {
  return `summaries/${bucket}/${key.replace(/\.json\.gz$/, '')}.summary.json`;
}

/** Where a rejected file's verdict lives: visible, keyed by the file, rewritten identically on retry. */
export function rejectionKeyFor(bucket: string, key: string): string {
  return `rejected/${bucket}/${key.replace(/\.json\.gz$/, '')}.json`;
}

export async function ingestLogFile(
  deps: { source: ObjectStore; state: ObjectStore; metrics: MetricsSink },
  src: IngestSource,
  processors: RecordProcessor[],
  options: IngestOptions = {},
): Promise<IngestOutcome> {
  const { source, state, metrics } = deps;
  const key = src.key.key;
  if (src.size === 0) {
    metrics.addMetric('SkippedObjects', 'Count', 1);
    return { status: 'skipped', reason: 'zero-byte object' };
  }
  const summaryKey = summaryKeyFor(src.bucket, key);
  if (await state.head(summaryKey)) {
    metrics.addMetric('DuplicateDeliveries', 'Count', 1);
    return { status: 'duplicate', summaryKey };
  }

  const object = await source.get(key);
  if (object.size === 0) {
    metrics.addMetric('SkippedObjects', 'Count', 1);
    return { status: 'skipped', reason: 'zero-byte object' };
  }
  const builder = new SummaryBuilder(src.key.time);
  let stats: ScanStats;
  try {
    stats = await drain(
      readLogRecords(object.body, { compression: 'gzip', limits: options.limits, sizeHint: object.size }),
      (batch) => {
        for (const r of batch) builder.add(r);
        for (const p of processors) p.onRecords(batch);
      },
    );
  } catch (err) {
    if (!(err instanceof LogFileErrorClass)) throw err;
    return reject(deps, src, object.etag, object.size, err);
  }

  const summary = builder.build({
    source: { bucket: src.bucket, key, size: object.size, ...(object.etag ? { etag: object.etag } : {}) },
    account: src.key.account,
    region: src.key.region,
    ...(src.key.orgId ? { orgId: src.key.orgId } : {}),
    bytes: stats.bytes,
    badRecords: { invalid: stats.invalidRecords, oversized: stats.oversizedRecords.length },
  });
  const processed = processors.map((p) => p.finish());
  await options.beforeCommit?.(summary, processed);
  try {
    await state.put(summaryKey, JSON.stringify(summary), {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
  } catch (err) {
    // Another invocation committed the same file meanwhile: its summary is the same one.
    if (!(err instanceof PreconditionFailedError)) throw err;
    metrics.addMetric('DuplicateDeliveries', 'Count', 1);
    return { status: 'duplicate', summaryKey };
  }
  emitFileMetrics(metrics, summary);
  return { status: 'ingested', summary, summaryKey, processed };
}

async function drain<T, R>(it: AsyncGenerator<T, R>, each: (v: T) => void): Promise<R> {
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    each(r.value);
  }
}

function emitFileMetrics(metrics: MetricsSink, s: LogFileSummary): void {
  metrics.addMetric('FilesIngested', 'Count', 1);
  metrics.addMetric('Records', 'Count', s.records);
  metrics.addMetric('UncompressedBytes', 'Bytes', s.bytes);
  const bad = s.badRecords.invalid + s.badRecords.oversized + s.badRecords.missingFields;
  if (bad > 0) metrics.addMetric('BadRecords', 'Count', bad);
  if (s.lagSeconds) metrics.addMetric('DeliveryLagSeconds', 'Seconds', Math.max(0, s.lagSeconds.max));
}

async function reject(
  deps: { state: ObjectStore; metrics: MetricsSink },
  src: IngestSource,
  etag: string | undefined,
  size: number,
  err: LogFileError,
): Promise<IngestOutcome> {
  const rejectionKey = rejectionKeyFor(src.bucket, src.key.key);
  const verdict = {
    schema: 'trailwatch.rejection/1',
    source: { bucket: src.bucket, key: src.key.key, size, ...(etag ? { etag } : {}) },
    account: src.key.account,
    region: src.key.region,
    error: err.name,
    reason: err.message,
  };
  await deps.state.put(rejectionKey, JSON.stringify(verdict), { contentType: 'application/json' });
  deps.metrics.addMetric('RejectedFiles', 'Count', 1);
  return { status: 'rejected', reason: err.message, rejectionKey };
}

/**
 * The verify use case: a delivered digest (handed over by ingest) is checked with its signature, its link to
 * the previous digest and every log file it lists; hours deleted before its predecessor are inferred; any
 * failure is alerted; then the verdict is committed. The verdict object is the commit marker: written last,
 * only if absent, so a re-delivered digest neither re-alerts nor double-counts, and a crash before it
 * re-sends rather than loses the alert.
 */
import type { ObjectTamperInput } from '#shared/digest/bucket-tamper.ts';
import { missingBefore } from '#shared/digest/gaps.ts';
import type { KeyRing } from '#shared/digest/public-keys.ts';
import {
  breaksChain,
  chainIncidentStateKey,
  digestAlert,
  digestIncidentKey,
  failuresOf,
  tamperSubtypeOf,
} from '#shared/digest/tamper-alerts.ts';
import type { FileVerdict } from '#shared/digest/verdict.ts';
import { markVerified } from '#shared/digest/verified-files.ts';
import { type DigestReport, verifyDigest } from '#shared/digest/verify-digest.ts';
import { confirmVerified } from '#shared/insights/index.ts';
import { classifyKey, type TrailKey } from '#shared/keys.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { chainRecoveredAlert } from '#shared/notify/alert-kinds.ts';
import { reportTamper, summaryKeyFor } from '#shared/pipeline/ingest-log-files.ts';
import { type Delivery, routeDelivery } from '#shared/pipeline/routing.ts';
import {
  type GetOptions,
  type Log,
  type MetricsSink,
  type Notifier,
  ObjectNotFoundError,
  type ObjectStore,
  PreconditionFailedError,
  readAll,
} from '#shared/ports.ts';
import type { LogFileSummary } from '#shared/summary.ts';

export interface VerifyPorts {
  config: { alertTopicArn: string; maxFileBytes?: number };
  sourceStore(bucket: string): ObjectStore;
  state: ObjectStore;
  /** Public keys by region and time; one ring per container, so keys are fetched once per window. */
  keys: KeyRing;
  notifier: Notifier;
  logger: Log;
  metrics: MetricsSink;
}

export type VerifiedReport = DigestReport & { gaps?: FileVerdict[] };

export type VerifyOutcome =
  | { key: string; status: 'verified'; report: VerifiedReport; verdictKey: string; alerted: boolean }
  | { key: string; status: 'duplicate'; verdictKey: string }
  | { key: string; status: 'tampered'; tamper: ObjectTamperInput['tamper'] }
  | { key: string; status: 'ignored'; reason: string };

export function verdictKeyFor(bucket: string, key: string): string {
  return `verdicts/${bucket}/${key.replace(/\.json\.gz$/, '')}.json`;
}

const unquote = (etag: string | undefined) => etag?.replace(/"/g, '');

export async function verifyDeliveries(
  ports: VerifyPorts,
  deliveries: Delivery[],
): Promise<{ outcomes: VerifyOutcome[] }> {
  const outcomes: VerifyOutcome[] = [];
  for (const delivery of deliveries) {
    const r = routeDelivery(delivery);
    if (r.to !== 'verify') {
      outcomes.push({
        key: r.object.key,
        status: 'ignored',
        reason: r.to === 'ignore' ? r.reason : 'not a digest',
      });
      continue;
    }
    outcomes.push(
      await verifyOneDigest(ports, r.object.bucket, r.key, {
        ...(r.object.versionId ? { versionId: r.object.versionId } : {}),
        ...(r.object.etag ? { etag: r.object.etag } : {}),
      }),
    );
  }
  return { outcomes };
}

/** Store and key-source failures throw: the invocation is retried (and lands in the dead-letter queue after that). */
export async function verifyOneDigest(
  ports: VerifyPorts,
  bucket: string,
  digest: TrailKey,
  announced: { versionId?: string; etag?: string } = {},
): Promise<VerifyOutcome> {
  const { key } = digest;
  const { state, metrics, logger } = ports;
  const verdictKey = verdictKeyFor(bucket, key);
  if (await state.head(verdictKey)) {
    metrics.addMetric(METRIC.DuplicateDeliveries, 'Count', 1);
    // The same digest announced again with other content: rewritten after it was verified.
    const verdict = JSON.parse((await readAll(state, verdictKey)).toString('utf8')) as {
      object?: { etag?: string; versionId?: string };
    };
    const readEtag = unquote(verdict.object?.etag);
    if (announced.etag && readEtag && readEtag !== unquote(announced.etag)) {
      await reportTamper(ports, {
        tamper: 'overwritten',
        bucket,
        key,
        details: { verified: verdict.object, announced },
      });
      return { key, status: 'tampered', tamper: 'overwritten' };
    }
    return { key, status: 'duplicate', verdictKey };
  }

  const source = ports.sourceStore(bucket);
  const version: GetOptions = announced.versionId
    ? { versionId: announced.versionId }
    : announced.etag
      ? { ifMatch: `"${unquote(announced.etag)}"` }
      : {};
  let report: VerifiedReport;
  let object: { etag?: string; versionId?: string } = {};
  try {
    const info = await source.head(key);
    object = {
      ...(announced.etag || info?.etag ? { etag: unquote(announced.etag ?? info?.etag) } : {}),
      ...(announced.versionId ? { versionId: announced.versionId } : {}),
    };
    report = await verifyDigest(source, key, ports.keys, {
      bucket,
      region: digest.region,
      resolveStore: (b) => ports.sourceStore(b),
      version,
      ...(ports.config.maxFileBytes ? { maxFileBytes: ports.config.maxFileBytes } : {}),
    });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError) || err.key !== key) throw err;
    await reportTamper(ports, {
      tamper: 'replaced-before-read',
      bucket,
      key,
      details: { expected: announced, found: err.message },
    });
    return { key, status: 'tampered', tamper: 'replaced-before-read' };
  }
  // A missing predecessor may be one of several deleted in a row: every missing hour back to the newest
  // digest still in place is reported.
  if (report.previous?.code === 'not-found') {
    report.gaps = await missingBefore(source, bucket, digest, report.previous.key);
  }

  const alert = await alertChain(ports, bucket, digest, report);
  const verified = await markListedFiles(ports, report);

  try {
    await state.put(verdictKey, JSON.stringify({ ...verdictOf(digest, report), object }), {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    return { key, status: 'duplicate', verdictKey };
  }
  emitVerdictMetrics(metrics, report);
  if (verified > 0) metrics.addMetric(METRIC.LogFilesVerified, 'Count', verified);
  const failures = failuresOf(report);
  if (failures.length > 0) logger.error('digest validation failed', { bucket, key, failures });
  else logger.info('digest valid', { bucket, key, logFiles: report.logs.length });
  return { key, status: 'verified', report, verdictKey, alerted: alert };
}

interface ChainIncident {
  incidentKey: string;
  since: string;
}

/**
 * Publishes the digest's tamper alert, if any, keeping the chain's incident: a break opens one (remembered in
 * the state bucket) and every later break of the same chain joins it; the first digest that links again
 * closes it with a recovery naming the incident. State is written before the alert and removed after the
 * recovery, so a crash in between repeats a message rather than losing one.
 */
async function alertChain(
  ports: VerifyPorts,
  bucket: string,
  digest: TrailKey,
  report: VerifiedReport,
): Promise<boolean> {
  const { state, notifier } = ports;
  const topic = ports.config.alertTopicArn;
  const stateKey = chainIncidentStateKey(digest);
  const subtype = tamperSubtypeOf(report);
  const open = (await state.head(stateKey))
    ? (JSON.parse((await readAll(state, stateKey)).toString('utf8')) as ChainIncident)
    : undefined;
  if (subtype && breaksChain(subtype)) {
    let incident: ChainIncident = open ?? {
      incidentKey: digestIncidentKey(digest, bucket, subtype),
      since: digest.time.toISOString(),
    };
    if (!open) {
      try {
        await state.put(stateKey, JSON.stringify(incident), {
          ifNoneMatch: '*',
          contentType: 'application/json',
        });
      } catch (err) {
        // Another digest of the same chain opened the incident first: this break joins it.
        if (!(err instanceof PreconditionFailedError)) throw err;
        incident = JSON.parse((await readAll(state, stateKey)).toString('utf8')) as ChainIncident;
      }
    }
    const alert = digestAlert(topic, digest, report, incident.incidentKey);
    if (alert) await notifier.publish(alert);
    return alert !== undefined;
  }
  const alert = digestAlert(topic, digest, report);
  if (alert) await notifier.publish(alert);
  const linked = report.digest.status === 'valid' && report.previous?.status === 'valid';
  if (open && linked) {
    await notifier.publish(
      chainRecoveredAlert({
        topic,
        incidentKey: open.incidentKey,
        account: digest.account,
        region: digest.region,
        bucket,
        digestKey: digest.key,
        since: open.since,
      }),
    );
    await state.delete(stateKey);
  }
  return alert !== undefined;
}

/**
 * Each log file a valid digest lists with a matching hash: marked verified, compared with what ingest read
 * (a different hash there means ingest read other content than CloudTrail wrote: the file was rewritten and
 * put back), and its counts taken into the baselines. Before the verdict, so a retry redoes it.
 */
async function markListedFiles(ports: VerifyPorts, report: VerifiedReport): Promise<number> {
  const { state } = ports;
  const digestValid = report.digest.status === 'valid';
  if (!digestValid || !report.file) return 0;
  const hashes = new Map(
    report.file.logFiles.map((l) => [`${l.s3Bucket}/${l.s3Object}`, l.hashValue.toLowerCase()]),
  );
  const byPlace = new Map<
    string,
    { account: string; region: string; sources: { bucket: string; key: string }[] }
  >();
  const verified = new Map<string, string[]>();
  let n = 0;
  for (const log of report.logs) {
    if (log.status !== 'valid') continue;
    const sha256 = hashes.get(`${log.bucket}/${log.key}`);
    let summary: LogFileSummary | undefined;
    try {
      summary = JSON.parse(
        (await readAll(state, summaryKeyFor(log.bucket, log.key))).toString('utf8'),
      ) as LogFileSummary;
    } catch (err) {
      if (!(err instanceof ObjectNotFoundError)) throw err;
    }
    if (summary?.sha256 && sha256 && summary.sha256 !== sha256) {
      await reportTamper(ports, {
        tamper: 'overwritten',
        bucket: log.bucket,
        key: log.key,
        details: {
          digest: report.digest.key,
          listedSha256: sha256,
          ingestedSha256: summary.sha256,
          note: 'ingest read other content than the digest lists; the file now matches the digest again',
        },
      });
      continue;
    }
    const listed = verified.get(log.bucket) ?? [];
    listed.push(log.key);
    verified.set(log.bucket, listed);
    n++;
    const k = classifyKey(log.key);
    // Without a summary of its own the file may have come through batched ingest (its summary is in its
    // batch's object): the state knows whether it was applied unverified, so it is asked either way.
    if (k.kind !== 'log') continue;
    const id = `${k.account}/${k.region}`;
    const place = byPlace.get(id) ?? { account: k.account, region: k.region, sources: [] };
    place.sources.push({ bucket: log.bucket, key: log.key });
    byPlace.set(id, place);
  }
  for (const [bucket, keys] of verified) await markVerified(state, bucket, report.digest.key, keys);
  for (const p of byPlace.values()) await confirmVerified(state, p.account, p.region, p.sources);
  return n;
}

function verdictOf(digest: TrailKey, report: VerifiedReport) {
  return {
    schema: 'trailwatch.digest-verdict/1',
    account: digest.account,
    region: digest.region,
    digest: report.digest,
    previous: report.previous ?? null,
    gaps: report.gaps ?? [],
    logFiles: { total: report.logs.length, invalid: report.logs.filter((l) => l.status === 'invalid') },
    window: report.file ? { start: report.file.digestStartTime, end: report.file.digestEndTime } : null,
  };
}

function emitVerdictMetrics(metrics: MetricsSink, report: DigestReport): void {
  const digestValid = report.digest.status === 'valid' && report.previous?.status !== 'invalid';
  metrics.addMetric(digestValid ? METRIC.DigestsValid : METRIC.DigestsInvalid, 'Count', 1);
  const missing = report.logs.filter((l) => l.code === 'not-found').length;
  const invalid = report.logs.filter((l) => l.status === 'invalid').length - missing;
  metrics.addMetric(METRIC.LogFilesValid, 'Count', report.logs.length - invalid - missing);
  if (invalid > 0) metrics.addMetric(METRIC.LogFilesInvalid, 'Count', invalid);
  if (missing > 0) metrics.addMetric(METRIC.LogFilesMissing, 'Count', missing);
}

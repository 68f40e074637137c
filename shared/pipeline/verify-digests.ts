/**
 * The verify use case: a delivered digest (handed over by ingest) is checked with its signature, its link to
 * the previous digest and every log file it lists; hours deleted before its predecessor are inferred; any
 * failure is alerted; then the verdict is committed. The verdict object is the commit marker: written last,
 * only if absent, so a re-delivered digest neither re-alerts nor double-counts, and a crash before it
 * re-sends rather than loses the alert.
 */
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
import { type DigestReport, verifyDigest } from '#shared/digest/verify-digest.ts';
import type { TrailKey } from '#shared/keys.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { chainRecoveredAlert } from '#shared/notify/alert-kinds.ts';
import { type Delivery, routeDelivery } from '#shared/pipeline/routing.ts';
import {
  type Log,
  type MetricsSink,
  type Notifier,
  type ObjectStore,
  PreconditionFailedError,
  readAll,
} from '#shared/ports.ts';

export interface VerifyPorts {
  config: { alertTopicArn: string };
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
  | { key: string; status: 'ignored'; reason: string };

export function verdictKeyFor(bucket: string, key: string): string {
  return `verdicts/${bucket}/${key.replace(/\.json\.gz$/, '')}.json`;
}

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
    outcomes.push(await verifyOneDigest(ports, r.object.bucket, r.key));
  }
  return { outcomes };
}

/** Store and key-source failures throw: the invocation is retried (and lands in the dead-letter queue after that). */
export async function verifyOneDigest(
  ports: VerifyPorts,
  bucket: string,
  digest: TrailKey,
): Promise<VerifyOutcome> {
  const { key } = digest;
  const { state, metrics, logger } = ports;
  const verdictKey = verdictKeyFor(bucket, key);
  if (await state.head(verdictKey)) {
    metrics.addMetric(METRIC.DuplicateDeliveries, 'Count', 1);
    return { key, status: 'duplicate', verdictKey };
  }

  const source = ports.sourceStore(bucket);
  const report: VerifiedReport = await verifyDigest(source, key, ports.keys, {
    bucket,
    region: digest.region,
    resolveStore: (b) => ports.sourceStore(b),
  });
  // A missing predecessor may be one of several deleted in a row: every missing hour back to the newest
  // digest still in place is reported.
  if (report.previous?.code === 'not-found') {
    report.gaps = await missingBefore(source, bucket, digest, report.previous.key);
  }

  const alert = await alertChain(ports, bucket, digest, report);

  try {
    await state.put(verdictKey, JSON.stringify(verdictOf(digest, report)), {
      ifNoneMatch: '*',
      contentType: 'application/json',
    });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    return { key, status: 'duplicate', verdictKey };
  }
  emitVerdictMetrics(metrics, report);
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

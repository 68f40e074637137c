/**
 * Test support for Insights: a generated trail turned into log-file summaries, in delivery order, the way
 * ingest would write them.
 */
import { gunzipSync } from 'node:zlib';
import type { Delivery } from '#cli/generator/index.ts';
import type { ObjectStore } from '#shared/ports.ts';
import { readAll } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { type LogFileSummary, SummaryBuilder } from '#shared/summary.ts';

/** The summary of one delivered log file (gunzip, parse, SummaryBuilder). */
export async function summarizeDelivery(
  store: ObjectStore,
  bucket: string,
  d: Delivery,
): Promise<LogFileSummary> {
  const gz = await readAll(store, d.key);
  const text = gunzipSync(gz);
  const records = (JSON.parse(text.toString('utf8')) as { Records: CloudTrailRecord[] }).Records;
  const builder = new SummaryBuilder(new Date(d.deliveredAt));
  for (const r of records) builder.add(r);
  return builder.build({
    source: { bucket, key: d.key, size: gz.length },
    account: d.account,
    region: d.region,
    bytes: text.length,
    badRecords: { invalid: 0, oversized: 0 },
  });
}

/**
 * Attacks through the content of a log file, each through the ingest handler: a key spelled with a JSON
 * escape, fields of unexpected types, a 15 MB field, an event time in year 9999.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { lambdaContext } from '#cli/replay/events.ts';
import { ingestHandler } from '#functions/handlers.ts';
import { readState } from '#shared/insights/index.ts';
import { metricTotal, record, testPipeline } from '#test/support/logfiles.ts';
import { ACCOUNT, createdEvent, logKey, REGION, rootRecord, ruleAlerts } from '#test/support/security.ts';

const context = lambdaContext('trailwatch-ingest');
const at = new Date('2026-11-20T10:05:00Z');

async function ingest(text: string, p = testPipeline()) {
  const key = logKey(at);
  const body = gzipSync(text);
  await p.source.put(key, body);
  const result = await ingestHandler(p.deps)(createdEvent('trail', key, body, at), context);
  return { p, result, key };
}

describe('attack: hostile log file content', () => {
  it('"Rec\\u006frds" is the Records key, as JSON.parse and jq read it: no second array hides behind it', async () => {
    // Prepare: JSON.parse keeps the last of two equal keys, which holds the root activity
    const benign = JSON.stringify([record({ eventID: 'benign' })]);
    const hidden = JSON.stringify([rootRecord()]);
    const twoKeys = `{"Records":${benign},"Rec\\u006frds":${hidden}}`;
    expect(JSON.parse(twoKeys).Records[0].eventID).toBe('root-1');
    // Act
    const both = await ingest(twoKeys);
    const escapedOnly = await ingest(`{"Rec\\u006frds":${hidden}}`);
    // Assess: two Records arrays make the file unusable (rejected, counted) instead of read the wrong way;
    // the escaped key alone is read as Records and the root activity alerts
    expect(both.result.outcomes[0].status).toBe('rejected');
    expect(metricTotal(both.p.emf, 'RejectedFiles')).toBe(1);
    expect(escapedOnly.result.outcomes[0].status).toBe('ingested');
    expect(ruleAlerts(escapedOnly.p.notifier.sent, 'CloudWatch.1')).toHaveLength(1);
  });

  it('userIdentity.arn as an object does not crash the file: every record is counted, the alert goes out', async () => {
    // Prepare
    const odd = rootRecord({ eventID: 'odd' });
    (odd.userIdentity as Record<string, unknown>).arn = { not: 'a string' };
    (odd.userIdentity as Record<string, unknown>).userName = ['x'];
    // Act
    const { p, result } = await ingest(JSON.stringify({ Records: [odd, record({ eventID: 'ok' })] }));
    // Assess
    expect(result.outcomes[0].status).toBe('ingested');
    expect((result.outcomes[0] as { summary: { records: number } }).summary.records).toBe(2);
    expect(ruleAlerts(p.notifier.sent, 'CloudWatch.1')).toHaveLength(1);
  });

  it('a 15 MB userAgent becomes a few hundred characters in the summary and the state', async () => {
    // Prepare
    const huge = 'A'.repeat(15 * 1024 * 1024);
    // Act
    const { p, result } = await ingest(JSON.stringify({ Records: [record({ userAgent: huge })] }));
    // Assess
    expect(result.outcomes[0].status).toBe('ingested');
    const [summaryKey] = [...p.state.objects.keys()].filter((k) => k.startsWith('summaries/'));
    expect(p.state.objects.get(summaryKey)!.body.byteLength).toBeLessThan(20_000);
    const stateKey = [...p.state.objects.keys()].find((k) => k.startsWith('insights/state/'))!;
    expect(p.state.objects.get(stateKey)!.body.byteLength).toBeLessThan(20_000);
    const summary = JSON.parse(Buffer.from(p.state.objects.get(summaryKey)!.body).toString());
    expect(summary.topUserAgents[0].value).toMatch(/^A{100,}…$/);
  });

  it('an eventTime in year 9999 is counted and kept out of the summary counts and the baselines', async () => {
    // Prepare
    const future = record({ eventID: 'future', eventTime: '9999-12-31T23:59:59Z' });
    const ancient = record({ eventID: 'ancient', eventTime: '1999-01-01T00:00:00Z' });
    // Act
    const { p, result } = await ingest(
      JSON.stringify({ Records: [future, ancient, record({ eventID: 'now' })] }),
    );
    // Assess
    const summary = (
      result.outcomes[0] as { summary: { badRecords: { outOfRange: number }; newestEventTime: string } }
    ).summary;
    expect(summary.badRecords.outOfRange).toBe(2);
    expect(summary.newestEventTime).toBe('2026-11-20T10:01:30Z');
    expect(metricTotal(p.emf, 'EventTimesOutOfRange')).toBe(2);
    const state = await readState(p.state, ACCOUNT, REGION);
    expect(state?.coverage?.[1]).toBe(Date.parse('2026-11-20T10:01:00Z') / 60_000);
    expect(JSON.stringify(state)).not.toContain('9999');
  });
});

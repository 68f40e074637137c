import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { collectReport, renderReport } from '#cli/report/insights-report.ts';
import { detect, seedBaselines } from '#shared/insights/index.ts';
import { parseInsightRecords, writeInsightFile } from '#shared/insights/insight-records.ts';
import { ACCOUNT, background, calls, MINUTE, REGION, summaryOf } from '#test/fixtures/insights/synthetic.ts';

const awsLookup = readFileSync(
  new URL('../fixtures/insights/aws-lookup-events-insight.json', import.meta.url),
  'utf8',
);

describe('insights report', () => {
  it('charts an insight known only from its Insights file, at its recorded rates', async () => {
    // Prepare
    const store = new MemoryObjectStore();
    const records = parseInsightRecords(awsLookup);
    await writeInsightFile(store, {
      account: '123456789012',
      region: 'us-east-1',
      time: new Date('2019-10-15T21:20:00Z'),
      records,
    });
    // Act
    const data = await collectReport(store, { now: new Date('2019-10-16T00:00:00Z') });
    const html = renderReport(data);
    // Assess
    expect(data.insights).toHaveLength(1);
    const [i] = data.insights;
    expect(i).toMatchObject({ basis: 'records', eventName: 'CompleteLifecycleAction', insightAverage: 0.6 });
    expect(i.principals.map((p) => p.value)).toContain(
      'arn:aws:sts::012345678901:assumed-role/CodeDeployRole1',
    );
    expect(i.points.find((p) => p.t === i.start)?.count).toBe(0.6);
    expect(html.match(/<svg class="insight-chart"/g)).toHaveLength(1);
    expect(html).toContain('class="rate"');
  });

  it('charts an insight from the detection state when no summaries are at hand, and escapes names', async () => {
    // Prepare
    const start = Date.parse('2026-03-02T00:00:00Z');
    const T = start + 8 * 24 * 60 * MINUTE + 14 * 60 * MINUTE;
    const state = new MemoryObjectStore('state');
    await seedBaselines(state, background(start, 8, 1), { now: new Date(T) });
    const burst = [0, 1, 2].flatMap((m) =>
      calls({ at: T + m * MINUTE, source: 'iam.amazonaws.com', name: 'Create<b>Role', count: 9 }),
    );
    await detect(state, {
      account: ACCOUNT,
      region: REGION,
      now: new Date(T + 8 * MINUTE),
      summaries: [summaryOf(burst, T + 7 * MINUTE)],
    });
    // Act
    const data = await collectReport(state, { now: new Date(T + 10 * MINUTE) });
    const html = renderReport(data);
    // Assess
    expect(data.insights).toHaveLength(1);
    const [i] = data.insights;
    expect(i.basis).toBe('state');
    expect(i.end).toBeUndefined();
    expect(i.points.find((p) => p.t === T / MINUTE)?.count).toBe(9);
    expect(i.points.find((p) => p.t === T / MINUTE)?.threshold).toBeGreaterThanOrEqual(5);
    expect(html).toContain('Create&#60;b&#62;Role');
    expect(html).not.toContain('Create<b>Role');
    expect(html).toContain('(open)');
  });
});

import { describe, expect, it } from 'vitest';
import { CapturingMetrics } from '#cli/adapters/emf-file-metrics.ts';
import { addDimensionedMetric, type MetricsSink } from '#shared/ports.ts';

describe('addDimensionedMetric', () => {
  it('publishes the metric with its own dimensions, beside the service dimension, in a document of its own', () => {
    // Prepare
    const docs: Record<string, unknown>[] = [];
    const metrics = new CapturingMetrics(
      { namespace: 'Trailwatch', serviceName: 'trailwatch' },
      {
        append: (d) => docs.push(d as Record<string, unknown>),
      },
    );

    // Act
    addDimensionedMetric(metrics, 'RuleMatchesSuppressed', 'Count', 3, { rule: 'TW.3' });

    // Assess
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ RuleMatchesSuppressed: 3, rule: 'TW.3', service: 'trailwatch' });
    const aws = docs[0]._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
    expect(aws.CloudWatchMetrics[0].Namespace).toBe('Trailwatch');
    expect(aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(expect.arrayContaining(['service', 'rule']));
  });

  it('falls back to the plain metric on a sink without dimensions', () => {
    // Prepare
    const seen: [string, number][] = [];
    const sink: MetricsSink = { addMetric: (name, _unit, value) => seen.push([name, value]) };

    // Act
    addDimensionedMetric(sink, 'RuleMatchesSuppressed', 'Count', 2, { rule: 'TW.3' });

    // Assess
    expect(seen).toEqual([['RuleMatchesSuppressed', 2]]);
  });
});

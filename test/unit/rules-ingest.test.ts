import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#shared/adapters/local-store.ts';
import { ingestLogFile } from '#shared/ingest/ingest-file.ts';
import { classifyKey, logFileKey, type TrailKey } from '#shared/keys.ts';
import { alertData } from '#shared/notify/alert.ts';
import { buildRuleNotifications } from '#shared/notify/rules.ts';
import type { MetricsSink, Notification } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import type { RuleMatches } from '#shared/rules/evaluate.ts';
import { emitRuleMetrics, ruleProcessor } from '#shared/rules/ingest.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const stratus = resolve(repoRoot, '../shared/data/stratus-detonation-logs');
const load = (name: string) =>
  JSON.parse(readFileSync(resolve(stratus, `${name}.json`), 'utf8')) as CloudTrailRecord[];

describe('rules inside ingest', () => {
  it('evaluates every record of a log file, emits one metric per matched rule and builds alerts before commit', async () => {
    // Prepare
    const records = [
      ...load('aws.defense-evasion.organizations-leave'),
      ...load('aws.defense-evasion.cloudtrail-stop'),
    ];
    const key = logFileKey({
      account: '307578594326',
      region: 'euiso-south-3r',
      time: new Date('2024-08-02T08:35:00Z'),
      unique: 'Xy12Xy12Xy12Xy12',
    });
    const source = new MemoryObjectStore('trail');
    await source.put(key, gzipSync(JSON.stringify({ Records: records })));
    const metrics: [string, number][] = [];
    const sink: MetricsSink = { addMetric: (name, _unit, value) => metrics.push([name, value]) };
    const published: Notification[] = [];

    // Act
    const outcome = await ingestLogFile(
      { source, state: new MemoryObjectStore('state'), metrics: { addMetric() {} } },
      { bucket: 'trail', key: classifyKey(key) as TrailKey },
      [ruleProcessor()],
      {
        beforeCommit: async (summary, [matches]) => {
          emitRuleMetrics(sink, matches as RuleMatches[]);
          published.push(
            ...buildRuleNotifications(matches as RuleMatches[], {
              topic: 'alerts',
              source: summary.source,
              account: summary.account,
              region: summary.region,
            }),
          );
        },
      },
    );

    // Assess
    expect(outcome.status).toBe('ingested');
    expect(metrics.sort()).toEqual([
      ['CloudTrailChanges', 1],
      ['OrganizationsChanges', 1],
      ['UnauthorizedApiCalls', 1],
      ['UnauthorizedApiCallsStrict', 1],
    ]);
    expect(published.map((n) => n.attributes.rule)).toEqual([
      'CloudWatch.5',
      'CIS.4.15',
      'CIS.4.1',
      'CloudWatch.2',
    ]);
    const org = published.find((n) => n.attributes.rule === 'CIS.4.15')!;
    expect(org.subject).toBe(
      '[HIGH] AWS Organizations changed by stratus-red-team-leave-org-role (307578594326, euiso-south-3r)',
    );
    expect(alertData(org.message)).toMatchObject({ logFile: { bucket: 'trail', key }, count: 1 });
  });

  it('keeps one evaluator per processor, so files never share counts', () => {
    // Prepare
    const a = ruleProcessor();
    const b = ruleProcessor();

    // Act
    a.onRecords(load('aws.defense-evasion.cloudtrail-stop'));
    a.onRecords(load('aws.defense-evasion.cloudtrail-delete'));

    // Assess
    expect(a.finish().map((m) => [m.rule.id, m.count])).toEqual([['CloudWatch.5', 2]]);
    expect(b.finish()).toEqual([]);
    expect(a.evaluator.records).toBe(2);
  });
});

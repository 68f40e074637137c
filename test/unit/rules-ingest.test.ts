import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '#cli/adapters/fs-object-store.ts';
import { classifyKey, logFileKey, type TrailKey } from '#shared/keys.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import { ingestLogFile, readAndEvaluate } from '#shared/pipeline/ingest-log-files.ts';
import type { MetricsSink } from '#shared/ports.ts';
import { catalogRules } from '#shared/rules/load.ts';
import { stratusRecords, testPipeline } from '#test/support/logfiles.ts';

describe('rules inside ingest', () => {
  it('evaluates every record of a log file, emits one metric per matched rule and builds alerts before commit', async () => {
    // Prepare
    const records = [
      ...stratusRecords('aws.defense-evasion.organizations-leave'),
      ...stratusRecords('aws.defense-evasion.cloudtrail-stop'),
    ];
    const key = logFileKey({
      account: '307578594326',
      region: 'euiso-south-3r',
      time: new Date('2024-08-02T08:35:00Z'),
      unique: 'Xy12Xy12Xy12Xy12',
    });
    const p = testPipeline();
    await p.source.put(key, gzipSync(JSON.stringify({ Records: records })));
    const metrics: [string, number][] = [];
    const sink: MetricsSink = { addMetric: (name, _unit, value) => metrics.push([name, value]) };

    // Act
    const outcome = await ingestLogFile(
      { ...p.deps, rules: catalogRules(), metrics: sink },
      { bucket: 'trail', key: classifyKey(key) as TrailKey },
    );
    const published = p.notifier.sent.filter((n) => n.attributes.rule);

    // Assess
    expect(outcome.status).toBe('ingested');
    expect(
      metrics
        .filter(([name]) =>
          [
            'CloudTrailChanges',
            'OrganizationsChanges',
            'UnauthorizedApiCalls',
            'UnauthorizedApiCallsStrict',
          ].includes(name),
        )
        .sort(),
    ).toEqual([
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
    // AWS denied the LeaveOrganization call, so the subject names the attempt rather than a change; the
    // caller outranks the region when both do not fit.
    expect(org.subject).toBe(
      '[HIGH] LeaveOrganization refused: AccessDenied by stratus-red-team-leave-org-role (307578594326)',
    );
    expect(alertData(org.message)).toMatchObject({ logFile: { bucket: 'trail', key }, count: 1 });
  });

  it('evaluates each file on its own, so files never share counts', async () => {
    // Prepare
    const source = new MemoryObjectStore('trail');
    const keyA = logFileKey({
      account: '307578594326',
      region: 'us-east-1',
      time: new Date('2024-08-02T08:35:00Z'),
      unique: 'AAAAAAAAAAAAAAAA',
    });
    const keyB = logFileKey({
      account: '307578594326',
      region: 'us-east-1',
      time: new Date('2024-08-02T08:40:00Z'),
      unique: 'BBBBBBBBBBBBBBBB',
    });
    await source.put(
      keyA,
      gzipSync(
        JSON.stringify({
          Records: [
            ...stratusRecords('aws.defense-evasion.cloudtrail-stop'),
            ...stratusRecords('aws.defense-evasion.cloudtrail-delete'),
          ],
        }),
      ),
    );
    const textB = JSON.stringify({
      Records: stratusRecords('aws.discovery.ec2-download-user-data').slice(0, 3),
    });
    await source.put(keyB, gzipSync(textB));

    // Act
    const a = await readAndEvaluate(
      source,
      { bucket: 'trail', key: classifyKey(keyA) as TrailKey },
      catalogRules(),
    );
    const b = await readAndEvaluate(
      source,
      { bucket: 'trail', key: classifyKey(keyB) as TrailKey },
      catalogRules(),
    );

    // Assess
    if (a.status !== 'read' || b.status !== 'read') throw new Error('expected both files read');
    expect(a.matches.filter((m) => m.count > 0).map((m) => [m.rule.id, m.count])).toEqual([
      ['CloudWatch.5', 2],
    ]);
    expect(b.matches.filter((m) => m.rule.id === 'CloudWatch.5')).toEqual([]);
    expect(a.summary.records).toBe(2);
    // The hash a digest lists: SHA-256 of the uncompressed bytes, not of the gzip object.
    expect(b.hash).toBe(createHash('sha256').update(textB).digest('hex'));
    expect(a.hash).not.toBe(b.hash);
  });
});

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { classifyKey } from '#shared/keys.ts';
import { route } from '#shared/pipeline/routing.ts';

const require = createRequire(import.meta.url);
const triggers = require('#deploy/triggers.cjs') as {
  triggerResources(
    params: Record<string, unknown>,
    generated?: string[],
  ): { Resources: Record<string, unknown> };
};

describe('organization trail keys', () => {
  // The layout AWS documents for organization trails: bucket/prefix/AWSLogs/O-ID/ACCOUNT/CloudTrail/REGION/...
  const log =
    'org/AWSLogs/o-exampleorgid/111111111111/CloudTrail/us-east-1/2026/11/20/111111111111_CloudTrail_us-east-1_20261120T1005Z_Ab3dEf6hIj9kLm0n.json.gz';
  const digest =
    'org/AWSLogs/o-exampleorgid/111111111111/CloudTrail-Digest/us-east-1/2026/11/20/111111111111_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20261120T101502Z.json.gz';

  it('reads the organization id, member account and region of a log file', () => {
    const k = classifyKey(log);
    expect(k).toMatchObject({
      kind: 'log',
      prefix: 'org/',
      orgId: 'o-exampleorgid',
      account: '111111111111',
      region: 'us-east-1',
      day: '2026/11/20',
    });
  });

  it('routes the log file to ingest and the digest to verify', () => {
    expect(route('log-archive', log).to).toBe('ingest');
    expect(route('log-archive', digest).to).toBe('verify');
  });

  it('does not take an account folder for an organization id, or the reverse', () => {
    expect(classifyKey(log.replace('o-exampleorgid/', 'o-x/')).kind).toBe('other');
    expect(classifyKey(log.replace('/111111111111/', '/o-exampleorgid2/')).kind).toBe('other');
  });
});

describe('trigger parameters', () => {
  it('refuses an unknown trigger, a queue trigger without a queue ARN, and a malformed key ARN, naming the parameter', () => {
    const base = { trailBucket: 'b' };
    expect(() => triggers.triggerResources({ ...base, trigger: 'lambda' })).toThrow(/parameter trigger/);
    expect(() => triggers.triggerResources({ ...base, trigger: 'sqs' })).toThrow(/parameter trailQueueArn/);
    expect(() => triggers.triggerResources({ ...base, trailKmsKeyArn: 'alias/aws/s3' })).toThrow(
      /parameter trailKmsKeyArn/,
    );
    expect(() =>
      triggers.triggerResources({ ...base, trigger: 'eventbridge', batchSize: 50, batchWindowSeconds: 0 }),
    ).toThrow(/parameter batchSize/);
  });

  it('creates no queue, rule or mapping with the default trigger', () => {
    const { Resources } = triggers.triggerResources({ trailBucket: 'b' });
    expect(Object.keys(Resources).sort()).toEqual(['DetectShardsInvoke', 'WatchdogShardsInvoke']);
  });
});

import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asList, packageStack, resourcesOfType, type Template } from '#test/support/template.ts';

const KEY = 'arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const QUEUE = 'arn:aws:sqs:eu-west-1:444455556666:org-trail-deliveries';
const dirs: string[] = [];
let eventbridge: Template;
let sqs: Template;

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

beforeAll(async () => {
  // One after the other: two bundling runs at once starve a small machine.
  const a = await packageStack({
    trailBucket: 'org-log-archive',
    trailPrefix: 'org/',
    trigger: 'eventbridge',
    batchSize: '500',
    batchWindowSeconds: '30',
    trailKmsKeyArn: KEY,
    noncurrentVersionDays: '5',
    rejectedDays: '30',
  });
  const b = await packageStack({ trailBucket: 'org-log-archive', trigger: 'sqs', trailQueueArn: QUEUE });
  dirs.push(a.dir, b.dir);
  eventbridge = a.template;
  sqs = b.template;
}, 360_000);

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
const conditionHolds = (t: Template & { Conditions?: any }, name: string) => {
  const [a, b] = t.Conditions[name]['Fn::Equals'];
  return a === b;
};

describe('osls package with trigger=eventbridge and trailKmsKeyArn', () => {
  it('matches the trail bucket objects created or deleted under the prefix with an EventBridge rule into a queue', () => {
    const rule = eventbridge.Resources.TrailObjectEventsRule;
    expect(rule.Type).toBe('AWS::Events::Rule');
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created', 'Object Deleted'],
      detail: { bucket: { name: ['org-log-archive'] }, object: { key: [{ prefix: 'org/AWSLogs/' }] } },
    });
    expect(rule.Properties.Targets).toEqual([
      { Id: 'ingest-queue', Arn: { 'Fn::GetAtt': ['IngestQueue', 'Arn'] } },
    ]);
    const policy = eventbridge.Resources.IngestQueuePolicy.Properties.PolicyDocument.Statement[0];
    expect(policy.Principal).toEqual({ Service: 'events.amazonaws.com' });
    expect(policy.Condition.ArnEquals['aws:SourceArn']).toEqual({
      'Fn::GetAtt': ['TrailObjectEventsRule', 'Arn'],
    });
  });

  it('leaves the bucket notification configuration alone: the S3 custom resource is switched off', () => {
    const [[id, custom]] = resourcesOfType(eventbridge, 'Custom::S3');
    expect(custom.Condition, id).toBe('UsesBucketNotification');
    expect(conditionHolds(eventbridge, 'UsesBucketNotification')).toBe(false);
  });

  it('feeds ingest from the queue in batches with a partial batch response', () => {
    const mapping = eventbridge.Resources.IngestQueueEventSource.Properties;
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': ['IngestQueue', 'Arn'] });
    expect(mapping.FunctionName).toEqual({ Ref: 'IngestLambdaFunction' });
    expect(mapping.BatchSize).toBe(500);
    expect(mapping.MaximumBatchingWindowInSeconds).toBe(30);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const queue = eventbridge.Resources.IngestQueue.Properties;
    expect(queue.RedrivePolicy.deadLetterTargetArn).toEqual({
      'Fn::GetAtt': ['IngestQueueDeadLetters', 'Arn'],
    });
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * 300);
  });

  it('lets exactly the trail bucket readers decrypt with exactly the trail key, and nothing else', () => {
    const policies = resourcesOfType(eventbridge, 'AWS::IAM::Policy').filter(([, p]) =>
      p.Properties.PolicyDocument.Statement.some((s: { Resource: unknown }) =>
        asList(s.Resource).includes(KEY),
      ),
    );
    expect(policies).toHaveLength(1);
    const [, policy] = policies[0];
    expect(policy.Properties.Roles).toEqual([
      { Ref: 'IngestIamRoleLambdaExecution' },
      { Ref: 'VerifyIamRoleLambdaExecution' },
    ]);
    expect(policy.Properties.PolicyDocument.Statement).toEqual([
      { Effect: 'Allow', Action: ['kms:Decrypt'], Resource: KEY },
    ]);
  });

  it('expires every state prefix, and old versions, after the days given', () => {
    const rules: {
      Id: string;
      Prefix?: string;
      ExpirationInDays?: number;
      NoncurrentVersionExpiration?: object;
    }[] = eventbridge.Resources.StateBucket.Properties.LifecycleConfiguration.Rules;
    const byPrefix = Object.fromEntries(
      rules.filter((r) => r.Prefix).map((r) => [r.Prefix, r.ExpirationInDays]),
    );
    expect(byPrefix).toEqual({
      'summaries/': 400,
      'verdicts/': 400,
      'rejected/': 30,
      'alert-windows/': 7,
      'AWSLogs/': 400,
      'verified/': 7,
      'unlisted/': 7,
      'insights/parked/': 3,
    });
    expect(rules.find((r) => r.NoncurrentVersionExpiration)?.NoncurrentVersionExpiration).toEqual({
      NoncurrentDays: 5,
    });
    // What must never go by age: the current state of each account-region, alerts not sent yet, and
    // digest-chain incidents still open.
    for (const kept of ['insights/state/', 'insights/active/', 'outbox/', 'chain-incidents/']) {
      expect(rules.some((r) => r.Prefix !== undefined && kept.startsWith(r.Prefix))).toBe(false);
    }
  });

  it('never lets a verified or unlisted mark expire within the watchdog look-back', () => {
    const { lifecycleConfiguration, LifecycleConfigError } = createRequire(import.meta.url)(
      '../../deploy/lifecycle.cjs',
    ) as {
      lifecycleConfiguration(p: Record<string, number>): {
        Rules: { Prefix?: string; ExpirationInDays?: number }[];
      };
      LifecycleConfigError: new () => Error;
    };
    expect(() => lifecycleConfiguration({ verifiedMarksDays: 3 })).toThrow(LifecycleConfigError);
    expect(() => lifecycleConfiguration({ unlistedMarksDays: 2 })).toThrow(/unlistedMarksDays.*4-36500/);
    const rules = lifecycleConfiguration({ verifiedMarksDays: 4 }).Rules;
    expect(rules.find((r) => r.Prefix === 'verified/')?.ExpirationInDays).toBe(4);
    // Parked summaries must outlive the day a shard without a status looks back for them.
    expect(() => lifecycleConfiguration({ parkedSummariesDays: 1 })).toThrow(/parkedSummariesDays.*2-36500/);
  });
});

describe('osls package with trigger=sqs', () => {
  it('consumes the existing queue in batches, creates no queue or rule of its own', () => {
    const mapping = sqs.Resources.IngestQueueEventSource.Properties;
    expect(mapping.EventSourceArn).toBe(QUEUE);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(mapping.BatchSize).toBe(100);
    expect(mapping.MaximumBatchingWindowInSeconds).toBe(60);
    expect(sqs.Resources.IngestQueue).toBeUndefined();
    expect(sqs.Resources.TrailObjectEventsRule).toBeUndefined();
    const consume = sqs.Resources.IngestQueueConsume.Properties;
    expect(consume.Roles).toEqual([{ Ref: 'IngestIamRoleLambdaExecution' }]);
    expect(consume.PolicyDocument.Statement[0].Resource).toBe(QUEUE);
    expect(conditionHolds(sqs, 'UsesBucketNotification')).toBe(false);
  });

  it('grants no KMS decrypt on any trail key when none is given', () => {
    expect(sqs.Resources.TrailKeyDecryptPolicy).toBeUndefined();
  });
});

import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRules } from '#shared/rules/load.ts';
import type { Rule } from '#shared/rules/rule-types.ts';
import {
  asList,
  packageStack,
  resourcesOfType,
  statementsOf,
  type Template,
} from '#test/support/template.ts';

/** Not the default: proves the parameter, not a constant, decides where metrics and alarms meet. */
const NAMESPACE = 'Acme/TrailwatchProd';
const RUNBOOK = 'https://wiki.example.com/trailwatch/{ruleId}';

/** Catalog and custom rules page through an alarm; pack and Sigma rules only when HIGH or CRITICAL. */
const isAlarmed = (r: Rule) =>
  (r.origin !== 'pack' && !r.sigma) || r.severity === 'HIGH' || r.severity === 'CRITICAL';
let template: Template;
let dir: string;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(async () => {
  ({ template, dir } = await packageStack({
    trailBucket: 'acme-trail',
    trailPrefix: 'org/',
    alertEmail: 'oncall@example.com',
    metricsNamespace: NAMESPACE,
    chatNotifications: 'true',
    runbookUrl: RUNBOOK,
  }));
}, 180_000);

describe('osls package: the CloudFormation template', () => {
  it('stays within CloudFormation quotas: 500 resources, a 1 MB template body uploaded through S3', () => {
    // Every rule alarm is a resource: pack and Sigma rules below HIGH get none, which keeps this true.
    const resources = Object.keys(template.Resources).length;
    const bytes = statSync(join(dir, 'cloudformation-template-update-stack.json')).size;
    expect(resources).toBeLessThanOrEqual(500);
    expect(bytes).toBeLessThanOrEqual(1_000_000);
  });

  it('creates no Athena table unless the athenaTable parameter asks for it', () => {
    expect(resourcesOfType(template, 'AWS::Glue::Table')).toEqual([]);
    expect(resourcesOfType(template, 'AWS::Glue::Database')).toEqual([]);
  });

  it('has the ingest function on Node 22, triggered by ObjectCreated and ObjectRemoved on the existing trail bucket and prefix', () => {
    const fn = template.Resources.IngestLambdaFunction;
    expect(fn.Properties.Runtime).toBe('nodejs22.x');
    expect(fn.Properties.Handler).toBe('functions/ingest.handler');
    const [, trigger] = resourcesOfType(template, 'Custom::S3')[0];
    expect(trigger.Properties.BucketName).toBe('acme-trail');
    expect(trigger.Properties.FunctionName).toBe('trailwatch-test-ingest');
    expect(trigger.Properties.BucketConfigs).toEqual([
      { Event: 's3:ObjectCreated:*', Rules: [{ Prefix: 'org/AWSLogs/' }, { Suffix: '.json.gz' }] },
      { Event: 's3:ObjectRemoved:*', Rules: [{ Prefix: 'org/AWSLogs/' }, { Suffix: '.json.gz' }] },
    ]);
    // the version an event names is read: GetObjectVersion on the trail prefix
    const reads = statementsOf(template.Resources.IngestIamRoleLambdaExecution).find(
      (s) => s.Resource === 'arn:aws:s3:::acme-trail/org/AWSLogs/*',
    );
    expect(asList(reads!.Action)).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
  });

  it('gives ingest a least-privilege role: no * resource on any S3 action, reads only the trail prefix', () => {
    const role = template.Resources.IngestIamRoleLambdaExecution;
    const statements = statementsOf(role);
    const s3 = statements.filter((s) => asList(s.Action).some((a) => a.startsWith('s3:')));
    expect(s3.length).toBeGreaterThan(0);
    for (const s of s3) {
      for (const r of asList(s.Resource)) expect(r).not.toBe('*');
      expect(asList(s.Action)).not.toContain('s3:*');
    }
    const trailRead = s3.find(
      (s) => asList(s.Action).includes('s3:GetObject') && typeof s.Resource === 'string',
    );
    expect(trailRead?.Resource).toBe('arn:aws:s3:::acme-trail/org/AWSLogs/*');
    expect(template.Resources.IngestLambdaFunction.Properties.Role['Fn::GetAtt'][0]).toBe(
      'IngestIamRoleLambdaExecution',
    );
  });

  it('creates an encrypted, private, TLS-only state bucket and a KMS-encrypted alerts topic with the email subscription', () => {
    const bucket = template.Resources.StateBucket.Properties;
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(
      bucket.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm,
    ).toBe('AES256');
    const policy = template.Resources.StateBucketPolicy.Properties.PolicyDocument.Statement;
    expect(policy).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(template.Resources.AlertTopic.Properties.KmsMasterKeyId).toEqual({ Ref: 'AlertTopicKey' });
    expect(template.Resources.AlertEmailSubscription.Properties.Endpoint).toBe('oncall@example.com');
  });

  it('has one alarm per catalog rule and per HIGH or CRITICAL pack and Sigma rule on its metric, CIS recipe, wired to the alerts topic', () => {
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties);
    const alarmed = defaultRules().filter(isAlarmed);
    expect(alarmed.filter((r) => r.sigma).length).toBeGreaterThanOrEqual(16);
    expect(alarmed.some((r) => r.origin === 'pack')).toBe(true);
    for (const rule of defaultRules().filter((r) => !alarmed.includes(r))) {
      expect(
        alarms.find((a) => a.MetricName === rule.metricName),
        rule.id,
      ).toBeUndefined();
    }
    for (const rule of alarmed) {
      const alarm = alarms.find((a) => a.MetricName === rule.metricName);
      expect(alarm, rule.id).toMatchObject({
        Namespace: NAMESPACE,
        Statistic: 'Sum',
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: 'AlertTopic' }],
        Dimensions: [{ Name: 'service', Value: 'trailwatch' }],
      });
    }
    // the dimension the alarms watch is the one Powertools publishes with
    const env = template.Resources.IngestLambdaFunction.Properties.Environment.Variables;
    expect(env.POWERTOOLS_SERVICE_NAME).toBe('trailwatch');
    expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe(NAMESPACE);
  });

  it('sends the metricsNamespace parameter to every function and every alarm and widget on its own metrics', () => {
    // The functions read POWERTOOLS_METRICS_NAMESPACE at start-up (test/handler/scheduled-entries.test.ts
    // shows their EMF documents carry it); here: every place in the stack that must agree with it does.
    for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      if (!id.endsWith('LambdaFunction') || id.startsWith('CustomDashresource')) continue;
      expect(fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE, id).toBe(NAMESPACE);
    }
    const ours = resourcesOfType(template, 'AWS::CloudWatch::Alarm')
      .map(([id, r]) => [id, r.Properties.Namespace] as const)
      .filter(([, ns]) => !String(ns).startsWith('AWS/'));
    const alarmedRules = defaultRules().filter(isAlarmed);
    expect(ours.length).toBeGreaterThan(alarmedRules.length);
    for (const [id, ns] of ours) expect(ns, id).toBe(NAMESPACE);
    const body = JSON.parse(template.Resources.Dashboard.Properties.DashboardBody['Fn::Sub']);
    const namespaces = new Set<string>(
      body.widgets.flatMap((w: { properties: { metrics: string[][] } }) =>
        w.properties.metrics.map((m) => m[0]),
      ),
    );
    expect([...namespaces].filter((ns) => !ns.startsWith('AWS/'))).toEqual([NAMESPACE]);
  });

  it('runs verify with ListPublicKeys and the watchdog on a schedule, each with its own role', () => {
    const verify = statementsOf(template.Resources.VerifyIamRoleLambdaExecution);
    expect(verify.some((s) => asList(s.Action).includes('cloudtrail:ListPublicKeys'))).toBe(true);
    const watchdog = statementsOf(template.Resources.WatchdogIamRoleLambdaExecution);
    expect(
      watchdog.some((s) => asList(s.Action).includes('s3:PutObject') && asList(s.Resource).includes('*')),
    ).toBe(false);
    const schedules = resourcesOfType(template, 'AWS::Events::Rule').map(
      ([, r]) => r.Properties.ScheduleExpression,
    );
    expect(schedules.sort()).toEqual(['rate(15 minutes)', 'rate(5 minutes)']);
  });

  it('gives every function role no * action, and no * resource but where AWS offers none narrower', () => {
    // X-Ray's two write actions and CloudTrail ListPublicKeys accept no resource but '*' (documented inline).
    const onlyStar = new Set([
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'cloudtrail:ListPublicKeys',
    ]);
    const roles = resourcesOfType(template, 'AWS::IAM::Role').filter(
      ([id]) => id !== 'IamRoleCustomResourcesLambdaExecution',
    );
    expect(roles.length).toBeGreaterThanOrEqual(3);
    for (const [id, role] of roles) {
      for (const s of statementsOf(role)) {
        const actions = asList(s.Action);
        for (const a of actions) expect(a.includes('*'), `${id}: action ${a}`).toBe(false);
        if (asList(s.Resource).includes('*')) {
          for (const a of actions) expect(onlyStar.has(a), `${id}: ${a} on '*'`).toBe(true);
        }
      }
    }
  });

  it('keeps every failed S3-triggered or asynchronous event in an encrypted dead-letter queue', () => {
    const configs = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').map(([, r]) => r.Properties);
    for (const fn of ['IngestLambdaFunction', 'VerifyLambdaFunction']) {
      const c = configs.find((p) => p.FunctionName.Ref === fn);
      expect(c?.DestinationConfig.OnFailure.Destination, fn).toEqual({
        'Fn::GetAtt': ['DeadLetterQueue', 'Arn'],
      });
    }
    expect(template.Resources.DeadLetterQueue.Properties.SqsManagedSseEnabled).toBe(true);
    const ingestCanSend = statementsOf(template.Resources.IngestIamRoleLambdaExecution).some((s) =>
      asList(s.Action).includes('sqs:SendMessage'),
    );
    expect(ingestCanSend).toBe(true);
  });

  it('has the health alarms, each pointing at the health topic (its own KMS key), and the dashboard', () => {
    const alarms = Object.fromEntries(resourcesOfType(template, 'AWS::CloudWatch::Alarm'));
    const health = [
      'HealthIngestErrors',
      'HealthIngestThrottles',
      'HealthVerifyErrors',
      'HealthWatchdogErrors',
      'HealthDetectErrors',
      'HealthDeadLetters',
      'HealthNoLogFilesIngested',
      'HealthRejectedFiles',
      'HealthInvalidDigests',
      'HealthDigestsOverdue',
      'HealthSilentLogPlaces',
      'HealthSilentAccounts',
      'HealthBadRecords',
      'HealthOversizedRecords',
      'HealthTamperAlerts',
      'HealthUnlistedLogFiles',
      'HealthPlantedObjects',
      'HealthTrailBucketUnversioned',
    ];
    for (const id of health) {
      expect(alarms[id]?.Properties.AlarmActions, id).toEqual([{ Ref: 'HealthTopic' }]);
      expect(alarms[id]?.Properties.OKActions, id).toEqual([{ Ref: 'HealthTopic' }]);
    }
    const metricOf = (id: string) => alarms[id].Properties.MetricName;
    expect(health.slice(9).map(metricOf)).toEqual([
      'DigestsOverdue',
      'SilentLogPlaces',
      'SilentAccounts',
      'BadRecords',
      'OversizedRecords',
      'TamperAlerts',
      'UnlistedLogFiles',
      'PlantedObjects',
      'TrailBucketUnversioned',
    ]);
    // the watchdog's gauges alarm on their worst value, whatever the number of runs in the period
    expect(alarms.HealthSilentAccounts.Properties).toMatchObject({
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    // the second topic has its own key, not the alerts topic's, and CloudWatch may publish to it
    expect(template.Resources.HealthTopic.Properties.KmsMasterKeyId).toEqual({ Ref: 'HealthTopicKey' });
    expect(template.Resources.HealthTopicKey.Type).toBe('AWS::KMS::Key');
    expect(template.Resources.HealthTopicPolicy.Properties.Topics).toEqual([{ Ref: 'HealthTopic' }]);
    expect(template.Resources.HealthEmailSubscription.Properties.TopicArn).toEqual({ Ref: 'HealthTopic' });
    // the watchdog may read the trail bucket's versioning and Object Lock settings, nothing more
    const watchdog = statementsOf(template.Resources.WatchdogIamRoleLambdaExecution);
    expect(watchdog).toContainEqual(
      expect.objectContaining({
        Action: ['s3:GetBucketVersioning', 's3:GetBucketObjectLockConfiguration'],
        Resource: 'arn:aws:s3:::acme-trail',
      }),
    );
    expect(alarms.HealthNoLogFilesIngested.Properties).toMatchObject({
      TreatMissingData: 'breaching',
      ComparisonOperator: 'LessThanThreshold',
    });
    const body = JSON.parse(template.Resources.Dashboard.Properties.DashboardBody['Fn::Sub']);
    expect(body.widgets.map((w: { properties: { title: string } }) => w.properties.title)).toContain(
      'Rule hits',
    );
  });

  it('blocks public access on the deployment bucket too', () => {
    const props = template.Resources.ServerlessDeploymentBucket.Properties;
    expect(props.PublicAccessBlockConfiguration).toMatchObject({
      BlockPublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it('creates the chat topic when asked, and every function publishes to it and to the alerts topic', () => {
    // The created topic, encrypted with the alerts key, only when no chatTopicArn is given
    expect(template.Resources.ChatTopic).toMatchObject({
      Type: 'AWS::SNS::Topic',
      Condition: 'CreateChatTopic',
      Properties: { KmsMasterKeyId: { Ref: 'AlertTopicKey' } },
    });
    const chatRef = {
      'Fn::If': ['HasChatTopicParam', '', { 'Fn::If': ['CreateChatTopic', { Ref: 'ChatTopic' }, ''] }],
    };
    for (const fn of ['Ingest', 'Verify', 'Watchdog', 'Detect']) {
      const vars = template.Resources[`${fn}LambdaFunction`].Properties.Environment.Variables;
      expect(vars.CHAT_TOPIC_ARN).toEqual(chatRef);
      const publish = statementsOf(template.Resources[`${fn}IamRoleLambdaExecution`]).filter((st) =>
        asList(st.Action).includes('sns:Publish'),
      );
      expect(publish).toHaveLength(1);
      expect(publish[0].Resource).toEqual([
        { Ref: 'AlertTopic' },
        {
          'Fn::If': [
            'HasChatTopicParam',
            '',
            { 'Fn::If': ['CreateChatTopic', { Ref: 'ChatTopic' }, { Ref: 'AlertTopic' }] },
          ],
        },
      ]);
    }
    expect(template.Resources.IngestLambdaFunction.Properties.Environment.Variables.RUNBOOK_URL).toBe(
      RUNBOOK,
    );
  });

  it('lets verify delete only the open chain incidents in the state bucket', () => {
    const deletes = statementsOf(template.Resources.VerifyIamRoleLambdaExecution).filter((st) =>
      asList(st.Action).includes('s3:DeleteObject'),
    );
    expect(deletes).toHaveLength(1);
    expect(JSON.stringify(deletes[0].Resource)).toContain('/chain-incidents/*');
  });
});

'use strict';
/**
 * How deliveries reach ingest, and the trail bucket's encryption key, as CloudFormation for serverless.yml:
 *
 *   resources:
 *     - ${file(./deploy/triggers.cjs):resources}
 *
 * Parameters (`--param=name=value`):
 *   trigger          s3 (default): the bucket's own notification calls ingest (the function's `s3` event);
 *                    eventbridge: a rule on the bucket's Object Created / Object Deleted events fills a queue
 *                    of this stack (the notification configuration is left alone);
 *                    sqs: an existing queue (trailQueueArn) that already receives the bucket's notifications,
 *                    or that subscribes to the trail's SNS topic.
 *   trailQueueArn    the existing queue, for trigger=sqs.
 *   batchSize, batchWindowSeconds   SQS batches into ingest (ReportBatchItemFailures: only failed files retry).
 *   trailKmsKeyArn   the trail bucket's SSE-KMS key: ingest and verify may kms:Decrypt with exactly that key.
 *   shardCount       detect and watchdog split account-regions over this many parallel invocations.
 *
 * With a queue trigger, the function's `s3` event stays in serverless.yml but its resources get a condition
 * that is false, so the stack never writes the bucket's notification configuration. Plain CommonJS so that
 * osls can require it; `triggerResources` is the pure part the tests call.
 */

const TRIGGERS = ['s3', 'eventbridge', 'sqs'];
const QUEUE_ARN_RE = /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}$/;
const KEY_ARN_RE = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

class TriggerConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TriggerConfigError';
  }
}

function intParam(name, raw, min, max) {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TriggerConfigError(`expected parameter ${name} to be an integer ${min}-${max}, found "${raw}"`);
  }
  return n;
}

/** Checks the parameters once, with messages that name the parameter. */
function settingsOf(p) {
  const trigger = String(p.trigger || 's3');
  if (!TRIGGERS.includes(trigger)) {
    throw new TriggerConfigError(
      `expected parameter trigger to be one of ${TRIGGERS.join(', ')}, found "${trigger}"`,
    );
  }
  const trailQueueArn = String(p.trailQueueArn || '');
  if (trigger === 'sqs' && !QUEUE_ARN_RE.test(trailQueueArn)) {
    throw new TriggerConfigError(
      `expected parameter trailQueueArn to be an SQS queue ARN with trigger=sqs, found "${trailQueueArn}"`,
    );
  }
  const trailKmsKeyArn = String(p.trailKmsKeyArn || '');
  if (trailKmsKeyArn !== '' && !KEY_ARN_RE.test(trailKmsKeyArn)) {
    throw new TriggerConfigError(
      `expected parameter trailKmsKeyArn to be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), found "${trailKmsKeyArn}"`,
    );
  }
  // SQS caps the batch at 10 without a batching window and at 10,000 with one.
  const batchWindowSeconds = intParam('batchWindowSeconds', p.batchWindowSeconds ?? 60, 0, 300);
  const batchSize = intParam('batchSize', p.batchSize ?? 100, 1, batchWindowSeconds > 0 ? 10000 : 10);
  return {
    trigger,
    trailQueueArn,
    trailKmsKeyArn,
    batchSize,
    batchWindowSeconds,
    trailBucket: String(p.trailBucket),
    trailPrefix: String(p.trailPrefix || ''),
    functionTimeout: Number(p.functionTimeout || 300),
  };
}

const roleOf = (fn) => ({ Ref: `${fn}IamRoleLambdaExecution` });

/** The EventBridge pattern: the trail bucket's objects under the trail prefix, created or deleted. */
function eventPattern(s) {
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created', 'Object Deleted'],
    detail: {
      bucket: { name: [s.trailBucket] },
      object: { key: [{ prefix: `${s.trailPrefix}AWSLogs/` }] },
    },
  };
}

/**
 * The resources for the chosen trigger and key. `generated` lists the logical ids osls made for the
 * function's `s3` event (the custom resource and its permission), which a queue trigger switches off.
 */
function triggerResources(params, generated = []) {
  const s = settingsOf(params);
  const Resources = {};
  const extensions = {};
  const Outputs = {};
  const Conditions = { UsesBucketNotification: { 'Fn::Equals': [s.trigger, 's3'] } };

  if (s.trailKmsKeyArn) {
    // A separate policy, so each reader's role keeps its own statements unchanged.
    Resources.TrailKeyDecryptPolicy = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'trail-bucket-key-decrypt',
        Roles: [roleOf('Ingest'), roleOf('Verify')],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: ['kms:Decrypt'], Resource: s.trailKmsKeyArn }],
        },
      },
    };
  }

  if (s.trigger !== 's3') {
    for (const id of generated) extensions[id] = { Condition: 'UsesBucketNotification' };
    let queueArn = s.trailQueueArn;
    if (s.trigger === 'eventbridge') {
      queueArn = { 'Fn::GetAtt': ['IngestQueue', 'Arn'] };
      Resources.IngestQueueDeadLetters = {
        Type: 'AWS::SQS::Queue',
        Properties: { MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true },
      };
      Resources.IngestQueue = {
        Type: 'AWS::SQS::Queue',
        Properties: {
          // Lambda's advice: at least six times the function timeout, plus the batching window.
          VisibilityTimeout: 6 * s.functionTimeout + s.batchWindowSeconds,
          MessageRetentionPeriod: 1209600,
          SqsManagedSseEnabled: true,
          RedrivePolicy: {
            deadLetterTargetArn: { 'Fn::GetAtt': ['IngestQueueDeadLetters', 'Arn'] },
            maxReceiveCount: 5,
          },
        },
      };
      Resources.TrailObjectEventsRule = {
        Type: 'AWS::Events::Rule',
        Properties: {
          Description: 'CloudTrail objects created or deleted in the trail bucket, to trailwatch ingest',
          EventPattern: eventPattern(s),
          State: 'ENABLED',
          Targets: [{ Id: 'ingest-queue', Arn: queueArn }],
        },
      };
      Resources.IngestQueuePolicy = {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: 'IngestQueue' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Sid: 'TrailObjectEventsRuleSends',
                Effect: 'Allow',
                Principal: { Service: 'events.amazonaws.com' },
                Action: 'sqs:SendMessage',
                Resource: queueArn,
                Condition: {
                  ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': ['TrailObjectEventsRule', 'Arn'] } },
                },
              },
            ],
          },
        },
      };
      Outputs.IngestQueueUrl = { Value: { Ref: 'IngestQueue' } };
    }
    Resources.IngestQueueConsume = {
      Type: 'AWS::IAM::Policy',
      Properties: {
        PolicyName: 'ingest-queue-consume',
        Roles: [roleOf('Ingest')],
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: [
                'sqs:ReceiveMessage',
                'sqs:DeleteMessage',
                'sqs:GetQueueAttributes',
                'sqs:ChangeMessageVisibility',
              ],
              Resource: queueArn,
            },
          ],
        },
      },
    };
    Resources.IngestQueueEventSource = {
      Type: 'AWS::Lambda::EventSourceMapping',
      // Lambda checks the role's queue permissions when the mapping is created.
      DependsOn: ['IngestQueueConsume'],
      Properties: {
        EventSourceArn: queueArn,
        FunctionName: { Ref: 'IngestLambdaFunction' },
        BatchSize: s.batchSize,
        MaximumBatchingWindowInSeconds: s.batchWindowSeconds,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        Enabled: true,
      },
    };
  }

  // Detect and watchdog fan their shards out by invoking themselves asynchronously.
  const selfInvoke = (fn, name) => ({
    Type: 'AWS::IAM::Policy',
    Properties: {
      PolicyName: `${name}-shards`,
      Roles: [roleOf(fn)],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['lambda:InvokeFunction'],
            Resource: { 'Fn::GetAtt': [`${fn}LambdaFunction`, 'Arn'] },
          },
        ],
      },
    },
  });
  Resources.DetectShardsInvoke = selfInvoke('Detect', 'detect');
  Resources.WatchdogShardsInvoke = selfInvoke('Watchdog', 'watchdog');

  return { Conditions, Resources, Outputs, extensions };
}

/** The logical ids osls gives the ingest function's `s3` event on an existing bucket. */
const BUCKET_NOTIFICATION_IDS = ['IngestCustomS31'];

async function resources(args = {}) {
  // Parameters resolve in a later phase than files: osls calls again when they are known (its error must
  // go through), and every one has a default in serverless.yml.
  const get = async (name, fallback) => {
    const v = await args.resolveVariable(`param:${name}`);
    return v === undefined || v === null ? fallback : v;
  };
  const params = {};
  for (const [name, fallback] of [
    ['trigger', 's3'],
    ['trailQueueArn', ''],
    ['trailKmsKeyArn', ''],
    ['batchSize', 100],
    ['batchWindowSeconds', 60],
    ['trailBucket', ''],
    ['trailPrefix', ''],
  ]) {
    params[name] = await get(name, fallback);
  }
  return triggerResources(params, BUCKET_NOTIFICATION_IDS);
}

module.exports = { resources, triggerResources, eventPattern, settingsOf, TriggerConfigError };

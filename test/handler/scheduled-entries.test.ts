/**
 * The deployed watchdog and detect entries, invoked as Lambda invokes them, against S3 and SNS on moto_server:
 * the EMF documents they print carry the metrics the health alarms and dashboard watch, in the namespace the
 * stack configured (POWERTOOLS_METRICS_NAMESPACE, from the `metricsNamespace` parameter).
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { lambdaContext } from '#cli/replay/events.ts';
import { digestFileKey, logFileKey } from '#shared/keys.ts';
import { METRIC } from '#shared/metric-names.cjs';
import { outboxKey } from '#shared/notify/outbox.ts';
import { motoEndpoint, snsSentMessages } from '#test/setup/moto-client.ts';

const NAMESPACE = 'Acme/TrailwatchProd';
const run = Date.now();
const trailBucket = `entries-trail-${run}`;
const stateBucket = `entries-state-${run}`;
let topicArn = '';

type Emf = Record<string, unknown> & {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
};

beforeAll(async () => {
  const s3 = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
  await s3.send(new CreateBucketCommand({ Bucket: trailBucket }));
  await s3.send(new CreateBucketCommand({ Bucket: stateBucket }));
  const sns = new SNSClient({ endpoint: motoEndpoint(), region: 'us-east-1' });
  topicArn = (await sns.send(new CreateTopicCommand({ Name: `entries-alerts-${run}` }))).TopicArn!;

  // A trail whose last log file and digest arrived three hours ago: both overdue now.
  const threeHoursAgo = new Date(Date.now() - 3 * 3_600_000);
  const place = { account: '111122223333', region: 'eu-west-1' };
  const log = logFileKey({ ...place, time: threeHoursAgo, unique: 'AbCdEfGhIjKlMnOp' });
  const digest = digestFileKey({
    ...place,
    trailName: 'main',
    homeRegion: 'eu-west-1',
    endTime: threeHoursAgo,
  });
  for (const key of [log, digest]) {
    await s3.send(new PutObjectCommand({ Bucket: trailBucket, Key: key, Body: '{}' }));
  }
});

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  vi.resetModules();
});

/** Loads a deployed entry with the stack's environment and invokes it once, returning the EMF it printed. */
async function invoke(name: 'watchdog' | 'detect'): Promise<Emf[]> {
  const env = {
    POWERTOOLS_METRICS_NAMESPACE: NAMESPACE,
    POWERTOOLS_SERVICE_NAME: 'trailwatch',
    AWS_ENDPOINT_URL: motoEndpoint(),
    AWS_S3_FORCE_PATH_STYLE: 'true',
    STATE_BUCKET: stateBucket,
    ALERT_TOPIC_ARN: topicArn,
    TRAIL_BUCKET: trailBucket,
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  const printed: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    if (text.includes('"_aws"')) {
      printed.push(text);
      return true;
    }
    return write(chunk, ...(rest as []));
  });
  const { handler } = (await import(`../../functions/${name}.ts`)) as {
    handler: (event: unknown, context: unknown) => Promise<unknown>;
  };
  await handler({}, lambdaContext(`trailwatch-test-${name}`));
  return printed.flatMap((t) => t.trim().split('\n')).map((line) => JSON.parse(line) as Emf);
}

function metricValue(docs: Emf[], name: string): number | undefined {
  const doc = docs.find((d) => d._aws.CloudWatchMetrics.some((m) => m.Metrics.some((x) => x.Name === name)));
  return doc ? (doc[name] as number) : undefined;
}

describe('deployed scheduled entries', () => {
  it('watchdog reports the overdue digest and silent logs in metrics under the configured namespace, and alerts', async () => {
    // Act
    const docs = await invoke('watchdog');

    // Assess: the metrics the health dashboard reads, where the alarms look for them
    expect(docs).toHaveLength(1);
    const [directive] = docs[0]._aws.CloudWatchMetrics;
    expect(directive.Namespace).toBe(NAMESPACE);
    expect(directive.Dimensions).toEqual([['service']]);
    expect(docs[0].service).toBe('trailwatch');
    expect(metricValue(docs, METRIC.DigestsOverdue)).toBe(1);
    expect(metricValue(docs, METRIC.SilentLogPlaces)).toBe(1);
    // One account-region watched twice: its digest series and its log series.
    expect(metricValue(docs, METRIC.PlacesWatched)).toBe(2);
    const sent = (await snsSentMessages())[topicArn] ?? [];
    expect(JSON.stringify(sent)).toMatch(/111122223333/);
  });

  it('detect sends what the outbox holds and reports open insights under the configured namespace', async () => {
    // Prepare: a message a failed publish left behind
    const s3 = new S3Client({ endpoint: motoEndpoint(), forcePathStyle: true, region: 'us-east-1' });
    const notification = {
      topic: topicArn,
      subject: '[HIGH] left in the outbox',
      message: 'm',
      attributes: {},
    };
    await s3.send(
      new PutObjectCommand({
        Bucket: stateBucket,
        Key: outboxKey('x/start'),
        Body: JSON.stringify(notification),
      }),
    );

    // Act
    const docs = await invoke('detect');

    // Assess
    expect(docs).toHaveLength(1);
    expect(docs[0]._aws.CloudWatchMetrics[0].Namespace).toBe(NAMESPACE);
    expect(metricValue(docs, METRIC.InsightsOpen)).toBe(0);
    const sent = JSON.stringify((await snsSentMessages())[topicArn] ?? []);
    expect(sent).toContain('left in the outbox');
  });
});

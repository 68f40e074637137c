/**
 * Child process of memory.test.ts: runs the real verify handler on one digest delivery of a trail folder and
 * prints its outcome and this process's peak RSS, so the figure is verify's own.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CapturingMetrics } from '#cli/adapters/emf-file-metrics.ts';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { OutboxNotifier } from '#cli/adapters/jsonl-outbox.ts';
import { lambdaContext, s3Event } from '#cli/replay/events.ts';
import { verifyHandler } from '#functions/handlers.ts';
import { publicKeysFromStore } from '#shared/digest/public-keys.ts';

const [trailDir, stateDir, bucket, key] = process.argv.slice(2);
const trail = new FsObjectStore(trailDir);
const notifier = new OutboxNotifier();
const handler = verifyHandler({
  config: { alertTopicArn: 'arn:aws:sns:us-east-1:111122223333:alerts' },
  sourceStore: () => trail,
  state: new FsObjectStore(stateDir),
  keys: await publicKeysFromStore(trail, 'public-keys.json'),
  notifier,
  logger: new Logger({ serviceName: 'trailwatch', logLevel: 'SILENT' }),
  metrics: new CapturingMetrics({ namespace: 'Trailwatch', serviceName: 'trailwatch' }, { append() {} }),
});
const info = await trail.head(key);
const result = await handler(
  s3Event(bucket, key, info?.size ?? 1, new Date()),
  lambdaContext('trailwatch-verify'),
);
process.stdout.write(
  `${JSON.stringify({ maxRssBytes: process.resourceUsage().maxRSS * 1024, outcomes: result.outcomes, alerts: notifier.sent.length })}\n`,
);

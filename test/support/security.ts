/** Deliveries and alert lookups shared by the attack tests under test/security/. */
import { createHash } from 'node:crypto';
import type { S3Event } from 'aws-lambda';
import { s3Event } from '#cli/replay/events.ts';
import { logFileKey } from '#shared/keys.ts';
import { alertData } from '#shared/notify/alert-message.ts';
import type { Notification } from '#shared/ports.ts';
import type { CloudTrailRecord } from '#shared/record.ts';
import { record } from '#test/support/logfiles.ts';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';

export const md5 = (body: Buffer | string) => createHash('md5').update(body).digest('hex');

export function logKey(time: Date, unique = 'F000000000000001'): string {
  return logFileKey({ account: ACCOUNT, region: REGION, time, unique });
}

/** The S3 event CloudTrail's write of `body` would raise, naming its ETag and (versioned) version. */
export function createdEvent(
  bucket: string,
  key: string,
  body: Buffer | string,
  at: Date,
  versionId?: string,
): S3Event {
  const event = s3Event(bucket, key, Buffer.byteLength(body), at, md5(body));
  if (versionId) event.Records[0].s3.object.versionId = versionId;
  return event;
}

export function removedEvent(bucket: string, key: string, at: Date): S3Event {
  const event = s3Event(bucket, key, 0, at);
  event.Records[0].eventName = 'ObjectRemoved:Delete';
  const o = event.Records[0].s3.object as { size?: number };
  delete o.size;
  return event;
}

export function rootRecord(overrides: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  return record({
    eventID: 'root-1',
    userIdentity: {
      type: 'Root',
      principalId: ACCOUNT,
      arn: `arn:aws:iam::${ACCOUNT}:root`,
      accountId: ACCOUNT,
    },
    eventName: 'CreateAccessKey',
    eventSource: 'iam.amazonaws.com',
    ...overrides,
  });
}

/** The structured part of each alert sent. */
export function alerts(sent: Notification[]): Record<string, unknown>[] {
  return sent.map((n) => alertData(n.message) ?? {});
}

/** Tamper alerts of one subtype of the alert contract (`log-overwritten`, `planted-object`...), or matching one. */
export function tamperAlerts(sent: Notification[], subtype: string | RegExp): Notification[] {
  return sent.filter(
    (n) =>
      n.attributes.kind === 'tamper' &&
      (typeof subtype === 'string' ? n.attributes.check === subtype : subtype.test(n.attributes.check ?? '')),
  );
}

export function ruleAlerts(sent: Notification[], rule: string): Notification[] {
  return sent.filter((n) => n.attributes.rule === rule);
}

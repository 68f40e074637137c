/**
 * The trail's status and who stopped or deleted it, from CloudTrail: GetTrailStatus and LookupEvents in the
 * trail's home region (its ARN names it; endpoint and credentials from the SDK's own configuration, e.g.
 * `AWS_ENDPOINT_URL_CLOUDTRAIL`). Only `trailwatch validate` asks, when a trail's digests stop early.
 */
import {
  type CloudTrailClient,
  GetTrailStatusCommand,
  type Event as LookupEvent,
  LookupEventsCommand,
} from '@aws-sdk/client-cloudtrail';
import type { TrailChange, TrailStatus, TrailStatusSource } from '#cli/validate/trail-status.ts';
import { cloudTrailClients } from '#shared/adapters/cloudtrail-public-keys.ts';
import { objectOf, principalOf, textOf } from '#shared/record.ts';

const EVENT_NAMES = ['StopLogging', 'DeleteTrail'] as const;
/** LookupEvents allows two calls a second per account and region: a few pages per name is plenty. */
const MAX_PAGES = 5;

function homeRegion(trailArn: string): string {
  return trailArn.split(':')[3] ?? '';
}

/** Whether a StopLogging or DeleteTrail call names this trail (by ARN, or by name from its home region). */
function namesTrail(event: LookupEvent, trailArn: string): boolean {
  const name = trailArn.split('/').at(-1);
  const matches = (v: string | undefined) => v !== undefined && (v === trailArn || v === name);
  let request: Record<string, unknown> | undefined;
  try {
    request = objectOf(objectOf(JSON.parse(event.CloudTrailEvent ?? 'null'))?.requestParameters);
  } catch {
    request = undefined;
  }
  return matches(textOf(request?.name)) || (event.Resources ?? []).some((r) => matches(r.ResourceName));
}

function changeOf(event: LookupEvent): TrailChange | undefined {
  if (!event.EventName || !event.EventTime) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(event.CloudTrailEvent ?? 'null');
  } catch {
    record = undefined;
  }
  // The caller's ARN says the most; without one (a service, an odd identity), the name LookupEvents gives.
  const principal = principalOf(record);
  const actor = principal.startsWith('arn:') ? principal : (event.Username ?? principal);
  const sourceIp = textOf(objectOf(record)?.sourceIPAddress);
  return { eventName: event.EventName, time: event.EventTime, actor, ...(sourceIp ? { sourceIp } : {}) };
}

export class CloudTrailTrailStatus implements TrailStatusSource {
  private readonly clientFor: (region: string) => CloudTrailClient;

  constructor(options: { clientFor?: (region: string) => CloudTrailClient } = {}) {
    this.clientFor = options.clientFor ?? cloudTrailClients();
  }

  async status(trailArn: string): Promise<TrailStatus | undefined> {
    try {
      const r = await this.clientFor(homeRegion(trailArn)).send(
        new GetTrailStatusCommand({ Name: trailArn }),
      );
      return {
        isLogging: r.IsLogging === true,
        ...(r.LatestDeliveryTime ? { latestDeliveryTime: r.LatestDeliveryTime } : {}),
        ...(r.LatestDigestDeliveryTime ? { latestDigestDeliveryTime: r.LatestDigestDeliveryTime } : {}),
        ...(r.LatestDigestDeliveryError ? { latestDigestDeliveryError: r.LatestDigestDeliveryError } : {}),
        ...(r.StartLoggingTime ? { startLoggingTime: r.StartLoggingTime } : {}),
        ...(r.StopLoggingTime ? { stopLoggingTime: r.StopLoggingTime } : {}),
      };
    } catch (err) {
      if ((err as Error)?.name === 'TrailNotFoundException') return undefined;
      throw err;
    }
  }

  async changes(trailArn: string, from: Date, to: Date): Promise<TrailChange[]> {
    const client = this.clientFor(homeRegion(trailArn));
    const out: TrailChange[] = [];
    for (const eventName of EVENT_NAMES) {
      let token: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const r = await client.send(
          new LookupEventsCommand({
            LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: eventName }],
            StartTime: from,
            EndTime: to,
            MaxResults: 50,
            ...(token ? { NextToken: token } : {}),
          }),
        );
        for (const e of r.Events ?? []) {
          const change = namesTrail(e, trailArn) ? changeOf(e) : undefined;
          if (change) out.push(change);
        }
        token = r.NextToken;
        if (!token) break;
      }
    }
    return out.sort((a, b) => a.time.getTime() - b.time.getTime());
  }
}

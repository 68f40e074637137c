/**
 * The CloudTrail adapter `trailwatch validate` asks why digests stop: GetTrailStatus and LookupEvents in
 * the trail's home region, through the SDK (mocked here; moto_server has no LookupEvents).
 */
import {
  CloudTrailClient,
  GetTrailStatusCommand,
  LookupEventsCommand,
  TrailNotFoundException,
} from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudTrailTrailStatus } from '#cli/adapters/cloudtrail-trail-status.ts';

const cloudtrail = mockClient(CloudTrailClient);
afterEach(() => {
  cloudtrail.reset();
});

const ARN = 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/audit';

function lookupEvent(name: string, time: string, requestName: string, identity: Record<string, unknown>) {
  return {
    EventName: name,
    EventTime: new Date(time),
    Username: 'session-name',
    CloudTrailEvent: JSON.stringify({
      eventName: name,
      userIdentity: identity,
      sourceIPAddress: '203.0.113.9',
      requestParameters: { name: requestName },
    }),
  };
}

describe('CloudTrailTrailStatus', () => {
  it("reads the trail's status in its home region", async () => {
    // Prepare
    cloudtrail.on(GetTrailStatusCommand).resolves({
      IsLogging: false,
      LatestDeliveryTime: new Date('2026-03-08T01:03:00Z'),
      LatestDigestDeliveryTime: new Date('2026-03-08T01:05:00Z'),
      StartLoggingTime: new Date('2026-01-01T00:00:00Z'),
      StopLoggingTime: new Date('2026-03-08T01:20:00Z'),
    });

    // Act
    const status = await new CloudTrailTrailStatus().status(ARN);

    // Assess
    expect(status).toEqual({
      isLogging: false,
      latestDeliveryTime: new Date('2026-03-08T01:03:00Z'),
      latestDigestDeliveryTime: new Date('2026-03-08T01:05:00Z'),
      startLoggingTime: new Date('2026-01-01T00:00:00Z'),
      stopLoggingTime: new Date('2026-03-08T01:20:00Z'),
    });
    const calls = cloudtrail.commandCalls(GetTrailStatusCommand);
    expect(calls.map((c) => c.args[0].input)).toEqual([{ Name: ARN }]);
    expect(await calls[0].thisValue.config.region()).toBe('eu-west-1');
  });

  it('answers no status for a trail CloudTrail does not have, and passes other failures on', async () => {
    // Prepare
    cloudtrail
      .on(GetTrailStatusCommand)
      .rejectsOnce(new TrailNotFoundException({ message: 'Unknown trail', $metadata: {} }))
      .rejectsOnce(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const adapter = new CloudTrailTrailStatus();

    // Act
    const missing = await adapter.status(ARN);
    const denied = await adapter.status(ARN).catch((e: Error) => e);

    // Assess
    expect(missing).toBeUndefined();
    expect(denied).toMatchObject({ name: 'AccessDeniedException', message: 'not authorized' });
  });

  it('finds the StopLogging and DeleteTrail calls on this trail, every page, oldest first', async () => {
    // Prepare
    const from = new Date('2026-03-08T01:05:00Z');
    const to = new Date('2026-03-08T01:35:00Z');
    cloudtrail
      .on(LookupEventsCommand, {
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'StopLogging' }],
      })
      .resolvesOnce({
        Events: [
          lookupEvent('StopLogging', '2026-03-08T01:30:00Z', ARN, {
            type: 'IAMUser',
            arn: 'arn:aws:iam::111122223333:user/mallory',
          }),
          lookupEvent('StopLogging', '2026-03-08T01:25:00Z', 'another-trail', {
            arn: 'arn:aws:iam::111122223333:user/ops',
          }),
        ],
        NextToken: 'page2',
      })
      .resolvesOnce({
        Events: [lookupEvent('StopLogging', '2026-03-08T01:10:00Z', 'audit', { type: 'AssumedRole' })],
      });
    cloudtrail
      .on(LookupEventsCommand, {
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DeleteTrail' }],
      })
      .resolves({ Events: [] });

    // Act
    const changes = await new CloudTrailTrailStatus().changes(ARN, from, to);

    // Assess: the trail named by ARN or by name; the caller's ARN, else the user name LookupEvents gives
    expect(changes).toEqual([
      {
        eventName: 'StopLogging',
        time: new Date('2026-03-08T01:10:00Z'),
        actor: 'session-name',
        sourceIp: '203.0.113.9',
      },
      {
        eventName: 'StopLogging',
        time: new Date('2026-03-08T01:30:00Z'),
        actor: 'arn:aws:iam::111122223333:user/mallory',
        sourceIp: '203.0.113.9',
      },
    ]);
    const inputs = cloudtrail.commandCalls(LookupEventsCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(3);
    expect(inputs[0]).toMatchObject({ StartTime: from, EndTime: to });
    expect(inputs[1]).toMatchObject({ NextToken: 'page2' });
    expect(inputs[2].LookupAttributes).toEqual([
      { AttributeKey: 'EventName', AttributeValue: 'DeleteTrail' },
    ]);
  });
});

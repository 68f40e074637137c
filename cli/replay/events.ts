/** Real-shaped S3 notifications for replayed deliveries (what S3 sends, keys URL-encoded with `+` for space). */
import type { Context, S3Event } from 'aws-lambda';

export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

export function s3Event(bucket: string, key: string, size: number, time: Date, etag?: string): S3Event {
  return {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: time.toISOString(),
        eventName: 'ObjectCreated:Put',
        userIdentity: { principalId: 'AWS:AROAEXAMPLE:cloudtrail' },
        requestParameters: { sourceIPAddress: '127.0.0.1' },
        responseElements: { 'x-amz-request-id': 'REPLAY', 'x-amz-id-2': 'REPLAY' },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'trailwatch-replay',
          bucket: { name: bucket, ownerIdentity: { principalId: 'EXAMPLE' }, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodeEventKey(key),
            size,
            ...(etag ? { eTag: etag.replace(/"/g, '') } : {}),
            sequencer: '0',
            // S3 always sends an eTag for a created object; a replayed one without it is read unconditionally.
          } as S3Event['Records'][number]['s3']['object'],
        },
      },
    ],
  };
}

export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: 'replay',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'replay',
    getRemainingTimeInMillis: () => 900_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

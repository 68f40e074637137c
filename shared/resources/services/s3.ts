import type { ServiceTable } from '../table.ts';

/**
 * S3 writes `resources[]` for every call (bucket, and object for data events), so the request adds the
 * bucket only where that list is missing, and the key of data events (a key alone, the ARN says more).
 */
export const s3: ServiceTable = {
  eventSource: 's3.amazonaws.com',
  rules: [
    { type: 'AWS::S3::Bucket', paths: ['requestParameters.bucketName'] },
    { type: 'AWS::S3::Object', paths: ['requestParameters.key'], events: /Object/ },
  ],
};

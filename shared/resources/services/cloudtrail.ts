import type { ServiceTable } from '../table.ts';

export const cloudtrail: ServiceTable = {
  eventSource: 'cloudtrail.amazonaws.com',
  rules: [
    {
      type: 'AWS::CloudTrail::Trail',
      paths: ['requestParameters.name', 'requestParameters.trailName', 'responseElements.trailARN'],
      events: /Trail|Logging|EventSelectors|InsightSelectors/,
    },
    {
      type: 'AWS::CloudTrail::EventDataStore',
      paths: ['requestParameters.eventDataStore', 'responseElements.eventDataStoreArn'],
    },
    { type: 'AWS::CloudTrail::EventDataStore', paths: ['requestParameters.name'], events: /EventDataStore/ },
    { type: 'AWS::S3::Bucket', paths: ['requestParameters.s3BucketName'] },
  ],
};

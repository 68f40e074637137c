import type { ServiceTable } from '../table.ts';

export const cloudwatchLogs: ServiceTable = {
  eventSource: 'logs.amazonaws.com',
  rules: [
    {
      type: 'AWS::Logs::LogGroup',
      paths: ['requestParameters.logGroupName', 'requestParameters.logGroupIdentifier'],
    },
    { type: 'AWS::Logs::LogStream', paths: ['requestParameters.logStreamName'] },
    { type: 'AWS::Logs::Destination', paths: ['requestParameters.destinationName'] },
  ],
};

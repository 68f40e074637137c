import type { ServiceTable } from '../table.ts';

export const sqs: ServiceTable = {
  eventSource: 'sqs.amazonaws.com',
  rules: [
    { type: 'AWS::SQS::Queue', paths: ['requestParameters.queueUrl', 'responseElements.queueUrl'] },
    {
      type: 'AWS::SQS::Queue',
      paths: ['requestParameters.queueName'],
      events: ['CreateQueue', 'GetQueueUrl'],
    },
  ],
};

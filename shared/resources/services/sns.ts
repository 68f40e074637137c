import type { ServiceTable } from '../table.ts';

export const sns: ServiceTable = {
  eventSource: 'sns.amazonaws.com',
  rules: [
    { type: 'AWS::SNS::Topic', paths: ['requestParameters.topicArn', 'responseElements.topicArn'] },
    { type: 'AWS::SNS::Topic', paths: ['requestParameters.name'], events: ['CreateTopic'] },
    {
      type: 'AWS::SNS::Subscription',
      paths: ['requestParameters.subscriptionArn', 'responseElements.subscriptionArn'],
    },
  ],
};

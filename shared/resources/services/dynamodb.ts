import type { ServiceTable } from '../table.ts';

export const dynamodb: ServiceTable = {
  eventSource: 'dynamodb.amazonaws.com',
  rules: [
    {
      type: 'AWS::DynamoDB::Table',
      paths: [
        'requestParameters.tableName',
        'requestParameters.tableArn',
        'responseElements.tableDescription.tableArn',
      ],
    },
  ],
};

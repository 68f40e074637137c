import type { ServiceTable } from '../table.ts';

export const secretsmanager: ServiceTable = {
  eventSource: 'secretsmanager.amazonaws.com',
  rules: [
    {
      type: 'AWS::SecretsManager::Secret',
      paths: ['requestParameters.secretId', 'requestParameters.secretIdList[]', 'responseElements.arn'],
    },
    { type: 'AWS::SecretsManager::Secret', paths: ['requestParameters.name'], events: ['CreateSecret'] },
  ],
};

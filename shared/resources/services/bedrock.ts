import type { ServiceTable } from '../table.ts';

export const bedrock: ServiceTable = {
  eventSource: 'bedrock.amazonaws.com',
  // Not a CloudFormation type: the foundation model a call uses or subscribes to.
  rules: [{ type: 'AWS::Bedrock::FoundationModel', paths: ['requestParameters.modelId'] }],
};

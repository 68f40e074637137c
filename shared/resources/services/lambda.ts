import type { ServiceTable } from '../table.ts';

export const lambda: ServiceTable = {
  eventSource: 'lambda.amazonaws.com',
  rules: [
    {
      type: 'AWS::Lambda::Function',
      paths: ['requestParameters.functionName', 'responseElements.functionArn'],
    },
    {
      type: 'AWS::Lambda::LayerVersion',
      paths: [
        'requestParameters.layerName',
        'requestParameters.layers[]',
        'responseElements.layers[].arn',
        'responseElements.layerVersionArn',
      ],
    },
  ],
};

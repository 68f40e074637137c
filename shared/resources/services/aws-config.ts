import type { ServiceTable } from '../table.ts';

export const awsConfig: ServiceTable = {
  eventSource: 'config.amazonaws.com',
  rules: [
    {
      type: 'AWS::Config::ConfigurationRecorder',
      paths: ['requestParameters.configurationRecorderName', 'requestParameters.configurationRecorder.name'],
    },
    {
      type: 'AWS::Config::DeliveryChannel',
      paths: ['requestParameters.deliveryChannelName', 'requestParameters.deliveryChannel.name'],
    },
    {
      type: 'AWS::Config::ConfigRule',
      paths: ['requestParameters.configRuleName', 'requestParameters.configRule.configRuleName'],
    },
  ],
};

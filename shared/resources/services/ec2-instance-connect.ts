import type { ServiceTable } from '../table.ts';

export const ec2InstanceConnect: ServiceTable = {
  eventSource: 'ec2-instance-connect.amazonaws.com',
  rules: [{ type: 'AWS::EC2::Instance', paths: ['requestParameters.instanceId'] }],
};

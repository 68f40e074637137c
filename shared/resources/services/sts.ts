import type { ServiceTable } from '../table.ts';

export const sts: ServiceTable = {
  eventSource: 'sts.amazonaws.com',
  rules: [
    { type: 'AWS::IAM::Role', paths: ['requestParameters.roleArn'] },
    { type: 'AWS::STS::AssumedRole', paths: ['responseElements.assumedRoleUser.arn'] },
    {
      type: 'AWS::STS::FederatedUser',
      paths: ['responseElements.federatedUser.arn'],
    },
    // The temporary key the call handed out: what later calls with that session are signed with.
    { type: 'AWS::IAM::AccessKey', paths: ['responseElements.credentials.accessKeyId'] },
  ],
};

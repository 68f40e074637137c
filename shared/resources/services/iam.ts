import type { ServiceTable } from '../table.ts';

export const iam: ServiceTable = {
  eventSource: 'iam.amazonaws.com',
  rules: [
    {
      type: 'AWS::IAM::User',
      paths: ['requestParameters.userName', 'requestParameters.newUserName', 'responseElements.user.arn'],
    },
    { type: 'AWS::IAM::Role', paths: ['requestParameters.roleName', 'responseElements.role.arn'] },
    {
      type: 'AWS::IAM::Group',
      paths: ['requestParameters.groupName', 'requestParameters.newGroupName', 'responseElements.group.arn'],
    },
    {
      type: 'AWS::IAM::ManagedPolicy',
      paths: ['requestParameters.policyArn', 'responseElements.policy.arn'],
    },
    // Inline policies have a name only within their user, role or group.
    {
      type: 'AWS::IAM::Policy',
      paths: ['requestParameters.policyName'],
      events: /^(Put|Get|Delete)(User|Role|Group)Policy$/,
    },
    {
      type: 'AWS::IAM::AccessKey',
      paths: ['requestParameters.accessKeyId', 'responseElements.accessKey.accessKeyId'],
    },
    {
      type: 'AWS::IAM::InstanceProfile',
      paths: ['requestParameters.instanceProfileName', 'responseElements.instanceProfile.arn'],
    },
    // Not a CloudFormation type: a user's console password, named after its user.
    { type: 'AWS::IAM::LoginProfile', paths: ['requestParameters.userName'], events: /LoginProfile$/ },
    {
      type: 'AWS::IAM::MFADevice',
      paths: ['requestParameters.serialNumber', 'responseElements.virtualMFADevice.serialNumber'],
    },
  ],
};

import type { ServiceTable } from '../table.ts';

export const ssm: ServiceTable = {
  eventSource: 'ssm.amazonaws.com',
  rules: [
    {
      type: 'AWS::SSM::Parameter',
      paths: ['requestParameters.name', 'requestParameters.names[]'],
      events: /Parameters?(History)?$/,
    },
    { type: 'AWS::SSM::Document', paths: ['requestParameters.documentName'] },
    { type: 'AWS::SSM::Document', paths: ['requestParameters.name'], events: /Document/ },
    // Not CloudFormation types: a command run and a session opened on instances.
    {
      type: 'AWS::SSM::Command',
      paths: ['requestParameters.commandId', 'responseElements.command.commandId'],
    },
    { type: 'AWS::SSM::Session', paths: ['requestParameters.sessionId', 'responseElements.sessionId'] },
    {
      type: 'AWS::EC2::Instance',
      paths: ['requestParameters.instanceId', 'requestParameters.instanceIds[]', 'requestParameters.target'],
      match: /^i-/,
    },
  ],
};

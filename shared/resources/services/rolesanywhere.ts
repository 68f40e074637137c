import type { ServiceTable } from '../table.ts';

export const rolesanywhere: ServiceTable = {
  eventSource: 'rolesanywhere.amazonaws.com',
  rules: [
    {
      type: 'AWS::RolesAnywhere::TrustAnchor',
      paths: ['requestParameters.trustAnchorId', 'responseElements.trustAnchor.trustAnchorArn'],
    },
    { type: 'AWS::RolesAnywhere::TrustAnchor', paths: ['requestParameters.name'], events: /TrustAnchor$/ },
    {
      type: 'AWS::RolesAnywhere::Profile',
      paths: ['requestParameters.profileId', 'responseElements.profile.profileArn'],
    },
    { type: 'AWS::RolesAnywhere::Profile', paths: ['requestParameters.name'], events: /Profile$/ },
    { type: 'AWS::IAM::Role', paths: ['requestParameters.roleArns[]'] },
  ],
};

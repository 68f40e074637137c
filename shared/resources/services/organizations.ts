import type { ServiceTable } from '../table.ts';

export const organizations: ServiceTable = {
  eventSource: 'organizations.amazonaws.com',
  rules: [
    {
      type: 'AWS::Organizations::Account',
      paths: ['requestParameters.accountId', 'responseElements.createAccountStatus.accountId'],
    },
    { type: 'AWS::Organizations::OrganizationalUnit', paths: ['requestParameters.organizationalUnitId'] },
    {
      type: 'AWS::Organizations::Policy',
      paths: ['requestParameters.policyId', 'responseElements.policy.policySummary.arn'],
    },
    { type: 'AWS::Organizations::Organization', paths: ['responseElements.organization.arn'] },
  ],
};

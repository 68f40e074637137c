import type { ServiceTable } from '../table.ts';

export const guardduty: ServiceTable = {
  eventSource: 'guardduty.amazonaws.com',
  rules: [
    {
      type: 'AWS::GuardDuty::Detector',
      paths: ['requestParameters.detectorId', 'responseElements.detectorId'],
    },
    { type: 'AWS::GuardDuty::Filter', paths: ['requestParameters.filterName'] },
    { type: 'AWS::GuardDuty::IPSet', paths: ['requestParameters.ipSetId', 'responseElements.ipSetId'] },
    {
      type: 'AWS::GuardDuty::ThreatIntelSet',
      paths: ['requestParameters.threatIntelSetId', 'responseElements.threatIntelSetId'],
    },
  ],
};

import type { ServiceTable } from '../table.ts';

export const eks: ServiceTable = {
  eventSource: 'eks.amazonaws.com',
  rules: [
    { type: 'AWS::EKS::Cluster', paths: ['requestParameters.clusterName', 'responseElements.cluster.arn'] },
    { type: 'AWS::EKS::Cluster', paths: ['requestParameters.name'], events: /Cluster/ },
    {
      type: 'AWS::EKS::Nodegroup',
      paths: ['requestParameters.nodegroupName', 'responseElements.nodegroup.nodegroupArn'],
    },
  ],
};

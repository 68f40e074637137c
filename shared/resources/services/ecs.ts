import type { ServiceTable } from '../table.ts';

export const ecs: ServiceTable = {
  eventSource: 'ecs.amazonaws.com',
  rules: [
    {
      type: 'AWS::ECS::Cluster',
      paths: [
        'requestParameters.cluster',
        'requestParameters.clusterName',
        'responseElements.cluster.clusterArn',
      ],
    },
    {
      type: 'AWS::ECS::Service',
      paths: [
        'requestParameters.service',
        'requestParameters.serviceName',
        'requestParameters.services[]',
        'responseElements.service.serviceArn',
      ],
    },
    {
      type: 'AWS::ECS::TaskDefinition',
      paths: ['requestParameters.taskDefinition', 'responseElements.taskDefinition.taskDefinitionArn'],
    },
    { type: 'AWS::ECS::Task', paths: ['requestParameters.task', 'responseElements.tasks[].taskArn'] },
  ],
};

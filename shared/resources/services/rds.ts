import type { ServiceTable } from '../table.ts';

export const rds: ServiceTable = {
  eventSource: 'rds.amazonaws.com',
  rules: [
    {
      type: 'AWS::RDS::DBInstance',
      paths: ['requestParameters.dBInstanceIdentifier', 'responseElements.dBInstanceArn'],
    },
    {
      type: 'AWS::RDS::DBCluster',
      paths: ['requestParameters.dBClusterIdentifier', 'responseElements.dBClusterArn'],
    },
    // Snapshots are not CloudFormation types; AWS Config names them so.
    {
      type: 'AWS::RDS::DBSnapshot',
      paths: [
        'requestParameters.dBSnapshotIdentifier',
        'requestParameters.sourceDBSnapshotIdentifier',
        'requestParameters.targetDBSnapshotIdentifier',
        'responseElements.dBSnapshotIdentifier',
        'responseElements.dBSnapshotArn',
      ],
    },
    {
      type: 'AWS::RDS::DBClusterSnapshot',
      paths: ['requestParameters.dBClusterSnapshotIdentifier', 'responseElements.dBClusterSnapshotArn'],
    },
  ],
};

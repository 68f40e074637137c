import type { ResourceRule, ServiceTable } from '../table.ts';

/** EC2 ids say their type by prefix; fields that hold any kind of id (tags) use this table. */
export const EC2_ID_TYPES: readonly [prefix: string, type: string][] = [
  ['i-', 'AWS::EC2::Instance'],
  ['sg-', 'AWS::EC2::SecurityGroup'],
  ['vpc-', 'AWS::EC2::VPC'],
  ['subnet-', 'AWS::EC2::Subnet'],
  ['rtb-', 'AWS::EC2::RouteTable'],
  ['igw-', 'AWS::EC2::InternetGateway'],
  ['nat-', 'AWS::EC2::NatGateway'],
  ['vol-', 'AWS::EC2::Volume'],
  ['snap-', 'AWS::EC2::Snapshot'],
  ['ami-', 'AWS::EC2::Ami'],
  ['fl-', 'AWS::EC2::FlowLog'],
  ['eni-', 'AWS::EC2::NetworkInterface'],
  ['key-', 'AWS::EC2::KeyPair'],
  ['acl-', 'AWS::EC2::NetworkAcl'],
  ['lt-', 'AWS::EC2::LaunchTemplate'],
];

const ANY_ID = [
  'requestParameters.resourcesSet.items[].resourceId',
  'requestParameters.resourceIdSet.items[].resourceId',
];
const INSTANCE_ITEMS = 'instancesSet.items[].instanceId';

const typed = (type: string, paths: string[]): ResourceRule => ({ type, paths });

export const ec2: ServiceTable = {
  eventSource: 'ec2.amazonaws.com',
  rules: [
    typed('AWS::EC2::Instance', [
      'requestParameters.instanceId',
      `requestParameters.${INSTANCE_ITEMS}`,
      `responseElements.${INSTANCE_ITEMS}`,
    ]),
    typed('AWS::EC2::SecurityGroup', [
      'requestParameters.groupId',
      'requestParameters.groupSet.items[].groupId',
      'requestParameters.securityGroupIdSet.items[].groupId',
      'responseElements.groupId',
      'responseElements.instancesSet.items[].groupSet.items[].groupId',
    ]),
    typed('AWS::EC2::VPC', [
      'requestParameters.vpcId',
      'responseElements.vpc.vpcId',
      'responseElements.instancesSet.items[].vpcId',
    ]),
    typed('AWS::EC2::Subnet', [
      'requestParameters.subnetId',
      'responseElements.subnet.subnetId',
      'responseElements.instancesSet.items[].subnetId',
    ]),
    typed('AWS::EC2::RouteTable', [
      'requestParameters.routeTableId',
      'responseElements.routeTable.routeTableId',
    ]),
    typed('AWS::EC2::InternetGateway', [
      'requestParameters.internetGatewayId',
      'responseElements.internetGateway.internetGatewayId',
    ]),
    typed('AWS::EC2::NatGateway', [
      'requestParameters.natGatewayId',
      'requestParameters.DeleteNatGatewayRequest.NatGatewayId',
      'responseElements.CreateNatGatewayResponse.natGateway.natGatewayId',
    ]),
    typed('AWS::EC2::Volume', ['requestParameters.volumeId', 'responseElements.volumeId']),
    typed('AWS::EC2::Snapshot', ['requestParameters.snapshotId', 'responseElements.snapshotId']),
    typed('AWS::EC2::Ami', [
      'requestParameters.imageId',
      'requestParameters.instancesSet.items[].imageId',
      'responseElements.imageId',
    ]),
    typed('AWS::EC2::KeyPair', ['requestParameters.keyName', 'responseElements.keyName']),
    typed('AWS::EC2::FlowLog', [
      // EC2's newer APIs are logged in their XML shape: one id is an object, several an array of them.
      'requestParameters.DeleteFlowLogsRequest.FlowLogId[].content',
      'responseElements.CreateFlowLogsResponse.flowLogIdSet.item',
    ]),
    ...EC2_ID_TYPES.map(([prefix, type]) => ({ type, paths: ANY_ID, match: new RegExp(`^${prefix}`) })),
  ],
};

/** Every service table, in one list (the extractor and the SQL builder read the same). */
import type { ServiceTable } from '../table.ts';
import { awsConfig } from './aws-config.ts';
import { bedrock } from './bedrock.ts';
import { cloudtrail } from './cloudtrail.ts';
import { cloudwatchLogs } from './cloudwatch-logs.ts';
import { dynamodb } from './dynamodb.ts';
import { ec2 } from './ec2.ts';
import { ec2InstanceConnect } from './ec2-instance-connect.ts';
import { ecs } from './ecs.ts';
import { eks } from './eks.ts';
import { guardduty } from './guardduty.ts';
import { iam } from './iam.ts';
import { kms } from './kms.ts';
import { lambda } from './lambda.ts';
import { organizations } from './organizations.ts';
import { rds } from './rds.ts';
import { rolesanywhere } from './rolesanywhere.ts';
import { route53resolver } from './route53resolver.ts';
import { s3 } from './s3.ts';
import { secretsmanager } from './secretsmanager.ts';
import { sns } from './sns.ts';
import { sqs } from './sqs.ts';
import { ssm } from './ssm.ts';
import { sts } from './sts.ts';

export const TABLES: readonly ServiceTable[] = [
  iam,
  sts,
  ec2,
  ec2InstanceConnect,
  s3,
  cloudtrail,
  kms,
  secretsmanager,
  ssm,
  lambda,
  rds,
  organizations,
  guardduty,
  awsConfig,
  cloudwatchLogs,
  sns,
  sqs,
  dynamodb,
  ecs,
  eks,
  rolesanywhere,
  bedrock,
  route53resolver,
];

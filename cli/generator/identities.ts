/**
 * Who calls AWS in a sample account, from where and with which client, and what the account holds.
 * Identifiers (principal ids, access keys, instance ids...) depend only on the account and region, not on
 * the seed: the same account looks the same in every generated trail.
 */
import type { UserIdentity } from '#shared/record.ts';
import { GeneratorError } from './errors.ts';
import { Rng } from './random.ts';

/** Hour-of-day curves (UTC) that a principal's activity follows; see traffic.ts. */
export type Shape = 'office' | 'app' | 'flat';

export type AgentKind =
  | 'cli'
  | 'cli-mac'
  | 'boto3'
  | 'terraform'
  | 'sdk-js'
  | 'ssm-agent'
  | 'console'
  | 'service';

export interface PrincipalDef {
  id: string;
  kind: 'IAMUser' | 'AssumedRole' | 'AWSService' | 'Root';
  userName?: string;
  role?: string;
  /** Role session name; `$instance` stands for the region's first instance id. */
  session?: string;
  /** The AWS service acting (AWSService) or calling through a service-linked role. */
  service?: string;
  console?: boolean;
  agents: [AgentKind, number][];
  ips: string[];
  shape: Shape;
  /** Share of the weekday-peak rate. */
  share: number;
  /** Probability that a call fails with an authorization error. */
  errorRate: number;
  /** Probability that a call is throttled. */
  throttleRate: number;
  /** API keys from catalog.ts with relative weights. */
  apis: [string, number][];
  /** Calls made by another client on the same host (the SSM agent beside the application). */
  apiAgents?: Record<string, AgentKind>;
}

const OFFICE_IPS = ['203.0.113.24', '203.0.113.25', '203.0.113.38'];
const CI_IPS = ['198.51.100.10', '198.51.100.11', '198.51.100.12', '198.51.100.13'];

/** The people, workloads and services of a sample account. */
export const PRINCIPALS: PrincipalDef[] = [
  {
    id: 'alice',
    kind: 'IAMUser',
    userName: 'alice',
    agents: [
      ['cli-mac', 8],
      ['boto3', 2],
    ],
    ips: [...OFFICE_IPS.slice(0, 2), '198.51.100.77'],
    shape: 'office',
    share: 0.14,
    errorRate: 0.035,
    throttleRate: 0.002,
    apis: [
      ['ec2:DescribeInstances', 10],
      ['ec2:DescribeSecurityGroups', 3],
      ['ec2:StartInstances', 0.8],
      ['ec2:StopInstances', 0.8],
      ['ec2:CreateTags', 1],
      ['s3:ListBuckets', 5],
      ['s3:GetBucketAcl', 1.5],
      ['s3:GetBucketPolicy', 1],
      ['s3:PutBucketTagging', 0.5],
      ['logs:DescribeLogGroups', 4],
      ['logs:FilterLogEvents', 8],
      ['logs:GetLogEvents', 5],
      ['logs:PutRetentionPolicy', 0.3],
      ['lambda:ListFunctions', 3],
      ['lambda:GetFunction', 4],
      ['lambda:UpdateFunctionConfiguration', 1.2],
      ['cloudformation:DescribeStacks', 5],
      ['cloudformation:DescribeStackEvents', 3],
      ['sts:GetCallerIdentity', 3],
      ['ssm:GetParameter', 2],
      ['ssm:PutParameter', 0.8],
      ['secretsmanager:DescribeSecret', 1],
      ['kms:DescribeKey', 0.5],
    ],
  },
  {
    id: 'bob',
    kind: 'IAMUser',
    userName: 'bob',
    agents: [
      ['cli', 6],
      ['terraform', 3],
    ],
    ips: [OFFICE_IPS[2], '192.0.2.77'],
    shape: 'office',
    share: 0.1,
    errorRate: 0.03,
    throttleRate: 0.003,
    apis: [
      ['ec2:DescribeInstances', 8],
      ['ec2:DescribeVolumes', 3],
      ['ec2:DescribeSecurityGroups', 4],
      ['ec2:DescribeVpcs', 2],
      ['ec2:DescribeSubnets', 2],
      ['ec2:RunInstances', 0.8],
      ['ec2:TerminateInstances', 0.5],
      ['ec2:StopInstances', 1],
      ['ec2:StartInstances', 1],
      ['ec2:CreateTags', 1.5],
      ['iam:ListRoles', 2],
      ['iam:GetRole', 3],
      ['iam:ListAttachedRolePolicies', 2],
      ['iam:ListUsers', 1],
      ['kms:ListKeys', 1],
      ['kms:DescribeKey', 1],
      ['cloudtrail:LookupEvents', 2],
      ['cloudtrail:DescribeTrails', 1],
      ['cloudtrail:GetTrailStatus', 1],
      ['secretsmanager:ListSecrets', 1],
      ['ssm:DescribeInstanceInformation', 2],
      ['ssm:SendCommand', 0.8],
      ['ssm:StartSession', 0.8],
      ['s3:ListBuckets', 2],
      ['ecs:DescribeServices', 2],
      ['ecs:ListServices', 1],
    ],
  },
  {
    id: 'ci-deploy',
    kind: 'IAMUser',
    userName: 'ci-deploy',
    agents: [
      ['terraform', 6],
      ['cli', 4],
    ],
    ips: CI_IPS,
    shape: 'office',
    share: 0.12,
    errorRate: 0.012,
    throttleRate: 0.004,
    apis: [
      ['sts:GetCallerIdentity', 6],
      ['cloudformation:DescribeStacks', 6],
      ['cloudformation:DescribeStackEvents', 4],
      ['cloudformation:GetTemplate', 1],
      ['cloudformation:UpdateStack', 0.6],
      ['cloudformation:CreateChangeSet', 0.5],
      ['cloudformation:DescribeChangeSet', 0.8],
      ['cloudformation:ExecuteChangeSet', 0.5],
      ['lambda:GetFunction', 3],
      ['lambda:UpdateFunctionCode', 0.6],
      ['lambda:PublishVersion', 0.4],
      ['ecs:DescribeServices', 3],
      ['ecs:DescribeTaskDefinition', 2],
      ['ecs:RegisterTaskDefinition', 0.5],
      ['ecs:UpdateService', 0.6],
      ['s3:GetBucketAcl', 1],
      ['s3:GetBucketPolicy', 1],
      ['s3:GetBucketVersioning', 1],
      ['iam:GetRole', 3],
      ['iam:GetRolePolicy', 1],
      ['ec2:DescribeSecurityGroups', 3],
      ['ec2:DescribeVpcs', 1],
      ['ec2:DescribeSubnets', 1],
      ['logs:DescribeLogGroups', 1],
      ['ssm:GetParameter', 2],
      ['kms:DescribeKey', 1],
      ['cloudtrail:StartLogging', 0.01],
    ],
  },
  {
    id: 'carol',
    kind: 'AssumedRole',
    role: 'AWSReservedSSO_AdministratorAccess_3f2a1b9c8d7e6f50',
    session: 'carol@example.com',
    console: true,
    agents: [['console', 1]],
    ips: ['203.0.113.61'],
    shape: 'office',
    share: 0.08,
    errorRate: 0.01,
    throttleRate: 0,
    apis: [
      ['ec2:DescribeInstances', 5],
      ['ec2:DescribeSecurityGroups', 2],
      ['s3:ListBuckets', 3],
      ['s3:GetBucketAcl', 1.5],
      ['s3:GetBucketPolicyStatus', 1],
      ['s3:GetBucketPublicAccessBlock', 1],
      ['s3:PutBucketPolicy', 0.04],
      ['iam:ListUsers', 2],
      ['iam:GetAccountSummary', 1],
      ['iam:ListRoles', 2],
      ['iam:GetAccountPasswordPolicy', 0.5],
      ['iam:CreateRole', 0.08],
      ['iam:PutRolePolicy', 0.08],
      ['cloudtrail:LookupEvents', 2],
      ['cloudformation:ListStacks', 2],
      ['lambda:ListFunctions', 2],
      ['kms:ListAliases', 1],
      ['secretsmanager:ListSecrets', 1],
    ],
  },
  {
    id: 'orders-api',
    kind: 'AssumedRole',
    role: 'orders-api-role',
    session: 'orders-api',
    agents: [['sdk-js', 1]],
    ips: ['192.0.2.140', '192.0.2.141', '192.0.2.142'],
    shape: 'app',
    share: 0.18,
    errorRate: 0.02,
    throttleRate: 0.004,
    apis: [
      ['secretsmanager:GetSecretValue', 4],
      ['kms:Decrypt', 4],
      ['kms:GenerateDataKey', 2],
      ['ssm:GetParameter', 3],
      ['ssm:GetParameters', 1],
      ['logs:CreateLogStream', 8],
    ],
  },
  {
    id: 'web-app',
    kind: 'AssumedRole',
    role: 'web-app-instance-role',
    session: '$instance',
    agents: [['boto3', 1]],
    apiAgents: {
      'ssm:UpdateInstanceInformation': 'ssm-agent',
      'ssm:ListInstanceAssociations': 'ssm-agent',
      'ssm:UpdateInstanceAssociationStatus': 'ssm-agent',
      'ssm:PutInventory': 'ssm-agent',
    },
    ips: ['192.0.2.50'],
    shape: 'app',
    share: 0.16,
    errorRate: 0.01,
    throttleRate: 0.002,
    apis: [
      ['ssm:UpdateInstanceInformation', 6],
      ['ssm:ListInstanceAssociations', 3],
      ['ssm:UpdateInstanceAssociationStatus', 3],
      ['ssm:PutInventory', 2],
      ['logs:CreateLogStream', 1.5],
      ['logs:DescribeLogStreams', 2],
      ['ec2:DescribeTags', 2],
      ['secretsmanager:GetSecretValue', 2],
      ['kms:Decrypt', 2],
      ['sts:GetCallerIdentity', 0.5],
    ],
  },
  {
    id: 'audit-scanner',
    kind: 'AssumedRole',
    role: 'SecurityAuditRole',
    session: 'audit-scanner',
    agents: [['boto3', 1]],
    ips: ['198.51.100.200'],
    shape: 'flat',
    share: 0.04,
    errorRate: 0.01,
    throttleRate: 0.03,
    apis: [
      ['ec2:DescribeInstances', 3],
      ['ec2:DescribeSecurityGroups', 3],
      ['ec2:DescribeVolumes', 2],
      ['ec2:DescribeSnapshots', 2],
      ['ec2:DescribeVpcs', 1],
      ['ec2:DescribeNetworkAcls', 1],
      ['s3:ListBuckets', 1],
      ['s3:GetBucketAcl', 3],
      ['s3:GetBucketPolicy', 2],
      ['s3:GetBucketEncryption', 2],
      ['s3:GetBucketLogging', 2],
      ['iam:ListUsers', 1],
      ['iam:ListAccessKeys', 2],
      ['iam:GetAccountPasswordPolicy', 1],
      ['iam:ListRoles', 1],
      ['iam:ListPolicies', 1],
      ['kms:ListKeys', 1],
      ['kms:GetKeyRotationStatus', 1],
      ['cloudtrail:DescribeTrails', 1],
      ['cloudtrail:GetTrailStatus', 1],
      ['cloudtrail:GetEventSelectors', 1],
      ['lambda:ListFunctions', 1],
      ['secretsmanager:ListSecrets', 1],
      ['logs:DescribeMetricFilters', 1],
    ],
  },
  {
    id: 'config',
    kind: 'AssumedRole',
    role: 'AWSServiceRoleForConfig',
    session: 'AWSConfig-Describe',
    service: 'config.amazonaws.com',
    agents: [['service', 1]],
    ips: [],
    shape: 'flat',
    share: 0.03,
    errorRate: 0.002,
    throttleRate: 0.01,
    apis: [
      ['ec2:DescribeInstances', 2],
      ['ec2:DescribeSecurityGroups', 2],
      ['ec2:DescribeNetworkInterfaces', 2],
      ['ec2:DescribeVolumes', 1],
      ['iam:GetRole', 1],
      ['s3:GetBucketAcl', 1],
      ['lambda:GetFunction', 1],
    ],
  },
  {
    id: 'lambda-service',
    kind: 'AWSService',
    service: 'lambda.amazonaws.com',
    agents: [['service', 1]],
    ips: [],
    shape: 'app',
    share: 0.02,
    errorRate: 0,
    throttleRate: 0,
    apis: [['sts:AssumeRole', 1]],
  },
  {
    id: 'ecs-tasks-service',
    kind: 'AWSService',
    service: 'ecs-tasks.amazonaws.com',
    agents: [['service', 1]],
    ips: [],
    shape: 'app',
    share: 0.015,
    errorRate: 0,
    throttleRate: 0,
    apis: [['sts:AssumeRole', 1]],
  },
];

/** The root user: never part of the steady traffic, only of rare console sessions. */
export const ROOT: PrincipalDef = {
  id: 'root',
  kind: 'Root',
  console: true,
  agents: [['console', 1]],
  ips: ['203.0.113.9'],
  shape: 'office',
  share: 0,
  errorRate: 0,
  throttleRate: 0,
  apis: [],
};

/** What an account holds in one region, named consistently across the calls that touch it. */
export interface Inventory {
  account: string;
  region: string;
  instances: string[];
  amis: string[];
  vpc: string;
  subnets: string[];
  securityGroups: string[];
  volumes: string[];
  snapshots: string[];
  buckets: string[];
  functions: string[];
  stacks: { name: string; id: string }[];
  ecsCluster: string;
  ecsServices: string[];
  secrets: { name: string; arn: string }[];
  parameters: string[];
  kmsKeys: string[];
  logGroups: string[];
  roles: string[];
  users: string[];
}

const inventories = new Map<string, Inventory>();

export function inventoryOf(account: string, region: string): Inventory {
  const cacheKey = `${account}/${region}`;
  const cached = inventories.get(cacheKey);
  if (cached) return cached;
  const r = new Rng(0, 'inventory', account, region);
  const id = (prefix: string) => `${prefix}-0${r.hex(16)}`;
  const functions = ['orders-api', 'image-resizer', 'nightly-report', 'slack-notifier'];
  const inv: Inventory = {
    account,
    region,
    instances: Array.from({ length: 8 }, () => id('i')),
    amis: Array.from({ length: 3 }, () => id('ami')),
    vpc: id('vpc'),
    subnets: Array.from({ length: 4 }, () => id('subnet')),
    securityGroups: Array.from({ length: 5 }, () => id('sg')),
    volumes: Array.from({ length: 8 }, () => id('vol')),
    snapshots: Array.from({ length: 4 }, () => id('snap')),
    // Bucket names are global: the same in every region.
    buckets: ['orders-data', 'app-artifacts', 'web-assets', 'access-logs'].map((b) => `${b}-${account}`),
    functions,
    stacks: ['orders-api-prod', 'network-base', 'web-frontend', 'monitoring'].map((name) => ({
      name,
      id: `arn:aws:cloudformation:${region}:${account}:stack/${name}/${r.uuid()}`,
    })),
    ecsCluster: 'prod',
    ecsServices: ['web', 'worker'],
    secrets: ['prod/orders/db-password', 'prod/payments/api-key', 'prod/web/session-secret'].map((name) => ({
      name,
      arn: `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${r.alnum(6)}`,
    })),
    parameters: [
      '/prod/orders/db-host',
      '/prod/orders/queue-url',
      '/prod/web/feature-flags',
      '/prod/web/base-url',
    ],
    kmsKeys: [r.uuid(), r.uuid()],
    logGroups: [...functions.map((f) => `/aws/lambda/${f}`), '/ecs/web', '/ecs/worker'],
    roles: ['orders-api-role', 'web-app-instance-role', 'SecurityAuditRole', 'ecs-task-execution-role'],
    users: ['alice', 'bob', 'ci-deploy'],
  };
  inventories.set(cacheKey, inv);
  return inv;
}

/** A principal as seen in one account and region. */
export interface Principal {
  def: PrincipalDef;
  account: string;
  arn: string;
  /** The session for an hour (`YYYY-MM-DDTHH`): role credentials are renewed hourly. */
  identity(hour: string): UserIdentity;
  /** Console sign-in identity (IAM users and root). */
  signInIdentity(): UserIdentity;
  sessionName?: string;
}

function idFor(account: string, what: string, prefix: string): string {
  const r = new Rng(0, 'identity', account, what);
  return prefix + r.upperAlnum(17);
}

export function resolvePrincipal(def: PrincipalDef, account: string, region: string): Principal {
  if (def.kind === 'IAMUser') {
    const principalId = idFor(account, `user/${def.userName}`, 'AIDA');
    const arn = `arn:aws:iam::${account}:user/${def.userName}`;
    const base = { type: 'IAMUser', principalId, arn, accountId: account };
    const identity: UserIdentity = {
      ...base,
      accessKeyId: idFor(account, `key/${def.userName}`, 'AKIA').slice(0, 20),
      userName: def.userName,
    };
    const signIn: UserIdentity = { ...base, userName: def.userName };
    return { def, account, arn, identity: () => identity, signInIdentity: () => signIn };
  }
  if (def.kind === 'Root') {
    const arn = `arn:aws:iam::${account}:root`;
    const sessions = new Map<string, UserIdentity>();
    return {
      def,
      account,
      arn,
      identity(hour) {
        let u = sessions.get(hour);
        if (!u) {
          u = {
            type: 'Root',
            principalId: account,
            arn,
            accountId: account,
            accessKeyId: idFor(account, `root/${hour}`, 'ASIA').slice(0, 20),
            sessionContext: { attributes: { creationDate: `${hour}:00:00Z`, mfaAuthenticated: 'false' } },
          };
          sessions.set(hour, u);
        }
        return u;
      },
      signInIdentity: () => ({ type: 'Root', principalId: account, arn, accountId: account }),
    };
  }
  if (def.kind === 'AWSService') {
    const identity: UserIdentity = { type: 'AWSService', invokedBy: def.service };
    return { def, account, arn: def.service!, identity: () => identity, signInIdentity: () => identity };
  }
  const session = def.session === '$instance' ? inventoryOf(account, region).instances[0] : def.session!;
  const roleId = idFor(account, `role/${def.role}`, 'AROA');
  const arn = `arn:aws:sts::${account}:assumed-role/${def.role}/${session}`;
  const issuer = {
    type: 'Role',
    principalId: roleId,
    arn: `arn:aws:iam::${account}:role/${def.role}`,
    accountId: account,
    userName: def.role,
  };
  const sessions = new Map<string, UserIdentity>();
  return {
    def,
    account,
    arn,
    sessionName: session,
    identity(hour) {
      let u = sessions.get(hour);
      if (!u) {
        u = {
          type: 'AssumedRole',
          principalId: `${roleId}:${session}`,
          arn,
          accountId: account,
          accessKeyId: idFor(account, `session/${def.role}/${hour}`, 'ASIA').slice(0, 20),
          sessionContext: {
            sessionIssuer: issuer,
            attributes: { creationDate: `${hour}:00:00Z`, mfaAuthenticated: def.console ? 'true' : 'false' },
          },
          ...(def.service ? { invokedBy: def.service } : {}),
        };
        sessions.set(hour, u);
      }
      return u;
    },
    signInIdentity: () => ({
      type: 'AssumedRole',
      principalId: `${roleId}:${session}`,
      arn,
      accountId: account,
    }),
  };
}

/** An identity for an ARN named in an injected burst: a user, a role session or the root user. */
export function principalFromArn(arn: string, region: string): Principal {
  const m = /^arn:aws:(?:iam|sts)::(\d{12}):(?:user\/(.+)|assumed-role\/([^/]+)\/(.+)|root)$/.exec(arn);
  if (!m)
    throw new GeneratorError(
      `expected a user, assumed-role session or root ARN, found ${JSON.stringify(arn)}`,
    );
  const [, account, userName, role, session] = m;
  const base = {
    agents: [['cli', 1]] as [AgentKind, number][],
    ips: ['203.0.113.24'],
    shape: 'office' as Shape,
  };
  const common = { share: 0, errorRate: 0, throttleRate: 0, apis: [] };
  if (userName)
    return resolvePrincipal({ id: userName, kind: 'IAMUser', userName, ...base, ...common }, account, region);
  if (role)
    return resolvePrincipal(
      { id: role, kind: 'AssumedRole', role, session, ...base, ...common },
      account,
      region,
    );
  return resolvePrincipal(ROOT, account, region);
}

const CLI_VERSION = 'aws-cli/2.15.30 Python/3.11.8';
const BOTO = '1.34.69';
const CLI_SERVICE: Record<string, string> = { s3: 's3api' };
const JS_SERVICE: Record<string, string> = {
  secretsmanager: 'secrets-manager',
  logs: 'cloudwatch-logs',
  cloudformation: 'cloudformation',
};

function kebab(name: string): string {
  return name
    .replace(/\d{8}(v\d)?$/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase();
}

export const BROWSER_AGENT =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

const agentCache = new Map<string, string>();

/** The userAgent a client of this kind sends for a call (`service` = the IAM service prefix). */
export function userAgentFor(
  kind: AgentKind,
  service: string,
  apiName: string,
  principal: PrincipalDef,
): string {
  const cacheKey = `${kind}\u0000${service}\u0000${apiName}\u0000${principal.service ?? ''}`;
  const cached = agentCache.get(cacheKey);
  if (cached) return cached;
  let ua: string;
  switch (kind) {
    case 'cli':
      ua = `${CLI_VERSION} Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off command/${CLI_SERVICE[service] ?? service}.${kebab(apiName)}`;
      break;
    case 'cli-mac':
      ua = `${CLI_VERSION} Darwin/23.4.0 exe/x86_64 prompt/off command/${CLI_SERVICE[service] ?? service}.${kebab(apiName)}`;
      break;
    case 'boto3':
      ua = `Boto3/${BOTO} md/Botocore#${BOTO} ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/${BOTO}`;
      break;
    case 'terraform':
      ua = `APN/1.0 HashiCorp/1.0 Terraform/1.7.5 (+https://www.terraform.io) terraform-provider-aws/5.42.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.26.0 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/${service}#1.30.4`;
      break;
    case 'sdk-js':
      ua = `aws-sdk-js/3.540.0 ua/2.1 os/linux#5.10.214-223.835.amzn2.x86_64 lang/js md/nodejs#20.12.0 api/${JS_SERVICE[service] ?? service}#3.540.0 exec-env/AWS_Lambda_nodejs20.x`;
      break;
    case 'ssm-agent':
      ua = 'aws-sdk-go/1.44.302 (go1.21.6; linux; amd64) amazon-ssm-agent/3.3.40.0';
      break;
    case 'console':
      ua = service === 'signin' ? BROWSER_AGENT : 'console.amazonaws.com';
      break;
    case 'service':
      ua = principal.service ?? 'AWS Internal';
      break;
  }
  agentCache.set(cacheKey, ua);
  return ua;
}

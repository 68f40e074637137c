/**
 * The management APIs a sample trail holds, each with the request, response and resources CloudTrail
 * records for it. Shapes follow real records (see test/fixtures/stratus; test/unit/generator-shape.test.ts
 * compares every API both hold): `resources` only where CloudTrail writes it (S3, KMS, STS AssumeRole, SSM
 * GetParameters), never for EC2, CloudTrail or IAM calls. Values come from the account's inventory so that
 * the same instance, bucket or function recurs across calls.
 */
import { GeneratorError } from './errors.ts';
import type { Inventory, Principal } from './identities.ts';
import type { Rng } from './random.ts';

export interface Resource {
  ARN: string;
  accountId: string;
  /** CloudTrail leaves it out for some services (SSM parameters). */
  type?: string;
}

export interface CallContext {
  rng: Rng;
  inv: Inventory;
  account: string;
  region: string;
  /** Event time in milliseconds. */
  ms: number;
  principal: Principal;
  requestId: string;
  trailName: string;
}

export interface Call {
  req: Record<string, unknown> | null;
  res?: Record<string, unknown> | null;
  resources?: Resource[];
  /** The resource an authorization error names. */
  target?: string;
}

export interface ApiSpec {
  key: string;
  /** IAM service prefix: `ec2`, `s3`... */
  service: string;
  source: string;
  name: string;
  readOnly: boolean;
  /** Recorded in us-east-1 only. */
  global: boolean;
  eventType: string;
  requestIdStyle: 'uuid' | 's3' | 'none';
  call(c: CallContext): Call;
}

const GLOBAL_SERVICES = new Set(['iam', 'sts', 'signin', 'organizations', 'cloudfront']);

/** `Mar 5, 2026, 11:07:33 AM`: how IAM and STS print dates in response elements. */
export function awsDate(ms: number, comma = true): string {
  const d = new Date(ms);
  const month = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
    d.getUTCMonth()
  ];
  const h = d.getUTCHours();
  const clock = `${h % 12 === 0 ? 12 : h % 12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
  return `${month} ${d.getUTCDate()}, ${d.getUTCFullYear()}${comma ? ',' : ''} ${clock}`;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function iso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

const instanceArn = (c: CallContext, id: string) => `arn:aws:ec2:${c.region}:${c.account}:instance/${id}`;
const bucketArn = (b: string) => `arn:aws:s3:::${b}`;
const bucketRes = (c: CallContext, b: string): Resource => ({
  ARN: bucketArn(b),
  accountId: c.account,
  type: 'AWS::S3::Bucket',
});
const fnArn = (c: CallContext, f: string) => `arn:aws:lambda:${c.region}:${c.account}:function:${f}`;
const keyArn = (c: CallContext, k: string) => `arn:aws:kms:${c.region}:${c.account}:key/${k}`;
const keyRes = (c: CallContext, k: string): Resource => ({
  ARN: keyArn(c, k),
  accountId: c.account,
  type: 'AWS::KMS::Key',
});
const roleArn = (c: CallContext, r: string) => `arn:aws:iam::${c.account}:role/${r}`;
const paramArn = (c: CallContext, p: string) => `arn:aws:ssm:${c.region}:${c.account}:parameter${p}`;
const logGroupArn = (c: CallContext, g: string) => `arn:aws:logs:${c.region}:${c.account}:log-group:${g}`;
const trailArn = (c: CallContext) => `arn:aws:cloudtrail:${c.region}:${c.account}:trail/${c.trailName}`;
const ANY = '*';

type Builder = (c: CallContext) => Call;

const specs: ApiSpec[] = [];

function api(
  key: string,
  readOnly: boolean,
  call: Builder,
  opts: {
    name?: string;
    source?: string;
    eventType?: string;
    requestIdStyle?: ApiSpec['requestIdStyle'];
  } = {},
): void {
  const [service, short] = key.split(':');
  specs.push({
    key,
    service,
    source: opts.source ?? `${service}.amazonaws.com`,
    name: opts.name ?? short,
    readOnly,
    global: GLOBAL_SERVICES.has(service),
    eventType: opts.eventType ?? 'AwsApiCall',
    requestIdStyle: opts.requestIdStyle ?? (service === 's3' ? 's3' : 'uuid'),
    call,
  });
}

const read = (key: string, call: Builder, opts?: Parameters<typeof api>[3]) => api(key, true, call, opts);
const write = (key: string, call: Builder, opts?: Parameters<typeof api>[3]) => api(key, false, call, opts);

// ---- ec2 ----
read('ec2:DescribeInstances', (c) => {
  if (c.rng.chance(0.4)) {
    const id = c.rng.pick(c.inv.instances);
    return {
      req: { instancesSet: { items: [{ instanceId: id }] }, filterSet: {} },
      res: null,
      target: instanceArn(c, id),
    };
  }
  return { req: { instancesSet: {}, filterSet: {} }, res: null, target: ANY };
});
read('ec2:DescribeSecurityGroups', (c) => ({
  req: c.rng.chance(0.5)
    ? {
        securityGroupSet: {},
        securityGroupIdSet: { items: [{ groupId: c.rng.pick(c.inv.securityGroups) }] },
        filterSet: {},
      }
    : {
        securityGroupSet: {},
        securityGroupIdSet: {},
        filterSet: { items: [{ name: 'vpc-id', valueSet: { items: [{ value: c.inv.vpc }] } }] },
      },
  res: null,
  target: ANY,
}));
read('ec2:DescribeVolumes', () => ({ req: { volumeSet: {}, filterSet: {} }, res: null, target: ANY }));
read('ec2:DescribeVpcs', () => ({ req: { vpcSet: {}, filterSet: {} }, res: null, target: ANY }));
read('ec2:DescribeSubnets', (c) => ({
  req: {
    subnetSet: {},
    filterSet: { items: [{ name: 'vpc-id', valueSet: { items: [{ value: c.inv.vpc }] } }] },
  },
  res: null,
  target: ANY,
}));
read('ec2:DescribeSnapshots', (c) => ({
  req: { snapshotSet: {}, ownersSet: { items: [{ owner: c.account }] }, sharedUsersSet: {}, filterSet: {} },
  res: null,
  target: ANY,
}));
read('ec2:DescribeNetworkAcls', () => ({
  req: { networkAclIdSet: {}, filterSet: {} },
  res: null,
  target: ANY,
}));
read('ec2:DescribeNetworkInterfaces', () => ({
  req: { networkInterfaceIdSet: {}, filterSet: {} },
  res: null,
  target: ANY,
}));
read('ec2:DescribeTags', (c) => ({
  req: {
    filterSet: { items: [{ name: 'resource-id', valueSet: { items: [{ value: c.inv.instances[0] }] } }] },
  },
  res: null,
  target: ANY,
}));

function stateChange(from: [number, string], to: [number, string]): Builder {
  return (c) => {
    const id = c.rng.pick(c.inv.instances);
    const req: Record<string, unknown> = { instancesSet: { items: [{ instanceId: id }] } };
    if (to[1] === 'stopping') req.force = c.rng.chance(0.2);
    return {
      req,
      res: {
        requestId: c.requestId,
        instancesSet: {
          items: [
            {
              instanceId: id,
              currentState: { code: to[0], name: to[1] },
              previousState: { code: from[0], name: from[1] },
            },
          ],
        },
      },
      target: instanceArn(c, id),
    };
  };
}
write('ec2:StartInstances', stateChange([80, 'stopped'], [0, 'pending']));
write('ec2:StopInstances', stateChange([16, 'running'], [64, 'stopping']));
write('ec2:TerminateInstances', stateChange([16, 'running'], [32, 'shutting-down']));
write('ec2:RunInstances', (c) => {
  const imageId = c.rng.pick(c.inv.amis);
  const instanceId = `i-0${c.rng.hex(16)}`;
  const subnetId = c.rng.pick(c.inv.subnets);
  const instanceType = c.rng.pick(['t3.micro', 't3.medium', 'm6i.large', 'c6i.xlarge']);
  const groupId = c.inv.securityGroups[0];
  const ip = `10.0.${c.rng.int(64)}.${c.rng.range(4, 250)}`;
  return {
    req: {
      instancesSet: { items: [{ imageId, minCount: 1, maxCount: 1 }] },
      instanceType,
      blockDeviceMapping: {},
      monitoring: { enabled: false },
      subnetId,
      disableApiTermination: false,
      disableApiStop: false,
      clientToken: c.rng.uuid(),
    },
    res: {
      requestId: c.requestId,
      reservationId: `r-0${c.rng.hex(16)}`,
      ownerId: c.account,
      groupSet: {},
      instancesSet: {
        items: [
          {
            instanceId,
            imageId,
            currentInstanceBootMode: 'uefi',
            instanceState: { code: 0, name: 'pending' },
            privateDnsName: `ip-${ip.replaceAll('.', '-')}.${c.region === 'us-east-1' ? 'ec2.internal' : `${c.region}.compute.internal`}`,
            amiLaunchIndex: 0,
            productCodes: {},
            instanceType,
            launchTime: c.ms,
            placement: { availabilityZone: `${c.region}a`, tenancy: 'default' },
            monitoring: { state: 'disabled' },
            subnetId,
            vpcId: c.inv.vpc,
            privateIpAddress: ip,
            stateReason: { code: 'pending', message: 'pending' },
            architecture: 'x86_64',
            rootDeviceType: 'ebs',
            rootDeviceName: '/dev/xvda',
            blockDeviceMapping: {},
            virtualizationType: 'hvm',
            groupSet: { items: [{ groupId, groupName: 'web-app' }] },
            sourceDestCheck: true,
            networkInterfaceSet: {},
            ebsOptimized: false,
            enaSupport: true,
          },
        ],
      },
    },
    target: `arn:aws:ec2:${c.region}:${c.account}:instance/*`,
  };
});
write('ec2:CreateTags', (c) => {
  const id = c.rng.pick(c.inv.instances);
  return {
    req: {
      resourcesSet: { items: [{ resourceId: id }] },
      tagSet: {
        items: [
          {
            key: c.rng.pick(['Owner', 'CostCenter', 'Environment']),
            value: c.rng.pick(['platform', 'prod', '4711']),
          },
        ],
      },
    },
    res: { requestId: c.requestId, _return: true },
    target: instanceArn(c, id),
  };
});
write('ec2:AuthorizeSecurityGroupIngress', (c) => {
  const groupId = c.rng.pick(c.inv.securityGroups);
  const port = c.rng.pick([443, 8443, 5432]);
  const cidr = c.rng.pick(['10.0.0.0/16', '10.20.0.0/16']);
  return {
    // One rule given as top-level fields (the CLI's --protocol/--port/--cidr form): CloudTrail then
    // writes an empty ipPermissions beside them.
    req: { groupId, ipPermissions: {}, ipProtocol: 'tcp', fromPort: port, toPort: port, cidrIp: cidr },
    res: {
      requestId: c.requestId,
      _return: true,
      securityGroupRuleSet: {
        items: [
          {
            groupOwnerId: c.account,
            groupId,
            securityGroupRuleId: `sgr-0${c.rng.hex(16)}`,
            isEgress: false,
            ipProtocol: 'tcp',
            fromPort: port,
            toPort: port,
            cidrIpv4: cidr,
          },
        ],
      },
    },
    target: `arn:aws:ec2:${c.region}:${c.account}:security-group/${groupId}`,
  };
});

// ---- s3 ----
read('s3:ListBuckets', (c) => ({
  req: { Host: `s3.${c.region}.amazonaws.com` },
  res: null,
  target: ANY,
}));
function bucketRead(query: string): Builder {
  return (c) => {
    const b = c.rng.pick(c.inv.buckets);
    return {
      req: { bucketName: b, Host: `${b}.s3.${c.region}.amazonaws.com`, [query]: '' },
      res: null,
      resources: [bucketRes(c, b)],
      target: bucketArn(b),
    };
  };
}
read('s3:GetBucketAcl', bucketRead('acl'));
read('s3:GetBucketPolicy', bucketRead('policy'));
read('s3:GetBucketPolicyStatus', bucketRead('policyStatus'));
read('s3:GetBucketPublicAccessBlock', bucketRead('publicAccessBlock'));
read('s3:GetBucketVersioning', bucketRead('versioning'));
read('s3:GetBucketEncryption', bucketRead('encryption'));
read('s3:GetBucketLogging', bucketRead('logging'));
write('s3:PutBucketTagging', (c) => {
  const b = c.rng.pick(c.inv.buckets);
  return {
    req: {
      bucketName: b,
      Host: `${b}.s3.${c.region}.amazonaws.com`,
      tagging: '',
      Tagging: {
        xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/',
        TagSet: { Tag: { Key: 'Owner', Value: 'platform' } },
      },
    },
    res: null,
    resources: [bucketRes(c, b)],
    target: bucketArn(b),
  };
});
write('s3:PutBucketPolicy', (c) => {
  const b = c.rng.pick(c.inv.buckets);
  const policy = {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'DenyInsecureTransport',
        Effect: 'Deny',
        Principal: '*',
        Action: 's3:*',
        Resource: [bucketArn(b), `${bucketArn(b)}/*`],
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
    ],
  };
  return {
    req: { bucketName: b, Host: `${b}.s3.${c.region}.amazonaws.com`, bucketPolicy: policy, policy: '' },
    res: null,
    resources: [bucketRes(c, b)],
    target: bucketArn(b),
  };
});

// ---- iam ----
/** Roles and users are created under a permissions boundary, as an account with guardrails does. */
const BOUNDARY = 'arn:aws:iam::aws:policy/PowerUserAccess';
const OWNER_TAGS = [{ key: 'Owner', value: 'platform' }];
read('iam:ListRoles', () => ({ req: null, res: null, target: ANY }));
read('iam:ListUsers', () => ({ req: null, res: null, target: ANY }));
read('iam:ListPolicies', () => ({ req: { scope: 'Local', onlyAttached: false }, res: null, target: ANY }));
read('iam:GetAccountSummary', () => ({ req: null, res: null, target: ANY }));
read('iam:GetAccountPasswordPolicy', () => ({ req: null, res: null, target: ANY }));
read('iam:GetRole', (c) => {
  const r = c.rng.pick(c.inv.roles);
  return { req: { roleName: r }, res: null, target: roleArn(c, r) };
});
read('iam:GetRolePolicy', (c) => {
  const r = c.rng.pick(c.inv.roles);
  return { req: { roleName: r, policyName: `${r}-inline` }, res: null, target: roleArn(c, r) };
});
read('iam:ListAttachedRolePolicies', (c) => {
  const r = c.rng.pick(c.inv.roles);
  return { req: { roleName: r }, res: null, target: roleArn(c, r) };
});
read('iam:ListAccessKeys', (c) => {
  const u = c.rng.pick(c.inv.users);
  return { req: { userName: u }, res: null, target: `arn:aws:iam::${c.account}:user/${u}` };
});
write('iam:CreateRole', (c) => {
  const name = `lambda-${c.rng.pick(['reports', 'exporter', 'cleanup'])}-role`;
  const doc = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ],
  });
  const roleId = `AROA${c.rng.upperAlnum(17)}`;
  return {
    req: { roleName: name, assumeRolePolicyDocument: doc, permissionsBoundary: BOUNDARY },
    res: {
      role: {
        path: '/',
        roleName: name,
        roleId,
        arn: roleArn(c, name),
        createDate: awsDate(c.ms),
        assumeRolePolicyDocument: encodeURIComponent(doc),
        permissionsBoundary: { permissionsBoundaryType: 'Policy', permissionsBoundaryArn: BOUNDARY },
      },
    },
    target: roleArn(c, name),
  };
});
write('iam:PutRolePolicy', (c) => {
  const r = c.rng.pick(c.inv.roles);
  return {
    req: {
      roleName: r,
      policyName: `${r}-inline`,
      policyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' },
        ],
      }),
    },
    res: null,
    target: roleArn(c, r),
  };
});
write('iam:CreateUser', (c) => {
  const name = 'backup-admin';
  return {
    req: { userName: name, tags: OWNER_TAGS },
    res: {
      user: {
        path: '/',
        userName: name,
        userId: `AIDA${c.rng.upperAlnum(17)}`,
        arn: `arn:aws:iam::${c.account}:user/${name}`,
        createDate: awsDate(c.ms, false),
        tags: OWNER_TAGS,
      },
    },
    target: `arn:aws:iam::${c.account}:user/${name}`,
  };
});
write('iam:AttachUserPolicy', (c) => ({
  req: { userName: 'backup-admin', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' },
  res: null,
  target: `arn:aws:iam::${c.account}:user/backup-admin`,
}));
write('iam:CreateAccessKey', (c) => ({
  req: { userName: 'backup-admin' },
  res: {
    accessKey: {
      userName: 'backup-admin',
      accessKeyId: `AKIA${c.rng.upperAlnum(16)}`,
      status: 'Active',
      createDate: awsDate(c.ms, false),
    },
  },
  target: `arn:aws:iam::${c.account}:user/backup-admin`,
}));
write('iam:CreateLoginProfile', (c) => ({
  req: { userName: 'backup-admin', passwordResetRequired: false },
  res: {
    loginProfile: {
      userName: 'backup-admin',
      createDate: awsDate(c.ms, false),
      passwordResetRequired: false,
    },
  },
  target: `arn:aws:iam::${c.account}:user/backup-admin`,
}));

// ---- sts ----
read('sts:GetCallerIdentity', () => ({ req: null, res: null, target: ANY }));
read('sts:AssumeRole', (c) => {
  const service = c.principal.def.service ?? '';
  const role = service.startsWith('ecs') ? 'ecs-task-execution-role' : 'orders-api-role';
  const session = service.startsWith('ecs') ? c.rng.hex(32) : 'orders-api';
  const arn = roleArn(c, role);
  const roleId = `AROA${c.rng.upperAlnum(17)}`;
  return {
    req: { roleArn: arn, roleSessionName: session, durationSeconds: 3600 },
    res: {
      credentials: {
        accessKeyId: `ASIA${c.rng.upperAlnum(16)}`,
        sessionToken: `IQoJb3JpZ2luX2Vj${c.rng.alnum(120)}`,
        expiration: awsDate(c.ms + 3_600_000),
      },
      assumedRoleUser: {
        assumedRoleId: `${roleId}:${session}`,
        arn: `arn:aws:sts::${c.account}:assumed-role/${role}/${session}`,
      },
    },
    resources: [{ ARN: arn, accountId: c.account, type: 'AWS::IAM::Role' }],
    target: arn,
  };
});

// ---- kms ----
read('kms:ListKeys', () => ({ req: null, res: null, target: ANY }));
read('kms:ListAliases', () => ({ req: null, res: null, target: ANY }));
function keyRead(extra?: (c: CallContext) => Record<string, unknown>): Builder {
  return (c) => {
    const k = c.rng.pick(c.inv.kmsKeys);
    return {
      req: { keyId: k, ...extra?.(c) },
      res: null,
      resources: [keyRes(c, k)],
      target: keyArn(c, k),
    };
  };
}
read('kms:DescribeKey', keyRead());
read('kms:GetKeyRotationStatus', keyRead());
read('kms:Decrypt', (c) => {
  const k = c.inv.kmsKeys[0];
  return {
    req: {
      encryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      encryptionContext: { 'aws:lambda:FunctionArn': fnArn(c, 'orders-api') },
    },
    res: null,
    resources: [keyRes(c, k)],
    target: keyArn(c, k),
  };
});
read('kms:GenerateDataKey', (c) => {
  const k = c.inv.kmsKeys[0];
  return {
    req: { keyId: 'alias/orders-data', keySpec: 'AES_256' },
    res: null,
    resources: [keyRes(c, k)],
    target: keyArn(c, k),
  };
});

// ---- lambda ----
read('lambda:ListFunctions', () => ({ req: null, res: null, target: ANY }), {
  name: 'ListFunctions20150331',
});
read(
  'lambda:GetFunction',
  (c) => {
    const f = c.rng.pick(c.inv.functions);
    return { req: { functionName: f }, res: null, target: fnArn(c, f) };
  },
  { name: 'GetFunction20150331v2' },
);
const LAYER = 'otel-extension';
const layerArn = (c: CallContext, version: number) =>
  `arn:aws:lambda:${c.region}:${c.account}:layer:${LAYER}:${version}`;

/**
 * A function's configuration as Lambda answers an update: `update` (UpdateFunctionConfiguration) says the
 * update is in progress and lists the layers; `publish` (code published as a new version) says the new
 * version is pending.
 */
function functionConfig(
  c: CallContext,
  f: string,
  version: string,
  kind: 'update' | 'publish',
  layer?: number,
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    architectures: ['arm64'],
    codeSha256: Buffer.from(c.rng.hex(64), 'hex').toString('base64'),
    codeSize: 1_048_576 + c.rng.int(500_000),
    description: '',
    environment: {},
    ephemeralStorage: { size: 512 },
    functionArn: `${fnArn(c, f)}${version === '$LATEST' ? '' : `:${version}`}`,
    functionName: f,
    handler: 'index.handler',
    lastModified: `${iso(c.ms).slice(0, 19)}.000+0000`,
  };
  if (kind === 'update') {
    config.lastUpdateStatus = 'InProgress';
    config.lastUpdateStatusReason = 'The function is being created.';
    config.lastUpdateStatusReasonCode = 'Creating';
    config.layers = [{ arn: layerArn(c, layer ?? 1), codeSize: 4_211_337, uncompressedCodeSize: 12_800_512 }];
  }
  Object.assign(config, {
    loggingConfig: { logFormat: 'Text', logGroup: `/aws/lambda/${f}` },
    memorySize: 512,
    packageType: 'Zip',
    revisionId: c.rng.uuid(),
    role: roleArn(c, `${f}-role`),
    runtime: 'nodejs20.x',
    runtimeVersionConfig: {
      runtimeVersionArn: `arn:aws:lambda:${c.region}::runtime:${c.rng.hex(64)}`,
    },
    snapStart: { applyOn: 'None', optimizationStatus: 'Off' },
    state: kind === 'publish' ? 'Pending' : 'Active',
  });
  if (kind === 'publish') {
    config.stateReason = 'The function is being created.';
    config.stateReasonCode = 'Creating';
  }
  Object.assign(config, { timeout: 30, tracingConfig: { mode: 'PassThrough' }, version });
  return config;
}
write(
  'lambda:UpdateFunctionConfiguration',
  (c) => {
    const f = c.rng.pick(c.inv.functions);
    const layer = c.rng.range(3, 9);
    return {
      req: { environment: {}, functionName: fnArn(c, f), layers: [layerArn(c, layer)] },
      res: functionConfig(c, f, '$LATEST', 'update', layer),
      target: fnArn(c, f),
    };
  },
  { name: 'UpdateFunctionConfiguration20150331v2' },
);
write(
  'lambda:UpdateFunctionCode',
  (c) => {
    const f = c.rng.pick(c.inv.functions);
    const version = String(c.rng.range(10, 90));
    return {
      // The code itself is uploaded as a zip: CloudTrail leaves it out.
      req: {
        dryRun: false,
        fullyQualifiedArn: {
          arnPrefix: { account: c.account, partition: 'aws', region: c.region },
          functionQualifier: {},
          relativeId: { functionName: f },
        },
        functionName: fnArn(c, f),
        publish: true,
      },
      res: functionConfig(c, f, version, 'publish'),
      target: fnArn(c, f),
    };
  },
  { name: 'UpdateFunctionCode20150331v2' },
);
write(
  'lambda:PublishVersion',
  (c) => {
    const f = c.rng.pick(c.inv.functions);
    return {
      req: { functionName: f },
      res: functionConfig(c, f, String(c.rng.range(10, 90)), 'publish'),
      target: fnArn(c, f),
    };
  },
  { name: 'PublishVersion20150331' },
);

// ---- cloudformation ----
function stackCall(extra?: (c: CallContext) => Record<string, unknown>, response = false): Builder {
  return (c) => {
    const s = c.rng.pick(c.inv.stacks);
    return {
      req: { stackName: s.name, ...extra?.(c) },
      res: response ? { stackId: s.id } : null,
      target: s.id,
    };
  };
}
read('cloudformation:DescribeStacks', stackCall());
read('cloudformation:DescribeStackEvents', stackCall());
read('cloudformation:GetTemplate', stackCall());
read('cloudformation:ListStacks', () => ({
  req: { stackStatusFilter: ['CREATE_COMPLETE', 'UPDATE_COMPLETE'] },
  res: null,
  target: ANY,
}));
read(
  'cloudformation:DescribeChangeSet',
  stackCall((c) => ({ changeSetName: `deploy-${c.rng.hex(8)}` })),
);
write(
  'cloudformation:UpdateStack',
  stackCall(
    (c) => ({
      templateURL: `https://${c.inv.buckets[1]}.s3.amazonaws.com/templates/${c.rng.hex(32)}.template`,
      capabilities: ['CAPABILITY_IAM'],
      parameters: [{ parameterKey: 'ImageTag', parameterValue: c.rng.hex(7) }],
    }),
    true,
  ),
);
write('cloudformation:CreateChangeSet', (c) => {
  const s = c.rng.pick(c.inv.stacks);
  const name = `deploy-${c.rng.hex(8)}`;
  return {
    req: {
      stackName: s.name,
      changeSetName: name,
      changeSetType: 'UPDATE',
      capabilities: ['CAPABILITY_IAM'],
    },
    res: {
      id: `arn:aws:cloudformation:${c.region}:${c.account}:changeSet/${name}/${c.rng.uuid()}`,
      stackId: s.id,
    },
    target: s.id,
  };
});
write(
  'cloudformation:ExecuteChangeSet',
  stackCall((c) => ({ changeSetName: `deploy-${c.rng.hex(8)}` })),
);

// ---- ecs ----
const serviceArn = (c: CallContext, s: string) =>
  `arn:aws:ecs:${c.region}:${c.account}:service/${c.inv.ecsCluster}/${s}`;
read('ecs:DescribeServices', (c) => ({
  req: { cluster: c.inv.ecsCluster, services: [c.rng.pick(c.inv.ecsServices)] },
  res: null,
  target: ANY,
}));
read('ecs:ListServices', (c) => ({ req: { cluster: c.inv.ecsCluster }, res: null, target: ANY }));
read('ecs:DescribeTaskDefinition', (c) => ({
  req: { taskDefinition: `${c.rng.pick(c.inv.ecsServices)}:${c.rng.range(100, 140)}` },
  res: null,
  target: ANY,
}));
write('ecs:RegisterTaskDefinition', (c) => {
  const family = c.rng.pick(c.inv.ecsServices);
  const revision = c.rng.range(100, 140);
  return {
    req: {
      family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '512',
      memory: '1024',
      containerDefinitions: [
        {
          name: family,
          image: `${c.account}.dkr.ecr.${c.region}.amazonaws.com/${family}:${c.rng.hex(7)}`,
          essential: true,
        },
      ],
    },
    res: {
      taskDefinition: {
        taskDefinitionArn: `arn:aws:ecs:${c.region}:${c.account}:task-definition/${family}:${revision}`,
        family,
        revision,
        status: 'ACTIVE',
      },
    },
    target: ANY,
  };
});
write('ecs:UpdateService', (c) => {
  const s = c.rng.pick(c.inv.ecsServices);
  const revision = c.rng.range(100, 140);
  return {
    req: {
      cluster: c.inv.ecsCluster,
      service: s,
      taskDefinition: `${s}:${revision}`,
      forceNewDeployment: false,
    },
    res: {
      service: {
        serviceArn: serviceArn(c, s),
        serviceName: s,
        clusterArn: `arn:aws:ecs:${c.region}:${c.account}:cluster/${c.inv.ecsCluster}`,
        status: 'ACTIVE',
        desiredCount: 3,
        taskDefinition: `arn:aws:ecs:${c.region}:${c.account}:task-definition/${s}:${revision}`,
        deployments: [{ id: `ecs-svc/${c.rng.int(1e15)}`, status: 'PRIMARY', rolloutState: 'IN_PROGRESS' }],
      },
    },
    target: serviceArn(c, s),
  };
});

// ---- logs ----
read('logs:DescribeLogGroups', (c) => ({
  req: c.rng.chance(0.5) ? { logGroupNamePrefix: '/aws/lambda/' } : null,
  res: null,
  target: ANY,
}));
function logGroupCall(extra?: (c: CallContext) => Record<string, unknown>): Builder {
  return (c) => {
    const g = c.rng.pick(c.inv.logGroups);
    return { req: { logGroupName: g, ...extra?.(c) }, res: null, target: logGroupArn(c, g) };
  };
}
read(
  'logs:FilterLogEvents',
  logGroupCall((c) => ({
    startTime: c.ms - 3_600_000,
    filterPattern: c.rng.pick(['ERROR', '"timed out"', '{ $.level = "error" }']),
  })),
);
read(
  'logs:GetLogEvents',
  logGroupCall((c) => ({
    logStreamName: `${iso(c.ms).slice(0, 10).replaceAll('-', '/')}/[$LATEST]${c.rng.hex(32)}`,
    startFromHead: false,
  })),
);
read(
  'logs:DescribeLogStreams',
  logGroupCall(() => ({ orderBy: 'LastEventTime', descending: true, limit: 5 })),
);
read('logs:DescribeMetricFilters', () => ({ req: null, res: null, target: ANY }));
write(
  'logs:PutRetentionPolicy',
  logGroupCall((c) => ({ retentionInDays: c.rng.pick([30, 90, 365]) })),
);
write('logs:CreateLogStream', (c) => {
  const g = c.principal.def.id === 'orders-api' ? '/aws/lambda/orders-api' : '/ecs/web';
  return {
    req: {
      logGroupName: g,
      logStreamName: `${iso(c.ms).slice(0, 10).replaceAll('-', '/')}/[$LATEST]${c.rng.hex(32)}`,
    },
    res: null,
    target: logGroupArn(c, g),
  };
});

// ---- secretsmanager ----
read('secretsmanager:GetSecretValue', (c) => {
  const s =
    c.principal.def.id === 'orders-api'
      ? c.inv.secrets[c.rng.chance(0.8) ? 0 : 1]
      : c.rng.pick(c.inv.secrets);
  return { req: { secretId: s.arn }, res: null, target: s.arn };
});
read('secretsmanager:DescribeSecret', (c) => {
  const s = c.rng.pick(c.inv.secrets);
  return { req: { secretId: s.name }, res: null, target: s.arn };
});
read('secretsmanager:ListSecrets', () => ({
  req: { filters: [{ key: 'tag-key', values: ['Owner'] }], maxResults: 100 },
  res: null,
  target: ANY,
}));

// ---- ssm ----
read('ssm:GetParameter', (c) => {
  const p = c.rng.pick(c.inv.parameters);
  return { req: { name: p, withDecryption: c.rng.chance(0.5) }, res: null, target: paramArn(c, p) };
});
read('ssm:GetParameters', (c) => {
  const names = c.inv.parameters.slice(0, 2);
  return {
    req: { names, withDecryption: true },
    res: null,
    // CloudTrail lists the parameters read, with ARN and account but no type.
    resources: names.map((p) => ({ ARN: paramArn(c, p), accountId: c.account })),
    target: paramArn(c, names[0]),
  };
});
write('ssm:PutParameter', (c) => {
  const p = c.rng.pick(c.inv.parameters);
  return {
    req: { name: p, type: 'String', overwrite: true, value: 'HIDDEN_DUE_TO_SECURITY_REASONS' },
    res: { version: c.rng.range(2, 60), tier: 'Standard' },
    target: paramArn(c, p),
  };
});
read('ssm:DescribeInstanceInformation', (c) => ({
  req: { filters: [{ key: 'InstanceIds', values: [c.rng.pick(c.inv.instances)] }] },
  res: null,
  target: ANY,
}));
/** A command as SendCommand answers it: every field SSM returns, most of them empty. */
function pendingCommand(c: CallContext, instanceIds: string[]): Record<string, unknown> {
  return {
    alarmConfiguration: { alarms: [], ignorePollAlarmFailure: false },
    clientName: '',
    clientSourceId: '',
    cloudWatchOutputConfig: { cloudWatchLogGroupName: '', cloudWatchOutputEnabled: false },
    commandId: c.rng.uuid(),
    comment: '',
    completedCount: 0,
    deliveryTimedOutCount: 0,
    documentName: 'AWS-RunShellScript',
    documentVersion: '$DEFAULT',
    errorCount: 0,
    expiresAfter: awsDate(c.ms + 2 * 3_600_000),
    hasCancelCommandSignature: false,
    hasSendCommandSignature: false,
    instanceIds,
    interactive: false,
    maxConcurrency: '50',
    maxErrors: '0',
    notificationConfig: { notificationArn: '', notificationEvents: [], notificationType: '' },
    outputS3BucketName: '',
    outputS3KeyPrefix: '',
    outputS3Region: c.region,
    parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS',
    requestedDateTime: awsDate(c.ms),
    serviceRole: '',
    status: 'Pending',
    statusDetails: 'Pending',
    targetCount: instanceIds.length,
    targets: [],
    timeoutSeconds: 3600,
    triggeredAlarms: [],
  };
}
write('ssm:SendCommand', (c) => {
  const id = c.rng.pick(c.inv.instances);
  return {
    req: {
      instanceIds: [id],
      documentName: 'AWS-RunShellScript',
      interactive: false,
      parameters: 'HIDDEN_DUE_TO_SECURITY_REASONS',
    },
    res: { command: pendingCommand(c, [id]) },
    target: instanceArn(c, id),
  };
});
write('ssm:StartSession', (c) => {
  const id = c.rng.pick(c.inv.instances);
  const sessionId = `${c.principal.def.id}-${c.rng.hex(17)}`;
  return {
    req: { target: id },
    res: {
      sessionId,
      tokenValue: 'Value hidden due to security reasons.',
      streamUrl: `wss://ssmmessages.${c.region}.amazonaws.com/v1/data-channel/${sessionId}?role=publish_subscribe&cell-number=AAEAA`,
    },
    target: instanceArn(c, id),
  };
});
write('ssm:UpdateInstanceInformation', (c) => ({
  req: {
    instanceId: c.inv.instances[0],
    agentVersion: '3.3.40.0',
    agentStatus: 'Active',
    platformType: 'Linux',
    platformName: 'Amazon Linux',
    platformVersion: '2023',
    iPAddress: '10.0.12.34',
    computerName: `ip-10-0-12-34.${c.region}.compute.internal`,
    agentName: 'amazon-ssm-agent',
    availabilityZone: `${c.region}a`,
  },
  res: null,
  target: instanceArn(c, c.inv.instances[0]),
}));

read('ssm:ListInstanceAssociations', (c) => ({
  req: { instanceId: c.inv.instances[0], maxResults: 50 },
  res: null,
  target: ANY,
}));
write('ssm:UpdateInstanceAssociationStatus', (c) => ({
  req: {
    associationId: `${c.rng.hex(8)}-${c.rng.hex(4)}-${c.rng.hex(4)}-${c.rng.hex(4)}-${c.rng.hex(12)}`,
    instanceId: c.inv.instances[0],
    executionResult: {
      status: 'Success',
      executionDate: c.ms,
      executionSummary: '1 out of 1 plugin processed, 1 success, 0 failed, 0 timedout, 0 skipped. ',
    },
  },
  res: null,
  target: instanceArn(c, c.inv.instances[0]),
}));
write('ssm:PutInventory', (c) => ({
  req: {
    instanceId: c.inv.instances[0],
    items: [
      {
        typeName: 'AWS:InstanceInformation',
        schemaVersion: '1.0',
        captureTime: iso(c.ms),
        contentHash: c.rng.hex(64),
      },
    ],
  },
  res: null,
  target: instanceArn(c, c.inv.instances[0]),
}));

// ---- cloudtrail ----
read('cloudtrail:LookupEvents', (c) => ({
  req: {
    startTime: awsDate(c.ms - 86_400_000),
    endTime: awsDate(c.ms),
    lookupAttributes: [
      {
        attributeKey: 'EventName',
        attributeValue: c.rng.pick(['ConsoleLogin', 'RunInstances', 'DeleteBucket']),
      },
    ],
  },
  res: null,
  target: ANY,
}));
read('cloudtrail:DescribeTrails', () => ({ req: { includeShadowTrails: true }, res: null, target: ANY }));
read('cloudtrail:GetTrailStatus', (c) => ({ req: { name: trailArn(c) }, res: null, target: trailArn(c) }));
read('cloudtrail:GetEventSelectors', (c) => ({
  req: { trailName: trailArn(c) },
  res: null,
  target: trailArn(c),
}));
write('cloudtrail:StartLogging', (c) => ({ req: { name: trailArn(c) }, res: null, target: trailArn(c) }));
write('cloudtrail:StopLogging', (c) => ({ req: { name: trailArn(c) }, res: null, target: trailArn(c) }));

// ---- signin ---- (the record is completed by records.ts: sign-ins carry no request id and no access key)
write('signin:ConsoleLogin', () => ({ req: null, res: { ConsoleLogin: 'Success' } }), {
  eventType: 'AwsConsoleSignIn',
  requestIdStyle: 'none',
});

export const CATALOG: ReadonlyMap<string, ApiSpec> = new Map(specs.map((s) => [s.key, s]));

const bySourceName = new Map(specs.map((s) => [`${s.source} ${s.name}`, s]));

/** The catalog entry for an API named as CloudTrail names it, if the catalog has one. */
export function findApi(eventSource: string, eventName: string): ApiSpec | undefined {
  return bySourceName.get(`${eventSource} ${eventName}`);
}

export function apiSpec(key: string): ApiSpec {
  const s = CATALOG.get(key);
  if (!s) throw new GeneratorError(`expected an API the generator's catalog knows, found ${key}`);
  return s;
}

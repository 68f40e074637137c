import type { ServiceTable } from '../table.ts';

export const route53resolver: ServiceTable = {
  eventSource: 'route53resolver.amazonaws.com',
  rules: [
    {
      type: 'AWS::Route53Resolver::ResolverQueryLoggingConfig',
      paths: ['requestParameters.resolverQueryLogConfigId', 'responseElements.resolverQueryLogConfig.arn'],
    },
    // Where the deleted or changed configuration sent the DNS query logs.
    {
      type: 'AWS::S3::Bucket',
      paths: ['responseElements.resolverQueryLogConfig.destinationArn'],
      match: /^arn:[^:]+:s3:::/,
    },
    {
      type: 'AWS::Logs::LogGroup',
      paths: ['responseElements.resolverQueryLogConfig.destinationArn'],
      match: /^arn:[^:]+:logs:/,
    },
  ],
};

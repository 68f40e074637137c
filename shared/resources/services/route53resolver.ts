import type { ServiceTable } from '../table.ts';

export const route53resolver: ServiceTable = {
  eventSource: 'route53resolver.amazonaws.com',
  rules: [
    {
      type: 'AWS::Route53Resolver::ResolverQueryLoggingConfig',
      paths: ['requestParameters.resolverQueryLogConfigId', 'responseElements.resolverQueryLogConfig.arn'],
    },
  ],
};

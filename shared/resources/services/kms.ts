import type { ServiceTable } from '../table.ts';

const ALIAS = /(^|:)alias\//;
const KEY = /^(arn:[^:]+:kms:[^:]*:[^:]*:key\/|[0-9a-f]{8}-|mrk-)/;

export const kms: ServiceTable = {
  eventSource: 'kms.amazonaws.com',
  rules: [
    {
      type: 'AWS::KMS::Key',
      paths: ['requestParameters.keyId', 'requestParameters.targetKeyId', 'responseElements.keyMetadata.arn'],
      match: KEY,
    },
    {
      type: 'AWS::KMS::Alias',
      paths: ['requestParameters.keyId', 'requestParameters.aliasName'],
      match: ALIAS,
    },
  ],
};

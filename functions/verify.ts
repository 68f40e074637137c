/** Lambda entry: verify, wired to S3, CloudTrail ListPublicKeys, SNS and CloudWatch (EMF). */

import { makeVerifyHandler } from '#functions/lib/verify.ts';
import { awsVerifyDeps } from '#shared/adapters/aws-deps.ts';
import { verifyConfig } from '#shared/config.ts';

export const handler = makeVerifyHandler(awsVerifyDeps(verifyConfig()));

/** Lambda entry: detect (scheduled), wired to S3, SNS and CloudWatch (EMF). */

import { makeDetectHandler } from '#functions/lib/detect.ts';
import { awsDetectDeps } from '#shared/adapters/aws-deps.ts';
import { detectConfig } from '#shared/config.ts';

export const handler = makeDetectHandler(awsDetectDeps(detectConfig()));

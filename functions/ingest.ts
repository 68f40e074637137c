/** Lambda entry: ingest, wired to S3, SNS, Lambda and CloudWatch (EMF). */

import { makeIngestHandler } from '#functions/lib/ingest.ts';
import { awsIngestDeps } from '#shared/adapters/aws-deps.ts';
import { ingestConfig } from '#shared/config.ts';

export const handler = makeIngestHandler(awsIngestDeps(ingestConfig()));

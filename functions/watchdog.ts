/** Lambda entry: watchdog (scheduled), wired to S3, SNS and CloudWatch (EMF). */

import { makeWatchdogHandler } from '#functions/lib/watchdog.ts';
import { awsWatchdogDeps } from '#shared/adapters/aws-deps.ts';
import { watchdogConfig } from '#shared/config.ts';

export const handler = makeWatchdogHandler(awsWatchdogDeps(watchdogConfig()));

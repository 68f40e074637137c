/** Lambda entry: watchdog (scheduled), wired to S3, SNS and CloudWatch (EMF). */
import { awsWatchdogDeps } from '#shared/adapters/aws-deps.ts';
import { watchdogConfig } from '#shared/config.ts';
import { makeWatchdogHandler } from '#functions/lib/watchdog.ts';

export const handler = makeWatchdogHandler(awsWatchdogDeps(watchdogConfig()));

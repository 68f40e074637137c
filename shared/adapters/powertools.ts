/**
 * One Logger, Metrics and Tracer for the whole container, as Powertools recommends: handlers and adapters
 * import these instead of making their own.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const NAMESPACE = 'Trailwatch';

export const logger = new Logger({ serviceName: 'trailwatch' });
export const metrics = new Metrics({ namespace: NAMESPACE, serviceName: 'trailwatch' });
export const tracer = new Tracer({ serviceName: 'trailwatch' });

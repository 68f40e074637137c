/**
 * One Logger, Metrics and Tracer for the whole container, as Powertools recommends: every entry imports
 * these instead of making its own. The namespace and service come from configuration (the stack's
 * `metricsNamespace` parameter reaches POWERTOOLS_METRICS_NAMESPACE), read once at start-up, so the EMF
 * documents land where the alarms look.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { observabilityConfig } from '#shared/config.ts';

const config = observabilityConfig();

export const logger = new Logger({ serviceName: config.serviceName });
export const metrics = new Metrics({ namespace: config.namespace, serviceName: config.serviceName });
export const tracer = new Tracer({ serviceName: config.serviceName });

/**
 * Configuration from the environment, read once at start-up. A variable is required unless a default is
 * given, and a missing or malformed one stops the function at load with a message naming it, rather than
 * failing later on the first event.
 */

import { DEFAULT_LIMITS } from '#shared/limits.ts';
import { DEFAULT_NAMESPACE, SERVICE } from '#shared/metric-names.cjs';
import { parseThrottlePolicy, type ThrottlePolicy } from '#shared/notify/throttle.ts';
import { DEFAULT_WATCHDOG, type WatchdogOptions } from '#shared/watchdog/delivery-gaps.ts';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function throttleFromEnv(env: Env): ThrottlePolicy {
  try {
    return parseThrottlePolicy(optional(env, 'ALERT_THROTTLE'));
  } catch (err) {
    throw new ConfigError(`environment variable ALERT_THROTTLE: ${(err as Error).message}`);
  }
}

export function str(env: Env, name: string, fallback?: string): string {
  const v = env[name];
  if (v !== undefined && v !== '') return v;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`environment variable ${name} is required but not set`);
}

export function optional(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

export function int(env: Env, name: string, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new ConfigError(`environment variable ${name} is required but not set`);
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new ConfigError(`environment variable ${name} must be a non-negative integer, found "${raw}"`);
  }
  return n;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`environment variable ${name} must be true or false, found "${raw}"`);
}

/** Placeholders a runbook URL template may hold, filled per rule alert. */
export const RUNBOOK_PLACEHOLDERS = ['ruleId', 'severity', 'account', 'region'] as const;

/** `RUNBOOK_URL`: an http(s) URL template such as `https://wiki.example.com/trailwatch/{ruleId}`. */
function runbookFromEnv(env: Env): string | undefined {
  const url = optional(env, 'RUNBOOK_URL');
  if (url === undefined) return undefined;
  const unknown = [...url.matchAll(/\{([^}]*)\}/g)]
    .map((m) => m[1])
    .filter((p) => !(RUNBOOK_PLACEHOLDERS as readonly string[]).includes(p));
  if (!/^https?:\/\/[^\s/]+/.test(url) || unknown.length > 0) {
    throw new ConfigError(
      `environment variable RUNBOOK_URL must be an http(s) URL template using ${RUNBOOK_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}, found "${url}"`,
    );
  }
  return url;
}

/** Where alerts go: the alerts topic, and optionally the chat topic AWS Chatbot is subscribed to. */
export interface AlertTopics {
  alertTopicArn: string;
  /** CHAT_TOPIC_ARN: receives each alert as an AWS Chatbot custom notification (unset: no chat topic). */
  chatTopicArn?: string;
}

function alertTopics(env: Env): AlertTopics {
  const chatTopicArn = optional(env, 'CHAT_TOPIC_ARN');
  return { alertTopicArn: str(env, 'ALERT_TOPIC_ARN'), ...(chatTopicArn ? { chatTopicArn } : {}) };
}

export interface IngestConfig extends AlertTopics {
  /** Bucket for summaries, verdicts and detector state. */
  stateBucket: string;
  /** Function that verifies digests; digest deliveries are handed to it. */
  verifyFunctionName?: string;
  maxRecordBytes: number;
  maxFileBytes: number;
  /** How often one rule may send a message per account and region (ALERT_THROTTLE, JSON). */
  alertThrottle: ThrottlePolicy;
  /** When the trail started logging (TRAIL_START): events over a day older are kept out of the baselines. */
  trailStart?: Date;
  /** RUNBOOK_URL: the team's runbook page per rule, a template (see {@link RUNBOOK_PLACEHOLDERS}). */
  runbookUrl?: string;
}

function dateOf(env: Env, name: string): Date | undefined {
  const raw = optional(env, name);
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  if (Number.isNaN(t))
    throw new ConfigError(`environment variable ${name} must be an ISO 8601 time, found "${raw}"`);
  return new Date(t);
}

export function ingestConfig(env: Env = process.env): IngestConfig {
  const verifyFunctionName = optional(env, 'VERIFY_FUNCTION_NAME');
  const runbookUrl = runbookFromEnv(env);
  return {
    stateBucket: str(env, 'STATE_BUCKET'),
    ...alertTopics(env),
    ...(verifyFunctionName ? { verifyFunctionName } : {}),
    maxRecordBytes: int(env, 'TRAILWATCH_MAX_RECORD_BYTES', DEFAULT_LIMITS.maxRecordBytes),
    maxFileBytes: int(env, 'TRAILWATCH_MAX_FILE_BYTES', DEFAULT_LIMITS.maxFileBytes),
    alertThrottle: throttleFromEnv(env),
    ...(optional(env, 'TRAIL_START') ? { trailStart: dateOf(env, 'TRAIL_START') } : {}),
    ...(runbookUrl ? { runbookUrl } : {}),
  };
}

/** Where the functions' metrics go: the stack sets POWERTOOLS_METRICS_NAMESPACE from its parameter. */
export interface ObservabilityConfig {
  namespace: string;
  serviceName: string;
}

export function observabilityConfig(env: Env = process.env): ObservabilityConfig {
  return {
    namespace: str(env, 'POWERTOOLS_METRICS_NAMESPACE', DEFAULT_NAMESPACE),
    serviceName: str(env, 'POWERTOOLS_SERVICE_NAME', SERVICE),
  };
}

/** What verify and the scheduled detect need: where state lives and where alerts go. */
export interface StateConfig extends AlertTopics {
  stateBucket: string;
}

export function verifyConfig(env: Env = process.env): StateConfig & { maxFileBytes: number } {
  return {
    stateBucket: str(env, 'STATE_BUCKET'),
    ...alertTopics(env),
    maxFileBytes: int(env, 'TRAILWATCH_MAX_FILE_BYTES', DEFAULT_LIMITS.maxFileBytes),
  };
}

export interface WatchdogConfig extends AlertTopics {
  stateBucket: string;
  trailBucket: string;
  trailPrefixes: string[];
  options: WatchdogOptions;
}

export function watchdogConfig(env: Env = process.env): WatchdogConfig {
  return {
    stateBucket: str(env, 'STATE_BUCKET'),
    ...alertTopics(env),
    trailBucket: str(env, 'TRAIL_BUCKET'),
    trailPrefixes: str(env, 'TRAIL_PREFIXES', '')
      .split(',')
      .map((p) => p.trim()),
    options: {
      digestGraceMinutes: int(env, 'WATCHDOG_DIGEST_GRACE_MINUTES', DEFAULT_WATCHDOG.digestGraceMinutes),
      logSilenceMinutes: int(env, 'WATCHDOG_LOG_SILENCE_MINUTES', DEFAULT_WATCHDOG.logSilenceMinutes),
      activeWithinDays: int(env, 'WATCHDOG_ACTIVE_WITHIN_DAYS', DEFAULT_WATCHDOG.activeWithinDays),
    },
  };
}

/** The scheduled detect also sends the throttled rule alerts batched ingest deferred, as ingest would. */
export function detectConfig(
  env: Env = process.env,
): StateConfig & { alertThrottle: ThrottlePolicy; runbookUrl?: string } {
  const runbookUrl = runbookFromEnv(env);
  return {
    stateBucket: str(env, 'STATE_BUCKET'),
    ...alertTopics(env),
    alertThrottle: throttleFromEnv(env),
    ...(runbookUrl ? { runbookUrl } : {}),
  };
}

/** How the scheduled functions split their account-regions (SHARD_COUNT parallel shards). */
export interface ShardConfig {
  shardCount: number;
  /** Account-regions processed at once inside one shard. */
  concurrency: number;
  /** Milliseconds before the function's timeout when a shard stops starting new account-regions. */
  marginMs: number;
  /** The function's own name (set by Lambda): shards are asynchronous invocations of it. */
  functionName?: string;
}

export function shardConfig(env: Env = process.env): ShardConfig {
  const shardCount = int(env, 'SHARD_COUNT', 1);
  if (shardCount < 1 || shardCount > 1000) {
    throw new ConfigError(`environment variable SHARD_COUNT must be 1-1000, found "${env.SHARD_COUNT}"`);
  }
  const concurrency = int(env, 'SHARD_CONCURRENCY', 32);
  if (concurrency < 1)
    throw new ConfigError('environment variable SHARD_CONCURRENCY must be at least 1, found 0');
  const functionName = optional(env, 'AWS_LAMBDA_FUNCTION_NAME');
  return {
    shardCount,
    concurrency,
    marginMs: int(env, 'SHARD_MARGIN_MS', 15_000),
    ...(functionName ? { functionName } : {}),
  };
}

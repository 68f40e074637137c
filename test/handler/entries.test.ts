/** The deployed entries load with their configuration, and refuse to start without it, naming what is missing. */
import { afterEach, describe, expect, it, vi } from 'vitest';

const env = {
  STATE_BUCKET: 'state',
  ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111122223333:alerts',
  TRAIL_BUCKET: 'trail',
  VERIFY_FUNCTION_NAME: 'trailwatch-test-verify',
};

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe('Lambda entries', () => {
  it.each(['ingest', 'verify', 'watchdog', 'detect'])(
    'functions/%s.ts exports a handler when configured',
    async (name) => {
      for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
      const mod = (await import(`../../functions/${name}.ts`)) as { handler: unknown };
      expect(typeof mod.handler).toBe('function');
    },
  );

  it('stops at load with a message naming a missing variable', async () => {
    vi.stubEnv('STATE_BUCKET', '');
    vi.stubEnv('ALERT_TOPIC_ARN', env.ALERT_TOPIC_ARN);
    await expect(import('../../functions/ingest.ts')).rejects.toThrow(
      'environment variable STATE_BUCKET is required but not set',
    );
  });

  it('stops at load when a setting is malformed', async () => {
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    vi.stubEnv('ALERT_THROTTLE', '{"MEDIUM": -5}');
    await expect(import('../../functions/ingest.ts')).rejects.toThrow(
      /ALERT_THROTTLE: alert throttle for MEDIUM must be a whole number/,
    );
  });

  it('stops at load when the runbook URL template is not an http(s) URL with known placeholders', async () => {
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    vi.stubEnv('RUNBOOK_URL', 'https://wiki.example.com/{rule}');
    await expect(import('../../functions/ingest.ts')).rejects.toThrow(
      /RUNBOOK_URL must be an http\(s\) URL template using \{ruleId\}, \{severity\}, \{account\}, \{region\}, found "https:\/\/wiki.example.com\/\{rule\}"/,
    );
  });

  it('reads the chat topic and the runbook template once, for every function that alerts', async () => {
    const { ingestConfig, verifyConfig, watchdogConfig } = await import('#shared/config.ts');
    const chat = 'arn:aws:sns:us-east-1:111122223333:alerts-chat';
    const all = { ...env, CHAT_TOPIC_ARN: chat, RUNBOOK_URL: 'https://wiki.example.com/{ruleId}' };
    expect(ingestConfig(all)).toMatchObject({
      chatTopicArn: chat,
      runbookUrl: 'https://wiki.example.com/{ruleId}',
    });
    expect(verifyConfig(all).chatTopicArn).toBe(chat);
    expect(watchdogConfig(all).chatTopicArn).toBe(chat);
    expect(ingestConfig({ ...env, CHAT_TOPIC_ARN: '' })).not.toHaveProperty('chatTopicArn');
  });
});

/**
 * `trailwatch alerts show`: what each subscriber kind receives, read from a notifications.jsonl like the one
 * replay and `npm start` write; a bad line is reported by number and the others are still shown.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentOf, everyAlert, schemaValidator, variants } from '#test/support/alert-samples.ts';
import { runCli } from '#test/support/cli-run.ts';

const samples = everyAlert();
let dir: string;
let file: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trailwatch-alerts-'));
  file = join(dir, 'notifications.jsonl');
  writeFileSync(file, `${samples.map((s) => JSON.stringify(s.notification)).join('\n')}\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trailwatch alerts show', () => {
  it('--format json prints each alert’s document, one per line, valid against the schema', async () => {
    // Act
    const r = await runCli(['alerts', 'show', file, '--format', 'json']);

    // Assess
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(samples.length);
    const validate = schemaValidator('alert.schema.json');
    lines.forEach((l, i) => {
      expect(JSON.parse(l)).toEqual(documentOf(samples[i].notification));
      expect(validate(JSON.parse(l))).toBe(true);
    });
  });

  it('--format sms prints one line under 140 characters per alert', async () => {
    const r = await runCli(['alerts', 'show', file, '--format', 'sms']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toEqual(samples.map((s) => variants(s.notification).sms));
    for (const l of lines) expect(l.length).toBeLessThan(140);
  });

  it('--format email prints subject and body, the decision on the second line of the body', async () => {
    const r = await runCli(['alerts', 'show', file, '--format', 'email', '--kind', 'insight']);
    expect(r.code).toBe(0);
    const insights = samples.filter((s) => s.notification.attributes.kind === 'insight');
    expect(r.stdout.match(/^=== \d+\/2 /gm)).toHaveLength(2);
    for (const s of insights) {
      expect(r.stdout).toContain(`Subject: ${s.notification.subject}\n\n${variants(s.notification).email}`);
    }
    expect(r.stdout).not.toContain('[HIGH] CloudTrail digest chain broken');
  });

  it('without --format prints every subscriber’s view of every alert, chat included', async () => {
    const r = await runCli(['alerts', 'show', file]);
    expect(r.code).toBe(0);
    for (const view of ['email', 'sms', 'chat: AWS Chatbot custom notification', 'json: sqs, lambda']) {
      expect(r.stdout.split(`--- ${view}`).length - 1).toBe(samples.length);
    }
    expect(r.stdout).toContain('"textType": "client-markdown"');
  });

  it('reports a bad line by number on stderr and still shows the others', async () => {
    // Prepare
    const mixed = join(dir, 'mixed.jsonl');
    writeFileSync(
      mixed,
      ['{"not":"a notification"}', 'garbage', JSON.stringify(samples[0].notification)].join('\n'),
    );

    // Act
    const r = await runCli(['alerts', 'show', mixed, '--format', 'sms']);

    // Assess
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(variants(samples[0].notification).sms);
    expect(r.stderr).toMatch(/line 1: expected an SNS publish with subject, message and attributes; skipped/);
    expect(r.stderr).toMatch(/line 2: not JSON/);
  });

  it('says in one line what is wrong with a missing file or an unknown format (exit 2)', async () => {
    const missing = await runCli(['alerts', 'show', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('nope.jsonl: no such file');
    const badFormat = await runCli(['alerts', 'show', file, '--format', 'pager']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('pager');
  });
});

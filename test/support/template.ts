/** Runs `osls package` once per test file into a temporary folder and reads the CloudFormation template. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '#test/support/logfiles.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
export type Template = { Resources: Record<string, { Type: string; Properties?: any; Condition?: string }> };

export async function packageStack(
  params: Record<string, string>,
): Promise<{ template: Template; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'trailwatch-package-'));
  const scratch = join(dir, 'tmp');
  mkdirSync(scratch);
  const args = ['package', '--package', dir, '--stage', 'test', '--region', 'eu-west-1'];
  for (const [k, v] of Object.entries(params)) args.push(`--param=${k}=${v}`);
  await promisify(execFile)(join(repoRoot, 'node_modules/.bin/osls'), args, {
    cwd: repoRoot,
    // The bundler leaves its work folders in TMPDIR: keep them inside the folder the test removes.
    env: { ...process.env, TMPDIR: scratch, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
    timeout: 180_000,
  });
  const template = JSON.parse(readFileSync(join(dir, 'cloudformation-template-update-stack.json'), 'utf8'));
  return { template, dir };
}

export function resourcesOfType(t: Template, type: string) {
  return Object.entries(t.Resources).filter(([, r]) => r.Type === type);
}

/** Every Allow statement of a role's inline policies. */
// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
export function statementsOf(role: { Properties?: any }): { Action: string | string[]; Resource: unknown }[] {
  const out = [];
  for (const p of role.Properties?.Policies ?? []) {
    for (const s of p.PolicyDocument?.Statement ?? []) if (s.Effect === 'Allow') out.push(s);
  }
  return out;
}

export const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

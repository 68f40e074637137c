/** Runs the `trailwatch` CLI as a child process, the way a user meets it, and helpers its tests share. */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Environment overrides; `undefined` removes a variable from the child's environment. */
export type Env = Record<string, string | undefined>;

const root = join(import.meta.dirname, '../..');

export function runCli(args: string[], env: Env = {}): Promise<Run> {
  const childEnv: Env = { ...process.env, CI: 'true', ...env };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve) => {
    execFile(
      join(root, 'node_modules/.bin/node'),
      ['cli/trailwatch.ts', ...args],
      { cwd: root, env: childEnv as NodeJS.ProcessEnv, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A port nothing listens on: bound, then released. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/** Text as a literal inside a RegExp. */
export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Starts one moto_server on 127.0.0.1 for the whole run and stops it after. Tests reach it through
 * `inject('motoEndpoint')`. Test files run in parallel against it: each uses its own bucket and topic
 * names and none resets it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
  }
}

const MOTO_MISSING =
  'moto_server not found: the integration tests need it; install it with: pip install "moto[server]"';

/** Whether `command` is an executable file in one of the PATH folders, the way a shell would find it. */
function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return true;
    } catch {
      // not here, or not executable: keep looking
    }
  }
  return false;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

async function waitUntilUp(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`moto_server exited with code ${child.exitCode} before answering`);
    try {
      const res = await fetch(`${url}/moto-api/`);
      if (res.status < 500) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer at ${url} within 30 s`, { cause: lastError });
}

export default async function setup(project: TestProject) {
  // A missing prerequisite is a setup problem, not a test failure: one line saying what to install, rather
  // than a spawn error wrapped in vitest's stack trace. Exit only once the line is flushed to a pipe.
  if (!onPath('moto_server')) {
    await new Promise<never>(() => process.stderr.write(`${MOTO_MISSING}\n`, () => process.exit(1)));
  }
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const spawnError = new Promise<never>((_, reject) =>
    child.on('error', (err) =>
      reject(
        new Error('moto_server could not start: is moto[server] installed (pip install "moto[server]")?', {
          cause: err,
        }),
      ),
    ),
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await Promise.race([waitUntilUp(url, child), spawnError]);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`, { cause: err });
  }
  project.provide('motoEndpoint', url);
  return async () => {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    if (child.exitCode === null) child.kill('SIGKILL');
  };
}

/**
 * moto_server is the one prerequisite besides Node. On a machine without it, the run must stop before any
 * test with one line saying how to install it: no stack trace, no wait for a server that never comes.
 * The global setup runs in a child Node whose PATH is a folder made for each case.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../..');
const node = resolve(repoRoot, 'node_modules/.bin/node');
const runSetup = resolve(repoRoot, 'test/support/run-moto-setup.ts');
const INSTALL = 'pip install "moto[server]"';

/** Answers every request, as moto_server's `/moto-api/` does, on the `-H` host and `-p` port it is given. */
const FAKE_MOTO_SERVER = `#!/usr/bin/env node
const args = process.argv.slice(2);
const host = args[args.indexOf('-H') + 1];
const port = Number(args[args.indexOf('-p') + 1]);
require('node:http').createServer((req, res) => res.end('{}')).listen(port, host);
`;

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

const folders: string[] = [];

afterEach(async () => {
  await Promise.all(folders.splice(0).map((f) => rm(f, { recursive: true, force: true })));
});

/** A PATH folder holding the pinned node and, when given, something named moto_server. */
async function pathFolder(motoServer?: { body: string; mode: number } | 'folder'): Promise<string> {
  const bin = await mkdtemp(join(tmpdir(), 'trailwatch-moto-path-'));
  folders.push(bin);
  await symlink(await realpath(node), join(bin, 'node'));
  if (motoServer === 'folder') await mkdir(join(bin, 'moto_server'));
  else if (motoServer) await writeFile(join(bin, 'moto_server'), motoServer.body, { mode: motoServer.mode });
  return bin;
}

async function globalSetupWith(pathDir: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(node, [runSetup], {
      cwd: repoRoot,
      env: { PATH: pathDir, HOME: tmpdir() },
      // Longer than a real start-up, shorter than the setup's own 30 s wait for a server that never answers.
      timeout: 20_000,
    });
    return { code: 0, signal: null, stdout, stderr };
  } catch (err) {
    const e = err as { code: number | null; signal: string | null; stdout: string; stderr: string };
    return { code: e.code, signal: e.signal, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('moto_server prerequisite', () => {
  it.each([
    ['no moto_server on PATH', undefined],
    ['a moto_server file that is not executable', { body: FAKE_MOTO_SERVER, mode: 0o644 }],
    ['a folder named moto_server', 'folder' as const],
  ])('with %s, the run stops with one line naming the install command', async (_case, motoServer) => {
    // Prepare
    const bin = await pathFolder(motoServer);

    // Act
    const outcome = await globalSetupWith(bin);

    // Assess
    const lines = outcome.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(outcome.signal, 'expected the setup to exit by itself, not to be killed after hanging').toBeNull();
    expect(outcome.code, `expected exit code 1, found ${outcome.code}; stderr:\n${outcome.stderr}`).toBe(1);
    expect(lines, 'expected exactly one line on stderr').toHaveLength(1);
    expect(lines[0]).toMatch(/^moto_server not found: /);
    expect(lines[0]).toContain(INSTALL);
    expect(outcome.stderr, 'expected no stack trace on stderr').not.toMatch(/^\s+at /m);
    expect(outcome.stdout, 'expected nothing provided to tests').toBe('');
  });

  it('with an executable moto_server on PATH, starts it and provides its endpoint', async () => {
    // Prepare
    const bin = await pathFolder({ body: FAKE_MOTO_SERVER, mode: 0o755 });

    // Act
    const outcome = await globalSetupWith(bin);

    // Assess
    expect(outcome.code, `expected exit code 0, found ${outcome.code}; stderr:\n${outcome.stderr}`).toBe(0);
    expect(outcome.stderr).toBe('');
    expect(outcome.stdout).toMatch(/^motoEndpoint=http:\/\/127\.0\.0\.1:\d+\n$/);
  });
});

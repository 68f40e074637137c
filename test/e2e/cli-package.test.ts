/**
 * The `trailwatch` package as a user gets it: built, packed, installed offline into an empty folder and run
 * from its bin on Node 22, with nothing of the repository on PATH; and how every command ends, through the
 * TypeScript entry.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMAND_DESCRIPTIONS, type CommandName } from '#cli/commands.ts';

const repoRoot = resolve(import.meta.dirname, '../..');
const node22 = join(repoRoot, 'node_modules/.bin/node');
const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
const commandNames = Object.keys(COMMAND_DESCRIPTIONS) as CommandName[];

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Result> {
  return new Promise((done) => {
    execFile(file, args, { ...options, maxBuffer: 16 << 20, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

// npm must not reach the registry: no update check, no audit, nothing but the local cache.
const npmEnv = {
  ...process.env,
  npm_config_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

async function npm(args: string[], cwd: string): Promise<Result> {
  const r = await run('npm', args, { cwd, env: npmEnv });
  if (r.code !== 0)
    throw new Error(`expected npm ${args.join(' ')} to exit 0, found ${r.code}: ${r.stderr.slice(-2000)}`);
  return r;
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');
const words = (text: string) => text.replace(/\s+/g, ' ');

/** Writes the URL of every file module Node loads to stderr. */
const LOG_LOADS_HOOK = `import { registerHooks } from 'node:module';
registerHooks({
  load(url, context, nextLoad) {
    if (url.startsWith('file:')) process.stderr.write('loaded ' + url + '\\n');
    return nextLoad(url, context);
  },
});
`;

function loadedFiles(stderr: string): string[] {
  return lines(stderr)
    .filter((l) => l.startsWith('loaded file://'))
    .map((l) => new URL(l.slice('loaded '.length)).pathname);
}

let work: string;
let app: string;
let binDir: string;
let hook: string;
let packed: { filename: string; size: number; files: { path: string }[] };

/** The installed bin, found through its shebang on a PATH that holds only Node 22 and the system. */
function installed(...args: string[]): Promise<Result> {
  return run(join(app, 'node_modules/.bin/trailwatch'), args, {
    cwd: app,
    env: { PATH: `${binDir}:/usr/bin:/bin`, HOME: app, TMPDIR: work },
  });
}

function source(args: string[], nodeArgs: string[] = []): Promise<Result> {
  return run(process.execPath, [...nodeArgs, join(repoRoot, 'cli/trailwatch.ts'), ...args], {
    cwd: repoRoot,
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'trailwatch-package-'));
  const packDir = join(work, 'pack');
  app = join(work, 'app');
  binDir = join(work, 'bin');
  for (const d of [packDir, app, binDir]) mkdirSync(d);
  symlinkSync(node22, join(binDir, 'node'));
  hook = join(work, 'log-loads.mjs');
  writeFileSync(hook, LOG_LOADS_HOOK);

  await npm(['run', 'build'], repoRoot);
  const pack = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], repoRoot);
  [packed] = JSON.parse(pack.stdout);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'install-check', version: '1.0.0', private: true }),
  );
  await npm(['install', '--offline', '--no-audit', '--no-fund', join(packDir, packed.filename)], app);
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed trailwatch package', () => {
  it('holds the built command and the README, and installs with no runtime dependency', () => {
    // Prepare
    const paths = packed.files.map((f) => f.path);
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules/trailwatch/package.json'), 'utf8'));

    // Act
    const outsideDist = paths.filter((p) => !p.startsWith('dist/'));
    const installedPackages = readdirSync(join(app, 'node_modules')).filter((n) => !n.startsWith('.'));

    // Assess
    const unexpected = outsideDist.filter((p) => !['README.md', 'LICENSE', 'package.json'].includes(p));
    expect(
      unexpected,
      `expected only README.md, LICENSE and package.json beside dist/, found ${unexpected}`,
    ).toEqual([]);
    expect(outsideDist).toContain('README.md');
    expect(paths).toContain('dist/trailwatch.js');
    expect(paths, 'expected the sample signing key beside the chunks that read it').toContain(
      'dist/sample-signing-key.pem',
    );
    expect(manifest.bin).toEqual({ trailwatch: 'dist/trailwatch.js' });
    expect(manifest.dependencies ?? {}, 'expected no runtime dependencies: everything is bundled').toEqual(
      {},
    );
    expect(
      installedPackages,
      `expected trailwatch alone in node_modules, found ${installedPackages}`,
    ).toEqual(['trailwatch']);
  });

  it('prints the version of package.json and exits 0', async () => {
    // Act
    const r = await installed('--version');

    // Assess
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('lists every command with its description in --help, loading no command chunk, and exits 0', async () => {
    // Act
    const r = await installed('--help');
    const traced = await run(
      node22,
      ['--import', hook, join(app, 'node_modules/trailwatch/dist/trailwatch.js'), '--help'],
      { cwd: app },
    );

    // Assess
    expect(r.code).toBe(0);
    const help = words(r.stdout);
    for (const name of commandNames) {
      expect(help, `expected --help to list ${name} and its description`).toContain(
        `${name} ${COMMAND_DESCRIPTIONS[name]}`,
      );
    }
    const loaded = loadedFiles(traced.stderr).map((f) => f.split('/').pop() ?? f);
    const commandChunks = loaded.filter((f) => commandNames.some((n) => f.startsWith(`${n}-`)));
    expect(loaded, 'expected the entry to be loaded').toContain('trailwatch.js');
    expect(commandChunks, `expected no command chunk loaded for --help, found ${commandChunks}`).toEqual([]);
  });

  it('generates a signed sample trail, then looks it up and validates it, from the installed package', async () => {
    // Prepare
    const trail = join(work, 'trail');
    const account = '111122223333';

    // Act
    const generated = await installed(
      'generate',
      ...['--out', trail, '--hours', '1', '--regions', 'us-east-1', '--accounts', account],
      ...['--events-per-minute', '5'],
    );
    const found = await installed(
      'lookup',
      ...['--source', trail, '--event-name', 'ConsoleLogin', '--output', 'json'],
    );
    const validated = await installed(
      'validate',
      ...[
        '--source',
        trail,
        '--trail-arn',
        `arn:aws:cloudtrail:us-east-1:${account}:trail/management-events`,
      ],
      ...['--start-time', '2026-03-05T00:00:00Z', '--end-time', '2026-03-05T03:00:00Z'],
      ...['--public-keys', join(trail, 'public-keys.json')],
    );

    // Assess
    expect(generated.code, `expected generate to exit 0, found ${generated.code}: ${generated.stderr}`).toBe(
      0,
    );
    expect(generated.stdout).toMatch(/2 digest files, signed with key [0-9a-f]{32}/);
    expect(existsSync(join(trail, 'trailwatch-manifest.json'))).toBe(true);

    expect(found.code, `expected lookup to exit 0, found ${found.code}: ${found.stderr}`).toBe(0);
    const events = lines(found.stdout).map((l) => JSON.parse(l) as { eventName: string; account: string });
    expect(events.length, 'expected the sample trail to hold console sign-ins').toBeGreaterThan(0);
    for (const e of events) expect(e).toMatchObject({ eventName: 'ConsoleLogin', account });

    expect(validated.code, `expected validate to exit 0, found ${validated.code}: ${validated.stderr}`).toBe(
      0,
    );
    expect(validated.stdout).toContain('2/2 digest files valid');
    expect(validated.stdout).not.toContain('INVALID');
  });
  it('looks up with worker threads from the installed bundle, with the answer of the main thread alone', async () => {
    // Prepare: enough files (2 regions x 3 hours) that lookup hands most of them to its threads.
    const trail = join(work, 'trail-threads');
    const generated = await installed(
      'generate',
      ...['--out', trail, '--hours', '3', '--regions', 'us-east-1,eu-west-1'],
      ...['--events-per-minute', '5', '--no-digests'],
    );
    expect(generated.code, generated.stderr).toBe(0);
    const args = ['lookup', '--source', trail, '--read-only', 'false', '--output', 'json'];
    const bundle = join(app, 'node_modules/trailwatch/dist/trailwatch.js');

    // Act
    const threads = await run(node22, ['--import', hook, bundle, ...args, '--workers', '2'], { cwd: app });
    const single = await installed(...args, '--workers', '0');

    // Assess
    expect(threads.code, threads.stderr).toBe(0);
    expect(single.code, single.stderr).toBe(0);
    const loaded = loadedFiles(threads.stderr).map((f) => f.split('/').pop() ?? f);
    expect(loaded, 'expected the worker bundle to be loaded in a thread').toContain('lookup-worker.js');
    expect(lines(threads.stdout).length).toBeGreaterThan(0);
    expect(threads.stdout).toBe(single.stdout);
  });
});

describe('how every command ends (TypeScript entry)', () => {
  it.each([
    ['an unknown option', ['generate', '--no-such-option'], "trailwatch: unknown option '--no-such-option'"],
    ['an unknown command', ['no-such-command'], "trailwatch: unknown command 'no-such-command'"],
    [
      'a missing required option',
      ['insights', 'report', '--out', 'x.html'],
      "trailwatch: required option '--source <folder>' not specified",
    ],
  ])('exits 2 with one line on stderr for %s', async (_what, args, line) => {
    // Act
    const r = await source(args);

    // Assess
    expect(r.code, `expected exit 2, found ${r.code}: ${r.stderr}`).toBe(2);
    expect(lines(r.stderr)).toEqual([line]);
    expect(r.stdout).toBe('');
  });

  it('prints the version of package.json for --version and exits 0', async () => {
    // Act
    const r = await source(['--version']);

    // Assess
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it('says a failing command in one line, and adds the stack with --debug anywhere on the line', async () => {
    // Prepare: a file where generate expects a folder makes it fail on its first write.
    const notAFolder = join(work, 'not-a-folder');
    writeFileSync(notAFolder, 'a file');
    const args = ['generate', '--out', notAFolder, '--hours', '1', '--regions', 'us-east-1'];

    // Act
    const plain = await source(args);
    const debug = await source([...args, '--debug']);

    // Assess
    expect(plain.code, `expected exit 2, found ${plain.code}: ${plain.stderr}`).toBe(2);
    const [line, ...more] = lines(plain.stderr);
    expect(line).toMatch(/^trailwatch: \S/);
    expect(more, 'expected one line on stderr without --debug').toEqual([]);

    expect(debug.code).toBe(2);
    const [debugLine, ...stack] = lines(debug.stderr);
    expect(line.startsWith(debugLine), `expected "${debugLine}" to start the line without --debug`).toBe(
      true,
    );
    expect(
      stack.some((l) => /^\s+at /.test(l)),
      `expected stack frames after the message, found ${stack}`,
    ).toBe(true);
  });

  it('loads no command module for --help, and only the one asked about for <command> --help', async () => {
    // Prepare
    const commandModules = (stderr: string) =>
      loadedFiles(stderr)
        .filter((f) => f.includes('/cli/commands/'))
        .map((f) => f.split('/').pop());

    // Act
    const top = await source(['--help'], ['--import', hook]);
    const one = await source(['lookup', '--help'], ['--import', hook]);

    // Assess
    expect(top.code).toBe(0);
    expect(commandModules(top.stderr)).toEqual([]);
    expect(one.code).toBe(0);
    expect(words(one.stdout)).toContain(COMMAND_DESCRIPTIONS.lookup);
    expect(commandModules(one.stderr)).toEqual(['lookup.ts']);
  });
});

describe('the command table', () => {
  it.each(commandNames)('holds the description %s registers', async (name) => {
    // Prepare
    const program = new Command('trailwatch');
    const module = (await import(`#cli/commands/${name}.ts`)) as { register(p: Command): void };

    // Act
    module.register(program);

    // Assess
    const registered = program.commands.find((c) => c.name() === name)?.description();
    expect(registered, `expected ${name} to register the table's description`).toBe(
      COMMAND_DESCRIPTIONS[name],
    );
  });
});

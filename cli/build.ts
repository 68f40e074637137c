/**
 * `npm run build` (also `prepare`, so `npm ci` and `npm pack` run it): bundles the `trailwatch` command into
 * dist/ as ESM for Node 22 with every dependency inside, so the installed package needs none; each command
 * stays a chunk loaded only when it runs. Files a module reads beside itself
 * (`new URL('./file', import.meta.url)`) are copied next to the chunk that holds the module. A worker thread's
 * code is an entry of its own (`WORKER_ENTRIES`), found beside the chunks by the name the bundle gives it.
 */
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { buildSigmaBundle, bundleText } from '#cli/rules-bundle.ts';
import { SIGMA_BUNDLE_FILE } from '#shared/rules/sigma/collections.cjs';

const root = resolve(import.meta.dirname, '..');
const outdir = join(root, 'dist');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

// Bundled CommonJS (the AWS SDK, commander) calls require; an ES module has none of its own.
const requireShim =
  "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);";

class BuildError extends Error {}

// The Sigma folders as they are now: the bundle is what the command (and the Lambdas) load.
const sigmaBundle = join(root, SIGMA_BUNDLE_FILE);
const sigmaText = bundleText(buildSigmaBundle(root));
if (!existsSync(sigmaBundle) || readFileSync(sigmaBundle, 'utf8') !== sigmaText)
  writeFileSync(sigmaBundle, sigmaText);
/**
 * Worker threads' code: the output name (`dist/<name>.js`) and its source; see cli/lookup/read-pool.ts and
 * cli/replay/evaluation-pool.ts.
 */
const WORKER_ENTRIES = {
  'lookup-worker': 'cli/lookup/read-worker.ts',
  'replay-worker': 'cli/replay/evaluation-worker.ts',
};

/**
 * Commander loads node:child_process (and net, dgram behind it) for executable sub-commands, which trailwatch has
 * none of: every command paid for it at start-up. Commander gets a stand-in that loads the module on first use.
 */
const lazyChildProcess: Plugin = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes(`${sep}node_modules${sep}commander${sep}`)
        ? { path: 'child_process', namespace: 'lazy-child-process' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      contents:
        "module.exports = new Proxy({}, { get: (_target, name) => require('node:child_process')[name] });",
      loader: 'js',
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { trailwatch: 'cli/trailwatch.ts', ...WORKER_ENTRIES },
  outdir: 'dist',
  platform: 'node',
  format: 'esm',
  target: 'node22',
  bundle: true,
  splitting: true,
  // The shebang comes from cli/trailwatch.ts, which esbuild keeps above the banner on the entry.
  banner: { js: requireShim },
  define: { TRAILWATCH_VERSION: JSON.stringify(version), TRAILWATCH_BUNDLED: 'true' },
  metafile: true,
  plugins: [lazyChildProcess],
  logLevel: 'warning',
});

const urlRef = /new URL\(\s*(["'])([^"'`]+)\1,\s*import\.meta\.url\s*\)/g;
const copied: string[] = [];
for (const [outFile, output] of Object.entries(result.metafile.outputs)) {
  if (!outFile.endsWith('.js')) continue;
  const outPath = join(root, outFile);
  const code = readFileSync(outPath, 'utf8');
  const rest = code.replace(requireShim, '');
  const sources = Object.keys(output.inputs).filter((i) => !i.includes('node_modules'));
  for (const [, , ref] of rest.matchAll(urlRef)) {
    // A worker's entry: its bundle lies beside the chunks, and the source names its `.ts` for runs from source.
    const entry = Object.entries(WORKER_ENTRIES).find(
      ([name, src]) => ref === `./${name}.js` || resolve(root, dirname(src), ref) === resolve(root, src),
    );
    if (entry) {
      if (dirname(outPath) !== outdir)
        throw new BuildError(`${outFile} starts worker ${ref}, which is not beside it in dist/`);
      continue;
    }
    const reader = sources.find((s) =>
      [...readFileSync(join(root, s), 'utf8').matchAll(urlRef)].some((m) => m[2] === ref),
    );
    if (!reader) throw new BuildError(`${outFile} reads ${ref} beside itself; found no source that names it`);
    const from = resolve(root, dirname(reader), ref);
    const to = resolve(dirname(outPath), ref);
    if (from === to) continue; // already where the package has it (package.json read by the source entry)
    if (!existsSync(from)) throw new BuildError(`${reader} reads ${ref} beside itself; ${from} is missing`);
    if (!to.startsWith(outdir + sep))
      throw new BuildError(`${reader} reads ${ref} beside itself, which would land outside dist/ (${to})`);
    copyFileSync(from, to);
    copied.push(relative(root, to));
  }
  // Any other use of the module's own location would point into dist/ with nothing there.
  const others = rest.replace(urlRef, '').match(/import\.meta\.(url|dirname|filename)/g);
  if (others)
    throw new BuildError(
      `${outFile} uses ${others.join(', ')} other than new URL('./file', import.meta.url); the build cannot tell which file it needs`,
    );
}

const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
const chunks = Object.keys(result.metafile.outputs).length;
process.stdout.write(
  `built dist/trailwatch.js ${version}: ${chunks} files, ${(bytes / 1e6).toFixed(1)} MB${copied.length ? `; copied ${copied.join(', ')}` : ''}\n`,
);

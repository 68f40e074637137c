#!/usr/bin/env node
/**
 * The `trailwatch` command. Each sub-command lives in cli/commands/<name>.ts and exports `register`.
 * Only the command being run is loaded: loading them all (and the SDK clients behind some) costs seconds, so
 * the top-level help is printed from the table in cli/commands.ts.
 *
 * Every command ends here (cli/errors.ts): a CliError prints its one line on stderr and exits with its code;
 * any other error prints one line and exits 2; commander's usage errors exit 2. `--debug`, anywhere on the
 * command line, adds the stack and its causes.
 */
import { readFileSync } from 'node:fs';
import module from 'node:module';
import type { Command } from 'commander';
import { COMMAND_DESCRIPTIONS, type CommandName, isCommandName } from '#cli/commands.ts';
import { CliError, EXIT } from '#cli/errors.ts';

// V8's compiled code for the bundle (commander, the command's modules), kept on disk by Node between runs
// (NODE_DISABLE_COMPILE_CACHE=1 turns it off): compiling them on every run cost a needle lookup 10-15 ms.
// Commander (the bulk of what every command loads) is loaded after it is on, hence its import below.
module.enableCompileCache?.();
const { Command: CommandClass, CommanderError } = await import('commander');

type CommandModule = { register(program: Command): void };

const commands: Record<CommandName, () => Promise<CommandModule>> = {
  alerts: () => import('#cli/commands/alerts.ts'),
  athena: () => import('#cli/commands/athena.ts'),
  audit: () => import('#cli/commands/audit.ts'),
  changes: () => import('#cli/commands/changes.ts'),
  demo: () => import('#cli/commands/demo.ts'),
  generate: () => import('#cli/commands/generate.ts'),
  insights: () => import('#cli/commands/insights.ts'),
  lookup: () => import('#cli/commands/lookup.ts'),
  replay: () => import('#cli/commands/replay.ts'),
  rules: () => import('#cli/commands/rules.ts'),
  validate: () => import('#cli/commands/validate.ts'),
};

/** Replaced by cli/build.ts with package.json's version; the TypeScript entry reads package.json itself. */
declare const TRAILWATCH_VERSION: string | undefined;

function packageVersion(): string {
  if (typeof TRAILWATCH_VERSION === 'string') return TRAILWATCH_VERSION;
  return JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
}

const DEBUG_FLAG = '--debug';

/** `--debug` is taken out before parsing, so every command accepts it wherever it stands. */
function splitDebug(argv: string[]): { args: string[]; debug: boolean } {
  const end = argv.indexOf('--');
  const options = end === -1 ? argv : argv.slice(0, end);
  const rest = end === -1 ? [] : argv.slice(end);
  const args = [...options.filter((a) => a !== DEBUG_FLAG), ...rest];
  return { args, debug: args.length !== argv.length };
}

/** The command to load: the first word, or the one after `help`. The global options take no values. */
function commandToLoad(args: string[]): CommandName | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return isCommandName(name) ? name : undefined;
}

function oneLine(text: string): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
}

function stackAndCauses(err: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e); ) {
    seen.add(e);
    const text = e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e);
    parts.push(parts.length === 0 ? text : `Caused by: ${text}`);
    e = e instanceof Error ? e.cause : undefined;
  }
  return `${parts.join('\n')}\n`;
}

/** Says what went wrong on stderr and returns the exit code. */
function report(err: unknown, debug: boolean): number {
  // Commander has already written its message through outputError below.
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return EXIT.ok;
    // Commander's own errors all carry 1; a command asking for another code keeps it.
    return err.exitCode === 1 ? EXIT.usage : err.exitCode;
  }
  const expected = err instanceof CliError;
  const message = err instanceof Error ? oneLine(err.message) || err.name : oneLine(String(err));
  const hint = expected || debug ? '' : ` (run with ${DEBUG_FLAG} for details)`;
  process.stderr.write(`trailwatch: ${message}${hint}\n`);
  if (debug) process.stderr.write(stackAndCauses(err));
  return expected ? err.exitCode : EXIT.usage;
}

const { args, debug } = splitDebug(process.argv.slice(2));

// Output and exit handling are set before any command is added: commander copies them into each command.
const program = new CommandClass('trailwatch')
  .description('CloudTrail ingest, integrity validation, rules and anomaly detection, on AWS or offline')
  .version(packageVersion(), '-V, --version', 'print the version')
  .option(DEBUG_FLAG, 'on an error, also print its stack trace and causes (accepted anywhere)')
  .exitOverride()
  .configureOutput({
    outputError: (message, write) => write(`trailwatch: ${oneLine(message.replace(/^error: /, ''))}\n`),
  });

try {
  const wanted = commandToLoad(args);
  for (const [name, description] of Object.entries(COMMAND_DESCRIPTIONS)) {
    if (name === wanted) (await commands[wanted]()).register(program);
    else program.command(name).description(description);
  }
  await program.parseAsync(args, { from: 'user' });
} catch (err) {
  process.exitCode = report(err, debug);
}

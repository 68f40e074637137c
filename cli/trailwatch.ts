#!/usr/bin/env node
/**
 * The `trailwatch` command. Each sub-command lives in cli/commands/<name>.ts and exports `register`.
 * Only the command being run is loaded: loading them all (and the SDK clients behind some) costs seconds.
 */
import { Command } from 'commander';

type CommandModule = { register(program: Command): void };

const commands: Record<string, () => Promise<CommandModule>> = {
  demo: () => import('#cli/commands/demo.ts'),
  generate: () => import('#cli/commands/generate.ts'),
  insights: () => import('#cli/commands/insights.ts'),
  lookup: () => import('#cli/commands/lookup.ts'),
  replay: () => import('#cli/commands/replay.ts'),
  rules: () => import('#cli/commands/rules.ts'),
  validate: () => import('#cli/commands/validate.ts'),
};

const program = new Command('trailwatch')
  .description('CloudTrail ingest, integrity validation, rules and anomaly detection, on AWS or offline')
  .showHelpAfterError();

const name = process.argv[2];
const wanted = name && name in commands ? [name] : Object.keys(commands);
for (const n of wanted) (await commands[n]()).register(program);

await program.parseAsync(process.argv);

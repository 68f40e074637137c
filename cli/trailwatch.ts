#!/usr/bin/env node
/**
 * The `trailwatch` command. Each sub-command lives in cli/commands/<name>.ts and exports `register`.
 */
import { Command } from 'commander';
import * as demo from '#cli/commands/demo.ts';
import * as replay from '#cli/commands/replay.ts';
import * as rules from '#cli/commands/rules.ts';

const program = new Command('trailwatch')
  .description('CloudTrail ingest, integrity validation, rules and anomaly detection, on AWS or offline')
  .showHelpAfterError();

const commands: { register(program: Command): void }[] = [
  // one line per command module, keep sorted
  demo,
  replay,
  rules,
];
for (const c of commands) c.register(program);

await program.parseAsync(process.argv);

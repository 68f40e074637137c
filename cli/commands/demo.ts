/**
 * `npm start`: generate the sample trail once (cached by scenario), then replay it through the real handlers,
 * offline, and print what the pipeline found.
 */

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { FsObjectStore } from '#cli/adapters/fs-object-store.ts';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { demoScenario, generateTrail, MANIFEST_KEY } from '#cli/generator/index.ts';
import { ProgressBar, progressCallback } from '#cli/progress.ts';
import { replay } from '#cli/replay/local-pipeline.ts';
import { formatReport } from '#cli/replay/replay-summary.ts';
import { outputFolder } from '#cli/source.ts';
import { publicKeysFromStore } from '#shared/digest/public-keys.ts';

export function register(program: Command): void {
  program
    .command('demo')
    .description(COMMAND_DESCRIPTIONS.demo)
    .option('--dir <folder>', 'where the sample trail and the results go', '.trailwatch')
    .option('--fresh', 'regenerate the sample trail even if it is cached')
    .action(async (opts: { dir: string; fresh?: boolean }) => {
      const dir = await outputFolder('--dir', opts.dir);
      const trailDir = join(dir, 'sample-trail');
      const outDir = join(dir, 'demo-out');
      const manifestPath = join(trailDir, MANIFEST_KEY);
      const cached =
        !opts.fresh &&
        existsSync(manifestPath) &&
        JSON.stringify(JSON.parse(readFileSync(manifestPath, 'utf8')).scenario) ===
          JSON.stringify(demoScenario);
      if (!cached) {
        rmSync(trailDir, { recursive: true, force: true });
        const bar = new ProgressBar('generate');
        const t = performance.now();
        const trail = await generateTrail(
          demoScenario,
          new FsObjectStore(trailDir),
          progressCallback(bar),
        ).finally(() => bar.done());
        process.stderr.write(
          `Generated a sample trail: ${trail.deliveries.length} files in ${((performance.now() - t) / 1000).toFixed(1)} s → ${trailDir}\n`,
        );
      } else {
        process.stderr.write(`Using the cached sample trail in ${trailDir} (--fresh to regenerate)\n`);
      }
      // The demo shows a first run every time: results from an earlier run would all be duplicates.
      rmSync(outDir, { recursive: true, force: true });
      const bar = new ProgressBar('replay  ');
      const report = await replay({
        source: new FsObjectStore(trailDir),
        sourceBucket: demoScenario.bucket,
        out: outDir,
        keys: await publicKeysFromStore(new FsObjectStore(trailDir), 'public-keys.json'),
        onProgress: progressCallback(bar),
      }).finally(() => bar.done());
      process.stdout.write(`\n${formatReport(report, 'trailwatch demo')}\n`);
      process.stdout.write(
        [
          '',
          'Next:',
          `  npx trailwatch lookup --source ${rel(trailDir)} --event-name StopLogging`,
          `  npx trailwatch validate --source ${rel(trailDir)} --trail-arn arn:aws:cloudtrail:${demoScenario.homeRegion}:${demoScenario.accounts[0]}:trail/${demoScenario.trailName} --region all --start-time ${demoScenario.start} --end-time ${new Date(Date.parse(demoScenario.start) + demoScenario.hours * 3_600_000 + 2 * 3_600_000).toISOString().slice(0, 19)}Z --public-keys ${rel(join(trailDir, 'public-keys.json'))}`,
          `  npx trailwatch insights report --source ${rel(outDir)} --out ${rel(join(dir, 'insights.html'))}`,
          `  npx trailwatch rules list`,
          `  npx trailwatch alerts show ${rel(join(outDir, 'notifications.jsonl'))} --format email   (or chat, json, sms: what each subscriber receives)`,
          '',
        ].join('\n'),
      );
    });
}

function rel(p: string): string {
  const r = p.startsWith(process.cwd()) ? p.slice(process.cwd().length + 1) : p;
  return r || '.';
}

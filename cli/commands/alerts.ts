/**
 * `trailwatch alerts show notifications.jsonl [--format email|chat|json|sms]`: what each kind of subscriber
 * of the alerts topic (and the chat topic) would receive for the alerts a replay or `npm start` wrote, so the
 * messages can be read before anything is deployed.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import {
  parseNotificationLines,
  renderViews,
  VIEW_FORMATS,
  type ViewFormat,
} from '#cli/alerts/subscriber-views.ts';
import { COMMAND_DESCRIPTIONS } from '#cli/commands.ts';
import { CliError } from '#cli/errors.ts';

export function register(program: Command): void {
  const alerts = program.command('alerts').description(COMMAND_DESCRIPTIONS.alerts);
  alerts
    .command('show')
    .description(
      'print what e-mail, SMS, chat and machine subscribers receive for each alert of a notifications.jsonl',
    )
    .argument(
      '<file>',
      'notifications.jsonl written by trailwatch replay or npm start (one SNS publish per line)',
    )
    .addOption(new Option('--format <format>', 'one subscriber kind only').choices([...VIEW_FORMATS]))
    .option('--kind <kind>', 'only alerts of this kind (rule, insight, tamper, watchdog, health)')
    .action(async (file: string, opts: { format?: ViewFormat; kind?: string }) => {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new CliError(
          code === 'ENOENT'
            ? `${file}: no such file (expected the notifications.jsonl of trailwatch replay --out, or .trailwatch/demo-out/notifications.jsonl after npm start)`
            : `${file}: cannot be read (${code ?? (err as Error).message})`,
          { cause: err },
        );
      }
      const { notifications, problems } = parseNotificationLines(text);
      for (const p of problems)
        process.stderr.write(`trailwatch: ${file} line ${p.line}: ${p.problem}; skipped\n`);
      if (notifications.length === 0) {
        throw new CliError(`${file}: holds no notification (expected one SNS publish per line)`);
      }
      const shown = opts.kind ? notifications.filter((n) => n.attributes.kind === opts.kind) : notifications;
      if (shown.length > 0) process.stdout.write(`${renderViews(shown, opts.format)}\n`);
    });
}

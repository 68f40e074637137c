/**
 * Local twins of SNS and CloudWatch for replay and `npm start`: what would have been published is appended to
 * JSON Lines files, one message or one EMF document per line.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Notification, Notifier } from '#shared/ports.ts';

export class JsonlFile {
  private readonly path: string;
  lines = 0;

  constructor(path: string) {
    this.path = path;
    mkdirSync(dirname(path), { recursive: true });
  }

  append(value: unknown): void {
    // Synchronous on purpose: EMF and notifications must survive a crash of the replay right after.
    appendFileSync(this.path, `${JSON.stringify(value)}\n`);
    this.lines++;
  }
}

export class OutboxNotifier implements Notifier {
  readonly sent: Notification[] = [];
  private readonly file?: JsonlFile;

  constructor(path?: string) {
    if (path) this.file = new JsonlFile(path);
  }

  async publish(n: Notification): Promise<void> {
    this.sent.push(n);
    this.file?.append(n);
  }
}

/**
 * A one-line progress bar with totals on stderr, for every command that reads many files. It is drawn only
 * on a terminal (not when stderr is piped or under CI, where carriage returns would litter the log), at most
 * every 100 ms, and never wider than the terminal, so it cannot wrap into lines of debris.
 */

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

export class ProgressBar {
  private readonly label: string;
  private readonly stream: ProgressStream;
  private readonly enabled: boolean;
  private last = 0;
  private total = 0;
  private more = false;
  private shown = false;

  constructor(label: string, stream: ProgressStream = process.stderr) {
    this.label = label;
    this.stream = stream;
    this.enabled = Boolean(stream.isTTY) && !process.env.CI;
  }

  /** The total so far; `more` when it may still grow (files are still being listed), shown as `+`. */
  start(total: number, more = false): void {
    this.total = total;
    this.more = more;
  }

  update(done: number, detail = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && (done < this.total || this.more)) return;
    this.last = now;
    const width = 30;
    const ratio = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const filled = Math.round(ratio * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const pct = `${Math.floor(ratio * 100)}`.padStart(3);
    const count = `${done.toLocaleString('en-US')}/${this.total.toLocaleString('en-US')}${this.more ? '+' : ''}`;
    const line = `${this.label} ${bar} ${pct}% ${count}${detail ? ` ${detail}` : ''}`;
    const columns = this.stream.columns && this.stream.columns > 1 ? this.stream.columns - 1 : 79;
    this.stream.write(`${CLEAR_LINE}${Array.from(line).slice(0, columns).join('')}`);
    this.shown = true;
  }

  /** Removes the bar, so that a message can be written; the next update draws it again. */
  clear(): void {
    if (this.shown) this.stream.write(CLEAR_LINE);
    this.shown = false;
  }

  done(): void {
    this.clear();
  }
}

/** The `onProgress(done, total)` callback most long operations take, drawing on a bar. */
export function progressCallback(bar: ProgressBar): (done: number, total: number) => void {
  return (done, total) => {
    bar.start(total);
    bar.update(done);
  };
}

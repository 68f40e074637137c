/** A one-line progress bar on stderr, drawn only on a terminal, at most every 100 ms. */
export class ProgressBar {
  private readonly label: string;
  private readonly enabled: boolean;
  private last = 0;
  private total = 0;

  constructor(label: string, stream: NodeJS.WriteStream = process.stderr) {
    this.label = label;
    this.enabled = Boolean(stream.isTTY) && !process.env.CI;
  }

  start(total: number): void {
    this.total = total;
  }

  update(done: number, detail = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const width = 30;
    const ratio = this.total > 0 ? Math.min(1, done / this.total) : 0;
    const filled = Math.round(ratio * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const pct = `${Math.floor(ratio * 100)}`.padStart(3);
    process.stderr.write(
      `\r${this.label} ${bar} ${pct}% ${done}/${this.total} ${detail}`.slice(0, 150).padEnd(80),
    );
  }

  done(): void {
    if (this.enabled) process.stderr.write('\r\x1b[2K');
  }
}

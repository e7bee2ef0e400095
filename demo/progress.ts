// A progress line for the demo: a bar redrawn in place on a terminal (plain ANSI,
// no dependency), or a few plain lines when stdout is a pipe or a file.

const WIDTH = 30;

export class Progress {
  private done = 0;
  private lastLine = -1;
  private readonly started = performance.now();
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = Boolean(out.isTTY);
    this.draw();
  }

  tick(n = 1): void {
    this.done += n;
    this.draw();
  }

  /** Ends the line with a short note (e.g. a rate). */
  finish(note = ''): void {
    this.done = this.total;
    const text = `${this.line()}${note ? `  ${note}` : ''}`;
    if (this.tty) this.out.write(`\r\x1b[2K${text}\n`);
    else this.out.write(`${text}\n`);
  }

  private line(): string {
    const frac = this.total ? Math.min(1, this.done / this.total) : 1;
    const filled = Math.round(frac * WIDTH);
    const secs = ((performance.now() - this.started) / 1000).toFixed(1);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
    return `${this.label.padEnd(18)} ${bar} ${String(this.done).padStart(6)}/${this.total} ${secs.padStart(5)}s`;
  }

  private draw(): void {
    if (this.tty) {
      // Redraw at most once per whole percent: writes to a terminal are not free.
      const pct = this.total ? Math.floor((this.done * 100) / this.total) : 100;
      if (pct === this.lastLine) return;
      this.lastLine = pct;
      this.out.write(`\r\x1b[2K${this.line()}`);
      return;
    }
    // Not a terminal: one line at 0%, then every 25%.
    const quarter = this.total ? Math.floor((this.done * 4) / this.total) : 4;
    if (quarter === this.lastLine || quarter >= 4) return;
    this.lastLine = quarter;
    this.out.write(`${this.line()}\n`);
  }
}

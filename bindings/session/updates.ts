// Updates as an async iterator with back-pressure: a bounded queue. When it
// is full the session stops reading its socket (`pause`), so TCP flow control
// slows the server down; reading resumes once the consumer has taken half of
// the queue (`resume`). Nothing is dropped.

export class UpdateQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | null = null;
  private ended = false;
  private paused = false;

  constructor(
    readonly capacity: number,
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.ended) return;
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.paused && this.items.length >= this.capacity) {
      this.paused = true;
      this.pause();
    }
  }

  /** No more items: a waiting consumer finishes; queued items are still delivered. */
  end(): void {
    this.ended = true;
    const w = this.waiter;
    this.waiter = null;
    w?.({ value: undefined, done: true });
    if (this.paused) {
      this.paused = false;
      this.resume();
    }
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) {
      if (this.paused && this.items.length <= this.capacity / 2) {
        this.paused = false;
        this.resume();
      }
      return Promise.resolve({ value: item, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: async () => {
        this.end();
        return { value: undefined, done: true };
      },
    };
  }
}

// Updates as an async iterator over a bounded queue. Reading the socket never stops for
// updates (that would hold RPC answers behind them): past `capacity` the queue tells its
// owner the consumer is behind (the update engine then holds back and refetches later);
// past `limit` items are dropped and counted, so one flood cannot grow memory without
// bound (the raw stream reports them in an `updatesDropped` event; use the update engine,
// `updates.catchUp`, to lose none).

export interface QueueHooks {
  /** The consumer fell behind (the queue reached `capacity`), or caught up (half of it). */
  behind?(behind: boolean): void;
  /** Items dropped because the queue held `limit` already. */
  dropped?(count: number): void;
}

export class UpdateQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter: ((r: IteratorResult<T>) => void) | null = null;
  private ended = false;
  private behind = false;

  constructor(
    readonly capacity: number,
    /** Hard bound of held items. */
    readonly limit: number,
    private readonly hooks: QueueHooks = {},
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
    if (this.items.length >= this.limit) {
      this.hooks.dropped?.(1);
      return;
    }
    this.items.push(item);
    if (!this.behind && this.items.length >= this.capacity) {
      this.behind = true;
      this.hooks.behind?.(true);
    }
  }

  /** No more items: a waiting consumer finishes; queued items are still delivered. */
  end(): void {
    this.ended = true;
    const w = this.waiter;
    this.waiter = null;
    w?.({ value: undefined, done: true });
    if (this.behind) {
      this.behind = false;
      this.hooks.behind?.(false);
    }
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) {
      if (this.behind && this.items.length <= this.capacity / 2) {
        this.behind = false;
        this.hooks.behind?.(false);
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

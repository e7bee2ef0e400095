// Reconnection policy: exponential backoff with full jitter
// (delay = random(0, min(cap, base * 2^attempt))), and a per-address limiter on
// connection attempts shared by every session of the process, so that 10,000
// sessions coming back after an outage reach a DC a few at a time instead of
// all at once.

import type { ReconnectOptions } from './types';

export function backoffDelay(attempt: number, o: ReconnectOptions = {}, random = Math.random): number {
  const base = o.baseMs ?? 250;
  const cap = o.capMs ?? 30_000;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** A counting semaphore per key (host:port). */
export class AttemptLimiter {
  private readonly active = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(public limit = 64) {}

  /** Resolves with a release function once an attempt to `key` may start. */
  async acquire(key: string): Promise<() => void> {
    const n = this.active.get(key) ?? 0;
    if (n < this.limit) {
      this.active.set(key, n + 1);
      return this.releaser(key);
    }
    await new Promise<void>((resolve) => {
      const q = this.waiting.get(key) ?? [];
      q.push(resolve);
      this.waiting.set(key, q);
    });
    // The releasing attempt handed its slot over (active unchanged).
    return this.releaser(key);
  }

  private releaser(key: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.get(key)?.shift();
      if (next) return next();
      const n = (this.active.get(key) ?? 1) - 1;
      if (n <= 0) this.active.delete(key);
      else this.active.set(key, n);
    };
  }
}

/** Shared by every session of the process (`SessionRegistry` uses it unless given another). */
export const connectionAttempts = new AttemptLimiter();

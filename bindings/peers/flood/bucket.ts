// A token bucket, sans-IO: `count` tokens per `perMs`, holding at most `burst`. Time comes
// in as an argument; nothing here reads a clock.
//
// A token is reserved when a call goes and spent when its answer comes (`commit`): the
// server counts a call when it receives it, which may be any time until it answers, so the
// bucket refills from the answer on, and calls in flight count as spent now. A client that
// stalled between sending and the server reading (a busy event loop, a slow network)
// therefore cannot send again what the server has not yet seen spent.

export interface RateLimit {
  /** Tokens added per `perMs`. */
  count: number;
  perMs: number;
  /** Tokens the bucket holds at most (default `count`): how many may go at once. */
  burst?: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;
  /** Reserved, not yet committed: calls in flight. */
  private pending = 0;
  readonly capacity: number;
  /** Tokens per ms. */
  private readonly rate: number;

  constructor(limit: RateLimit, now: number) {
    if (!(limit.count > 0) || !(limit.perMs > 0))
      throw new RangeError('a rate limit needs count > 0 and perMs > 0');
    this.capacity = Math.max(1, limit.burst ?? limit.count);
    this.rate = limit.count / limit.perMs;
    this.tokens = this.capacity;
    this.last = now;
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.rate);
      this.last = now;
    }
  }

  /** When one token is there (`now` if it is already; Infinity: only once a call in flight is answered). */
  readyAt(now: number): number {
    this.refill(now);
    const available = this.tokens - this.pending;
    if (available >= 1) return now;
    if (this.capacity - this.pending < 1) return Number.POSITIVE_INFINITY;
    return now + Math.ceil((1 - available) / this.rate);
  }

  /** Reserves one token for a call that goes now; false (nothing reserved) when there is none. */
  reserve(now: number): boolean {
    this.refill(now);
    if (this.tokens - this.pending < 1) return false;
    this.pending++;
    return true;
  }

  /** The reserved call was answered (or given up): its token is spent now. */
  commit(now: number): void {
    this.refill(now);
    if (this.pending > 0) this.pending--;
    this.tokens -= 1;
  }

  /** Reserves and commits at once (a call counted when it goes). */
  take(now: number): boolean {
    if (!this.reserve(now)) return false;
    this.commit(now);
    return true;
  }

  /** Full again at `now` with nothing in flight: the same as a new bucket (callers may then forget it). */
  full(now: number): boolean {
    this.refill(now);
    return this.pending === 0 && this.tokens >= this.capacity;
  }
}

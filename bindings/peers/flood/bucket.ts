// A token bucket, sans-IO: `count` tokens per `perMs`, holding at most `burst`. Time comes
// in as an argument; nothing here reads a clock.

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

  /** When one token is there (`now` if it is already). */
  readyAt(now: number): number {
    this.refill(now);
    if (this.tokens >= 1) return now;
    return now + Math.ceil((1 - this.tokens) / this.rate);
  }

  /** Takes one token; false (and nothing taken) when there is none. */
  take(now: number): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Full again at `now`: the same as a new bucket (callers may then forget it). */
  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }
}

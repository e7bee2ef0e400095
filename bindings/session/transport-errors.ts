// Transport errors (https://core.telegram.org/mtproto/mtproto-transports#transport-errors):
// a 4-byte packet holding a negative code instead of a message.
// - -404: the server does not know the auth key. A permanent key is forgotten only then
//   (AUTH_KEY_UNKNOWN); a temporary key is replaced by its pool (pool.ts).
// - -429: too many connections from this address (or too many service messages): the
//   client backs off, longer after each -429 in a row, with full jitter.
// - -444: the DC id is invalid (e.g. the obfuscated2 header names another DC while
//   connecting): a wrong address or DC, so no reconnection loop (BAD_DC).

import { type ReconnectOptions, SessionError } from './types';

/** The error that ends a connection for good on `code`, or null when it may go on. */
export function transportFailure(code: number): SessionError | null {
  if (code === -404)
    return new SessionError('AUTH_KEY_UNKNOWN', 'the server does not know this auth key (-404)');
  if (code === -444) {
    return new SessionError(
      'BAD_DC',
      'the server says the DC id is invalid (-444): check the DC and address',
    );
  }
  return null;
}

/** Backoff steps added to the reconnection attempt after a -429 (4: 16x the base delay). */
const FLOOD_PENALTY = 4;
const MAX_FLOOD_PENALTY = 10;
/** A -429 this long after the previous one starts a new count. */
const FLOOD_MEMORY_MS = 60_000;

/** Counts -429s in a row; each makes the next backoff longer. */
export class FloodCounter {
  count = 0;
  /** -429s seen over the life of the connection (tests, stats). */
  total = 0;
  private last = Number.NEGATIVE_INFINITY;

  /** Records a -429 at `now`; returns the penalty (extra backoff attempts) to apply. */
  hit(now: number): number {
    if (now - this.last > FLOOD_MEMORY_MS) this.count = 0;
    this.last = now;
    this.count++;
    this.total++;
    return Math.min(MAX_FLOOD_PENALTY, FLOOD_PENALTY + this.count - 1);
  }
}

/** How long to wait after the `n`-th -429 in a row (1-based) before trying again: full jitter. */
export function floodDelay(n: number, o: ReconnectOptions = {}, random = Math.random): number {
  const base = o.baseMs ?? 250;
  const cap = Math.max(o.capMs ?? 30_000, base);
  const ceiling = Math.min(cap, base * 2 ** Math.min(FLOOD_PENALTY + n - 1, MAX_FLOOD_PENALTY));
  // At least a quarter of the ceiling: a flooded server needs real silence.
  return Math.floor(ceiling * (0.25 + 0.75 * random()));
}

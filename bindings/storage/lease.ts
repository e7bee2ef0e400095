// One key, one owner. A stored session is opened under a lease: taken with
// acquire(), kept alive by renew() well before it expires, given back with
// release(). An auth key used from two places at once draws
// AUTH_KEY_DUPLICATED from Telegram, so a second opener is refused, never run.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { SessionLeaseLostError, SessionLockedError } from './errors';
import type { Lease, LeaseClaim, RenewResult, SessionStorage } from './types';

/** A fresh owner id: host, pid and a random part (unique per open, even in one process). */
export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export function checkTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs < 1 || ttlMs > 2 ** 31) {
    throw new RangeError('lease ttlMs must be between 1 ms and about 24 days');
  }
  return Math.ceil(ttlMs);
}

/** Owner ids are non-empty strings (an empty one would read as "no owner"). */
export function checkOwner(owner: string): string {
  if (typeof owner !== 'string' || owner.length === 0)
    throw new TypeError('a lease owner is a non-empty string');
  return owner;
}

/** A lease as the in-process adapters (memory, SQLite) keep it. */
export interface LeaseRow {
  owner: string;
  expiresAt: number;
}

/**
 * The acquire rule shared by the adapters that decide in JS: free, expired or
 * already ours -> the new lease; otherwise SessionLockedError.
 */
export function decideAcquire(
  name: string,
  current: LeaseRow | undefined,
  owner: string,
  ttlMs: number,
  now: number,
): Lease {
  if (current && current.owner !== owner && current.expiresAt > now) {
    throw new SessionLockedError(name, current.owner, current.expiresAt);
  }
  return { name, owner, expiresAt: now + ttlMs };
}

/**
 * The renew rule: only the holder renews. An expired lease nobody else took is
 * still the holder's (the SQL adapters keep the row; Redis drops the key at
 * expiry, so there a late renew reports SessionLeaseLostError).
 */
export function decideRenew(
  name: string,
  current: LeaseRow | undefined,
  owner: string,
  ttlMs: number,
  now: number,
): Lease {
  if (!current) throw new SessionLeaseLostError(name, owner);
  if (current.owner !== owner) throw new SessionLockedError(name, current.owner, current.expiresAt);
  return { name, owner, expiresAt: now + ttlMs };
}

/**
 * decideRenew for one claim of a batch: the lease, or the error renew() would
 * throw, as a result. For the adapters that decide in JS (memory, SQLite).
 */
export function renewResult(
  claim: LeaseClaim,
  current: LeaseRow | undefined,
  ttlMs: number,
  now: number,
): RenewResult {
  try {
    return { kind: 'renewed', lease: decideRenew(claim.name, current, claim.owner, ttlMs, now) };
  } catch (error) {
    return { kind: 'lost', error: error as Error };
  }
}

/** The result for a claim a batch did not renew, from the lease row found (if any). */
export function notRenewed(claim: LeaseClaim, current: LeaseRow | undefined): RenewResult {
  // The row still naming us means it changed under the batch (taken and given back,
  // or gone): not renewed is not held, as renew() would report on a second look.
  const error =
    current && current.owner !== claim.owner
      ? new SessionLockedError(claim.name, current.owner, current.expiresAt)
      : new SessionLeaseLostError(claim.name, claim.owner);
  return { kind: 'lost', error };
}

export function checkClaims(claims: readonly LeaseClaim[]): void {
  for (const c of claims) {
    if (typeof c.name !== 'string') throw new TypeError('a lease claim names its session (a string)');
    checkOwner(c.owner);
  }
}

/**
 * Renews every claim: storage.renewMany() when the adapter has it, otherwise
 * renew() per claim (all in flight at once). One result per claim, in order;
 * rejects only when the batch as a whole failed.
 */
export async function renewLeases(
  storage: SessionStorage,
  claims: readonly LeaseClaim[],
  ttlMs: number,
): Promise<RenewResult[]> {
  if (claims.length === 0) return [];
  if (storage.renewMany) return storage.renewMany(claims, ttlMs);
  return Promise.all(
    claims.map(async ({ name, owner }): Promise<RenewResult> => {
      try {
        return { kind: 'renewed', lease: await storage.renew(name, owner, ttlMs) };
      } catch (error) {
        const lost = error instanceof SessionLockedError || error instanceof SessionLeaseLostError;
        if (!lost && (error instanceof RangeError || error instanceof TypeError)) throw error;
        return { kind: lost ? 'lost' : 'failed', error: error as Error };
      }
    }),
  );
}

/** The fencing rule for a save with `options.owner`: the lease must be this owner's. */
export function checkFence(name: string, current: LeaseRow | undefined, owner: string): void {
  if (!current) throw new SessionLeaseLostError(name, owner);
  if (current.owner !== owner) throw new SessionLockedError(name, current.owner, current.expiresAt);
}

export interface HoldOptions {
  /** Default: newOwnerId(). */
  owner?: string;
  /** Lease length (default 30 s): how long a crashed owner blocks the session. */
  ttlMs?: number;
  /** How often to renew (default ttlMs / 3). */
  renewEveryMs?: number;
  /** Called once when the lease is lost (taken over, or not renewed in time). */
  onLost?: (err: Error) => void;
}

/** A lease kept alive in the background until released or lost. */
export interface HeldLease {
  readonly name: string;
  readonly owner: string;
  /** Local time (ms) until which the lease is known to be held. */
  readonly expiresAt: number;
  /** True once the lease was lost; the session must stop using the key. */
  readonly lost: boolean;
  /** Stops renewing and releases the lease. */
  release(): Promise<void>;
}

/**
 * Acquires `name` and renews it on a timer (unref'd: it does not keep the
 * process alive). Rejects with SessionLockedError when someone else holds it.
 * A renewal that fails for a transient reason (a network error) is retried at
 * the next tick; if the lease runs out meanwhile, it is reported lost.
 */
export async function holdLease(
  storage: SessionStorage,
  name: string,
  options: HoldOptions = {},
): Promise<HeldLease> {
  const owner = options.owner ?? newOwnerId();
  const ttlMs = checkTtl(options.ttlMs ?? 30_000);
  const every = Math.max(1, options.renewEveryMs ?? Math.floor(ttlMs / 3));
  // The storage's clock may differ from ours: track expiry locally, counted from
  // before the request (the lease was granted no earlier than that).
  let asked = Date.now();
  await storage.acquire(name, owner, ttlMs);
  let expiresAt = asked + ttlMs;
  let lost = false;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const loseWith = (err: Error) => {
    if (lost || stopped) return;
    lost = true;
    stopped = true;
    if (timer) clearTimeout(timer);
    options.onLost?.(err);
  };
  const tick = async () => {
    if (stopped) return;
    asked = Date.now();
    try {
      await storage.renew(name, owner, ttlMs);
      expiresAt = asked + ttlMs;
    } catch (err) {
      if (err instanceof SessionLockedError || err instanceof SessionLeaseLostError) return loseWith(err);
      if (Date.now() >= expiresAt) return loseWith(err as Error);
    }
    schedule();
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(tick, every);
    timer.unref();
  };
  schedule();

  return {
    name,
    owner,
    get expiresAt() {
      return expiresAt;
    },
    get lost() {
      return lost;
    },
    async release() {
      if (stopped && !lost) return;
      stopped = true;
      if (timer) clearTimeout(timer);
      if (!lost) await storage.release(name, owner);
    },
  };
}

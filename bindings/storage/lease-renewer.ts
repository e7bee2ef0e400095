// Lease renewal for many stored sessions at once (issue #6): one scheduler per
// storage per process. A session registers its lease here instead of owning a
// timer; due leases are renewed together in batches (storage.renewMany, or
// renew() per lease when the adapter has no batch form) on one timer. With
// 10,000 sessions at the defaults that is a handful of round trips every 10 s
// instead of 1,000 renewals a second.
//
// Per lease, the rules are holdLease()'s: a lease another owner took, or that
// is gone, is lost at once; a renewal that fails for a transient reason is
// retried at the next round, and the lease is lost if it runs out meanwhile
// (expiry is tracked on the local clock, counted from before each request).
import { SessionLeaseLostError, SessionLockedError } from './errors';
import { checkTtl, type HeldLease, type HoldOptions, newOwnerId, renewLeases } from './lease';
import type { LeaseClaim, RenewResult, SessionStorage } from './types';

export type { HeldLease };

/** Claims per renewMany() call. */
export const RENEW_BATCH = 500;
/** renewMany() calls in flight at once per storage. */
const PARALLEL = 4;

interface Held {
  name: string;
  owner: string;
  ttlMs: number;
  every: number;
  /** When the next renewal is due (local ms). */
  dueAt: number;
  expiresAt: number;
  inFlight: boolean;
  stopped: boolean;
  lost: boolean;
  onLost?: (err: Error) => void;
}

export interface RenewerStats {
  /** renewMany() (or fallback) calls made. */
  batches: number;
  /** Leases renewed. */
  renewed: number;
}

export class LeaseRenewer {
  private readonly held = new Set<Held>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** Batches waiting for a free slot, and how many are in flight. */
  private readonly queue: Held[][] = [];
  private active = 0;
  readonly stats: RenewerStats = { batches: 0, renewed: 0 };

  constructor(
    readonly storage: SessionStorage,
    /**
     * Claims per renewMany() call. A fleet worker raises it to its capacity, so that its
     * leases, falling into step, cost one storage call per period (fleet/worker.ts).
     */
    public batchSize = RENEW_BATCH,
  ) {}

  private static readonly byStorage = new WeakMap<SessionStorage, LeaseRenewer>();

  /** The process's renewer for `storage`. */
  static for(storage: SessionStorage): LeaseRenewer {
    let r = LeaseRenewer.byStorage.get(storage);
    if (!r) {
      r = new LeaseRenewer(storage);
      LeaseRenewer.byStorage.set(storage, r);
    }
    return r;
  }

  /** How many leases are registered. */
  get size(): number {
    return this.held.size;
  }

  /**
   * holdLease() with the renewals batched: acquires `name` (rejects with
   * SessionLockedError when someone else holds it) and keeps it renewed.
   */
  async hold(name: string, options: HoldOptions = {}): Promise<HeldLease> {
    const owner = options.owner ?? newOwnerId();
    const ttlMs = checkTtl(options.ttlMs ?? 30_000);
    const every = Math.max(1, options.renewEveryMs ?? Math.floor(ttlMs / 3));
    const asked = Date.now();
    await this.storage.acquire(name, owner, ttlMs);
    const h: Held = {
      name,
      owner,
      ttlMs,
      every,
      dueAt: asked + every,
      expiresAt: asked + ttlMs,
      inFlight: false,
      stopped: false,
      lost: false,
      onLost: options.onLost,
    };
    this.held.add(h);
    this.arm();
    const storage = this.storage;
    const held = this.held;
    return {
      name,
      owner,
      get expiresAt() {
        return h.expiresAt;
      },
      get lost() {
        return h.lost;
      },
      async release() {
        if (h.stopped && !h.lost) return;
        const wasLost = h.lost;
        h.stopped = true;
        held.delete(h);
        if (!wasLost) await storage.release(name, owner);
      },
    };
  }

  private lose(h: Held, err: Error): void {
    if (h.lost || h.stopped) return;
    h.lost = true;
    h.stopped = true;
    this.held.delete(h);
    h.onLost?.(err);
  }

  /** The timer at the earliest due renewal (unref'd: it keeps no process alive). */
  private arm(): void {
    let at = Number.POSITIVE_INFINITY;
    for (const h of this.held) if (!h.inFlight && h.dueAt < at) at = h.dueAt;
    if (at === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (at === Number.POSITIVE_INFINITY) return;
    this.timer = setTimeout(() => this.round(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  /**
   * One round: every lease due within half its period is renewed now, in
   * batches of one TTL each. Renewing early is harmless (a lease is renewed
   * every half to one period), and it makes leases fall into step: however the
   * sessions were opened, about two rounds per period renew them all.
   */
  private round(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    const byTtl = new Map<number, Held[]>();
    for (const h of this.held) {
      if (h.inFlight || h.dueAt - h.every / 2 > now) continue;
      h.inFlight = true;
      const list = byTtl.get(h.ttlMs) ?? [];
      list.push(h);
      byTtl.set(h.ttlMs, list);
    }
    for (const list of byTtl.values()) {
      for (let i = 0; i < list.length; i += this.batchSize)
        this.queue.push(list.slice(i, i + this.batchSize));
    }
    this.pump();
    this.arm();
  }

  /** Starts queued batches, PARALLEL at most in flight. */
  private pump(): void {
    while (this.active < PARALLEL && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.active++;
      void this.renewBatch(batch).finally(() => {
        this.active--;
        this.pump();
        this.arm();
      });
    }
  }

  /**
   * One renewMany() call. A call that has not answered by the earliest local
   * expiry in its batch counts as failed then (a hung storage must not hold the
   * other leases' renewals, nor keep a lease looking held); a late answer is ignored.
   */
  private async renewBatch(batch: Held[]): Promise<void> {
    const claims: LeaseClaim[] = batch.map((h) => ({ name: h.name, owner: h.owner }));
    const asked = Date.now();
    // At the earliest local expiry, but with at least one period to answer: a lease
    // whose expiry passed during a stall still gets its renewal asked, as holdLease() does.
    let deadline = Number.POSITIVE_INFINITY;
    for (const h of batch) deadline = Math.min(deadline, Math.max(h.expiresAt, asked + h.every));
    let results: RenewResult[] | undefined;
    let failure: Error | undefined;
    let timer: NodeJS.Timeout | undefined;
    this.stats.batches++;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer to the lease renewal')), deadline - asked);
        timer.unref();
      });
      results = await Promise.race([renewLeases(this.storage, claims, batch[0].ttlMs), timeout]);
    } catch (err) {
      failure = err as Error;
    } finally {
      clearTimeout(timer);
    }
    const done = Date.now();
    batch.forEach((h, i) => {
      h.inFlight = false;
      if (h.stopped) return;
      const r: RenewResult = results?.[i] ?? { kind: 'failed', error: failure ?? new Error('no result') };
      if (r.kind === 'renewed') {
        this.stats.renewed++;
        h.expiresAt = asked + h.ttlMs;
        h.dueAt = asked + h.every;
      } else if (r.kind === 'lost' || isLeaseError(r.error) || done >= h.expiresAt) {
        this.lose(h, r.error);
      } else {
        h.dueAt = done + h.every;
      }
    });
  }
}

const isLeaseError = (e: unknown) => e instanceof SessionLockedError || e instanceof SessionLeaseLostError;

/** holdLease() through the process's batching renewer for `storage`. */
export function holdBatched(
  storage: SessionStorage,
  name: string,
  options: HoldOptions = {},
): Promise<HeldLease> {
  return LeaseRenewer.for(storage).hold(name, options);
}

// A session kept in a SessionStorage (issue #6): opened by name, it holds the
// name's lease for its whole life (one key, one owner: an auth key used from two
// places at once draws AUTH_KEY_DUPLICATED), takes its keys from the stored
// record, and writes back what changes: each DC's key (awaited before the key
// is used), the salt and time offset (coalesced), the home DC after a
// migration, the user id after a login, the updates state.
//
// Every write is fenced by the lease owner, and goes through one queue per
// session, so writes land in order. A write that fails is reported
// (`storageError`) and retried; the state written is always the latest, so a
// retried write loses nothing. A lease that is lost (taken over, or not
// renewed before it ran out, e.g. while the process stalled) stops the
// session: its connections fail with LEASE_LOST and `leaseLost` is emitted.

import type { KeyMaterial } from '../auth/key';
import { SessionLeaseLostError, SessionLockedError } from '../storage/errors';
import { type HeldLease, holdBatched } from '../storage/lease-renewer';
import { MemoryStorage } from '../storage/memory';
import type {
  DcAuth,
  JsonValue,
  SessionPatch,
  SessionRecord,
  SessionStorage,
  TempAuthKey,
} from '../storage/types';
import type { StoredTempKey } from './pool/dc-pool';
import { SessionError, type SessionEvent, type SessionId, type SessionOpenOptions } from './types';

/** What the session holds now, as far as its stored record cares. */
export interface StoreSnapshot {
  dcId: number;
  userId: bigint | null;
  /** The key the main connection runs on now, with its salt and clock offset (ms). */
  connection: { dcId: number; authKey: Buffer; serverSalt: bigint; timeOffsetMs: number } | null;
}

/** What a store needs from its session. */
export interface StoreHost {
  readonly sessionId: SessionId;
  notify(e: SessionEvent): void;
  snapshot(): StoreSnapshot;
  /** The lease is lost: the session must stop sending at once (every connection fails with `error`). */
  onLeaseLost(error: SessionError): void;
}

/** The storage used for `name` when `open` is given none: one per process. */
export const defaultStorage: SessionStorage = new MemoryStorage();

const isLeaseError = (e: unknown) => e instanceof SessionLockedError || e instanceof SessionLeaseLostError;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SessionStore {
  /** Set once the lease is lost: the session must not send again. */
  lostError: SessionError | null = null;
  /** What the storage holds (as far as this owner wrote or read it). */
  private record: SessionRecord | undefined;
  /** The updates state to write, with a version so a write knows whether it is still the latest. */
  private updates: { value: JsonValue | undefined; version: number; written: number };
  private chain: Promise<unknown> = Promise.resolve();
  /** Temporary keys bound since the last write, by DC (written with the DC's entry). */
  private readonly temps = new Map<number, { perm: Buffer; key: TempAuthKey }>();
  private flushTimer: NodeJS.Timeout | null = null;
  private flushAt = Number.POSITIVE_INFINITY;
  private watchdog: NodeJS.Timeout | null = null;
  private failures = 0;
  private closed = false;
  private readonly saveDelayMs: number;
  private readonly attempts: number;
  private readonly retryBaseMs: number;
  /** The lease counts as lost this long before its local expiry. */
  private readonly margin: number;

  private constructor(
    private readonly host: StoreHost,
    private readonly options: SessionOpenOptions,
    readonly storage: SessionStorage,
    readonly name: string,
    readonly lease: HeldLease,
    ttlMs: number,
    record: SessionRecord | undefined,
  ) {
    const p = options.persist ?? {};
    this.saveDelayMs = Math.max(0, p.saveDelayMs ?? 1000);
    this.attempts = Math.max(1, p.writeAttempts ?? 4);
    this.retryBaseMs = Math.max(1, p.retryBaseMs ?? 200);
    this.margin = Math.min(2000, Math.floor(ttlMs / 10));
    this.record = record;
    this.updates = { value: record?.updatesState as JsonValue | undefined, version: 0, written: 0 };
  }

  /**
   * Takes the lease of `options.name`, then loads its record (see `stored`). Rejects with
   * SessionError SESSION_LOCKED, BAD_OPTIONS or STORAGE_FAILED, holding nothing.
   */
  static async open(options: SessionOpenOptions, host: StoreHost): Promise<SessionStore> {
    const o = options;
    const name = o.name;
    if (typeof name !== 'string' || name.length === 0) {
      throw new SessionError('BAD_OPTIONS', 'options.storage needs options.name (a non-empty string)');
    }
    const storage = o.storage ?? defaultStorage;
    const ttlMs = o.persist?.leaseTtlMs ?? 30_000;
    const every = o.persist?.renewEveryMs;
    if (every !== undefined && !(every > 0 && every <= ttlMs / 2)) {
      // Two renewals must fit in a lease, or one slow round trip would stop the session.
      throw new SessionError(
        'BAD_OPTIONS',
        'persist.renewEveryMs must be > 0 and at most half of leaseTtlMs',
      );
    }
    let store: SessionStore | undefined;
    let lease: HeldLease;
    try {
      lease = await holdBatched(storage, name, {
        ttlMs,
        renewEveryMs: every,
        owner: o.persist?.owner,
        onLost: (err) => store?.lose(err),
      });
    } catch (e) {
      if (e instanceof SessionLockedError) {
        throw new SessionError('SESSION_LOCKED', `cannot open "${name}": ${e.message}`, e);
      }
      if (e instanceof RangeError || e instanceof TypeError)
        throw new SessionError('BAD_OPTIONS', e.message, e);
      throw new SessionError(
        'STORAGE_FAILED',
        `cannot take the lease of "${name}": ${(e as Error).message}`,
        e,
      );
    }
    let record: SessionRecord | undefined;
    try {
      record = await storage.load(name);
      if (record && o.environment !== undefined && record.testMode !== undefined) {
        if (record.testMode !== (o.environment === 'test')) {
          throw new SessionError(
            'BAD_OPTIONS',
            `"${name}" is stored for the ${record.testMode ? 'test' : 'production'} DCs`,
          );
        }
      }
    } catch (e) {
      await lease.release().catch(() => {});
      if (e instanceof SessionError) throw e;
      throw new SessionError('STORAGE_FAILED', `cannot load "${name}": ${(e as Error).message}`, e);
    }
    store = new SessionStore(host, o, storage, name, lease, ttlMs, record);
    return store;
  }

  /** The record as loaded at open: where the session lives (a DC with a stored key) and its user. */
  get stored(): { dcId: number | undefined; userId: bigint | undefined } {
    const r = this.record;
    return { dcId: r?.authKeys[r.dcId] ? r.dcId : undefined, userId: r?.userId };
  }

  /** The stored key of `dcId`, if any. */
  keyFor(dcId: number): KeyMaterial | undefined {
    const a = this.record?.authKeys[dcId];
    return a && { authKey: a.authKey, serverSalt: a.serverSalt, timeOffset: a.timeOffset };
  }

  /**
   * The temporary (PFS) key stored for `dcId`'s permanent key `perm`, if any: the next
   * owner connects on it instead of making and binding a new one (dc-pool.ts).
   */
  tempKeyFor(dcId: number, perm: Buffer): StoredTempKey | undefined {
    const a = this.record?.authKeys[dcId];
    const t = a?.tempKey;
    if (!a || !t || !a.authKey.equals(perm)) return undefined;
    const timeOffset = a.timeOffset ?? 0;
    return {
      authKey: t.authKey,
      serverSalt: t.serverSalt,
      expiresAt: t.expiresAt,
      expiresAtMs: (t.expiresAt - timeOffset) * 1000,
      timeOffset,
    };
  }

  /** A temporary key was bound to `dcId`'s permanent key `perm`: stored soon (coalesced). */
  useTempKey(dcId: number, perm: Buffer, key: TempAuthKey): void {
    this.temps.set(dcId, { perm, key });
    this.schedule(0);
  }

  /** The stored updates state (or the last one given to saveUpdatesState). */
  get updatesState(): JsonValue | undefined {
    return this.updates.value;
  }

  /**
   * Makes `key` the stored key of `dcId` before it is used (awaited, retried);
   * nothing is written when it is stored already. Rejects with STORAGE_FAILED
   * or LEASE_LOST.
   */
  async useKey(dcId: number, key: KeyMaterial): Promise<void> {
    this.check();
    if (this.record?.authKeys[dcId]?.authKey.equals(key.authKey)) return;
    const auth: DcAuth = {
      authKey: key.authKey,
      serverSalt: key.serverSalt,
      timeOffset: key.timeOffset ?? 0,
    };
    await this.reliably(`the auth key of DC ${dcId}`, async () => {
      if (this.record) return this.write({ authKeys: { [dcId]: auth } });
      const now = this.host.snapshot();
      const record: SessionRecord = {
        name: this.name,
        dcId: now.dcId,
        authKeys: { [dcId]: auth },
        userId: now.userId ?? undefined,
        testMode: this.options.environment === 'test',
        updatedAt: Date.now(),
      };
      await this.fenced(() => this.storage.save(record, { owner: this.lease.owner }));
      this.record = record;
    });
  }

  /** Writes the updates state now (awaited, retried). */
  async saveUpdatesState(value: JsonValue): Promise<void> {
    this.check();
    this.updates.value = value;
    this.updates.version++;
    await this.reliably('the updates state', this.flushJob);
  }

  /** The update engine's committed state: written soon, coalesced (and on close). */
  commitUpdatesState(value: JsonValue): void {
    this.updates.value = value;
    this.updates.version++;
    this.schedule(this.saveDelayMs);
  }

  /** Something worth storing changed (a salt, a reconnect's clock): written soon, coalesced. */
  saveSoon(): void {
    this.schedule(this.saveDelayMs);
  }

  /** Something that must not wait changed (the home DC, the user id): written now. */
  saveNow(): void {
    this.schedule(0);
  }

  /** A login (user id) or an updates.getState answer. */
  observeResult(method: string, result: unknown): void {
    if (method === 'updates.getState' && result && typeof result === 'object') {
      const { pts, qts, date, seq } = result as Record<string, number>;
      this.updates.value = { pts, qts, date, seq };
      this.updates.version++;
      this.schedule(0);
    }
  }

  /** Throws LEASE_LOST once the lease is gone or may have run out. */
  check(): void {
    if (!this.lostError && !this.leaseValid())
      this.lose(new SessionLeaseLostError(this.name, this.lease.owner));
    if (this.lostError) throw this.lostError;
  }

  /** Held for sure: renewed recently enough (local clock, counted from before each renewal was asked). */
  private leaseValid(): boolean {
    return !this.lease.lost && Date.now() < this.lease.expiresAt - this.margin;
  }

  /**
   * Asked before every transmit of every connection: nothing leaves under the key
   * unless the lease is still held. (A process woken from a stall inside its poll
   * phase reads its sockets and runs setImmediate before its timers, so the watchdog
   * alone could come too late.) False once lost, and the session is stopped.
   */
  mayTransmit(): boolean {
    if (!this.lostError && !this.closed && !this.leaseValid()) {
      this.lose(new SessionLeaseLostError(this.name, this.lease.owner));
    }
    return !this.lostError;
  }

  /** After a successful open: watch the lease. */
  start(): void {
    this.armWatchdog();
  }

  /** A failed open: give the lease back. */
  async abandon(): Promise<void> {
    this.closed = true;
    this.stopTimers();
    await this.chain;
    await this.lease.release().catch(() => {});
  }

  /** Writes what changed (retried), then releases the lease. Rejects with STORAGE_FAILED when the write failed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTimers();
    let failed: unknown = null;
    if (!this.lostError) {
      try {
        await this.reliably('the session state', this.flushJob);
      } catch (e) {
        failed = e;
      }
    }
    await this.chain;
    try {
      await this.lease.release();
    } catch (e) {
      this.report(e, 1, false);
    }
    if (failed) throw failed;
  }

  // --- Writing ---

  /** What differs between the session and the stored record. */
  private diff(): { patch: SessionPatch; updatesVersion: number } | null {
    const r = this.record;
    if (!r) return null; // no key stored yet: nothing to patch
    const now = this.host.snapshot();
    const patch: SessionPatch = {};
    let changed = false;
    // Move home only once the new DC's key is stored (useKey ran before the driver started).
    if (now.dcId !== r.dcId && r.authKeys[now.dcId]) {
      patch.dcId = now.dcId;
      changed = true;
    }
    const userId = now.userId ?? undefined;
    if (userId !== r.userId) {
      patch.userId = userId;
      changed = true;
    }
    const c = now.connection;
    const stored = c && r.authKeys[c.dcId];
    if (c && stored?.authKey.equals(c.authKey)) {
      const serverSalt = c.serverSalt;
      const timeOffset = c.timeOffsetMs / 1000;
      if (serverSalt !== stored.serverSalt || timeOffset !== stored.timeOffset) {
        patch.authKeys = { [c.dcId]: { ...stored, serverSalt, timeOffset } };
        changed = true;
      }
    }
    for (const [dc, t] of this.temps) {
      const entry = patch.authKeys?.[dc] ?? r.authKeys[dc];
      // Bound to a permanent key the record no longer holds: nothing to keep.
      if (!entry?.authKey.equals(t.perm)) {
        this.temps.delete(dc);
        continue;
      }
      if (entry.tempKey?.authKey.equals(t.key.authKey)) {
        this.temps.delete(dc);
        continue;
      }
      patch.authKeys = { ...patch.authKeys, [dc]: { ...entry, tempKey: t.key } };
      changed = true;
    }
    const u = this.updates;
    if (u.version !== u.written) {
      patch.updatesState = u.value;
      changed = true;
    }
    return changed ? { patch, updatesVersion: u.version } : null;
  }

  /** One write of whatever changed (a job for the queue). */
  private readonly flushJob = async (): Promise<void> => {
    const d = this.diff();
    if (!d) return;
    await this.write(d.patch);
    this.updates.written = Math.max(this.updates.written, d.updatesVersion);
  };

  private async write(patch: SessionPatch): Promise<void> {
    const owner = this.lease.owner;
    const next = await this.fenced(() => this.storage.update(this.name, patch, { owner }));
    if (next) {
      this.record = next;
      return;
    }
    // Deleted behind our back: write it whole again.
    const whole = { ...this.record!, ...patch, authKeys: { ...this.record!.authKeys, ...patch.authKeys } };
    whole.updatedAt = Date.now();
    await this.fenced(() => this.storage.save(whole, { owner }));
    this.record = whole;
  }

  /** A fenced write refused for want of the lease means the lease is lost. */
  private async fenced<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isLeaseError(e)) {
        this.lose(e as Error);
        throw this.lostError;
      }
      throw e;
    }
  }

  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = this.chain.then(job);
    this.chain = run.catch(() => {});
    return run;
  }

  /** Awaited writes: `job` queued, `attempts` tries with backoff; each failure reported. */
  private async reliably(what: string, job: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.lostError) throw this.lostError;
      try {
        return await this.enqueue(job);
      } catch (e) {
        if (e instanceof SessionError && e.code === 'LEASE_LOST') throw e;
        const willRetry = attempt < this.attempts;
        this.report(e, attempt, willRetry);
        if (!willRetry) {
          throw new SessionError(
            'STORAGE_FAILED',
            `session "${this.name}": cannot store ${what}: ${(e as Error).message}`,
            e,
          );
        }
        await sleep(this.retryDelay(attempt));
      }
    }
  }

  private retryDelay(attempt: number): number {
    return Math.min(30_000, this.retryBaseMs * 2 ** Math.min(attempt - 1, 20));
  }

  /** A coalesced background write `delayMs` from now (an earlier one wins). */
  private schedule(delayMs: number): void {
    if (this.closed || this.lostError) return;
    const at = Date.now() + delayMs;
    if (at >= this.flushAt) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushAt = at;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushAt = Number.POSITIVE_INFINITY;
      void this.background();
    }, delayMs);
    this.flushTimer.unref();
  }

  private async background(): Promise<void> {
    try {
      await this.enqueue(this.flushJob);
      this.failures = 0;
    } catch (e) {
      if (this.lostError || this.closed) return;
      this.failures++;
      this.report(e, this.failures, true);
      // The next write takes whatever is current then: nothing is lost by waiting.
      this.schedule(this.retryDelay(this.failures));
    }
  }

  private report(e: unknown, attempt: number, willRetry: boolean): void {
    const message = `session "${this.name}": storage write failed: ${(e as Error)?.message ?? e}`;
    this.host.notify({
      kind: 'storageError',
      sessionId: this.host.sessionId,
      code: 'STORAGE_FAILED',
      message,
      attempt,
      willRetry,
    });
  }

  // --- The lease ---

  /**
   * Fails the session before its lease can have run out: at the lease's local
   * expiry (minus a margin) without a renewal since, the lease counts as lost
   * (an idle session stops here; a busy one at its next transmit, see guard).
   * Each check also writes a changed time offset.
   */
  private armWatchdog(): void {
    if (this.closed || this.lostError) return;
    const due = this.lease.expiresAt - this.margin;
    this.watchdog = setTimeout(
      () => {
        this.watchdog = null;
        if (!this.leaseValid()) {
          this.lose(new SessionLeaseLostError(this.name, this.lease.owner));
          return;
        }
        this.schedule(0);
        this.armWatchdog();
      },
      Math.max(0, due - Date.now()),
    );
    this.watchdog.unref();
  }

  /** Stops the session for good: it must not send under a key someone else may now use. */
  lose(cause: Error): void {
    if (this.lostError || this.closed) return;
    const err = new SessionError(
      'LEASE_LOST',
      `session "${this.name}" lost its lease (${cause.message}); it stopped so that its key never runs twice`,
      cause,
    );
    this.lostError = err;
    this.stopTimers();
    void this.lease.release().catch(() => {});
    this.host.onLeaseLost(err);
  }

  private stopTimers(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.flushTimer = this.watchdog = null;
    this.flushAt = Number.POSITIVE_INFINITY;
  }
}

// A session's connections to one DC: the executor of the key schedule and the
// owner of every connection it makes. Without PFS and extra connections it is
// one main connection on the permanent key, and calls go straight to it (the
// common, hot case). Otherwise: the schedule (key-schedule.ts) says when to
// make, bind, adopt, drain or give up temporary keys; this file does it and
// reports back; routing.ts picks a generation's connection for a call, and
// raw-sends.ts moves raw messages off a lost key.

import type { KeyMaterial } from '../../auth/key';
import { authKeyIdOf } from '../../auth/key';
import type * as TL from '../../tl';
import { RpcError } from '../../tl';
import { createKey, type Dialer, type DriverHooks, startDriver } from '../dialer';
import type { Driver, RequestOptions } from '../driver';
import {
  type ConnectionKind,
  SessionError,
  type SessionEvent,
  type SessionId,
  type SessionOpenOptions,
} from '../types';
import { type FailureKind, type GenerationId, KeySchedule, type ScheduleAction } from './key-schedule';
import { RawSends } from './raw-sends';
import { connectionKindOf, type ExtraKind, Generation } from './routing';
import { bindTempKey, type PermKey, type PfsConfig, pfsConfig, type TempKey } from './temp-keys';

/** What a pool needs from its session. */
export interface PoolHost {
  readonly sessionId: SessionId;
  readonly options: SessionOpenOptions;
  readonly dialer: Dialer;
  notify(e: SessionEvent): void;
  /** The pool's main connection closed or failed on its own: the pool is done. */
  onEnded(): void;
  /** Every connection asks for no updates (a DC the session does not live on). */
  readonly withoutUpdates?: boolean;
  /** Temporary keys kept with the stored session (PFS): reused by the next owner. */
  readonly tempKeys?: StoredTempKeys;
}

/** A temporary key as the session's storage keeps it, with its expiry on both clocks. */
export interface StoredTempKey {
  authKey: Buffer;
  serverSalt: bigint;
  /** Unix seconds, server clock (the binding's expires_at). */
  expiresAt: number;
  /** The same moment, local ms. */
  expiresAtMs: number;
  /** Server minus local time, seconds. */
  timeOffset: number;
}

/** Where a pool finds the temporary key stored with its session, and keeps each one it binds. */
export interface StoredTempKeys {
  load(): StoredTempKey | undefined;
  save(key: { authKey: Buffer; serverSalt: bigint; expiresAt: number }): void;
}

/** A call as the pool takes it: where it goes, and what the driver needs (timeout, abort, chain). */
export type PoolRequestOptions = RequestOptions & { connection?: ConnectionKind };

const MAX_TIMER_MS = 2 ** 31 - 1;
/** The generation of a pool without PFS: the permanent key, for the pool's whole life. */
const PERMANENT: GenerationId = 0;

/** Why making a generation failed, for the schedule: only these end everything. */
function failureKind(e: unknown): FailureKind {
  return e instanceof SessionError && (e.code === 'AUTH_KEY_UNKNOWN' || e.code === 'BAD_DC')
    ? 'fatal'
    : 'transient';
}

export class DcPool {
  readonly perm: PermKey;
  readonly permSalt: bigint;
  readonly pfs: PfsConfig | null;
  /** No PFS and no extra connections: calls go straight to the main driver. */
  readonly single: boolean;
  private current!: Generation;
  /** Every generation with connections: current, being made, draining. */
  private readonly gens = new Map<GenerationId, Generation>();
  private readonly schedule: KeySchedule | null;
  private readonly raw = new Map<GenerationId, RawSends>();
  private readonly max: Record<ExtraKind, number>;
  private readonly idleMs: number;
  private renewTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  /** Calls waiting for a key being made or re-bound. */
  private waiters: Array<() => void> = [];
  /** The last binding refusal of each generation being made (BIND_FAILED's cause). */
  private readonly refusals = new Map<GenerationId, unknown>();
  private opening: { resolve(): void; reject(e: unknown): void } | null = null;
  /** The stored temporary key to connect on first, and the generation that did. */
  private resume: StoredTempKey | null = null;
  private resumedGen: GenerationId | null = null;
  /** While opening: when the first generation must be ready (local ms). */
  private openDeadline: number | undefined;
  private closed = false;

  private constructor(
    private readonly host: PoolHost,
    perm: KeyMaterial,
  ) {
    const o = host.options;
    this.perm = { authKey: perm.authKey, authKeyId: authKeyIdOf(perm.authKey) };
    this.permSalt = perm.serverSalt;
    this.pfs = pfsConfig(o);
    this.max = { upload: Math.max(0, o.pool?.upload ?? 0), download: Math.max(0, o.pool?.download ?? 0) };
    this.idleMs = o.pool?.idleMs ?? 60_000;
    this.single = !this.pfs && this.max.upload === 0 && this.max.download === 0;
    this.schedule = this.pfs ? new KeySchedule({ pfs: this.pfs, reconnect: o.reconnect }) : null;
  }

  /** Connects the main connection on `perm` (on a bound temporary key under PFS). */
  static async open(host: PoolHost, perm: KeyMaterial, deadline?: number): Promise<DcPool> {
    const pool = new DcPool(host, perm);
    pool.openDeadline = deadline;
    if (!pool.schedule) {
      const main = await startDriver(host.dialer, perm, (d) => pool.hooks(PERMANENT, d), deadline);
      pool.current = new Generation(PERMANENT, perm, null, main);
      pool.gens.set(PERMANENT, pool.current);
      pool.adopted();
      return pool;
    }
    const opened = new Promise<void>((resolve, reject) => {
      pool.opening = { resolve, reject };
    });
    // A stored key worth resuming: valid well past the time it would be renewed anyway.
    const stored = host.tempKeys?.load();
    const pfs = pool.pfs as PfsConfig;
    const spare = (pfs.renewBeforeSec + pfs.jitterSec) * 1000 + 60_000;
    pool.resume = stored && stored.expiresAtMs - Date.now() > spare ? stored : null;
    pool.run(pool.schedule.start(pool.resume ? { expiresAtMs: pool.resume.expiresAtMs } : undefined));
    await opened;
    return pool;
  }

  get main(): Driver {
    return this.current.main;
  }

  /** The key to export: the permanent one (under PFS the connections run on temporary ones). */
  exportedKey(): { authKey: Buffer; serverSalt: bigint } {
    if (!this.pfs) return { authKey: this.main.authKey, serverSalt: this.main.link.salt };
    return { authKey: this.perm.authKey, serverSalt: this.permSalt };
  }

  // --- Carrying out the schedule ---

  private run(actions: ScheduleAction[]): void {
    for (const a of actions) this.perform(a);
    this.armRenewal();
    if (!this.schedule?.busy) this.releaseWaiters();
  }

  private perform(a: ScheduleAction): void {
    switch (a.kind) {
      case 'makeKey':
        void this.makeGeneration(a.gen);
        break;
      case 'resumeKey':
        void this.resumeGeneration(a.gen);
        break;
      case 'bind':
        void this.bind(a.gen);
        break;
      case 'rebind':
        void this.rebind(a.gen);
        break;
      case 'probePermKey':
        void this.probePermKey(a.gen);
        break;
      case 'adopt':
        this.adopt(a.gen);
        break;
      case 'drain':
        this.drain(a.gen);
        break;
      case 'resend':
        this.resendFrom(a.gen);
        break;
      case 'discard':
        this.discard(a.gen);
        break;
      case 'resetInit':
        for (const d of this.gens.get(a.gen)?.drivers() ?? []) d.resetInit();
        break;
      case 'opened':
        this.opening?.resolve();
        this.opening = null;
        break;
      case 'openFailed':
        this.opening?.reject(a.error ?? new SessionError('SESSION_CLOSED', 'closed while opening'));
        this.opening = null;
        this.close();
        break;
      case 'fail':
        this.failAll(a.error as SessionError);
        break;
    }
  }

  /** A temporary key and a main connection on it; the schedule hears how it went. */
  private async makeGeneration(gen: GenerationId): Promise<void> {
    const schedule = this.schedule as KeySchedule;
    const pfs = this.pfs as PfsConfig;
    // The first generation is part of open(), bounded by its deadline; later ones get their own.
    const deadline = this.opening ? this.openDeadline : undefined;
    try {
      const k = await createKey(this.host.dialer, { expiresIn: pfs.expiresInSec }, deadline);
      const expiresAtMs = (k.expiresAt ?? Math.floor(Date.now() / 1000) + pfs.expiresInSec) * 1000;
      const temp: TempKey = {
        authKey: k.authKey,
        authKeyId: k.authKeyId,
        expiresAtMs,
        expiresAt: Math.floor(expiresAtMs / 1000) + k.timeOffset,
      };
      const key = { authKey: k.authKey, serverSalt: k.serverSalt, timeOffset: k.timeOffset };
      const main = await startDriver(this.host.dialer, key, (d) => this.hooks(gen, d), deadline);
      this.gens.set(gen, new Generation(gen, key, temp, main));
      this.raw.set(gen, new RawSends(main));
    } catch (e) {
      return this.run(schedule.makeFailed(gen, e, failureKind(e), Date.now()));
    }
    this.run(schedule.keyMade(gen));
  }

  /** A main connection on the stored temporary key (no key exchange, no binding). */
  private async resumeGeneration(gen: GenerationId): Promise<void> {
    const schedule = this.schedule as KeySchedule;
    const s = this.resume as StoredTempKey;
    this.resume = null;
    const temp: TempKey = {
      authKey: s.authKey,
      authKeyId: authKeyIdOf(s.authKey),
      expiresAtMs: s.expiresAtMs,
      expiresAt: s.expiresAt,
    };
    const key = { authKey: s.authKey, serverSalt: s.serverSalt, timeOffset: s.timeOffset };
    try {
      const main = await startDriver(this.host.dialer, key, (d) => this.hooks(gen, d), this.openDeadline);
      this.gens.set(gen, new Generation(gen, key, temp, main));
      this.raw.set(gen, new RawSends(main));
    } catch {
      return this.run(schedule.resumeFailed(gen));
    }
    this.resumedGen = gen;
    this.run(schedule.resumed(gen, Date.now()));
  }

  private async bind(gen: GenerationId): Promise<void> {
    const schedule = this.schedule as KeySchedule;
    const g = this.gens.get(gen) as Generation;
    const temp = g.temp as TempKey;
    try {
      await bindTempKey(g.main, this.perm, temp, this.timeoutMs);
    } catch (e) {
      const invalid = e instanceof RpcError && e.errorMessage === 'ENCRYPTED_MESSAGE_INVALID';
      this.refusals.set(gen, e);
      return this.run(schedule.bindRefused(gen, e, invalid, Date.now()));
    }
    this.refusals.delete(gen);
    this.run(schedule.bound(gen, temp.expiresAtMs, Date.now()));
  }

  /** The binding was refused as undecryptable: does the server know the permanent key? */
  private async probePermKey(gen: GenerationId): Promise<void> {
    const schedule = this.schedule as KeySchedule;
    const refusal = this.refusals.get(gen);
    try {
      const probe = await startDriver(this.host.dialer, {
        authKey: this.perm.authKey,
        serverSalt: this.permSalt,
      });
      probe.close();
    } catch (e) {
      return this.run(schedule.probed(gen, false, e, failureKind(e), Date.now()));
    }
    const message = (refusal as RpcError | undefined)?.errorMessage ?? 'refused';
    const error = new SessionError('BIND_FAILED', `auth.bindTempAuthKey refused: ${message}`, refusal);
    this.run(schedule.probed(gen, true, error, 'transient', Date.now()));
  }

  private async rebind(gen: GenerationId): Promise<void> {
    const schedule = this.schedule as KeySchedule;
    const g = this.gens.get(gen);
    let ok = false;
    if (g?.temp) {
      try {
        await bindTempKey(g.main, this.perm, g.temp, this.timeoutMs);
        ok = true;
      } catch {}
    }
    this.run(schedule.rebound(gen, ok));
  }

  /** `gen` is bound: new calls go there. */
  private adopt(gen: GenerationId): void {
    const g = this.gens.get(gen) as Generation;
    this.current = g;
    this.adopted();
    const temp = g.temp as TempKey;
    // A resumed key was bound by an earlier owner: nothing new to tell or to store.
    if (gen === this.resumedGen) return;
    this.host.tempKeys?.save({
      authKey: temp.authKey,
      serverSalt: g.main.link.salt,
      expiresAt: temp.expiresAt,
    });
    this.host.notify({
      kind: 'tempKeyBound',
      sessionId: this.host.sessionId,
      tempAuthKeyId: temp.authKeyId,
      expiresAt: temp.expiresAt,
    });
  }

  /** Back-pressure and idle checks on a new current generation. */
  private adopted(): void {
    if (!this.idleTimer && (this.max.upload > 0 || this.max.download > 0)) {
      this.idleTimer = setInterval(() => this.closeIdle(), Math.max(50, Math.min(this.idleMs / 2, 5000)));
      this.idleTimer.unref();
    }
  }

  /** An old generation answers what it has in flight, then closes. */
  private drain(gen: GenerationId): void {
    const g = this.gens.get(gen);
    if (!g) return;
    g.draining = true;
    this.watchDrain();
  }

  /**
   * `gen`'s key is lost: the calls waiting on its connections go again on the current
   * generation, and raw send() messages the server has not answered or acknowledged
   * (refused unrun with -404, or never written) move there too.
   */
  private resendFrom(gen: GenerationId): void {
    const g = this.gens.get(gen);
    if (!g) return;
    g.draining = true;
    const target = this.current;
    this.raw
      .get(gen)
      ?.moveTo(target.main, this.raw.get(target.id) ?? null, this.host.notify, this.host.sessionId);
    for (const d of g.drivers()) {
      const calls = [...d.pending.drain().map(([, p]) => p)];
      const unsent = d.takeQueued();
      d.close();
      for (const q of unsent) {
        if (q.call) calls.push(q.call);
        else if (q.sent) target.main.send(q.body).then(q.sent.resolve, q.sent.reject);
      }
      for (const p of calls) {
        // Its timer, if any, still bounds the call.
        const req = p.request as TL.TlObject;
        if (req._ === 'auth.bindTempAuthKey') {
          p.reject(new SessionError('BIND_FAILED', 'the temporary key was lost while binding'));
          continue;
        }
        this.request(req, {}).then(p.resolve, p.reject);
      }
    }
    this.forget(gen);
  }

  /** Closes `gen`'s connections now. */
  private discard(gen: GenerationId): void {
    const g = this.gens.get(gen);
    if (g) for (const d of g.drivers()) d.close();
    this.forget(gen);
    this.refusals.delete(gen);
  }

  private forget(gen: GenerationId): void {
    this.gens.delete(gen);
    this.raw.delete(gen);
    this.schedule?.retired(gen);
  }

  /** Closes drained connections of old generations. */
  private watchDrain(): void {
    if (this.drainTimer) return;
    const check = () => {
      this.drainTimer = null;
      let draining = false;
      for (const g of this.gens.values()) {
        if (!g.draining) continue;
        for (const d of g.drivers()) if (d.outstanding === 0 && d.status !== 'closed') d.close();
        if (g.drivers().every((d) => d.status === 'closed' || d.status === 'failed')) this.forget(g.id);
        else draining = true;
      }
      if (draining && !this.closed) {
        this.drainTimer = setTimeout(check, 100);
        this.drainTimer.unref();
      }
    };
    check();
  }

  private armRenewal(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    const at = this.schedule?.deadline() ?? Number.POSITIVE_INFINITY;
    if (this.closed || at === Number.POSITIVE_INFINITY) return;
    // setTimeout fires at once past 2^31 - 1 ms (keys living longer than 24 days): step there.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()));
    this.renewTimer = setTimeout(() => {
      this.renewTimer = null;
      this.run((this.schedule as KeySchedule).tick(Date.now()));
    }, delay);
    this.renewTimer.unref();
  }

  /** Resolves once no key is being made or re-bound. */
  private settled(): Promise<void> {
    if (!this.schedule?.busy || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private releaseWaiters(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  /** Hooks of a driver of `gen`: a temporary key's -404 and closes come to the pool. */
  private hooks(gen: GenerationId, driver: () => Driver): DriverHooks {
    return {
      withoutUpdates: this.host.withoutUpdates,
      onTransportError: (code) => {
        if (code !== -404 || gen === PERMANENT || !this.schedule) return false;
        this.run(this.schedule.keyLost(gen, Date.now()));
        return true;
      },
      onClosed: () => this.onDriverClosed(gen, driver()),
    };
  }

  private onDriverClosed(gen: GenerationId, d: Driver): void {
    const g = this.gens.get(gen);
    g?.forget(d);
    // The main connection of the current generation closed or failed on its own: the pool ends.
    if (g && g === this.current && d === g.main && !this.schedule?.isDead(gen) && !this.closed) {
      this.close();
      this.host.onEnded();
    }
  }

  /** Nothing can go on (the permanent key is unknown, the DC refuses us): every connection fails. */
  private failAll(e: SessionError): void {
    if (this.closed) return;
    this.host.notify({
      kind: 'disconnected',
      sessionId: this.host.sessionId,
      reason: { code: e.code, message: e.message },
    });
    this.fail(e);
    this.host.onEnded();
  }

  private get timeoutMs(): number {
    return this.host.options.connectTimeoutMs ?? 10_000;
  }

  // --- Calls ---

  /** Runs `request` on the connection its kind and the load choose. */
  request(request: TL.TlObject, options: PoolRequestOptions = {}, attempt = 0): Promise<unknown> {
    if (this.single) return this.main.request(request, options);
    const picked = this.pick(options.connection ?? connectionKindOf(request._));
    if (picked instanceof Promise) return picked.then((d) => this.requestOn(d, request, options, attempt));
    return this.requestOn(picked, request, options, attempt);
  }

  private requestOn(
    driver: Driver,
    request: TL.TlObject,
    options: PoolRequestOptions,
    attempt: number,
  ): Promise<unknown> {
    // Closed while this call waited for it (drained, replaced): pick again.
    if (driver.status === 'closed' && attempt < 2 && driver !== this.main) {
      return this.request(request, options, attempt + 1);
    }
    const p = driver.request(request, options);
    if (!this.schedule || attempt >= 2) return p;
    return p.catch((e) => {
      // Refused unrun on a temporary key that is not bound (any more): again on a bound one,
      // made now if the current key lost its binding.
      if (!(e instanceof RpcError && e.errorMessage === 'AUTH_KEY_PERM_EMPTY')) throw e;
      const gen = this.current;
      if (gen.drivers().includes(driver)) this.run((this.schedule as KeySchedule).permEmpty(gen.id));
      return this.settled().then(() => this.request(request, options, attempt + 1));
    });
  }

  /** The connection for a call of `kind`: the least loaded, opening another when all are busy. */
  private pick(kind: ConnectionKind): Driver | Promise<Driver> {
    const gen = this.current;
    if (this.schedule?.isDead(gen.id) && this.schedule.busy)
      return this.settled().then(() => this.pick(kind));
    if (kind === 'main' || this.max[kind] === 0) return gen.main;
    return gen.pick(kind, this.max[kind], () => this.openExtra(gen, kind));
  }

  /** Another connection of `kind` on `gen`'s key; the main connection if it cannot open. */
  private openExtra(gen: Generation, kind: ExtraKind): Promise<Driver> {
    const key = { ...gen.key, serverSalt: gen.main.link.salt };
    const hooks = (d: () => Driver) => ({ ...this.hooks(gen.id, d), withoutUpdates: true });
    return startDriver(this.host.dialer, key, hooks).then(
      (d) => {
        if (this.closed || gen.draining || this.schedule?.isDead(gen.id)) {
          d.close();
          return gen === this.current ? gen.main : this.current.main;
        }
        gen.addExtra(kind, d);
        return d;
      },
      // No extra connection (too many, say): the main one carries the call.
      () => gen.main,
    );
  }

  /** Closes extra connections with nothing pending for `idleMs`. */
  private closeIdle(): void {
    for (const d of this.current.idle(this.idleMs, Date.now())) d.close();
  }

  /**
   * Sends a raw message on the current main connection; resolves with its msg_id once
   * it went to the socket. While the current key is known to be lost it waits for the
   * next one. Rejects with SessionError when the connection closed first.
   */
  async send(body: Buffer): Promise<{ msgId: bigint; driver: Driver }> {
    if (this.schedule?.isDead(this.current.id) && this.schedule.busy) await this.settled();
    const gen = this.current;
    const msgId = await gen.main.send(body);
    return this.raw.get(gen.id)?.track(body, msgId).at ?? { msgId, driver: gen.main };
  }

  // --- Counts, closing ---

  /** Every open connection: the current generation's and the draining ones. */
  drivers(): Driver[] {
    const out: Driver[] = [];
    for (const g of this.gens.values()) for (const d of g.drivers()) if (d.status !== 'closed') out.push(d);
    return out;
  }

  /** Requests waiting for answers on every connection (draining ones included). */
  pendingCount(): number {
    let n = 0;
    for (const d of this.drivers()) n += d.outstanding;
    return n;
  }

  /** Counts of open connections by kind (tests, diagnostics). */
  connections(): Record<ConnectionKind, number> {
    return this.current.counts();
  }

  /** Stops timers and every connection; pending requests fail with `error` (default SESSION_CLOSED). */
  close(error?: SessionError): void {
    this.shut((d) => d.close(error));
  }

  /** Every connection fails with `error` (a lost lease, an unknown key): nothing more is sent. */
  fail(error: SessionError): void {
    this.shut((d) => d.fail(error));
  }

  private shut(end: (d: Driver) => void): void {
    if (this.closed) return;
    this.closed = true;
    this.schedule?.close();
    for (const t of [this.renewTimer, this.drainTimer]) if (t) clearTimeout(t);
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.renewTimer = this.drainTimer = this.idleTimer = null;
    for (const g of [...this.gens.values()]) for (const d of g.drivers()) end(d);
    this.releaseWaiters();
  }

  /**
   * Closes the pool once nothing is pending (a DC the session left: its calls are
   * answered where they were sent), at most `maxMs` from now.
   */
  closeWhenIdle(maxMs: number, onClosed: () => void): void {
    this.schedule?.close();
    const until = Date.now() + maxMs;
    const check = () => {
      if (!this.closed && this.pendingCount() > 0 && Date.now() <= until) {
        setTimeout(check, 200).unref();
        return;
      }
      this.close();
      onClosed();
    };
    check();
  }
}

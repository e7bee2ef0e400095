// A session's connections to one DC: the main connection, plus upload and download
// connections opened on demand (`pool` option), each its own MTProto session on the
// same key. Under PFS (temp-keys.ts) that key is a temporary key bound to the permanent
// one; the set of connections on one temporary key is a generation.
//
// - Routing: file parts go to upload connections, file reads to download connections
//   (or `CallOptions.connection`), to the one with the fewest pending requests; another
//   one opens when all are busy, up to the configured count; idle ones close.
// - Renewal: before a temporary key expires (with random jitter across sessions), a new
//   key is made and bound on a new main connection; new requests go there and the old
//   generation drains (its requests are answered where they were sent: nothing runs
//   twice) and closes. A permanent key binds one temporary key at a time (method/
//   auth.bindTempAuthKey), so a request the old generation sends after the new binding
//   is refused with 401 AUTH_KEY_PERM_EMPTY, which means it did not run: it is sent
//   again on the new generation.
// - -404 on a temporary key (the server forgot it): a new key is made and bound, and the
//   requests waiting on the dead connections are sent again there (the permanent key is
//   kept). A bind refused with ENCRYPTED_MESSAGE_INVALID is checked with the permanent
//   key itself: -404 means the server does not know it (AUTH_KEY_UNKNOWN: only then is
//   it to be forgotten).

import type * as TL from '../tl';
import { RpcError } from '../tl';
import { createKey, type DialHost, type DriverHooks, type DriverKey, startDriver } from './dial';
import type { Driver } from './driver';
import { backoffDelay } from './reconnect';
import {
  authKeyIdOf,
  bindTempKey,
  type PermKey,
  type PfsConfig,
  pfsConfig,
  renewDelayMs,
  type TempKey,
} from './temp-keys';
import { type CallOptions, type ConnectionKind, SessionError } from './types';

type ExtraKind = Exclude<ConnectionKind, 'main'>;

/** The connection kind of a method when the call does not name one. */
export function connectionKindOf(method: string): ConnectionKind {
  switch (method) {
    case 'upload.saveFilePart':
    case 'upload.saveBigFilePart':
      return 'upload';
    case 'upload.getFile':
    case 'upload.getFileHashes':
    case 'upload.getCdnFile':
    case 'upload.getCdnFileHashes':
    case 'upload.getWebFile':
      return 'download';
    default:
      return 'main';
  }
}

/** A raw message of send(): where it went last (moved to a new key, its new msg_id). */
interface RawSend {
  readonly body: Buffer;
  at: { msgId: bigint; driver: Driver };
  /** Its send() resolved (with `at` as it was then). */
  resolved: boolean;
}

/** Connections on one key (a temporary key under PFS). */
class Generation {
  readonly extras: Record<ExtraKind, Driver[]> = { upload: [], download: [] };
  readonly opening: Record<ExtraKind, Promise<Driver> | null> = { upload: null, download: null };
  readonly lastUsed = new Map<Driver, number>();
  /** The server forgot the key (-404): nothing more goes here. */
  dead = false;
  draining = false;
  /** Raw send() messages on `main` by msg_id, to send again elsewhere if the key is lost. */
  readonly raw = new Map<bigint, RawSend>();

  constructor(
    readonly key: DriverKey,
    readonly temp: TempKey | null,
    public main: Driver,
  ) {}

  drivers(): Driver[] {
    return [this.main, ...this.extras.upload, ...this.extras.download];
  }
}

const pools = new WeakMap<Driver, DcPool>();
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Raw messages remembered per generation before the answered ones are pruned. */
const RAW_PRUNE_AT = 256;

/** Forgets raw messages the server answered or acknowledged (no longer in flight). */
function pruneRaw(gen: Generation): void {
  const inFlight = new Set(gen.main.link.inFlight());
  for (const id of gen.raw.keys()) if (!inFlight.has(id)) gen.raw.delete(id);
}

/**
 * Closes a connection the pool no longer uses (drained, idle, its key lost): the
 * session's updates iterator goes on (only closing the session ends it).
 */
function retire(d: Driver): void {
  d.updates = null;
  d.close();
}

/** The pool a driver belongs to (every driver the registry hands out has one). */
export function poolOf(driver: Driver): DcPool | undefined {
  return pools.get(driver);
}

/** The key to export for the session whose main driver is `driver`: the permanent key. */
export function exportedKeyOf(driver: Driver): { authKey: Buffer; serverSalt: bigint } {
  const pool = pools.get(driver);
  if (!pool?.pfs) return { authKey: driver.authKey, serverSalt: driver.link.salt };
  return { authKey: pool.perm.authKey, serverSalt: pool.permSalt };
}

/** Runs `request` on the right connection of `main`'s pool (main itself when it has none). */
export function requestVia(main: Driver, request: TL.TlObject, options: CallOptions = {}): Promise<unknown> {
  const pool = pools.get(main);
  // One connection on the permanent key: nothing to route or retry (the common, hot case).
  if (!pool || pool.single) return main.request(request, options.timeoutMs);
  return pool.request(request, options);
}

export class DcPool {
  readonly perm: PermKey;
  readonly permSalt: bigint;
  readonly pfs: PfsConfig | null;
  current!: Generation;
  private readonly old = new Set<Generation>();
  private readonly max: Record<ExtraKind, number>;
  private readonly idleMs: number;
  private renewTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  private replacing: Promise<void> | null = null;
  private rebinding: Promise<void> | null = null;
  /** Failed renewals in a row (their retries back off). */
  private renewFailures = 0;
  private closed = false;
  /** No PFS and no extra connections: calls go straight to the main driver. */
  readonly single: boolean;
  /** The updates iterator stopped reading (back-pressure): every connection, new ones too. */
  private paused = false;

  private constructor(
    private readonly host: DialHost,
    perm: DriverKey,
  ) {
    const o = host.entry.options;
    this.perm = { authKey: perm.authKey, authKeyId: authKeyIdOf(perm.authKey) };
    this.permSalt = perm.serverSalt;
    this.pfs = pfsConfig(o);
    this.max = { upload: Math.max(0, o.pool?.upload ?? 0), download: Math.max(0, o.pool?.download ?? 0) };
    this.idleMs = o.pool?.idleMs ?? 60_000;
    this.single = !this.pfs && this.max.upload === 0 && this.max.download === 0;
  }

  /** Connects the main connection on `perm` (binding a temporary key first under PFS). */
  static async open(host: DialHost, perm: DriverKey): Promise<DcPool> {
    const pool = new DcPool(host, perm);
    pool.current = await pool.newGeneration(perm.timeOffset ?? 0);
    pool.adopt(pool.current);
    return pool;
  }

  get main(): Driver {
    return this.current.main;
  }

  private get timeoutMs(): number {
    return this.host.entry.options.connectTimeoutMs ?? 10_000;
  }

  // --- Generations ---

  /** A main connection on a new temporary key, bound (PFS), or on the permanent key. */
  private async newGeneration(timeOffset: number): Promise<Generation> {
    if (!this.pfs) {
      const key = { authKey: this.perm.authKey, serverSalt: this.permSalt, timeOffset };
      const gen = new Generation(key, null, null as unknown as Driver);
      gen.main = await startDriver(this.host, key, (d) => this.hooks(gen, d));
      return gen;
    }
    const k = await createKey(this.host, { expiresIn: this.pfs.expiresInSec });
    const expiresAtMs = (k.expiresAt ?? Math.floor(Date.now() / 1000) + this.pfs.expiresInSec) * 1000;
    const temp: TempKey = {
      authKey: k.authKey,
      authKeyId: k.authKeyId,
      expiresAtMs,
      expiresAt: Math.floor(expiresAtMs / 1000) + k.timeOffset,
    };
    const key = { authKey: k.authKey, serverSalt: k.serverSalt, timeOffset: k.timeOffset };
    const gen = new Generation(key, temp, null as unknown as Driver);
    gen.main = await startDriver(this.host, key, (d) => this.hooks(gen, d));
    try {
      await this.bind(gen.main, temp);
    } catch (e) {
      retire(gen.main);
      throw e;
    }
    this.host.entry.notify({
      kind: 'tempKeyBound',
      sessionId: this.host.entry.id,
      tempAuthKeyId: temp.authKeyId,
      expiresAt: temp.expiresAt,
    });
    return gen;
  }

  /** auth.bindTempAuthKey, and what a refusal says about the permanent key. */
  private async bind(driver: Driver, temp: TempKey): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        return await bindTempKey(driver, this.perm, temp, this.timeoutMs);
      } catch (e) {
        if (!(e instanceof RpcError && e.errorMessage === 'ENCRYPTED_MESSAGE_INVALID')) throw e;
        // Does the server know the permanent key? Ask with the key itself (a ping).
        await this.checkPermKey();
        if (tries >= 2) {
          throw new SessionError('BIND_FAILED', `auth.bindTempAuthKey refused: ${e.errorMessage}`, e);
        }
      }
    }
  }

  /** Throws AUTH_KEY_UNKNOWN when the server answers the permanent key with -404. */
  private async checkPermKey(): Promise<void> {
    const probe = await startDriver(this.host, { authKey: this.perm.authKey, serverSalt: this.permSalt });
    retire(probe);
  }

  /** Hooks of a driver of `gen`: temporary-key -404s and closes come to the pool. */
  private hooks(gen: Generation, driver: () => Driver): DriverHooks {
    return {
      onTransportError: (code) => {
        if (code !== -404 || !gen.temp) return false;
        this.onTempKeyLost(gen);
        return true;
      },
      onClosed: () => this.onDriverClosed(gen, driver()),
    };
  }

  /** Makes `gen` current: the session's main driver, renewal timer, idle checks. */
  private adopt(gen: Generation): void {
    for (const d of gen.drivers()) {
      pools.set(d, this);
      // Back-pressure holds across renewals (set after the binding, which must be read).
      if (this.paused) d.setPaused(true);
    }
    this.scheduleRenewal(gen);
    if (!this.idleTimer && (this.max.upload > 0 || this.max.download > 0)) {
      this.idleTimer = setInterval(() => this.closeIdle(), Math.max(50, Math.min(this.idleMs / 2, 5000)));
      this.idleTimer.unref();
    }
  }

  private scheduleRenewal(gen: Generation): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    if (!gen.temp || !this.pfs) return;
    const delay = renewDelayMs(gen.temp.expiresAtMs, Date.now(), this.pfs);
    // setTimeout fires at once past 2^31 - 1 ms (keys living longer than 24 days): step there.
    this.renewTimer =
      delay > MAX_TIMER_MS
        ? setTimeout(() => this.scheduleRenewal(gen), MAX_TIMER_MS)
        : setTimeout(() => void this.renew(), delay);
    this.renewTimer.unref();
  }

  /** Moves to a new generation (renewal, or after the key was lost); one at a time. */
  renew(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.replacing ??= this.replace().finally(() => {
      this.replacing = null;
    });
    return this.replacing;
  }

  private async replace(): Promise<void> {
    const old = this.current;
    let gen: Generation;
    try {
      gen = await this.newGeneration(Math.round(old.main.link.timeOffset / 1000));
    } catch (e) {
      // The server does not know the permanent key, or refuses this DC: nothing to retry.
      if (e instanceof SessionError && (e.code === 'AUTH_KEY_UNKNOWN' || e.code === 'BAD_DC')) {
        return this.failAll(e);
      }
      // Try again after a backoff (the network may be down); a lost key has no other way back.
      if (!this.closed) {
        const delay = backoffDelay(this.renewFailures++, this.host.entry.options.reconnect) + 100;
        if (this.renewTimer) clearTimeout(this.renewTimer);
        this.renewTimer = setTimeout(() => void this.renew(), delay);
        this.renewTimer.unref();
      }
      return;
    }
    this.renewFailures = 0;
    const entry = this.host.entry;
    if (this.closed || entry.driver !== old.main) {
      // Closed, migrated or re-keyed meanwhile: this generation is not wanted.
      for (const d of gen.drivers()) retire(d);
      return;
    }
    this.current = gen;
    this.adopt(gen);
    entry.driver = gen.main;
    // The old connections drain (extras still opening there close as they come up); a key
    // the server forgot has nothing to drain: its calls go again on the new one.
    old.draining = true;
    this.old.add(old);
    if (old.dead) this.resendFrom(old);
    this.watchDrain();
  }

  /**
   * The current key lost its binding (another client bound a key to the same permanent
   * key): bind it again (one request, no new key); a new key if that fails.
   */
  private rebind(gen: Generation): Promise<void> {
    const temp = gen.temp;
    if (!temp) return Promise.resolve();
    // A new key is on its way (its binding is what unbound this one): wait for it instead.
    if (this.replacing) return this.replacing;
    this.rebinding ??= bindTempKey(gen.main, this.perm, temp, this.timeoutMs)
      .then(
        // initConnection again on every connection after a binding (api/pfs).
        () => {
          for (const d of gen.drivers()) d.initSent = false;
        },
        () => this.renew(),
      )
      .finally(() => {
        this.rebinding = null;
      });
    return this.rebinding;
  }

  /** -404 on a temporary key: the server forgot it; its requests go again on a new one. */
  private onTempKeyLost(gen: Generation): void {
    if (gen.dead) return;
    gen.dead = true;
    if (gen === this.current) void this.renew();
    else this.resendFrom(gen);
  }

  /**
   * Sends the requests waiting on `gen`'s connections again on the current generation,
   * and the raw send() messages the server has not answered or acknowledged (refused
   * unrun with -404, or never written): moved, never dropped silently.
   */
  private resendFrom(gen: Generation): void {
    this.moveRaw(gen);
    for (const d of gen.drivers()) {
      const moved = d.pending.drain();
      retire(d);
      for (const [, p] of moved) {
        const req = p.request as TL.TlObject;
        if (req._ === 'auth.bindTempAuthKey') {
          p.reject(new SessionError('BIND_FAILED', 'the temporary key was lost while binding'));
          continue;
        }
        this.request(req, {}).then(p.resolve, p.reject);
      }
    }
    this.old.delete(gen);
  }

  /** Closes drained connections of old generations. */
  private watchDrain(): void {
    if (this.drainTimer) return;
    const check = () => {
      this.drainTimer = null;
      for (const gen of this.old) {
        for (const d of gen.drivers()) if (d.pending.size === 0 && d.status !== 'closed') retire(d);
        if (gen.drivers().every((d) => d.status === 'closed' || d.status === 'failed')) this.old.delete(gen);
      }
      if (this.old.size > 0 && !this.closed) {
        this.drainTimer = setTimeout(check, 100);
        this.drainTimer.unref();
      }
    };
    check();
  }

  private onDriverClosed(gen: Generation, d: Driver): void {
    for (const k of ['upload', 'download'] as const) {
      const i = gen.extras[k].indexOf(d);
      if (i >= 0) gen.extras[k].splice(i, 1);
    }
    gen.lastUsed.delete(d);
    // The session closed (or failed) its main connection: everything goes with it.
    if (gen === this.current && d === gen.main && !gen.dead) this.close();
  }

  /** The permanent key is unknown: every connection fails with AUTH_KEY_UNKNOWN. */
  private failAll(e: SessionError): void {
    const gens = [this.current, ...this.old];
    const reason = { code: e.code, message: e.message };
    this.host.entry.notify({ kind: 'disconnected', sessionId: this.host.entry.id, reason });
    this.close();
    for (const g of gens) for (const d of g.drivers()) d.fail(e);
  }

  // --- Routing ---

  /** Runs `request` on the connection its kind and the load choose. */
  request(request: TL.TlObject, options: CallOptions, attempt = 0): Promise<unknown> {
    const picked = this.pick(options.connection ?? connectionKindOf(request._));
    if (picked instanceof Promise) return picked.then((d) => this.requestOn(d, request, options, attempt));
    return this.requestOn(picked, request, options, attempt);
  }

  private requestOn(
    driver: Driver,
    request: TL.TlObject,
    options: CallOptions,
    attempt: number,
  ): Promise<unknown> {
    // Closed while this call waited for it (drained, replaced): pick again.
    if (driver.status === 'closed' && attempt < 2 && driver !== this.current.main) {
      return this.request(request, options, attempt + 1);
    }
    const p = driver.request(request, options.timeoutMs);
    if (!this.pfs || attempt >= 2) return p;
    return p.catch((e) => {
      // Refused unrun on a temporary key that is not bound (any more): again on a bound one,
      // made now if the current key lost its binding.
      if (!(e instanceof RpcError && e.errorMessage === 'AUTH_KEY_PERM_EMPTY')) throw e;
      const gen = this.current;
      const bound = gen.drivers().includes(driver) ? this.rebind(gen) : Promise.resolve();
      return bound.then(() => this.request(request, options, attempt + 1));
    });
  }

  /** The connection for a call of `kind`: the least loaded, opening another when all are busy. */
  pick(kind: ConnectionKind): Driver | Promise<Driver> {
    const gen = this.current;
    if (gen.dead && this.replacing) return this.replacing.then(() => this.pick(kind));
    if (kind === 'main' || this.max[kind] === 0) return gen.main;
    let best: Driver | undefined;
    for (const d of gen.extras[kind]) {
      if (d.status === 'closed' || d.status === 'failed') continue;
      if (!best || d.pending.size < best.pending.size) best = d;
    }
    const busy = !best || best.pending.size > 0;
    if (busy && !gen.opening[kind] && gen.extras[kind].length < this.max[kind]) this.openExtra(gen, kind);
    if (!best) return gen.opening[kind] ?? gen.main;
    gen.lastUsed.set(best, Date.now());
    return best;
  }

  private openExtra(gen: Generation, kind: ExtraKind): void {
    const key = { ...gen.key, serverSalt: gen.main.link.salt };
    const p = startDriver(this.host, key, (d) => this.hooks(gen, d)).then(
      (d) => {
        gen.opening[kind] = null;
        if (this.closed || gen.draining || gen.dead) {
          retire(d);
          return gen === this.current ? gen.main : this.current.main;
        }
        pools.set(d, this);
        if (this.paused) d.setPaused(true);
        gen.extras[kind].push(d);
        gen.lastUsed.set(d, Date.now());
        return d;
      },
      () => {
        // No extra connection (too many, say): the main one carries the call.
        gen.opening[kind] = null;
        return gen.main;
      },
    );
    gen.opening[kind] = p;
  }

  /** Closes extra connections with nothing pending for `idleMs`. */
  private closeIdle(): void {
    const gen = this.current;
    const now = Date.now();
    for (const kind of ['upload', 'download'] as const) {
      for (const d of [...gen.extras[kind]]) {
        if (d.pending.size === 0 && now - (gen.lastUsed.get(d) ?? 0) >= this.idleMs) retire(d);
      }
    }
  }

  // --- Raw messages (registry.send) ---

  /**
   * Queues a raw message on the current main connection; resolves with its msg_id once
   * it went to the socket. While the current key is known to be lost it waits for the
   * next one. A message moved to a new key before then resolves with its new msg_id
   * (the one its answer names).
   */
  async send(body: Buffer): Promise<{ msgId: bigint; driver: Driver }> {
    if (this.current.dead && this.replacing) await this.replacing;
    const gen = this.current;
    const driver = gen.main;
    const { msgId, handed } = driver.enqueue(body);
    const sent: RawSend = { body, at: { msgId, driver }, resolved: false };
    if (gen.temp) {
      if (gen.raw.size >= RAW_PRUNE_AT) pruneRaw(gen);
      gen.raw.set(msgId, sent);
    }
    await handed;
    sent.resolved = true;
    return sent.at;
  }

  /** `gen`'s key is lost: its raw messages still in flight go on the current main connection. */
  private moveRaw(gen: Generation): void {
    if (gen.raw.size === 0) return;
    const inFlight = new Set(gen.main.link.inFlight());
    const target = this.current;
    const entry = this.host.entry;
    for (const [msgId, sent] of gen.raw) {
      if (!inFlight.has(msgId)) continue;
      gen.main.link.cancel(msgId);
      let moved: bigint;
      try {
        moved = target.main.enqueue(sent.body).msgId;
      } catch (e) {
        // The session is closing: the client hears of it (never a silent drop).
        const message = `message ${msgId} was refused with its lost temporary key and not sent again: ${(e as Error).message}`;
        entry.notify({ kind: 'sendLost', sessionId: entry.id, msgId, message });
        continue;
      }
      sent.at = { msgId: moved, driver: target.main };
      if (target.temp) target.raw.set(moved, sent);
      // A send() that resolved already named the old msg_id: tell the client the new one.
      if (sent.resolved) entry.notify({ kind: 'resent', sessionId: entry.id, msgId, newMsgId: moved });
    }
    gen.raw.clear();
  }

  // --- Back-pressure and counts ---

  /** Pauses (or resumes) reading on every connection of the pool, those made later too. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    for (const d of this.drivers()) d.setPaused(paused);
  }

  /** Every connection: the current generation's and the draining ones. */
  drivers(): Driver[] {
    const out = this.current.drivers();
    for (const g of this.old) out.push(...g.drivers());
    return out.filter((d) => d.status !== 'closed');
  }

  /** Requests waiting for answers on every connection (draining ones included). */
  pendingCount(): number {
    let n = 0;
    for (const d of this.drivers()) n += d.pending.size;
    return n;
  }

  /** Counts of open connections by kind (tests, diagnostics). */
  connections(): Record<ConnectionKind, number> {
    const g = this.current;
    return { main: 1, upload: g.extras.upload.length, download: g.extras.download.length };
  }

  /** Stops timers and every connection but the current main one (its owner closes it). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of [this.renewTimer, this.drainTimer]) if (t) clearTimeout(t);
    if (this.idleTimer) clearInterval(this.idleTimer);
    this.renewTimer = this.drainTimer = this.idleTimer = null;
    const gens = [this.current, ...this.old];
    this.old.clear();
    for (const g of gens) for (const d of g.drivers()) if (d !== this.current.main) d.close();
  }
}

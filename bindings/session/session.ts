// One open session: the single owner of its state. The DC it lives on, its user,
// its connections (the home DC's pool, and pools of DCs it left that still drain),
// the plain sender, the updates queue and the stored record all belong here; the
// parts around it (pool/, persist.ts, migrate.ts, plain.ts, the drivers) get a
// narrow port and report back through it. Nothing else writes these fields.

import { authKeyIdOf } from '../auth/key';
import { DcDirectory, dcDirectory } from '../dcs';
import {
  asUnauthorized,
  isUnauthorized,
  type LoggedInUser,
  type LoginApiOptions,
  type LoginCalls,
  loginBot,
  loginUser,
  logOut,
  type UnauthorizedReason,
  type UserLoginOptions,
} from '../login';
import { SessionPeers } from '../peers/session-port';
import type { JsonValue, UpdatesState } from '../storage/types';
import * as TL from '../tl';
import { FloodWaitError, MigrateError } from '../tl';
import { within } from './call-deadline';
import { aborted, timedOut } from './call-errors';
import { Chains } from './chains';
import { DcConnector } from './dc-connector';
import type { RequestOptions } from './driver';
import { isAccountMigrate, migrate } from './migrate';
import { type Notify, notifier } from './notify';
import { OtherDcs } from './other-dcs';
import { SessionStore, type StoreSnapshot } from './persist';
import { PlainSender } from './plain';
import type { DcPool } from './pool/dc-pool';
import type { AttemptLimiter } from './reconnect';
import { observeResult } from './state';
import {
  type CallOptions,
  type SendResult,
  type SendType,
  type SessionClient,
  SessionError,
  type SessionEvent,
  type SessionExport,
  type SessionId,
  type SessionOpenOptions,
  type SessionState,
} from './types';
import { type OrderedUpdate, UpdateFeed } from './update-feed';
import { UpdateQueue } from './updates';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** 406 AUTH_KEY_DUPLICATED (api/errors#406-not-acceptable). */
function isKeyDuplicated(code: number, message: string): boolean {
  return code === 406 && message === 'AUTH_KEY_DUPLICATED';
}

/** The session's stop error for one call, with what that call itself got as the cause. */
function withCause(stopped: SessionError, cause: unknown): SessionError {
  return new SessionError(stopped.code, stopped.message, cause);
}

/** Retries of one call (FLOOD_WAIT waited out, migrations followed). */
const MAX_RETRIES = 5;
/** How long a DC the session left keeps its connections for calls still answered there. */
const LEFT_DC_DRAIN_MS = 60_000;

type Updates = TL.Types['Updates'];

export class OpenSession {
  private dcId: number;
  private userId: bigint | null;
  private phoneCodeHash: string | null = null;
  /** The connections to the DC the session lives on. */
  private home!: DcPool;
  /** DCs the session migrated away from: answering what was sent there, then closed. */
  private readonly left = new Set<DcPool>();
  private plain: PlainSender | null = null;
  /** The raw stream of `updates()` (without the update engine). */
  private queue: UpdateQueue<Updates> | null = null;
  /** The update engine, with `updates.catchUp` (update-feed.ts). */
  private feed: UpdateFeed | null = null;
  private store: SessionStore | null = null;
  /**
   * Where the DCs are: the process-wide table of the environment, or a table of the
   * session's own when it was given addresses (options.address, options.dcAddresses).
   */
  private readonly dcs: DcDirectory;
  /** How the session reaches a DC (addresses, dialer, a pool on the right key). */
  private readonly connector: DcConnector;
  /** Pools of other DCs for calls that name one (`CallOptions.dc`, `cdn`). */
  private readonly otherDcs: OtherDcs;
  private deliver: Notify = () => {};
  private client: SessionClient | undefined;
  private migrating: Promise<void> | null = null;
  private readonly chains = new Chains();
  private closed = false;
  /** Set when the stored session's lease was lost: nothing may be sent again. */
  private stopped: SessionError | null = null;
  /** Peers and flood control (bindings/peers), when `options.peers` / `options.flood` ask for them. */
  private peers: SessionPeers | null = null;

  private constructor(
    readonly id: SessionId,
    dcId: number,
    client: SessionClient | undefined,
    readonly options: SessionOpenOptions,
    readonly limiter: AttemptLimiter,
  ) {
    this.dcId = dcId;
    this.userId = options.import?.userId == null ? null : BigInt(options.import.userId);
    const given = Object.entries(options.dcAddresses ?? {});
    if (options.address === undefined && given.length === 0) this.dcs = dcDirectory(options.environment);
    else {
      this.dcs = new DcDirectory(options.environment);
      for (const [k, v] of given) this.dcs.give(Number(k), v);
      if (options.address) this.dcs.give(dcId, options.address);
    }
    this.connector = new DcConnector({
      id,
      options,
      limiter,
      dcs: this.dcs,
      notify: this.notify,
      store: () => this.store,
      homeDcId: () => this.dcId,
      timeOffsetMs: () => this.home?.main.link.timeOffset,
      onUpdate: this.onUpdate,
      onHomeSessionCreated: () => this.feed?.sessionCreated(),
      // The home DC's connection is gone for good: the updates iterator ends.
      onPoolEnded: (pool) => {
        if (pool === this.home) this.queue?.end();
      },
    });
    this.otherDcs = new OtherDcs({
      connector: this.connector,
      dcs: this.dcs,
      home: () => this.home,
      homeDcId: () => this.dcId,
      refreshDcs: () => this.refreshDcs(),
      refusal: () =>
        this.stopped ?? (this.closed ? new SessionError('SESSION_CLOSED', 'the session was closed') : null),
    });
    this.setClient(client);
  }

  /**
   * Connects (taking the stored record's lease and key first when `options.name` or
   * `options.storage` is given). Rejects with SessionError, leaving nothing behind.
   */
  static async open(
    id: SessionId,
    dcId: number,
    client: SessionClient | undefined,
    options: SessionOpenOptions,
    limiter: AttemptLimiter,
  ): Promise<OpenSession> {
    const s = new OpenSession(id, dcId, client, options, limiter);
    if (options.name === undefined && !options.storage) {
      s.makeFeed(undefined);
      s.peers = s.openPeers();
      s.home = await s.connector.connect(s.dcId, options.import);
      s.opened();
      return s;
    }
    const store = await SessionStore.open(options, s.storeHost());
    s.store = store;
    s.peers = s.openPeers();
    // The stored home DC (after a migration) and user win over what open was asked.
    const stored = store.stored;
    if (options.import?.userId == null && stored.userId !== undefined) s.userId = stored.userId;
    if (stored.dcId !== undefined) s.dcId = stored.dcId;
    s.makeFeed(store.updatesState);
    try {
      s.home = await s.connector.connect(s.dcId, options.import);
    } catch (e) {
      await store.abandon();
      throw e;
    }
    // The lease may have run out while connecting (a stalled process).
    if (!store.mayTransmit() || s.stopped) {
      const lost = s.stopped ?? new SessionError('LEASE_LOST', 'the lease was lost while opening');
      s.home.close(lost);
      await store.abandon();
      throw lost;
    }
    store.start();
    s.opened();
    return s;
  }

  /** Open: the shared DC table is refreshed at first use (a private one when a migration needs it). */
  private opened(): void {
    if (this.dcs === dcDirectory(this.options.environment)) void this.refreshDcs();
    if (this.userId !== null) void this.startFeed();
  }

  // --- The update engine (update-feed.ts) ---

  private makeFeed(stored: unknown): void {
    const o = this.options.updates;
    if (!o?.catchUp) return;
    this.feed = new UpdateFeed(
      {
        sessionId: this.id,
        notify: this.notify,
        call: (method, params) =>
          this.attempt(method, { _: method, ...(params as object) } as TL.TlObject, {}, undefined, true),
        commit: (state) => this.store?.commitUpdatesState(state as JsonValue),
        commitNow: async (state) => {
          await this.store?.saveUpdatesState(state as JsonValue);
        },
      },
      o,
      stored,
    );
  }

  /**
   * Starts the engine once there is a user: getState and differences need one. Resolves
   * once its first answer came (never rejects): a login resolves after it, so that no
   * update the application could expect after its login is taken for an old one.
   */
  private startFeed(): Promise<void> {
    const selfId = this.userId;
    if (!this.feed || selfId === null) return Promise.resolve();
    return this.feed.startFor(selfId, () => !this.closed && this.userId === selfId);
  }

  /** help.getConfig into the DC table, when it is due (once per table, shared by every caller). */
  private refreshDcs(): Promise<void> {
    return this.dcs.refresh(
      () => this.home.request({ _: 'help.getConfig' } as TL.TlObject, { timeoutMs: 10_000 }) as never,
      this.home.main.link.timeOffset,
    );
  }

  // --- Events ---

  /** Every part of the session reports here; the client hears it. */
  readonly notify = (event: SessionEvent): void => {
    switch (event.kind) {
      case 'saltChanged':
        this.store?.saveSoon();
        break;
      case 'connected':
        this.store?.saveSoon();
        // Pushes may have been lost while the connection was down.
        if (event.reconnect && event.dcId === this.dcId) this.feed?.connectionRestored();
        break;
      case 'tempKeyBound':
      case 'migrated':
        // A new MTProto session on another key or DC: what went to the old one is asked for.
        this.feed?.connectionRestored();
        break;
      case 'update':
        // Peers first: a client answering the update may name them (bindings/peers).
        this.peers?.observe(event.update);
        // With the engine, the client hears updates once and in order (`delivered`), not raw.
        if (this.feed) return;
        break;
      case 'rpcError':
        // The key lost its login: also seen for a message sent with send(), which no
        // call() awaits (unauthorized() tells the client once, whoever sees it first).
        if (isUnauthorized(event.code, event.message)) this.unauthorized(event.message);
        break;
    }
    this.deliver(event);
    // After the client heard the answer itself: the key was seen in two places.
    if (event.kind === 'rpcError' && isKeyDuplicated(event.code, event.message)) this.keyDuplicated();
  };

  /** Who is notified of this session's events from now on. */
  setClient(client: SessionClient | undefined): void {
    this.client = client;
    // A throwing client is reported as badData (to the same client, guarded against loops).
    let reporting = false;
    const report = (e: unknown) => {
      if (reporting) return;
      reporting = true;
      try {
        this.deliver({
          kind: 'badData',
          sessionId: this.id,
          code: 'CLIENT_THREW',
          message: String((e as Error)?.message ?? e),
        });
      } finally {
        reporting = false;
      }
    };
    this.deliver = notifier(this.client, report);
  }

  private readonly onUpdate = (update: Updates): void => {
    if (this.feed) this.feed.push(update);
    else this.queue?.push(update);
  };

  /** bindings/peers' port: its storage is the session's, its calls the session's own. */
  private openPeers(): SessionPeers | null {
    return SessionPeers.open(this.options, {
      storage: this.store
        ? { storage: this.store.storage, name: this.store.name, owner: this.store.lease.owner }
        : undefined,
      call: (method, params) => this.call(method as TL.MethodName, params as never),
      errors: { timedOut: () => new SessionError('TIMEOUT', 'no answer in time'), aborted },
      floodWaitThreshold: this.options.floodWaitThreshold,
      onError: (e) =>
        this.notify({
          kind: 'storageError',
          sessionId: this.id,
          code: 'STORAGE_FAILED',
          message: `peers not written: ${(e as Error).message}`,
          attempt: 1,
          willRetry: true,
        }),
    });
  }

  // --- Connections ---

  /** Follows USER/PHONE/NETWORK_MIGRATE to `toDc`: the home moves, the old DC drains. */
  private async migrateTo(toDc: number): Promise<void> {
    const from = this.home;
    const pool = await migrate(
      {
        from,
        fromDc: this.dcId,
        knowsAddress: (id) => this.dcs.knows(id),
        refreshDcs: () => this.refreshDcs(),
        connect: (id) => this.connector.connect(id),
      },
      toDc,
    );
    // Closed, or the lease was lost, meanwhile: the new connections must not run.
    if (this.closed || this.stopped) {
      pool.fail(this.stopped ?? new SessionError('SESSION_CLOSED', 'closed during the migration'));
      throw this.stopped ?? new SessionError('SESSION_CLOSED', 'closed during the migration');
    }
    const fromDc = this.dcId;
    this.home = pool;
    this.dcId = toDc;
    this.left.add(from);
    from.closeWhenIdle(LEFT_DC_DRAIN_MS, () => this.left.delete(from));
    this.notify({ kind: 'migrated', sessionId: this.id, fromDc, toDc });
    this.store?.saveNow();
  }

  // --- Calls and messages ---

  /**
   * Calls an API method; resolves with its decoded result. FLOOD_WAIT_X below
   * `floodWaitThreshold` is waited out and retried; USER/PHONE/NETWORK_MIGRATE_X
   * moves the session to DC X and retries there. `timeoutMs` bounds the whole call,
   * retries included; `signal` aborts it; `chain` orders it after the earlier calls
   * of its chain (chains.ts).
   */
  call<M extends TL.MethodName>(
    method: M,
    params: TL.Params<M>,
    options: CallOptions = {},
  ): Promise<TL.Result<M>> {
    this.store?.check();
    if (this.stopped) return Promise.reject(this.stopped);
    if (this.peers)
      return this.peers.call(method, params as Record<string, unknown>, options, (p, o) =>
        this.callNow(method, p as TL.Params<M>, o),
      );
    return this.callNow(method, params, options);
  }

  /** call() once peers are resolved and flood control let it go. */
  private callNow<M extends TL.MethodName>(
    method: M,
    params: TL.Params<M>,
    options: CallOptions,
  ): Promise<TL.Result<M>> {
    const request = { _: method, ...params } as unknown as TL.TlObject;
    if (options.chain === undefined)
      return this.attempt(method, request, options, undefined) as Promise<TL.Result<M>>;
    // Chained calls go on the main connection: invokeAfterMsg orders calls of one MTProto session.
    const main: CallOptions = { ...options, connection: 'main' };
    return this.chains.run(
      options.chain,
      () => this.home.main,
      (chain) => this.attempt(method, request, main, chain),
    ) as Promise<TL.Result<M>>;
  }

  /** One call with its retries (FLOOD_WAIT waited out, migrations followed), within its deadline. */
  private async attempt(
    method: string,
    request: TL.TlObject,
    options: CallOptions,
    chain: RequestOptions['chain'],
    /** The update engine's own request: its result is the engine's, not an RPC result to observe. */
    internal = false,
  ): Promise<unknown> {
    const deadline =
      options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
    const signal = options.signal;
    for (let attempt = 0; ; attempt++) {
      if (this.migrating)
        await within(
          this.migrating.catch(() => {}),
          deadline,
          signal,
          options.timeoutMs,
        );
      const target = this.otherDcs.poolFor(options);
      const pool =
        target instanceof Promise ? await within(target, deadline, signal, options.timeoutMs) : target;
      const left = deadline - Date.now();
      if (left <= 0) throw timedOut(options.timeoutMs);
      try {
        const result = await pool.request(request, {
          connection: options.connection,
          signal,
          timeoutMs: left === Number.POSITIVE_INFINITY ? undefined : left,
          chain,
          into: options.into,
        });
        if (!internal) this.observe(method, request, result);
        // The engine's differences carry the peers of the updates they bring (bindings/peers).
        else this.peers?.observe(result);
        return result;
      } catch (e) {
        const lost = asUnauthorized(e);
        if (lost) {
          this.unauthorized(lost.reason);
          throw lost;
        }
        if (this.stopped) throw this.stopped === e ? e : withCause(this.stopped, e);
        if (attempt >= MAX_RETRIES || this.closed) throw e;
        if (
          e instanceof FloodWaitError &&
          e.seconds < (options.floodWaitThreshold ?? this.options.floodWaitThreshold ?? 0)
        ) {
          // A wait past the deadline cannot help: the caller hears the FLOOD_WAIT now.
          if (Date.now() + e.seconds * 1000 > deadline) throw e;
          await within(sleep(e.seconds * 1000), deadline, signal, options.timeoutMs);
          continue;
        }
        if (e instanceof MigrateError && isAccountMigrate(e) && pool === this.home) {
          // Sent before the session moved there: retry on the new connection.
          if (e.dcId === this.dcId && pool !== this.home) continue;
          if (e.dcId === this.dcId) throw e;
          this.migrating ??= this.migrateTo(e.dcId).finally(() => {
            this.migrating = null;
          });
          await within(this.migrating, deadline, signal, options.timeoutMs);
          continue;
        }
        throw e;
      }
    }
  }

  /** What a result teaches: the user after a login, phone_code_hash, the updates state. */
  private observe(method: string, request: TL.TlObject, result: unknown): void {
    observeResult(result, (info) => {
      if (info.bot !== undefined) this.feed?.learnedBot(info.bot);
      if (info.userId !== undefined) this.setUser(info.userId);
      if (info.phoneCodeHash !== undefined) this.phoneCodeHash = info.phoneCodeHash;
    });
    if (this.feed) this.feed.rpcResult(request, result);
    else this.store?.observeResult(method, result);
    this.peers?.observe(result);
  }

  /** One message, encrypted on the home DC's main connection or plain on a connection of its own. */
  async send(message: TL.TlObject | Buffer, type: SendType): Promise<SendResult> {
    let body: Buffer;
    try {
      body = Buffer.isBuffer(message) ? message : TL.serialize(message);
    } catch (e) {
      return { ok: false, reason: { code: 'BAD_MESSAGE', message: (e as Error).message } };
    }
    try {
      if (type === 'plain') {
        this.plain ??= new PlainSender(
          { sessionId: this.id, dcId: this.dcId, options: this.options, notify: this.notify },
          this.connector.addressesOf(this.dcId)[0],
        );
        return { ok: true, messageId: await this.plain.send(body) };
      }
      // Under PFS a message on a temporary key the server lost moves to the next key.
      const { msgId, driver } = await this.home.send(body);
      if (driver.status === 'closed') {
        return {
          ok: false,
          reason: { code: 'SESSION_CLOSED', message: 'closed before the message was sent' },
        };
      }
      if (driver.status === 'failed') {
        const message = 'the connection failed before the message was sent';
        return { ok: false, reason: { code: 'NOT_CONNECTED', message } };
      }
      return { ok: true, messageId: msgId };
    } catch (e) {
      const code = e instanceof SessionError ? e.code : 'NOT_CONNECTED';
      return { ok: false, reason: { code, message: (e as Error).message } };
    }
  }

  /** The ordered updates of the engine (`updates.catchUp`), with back-pressure. */
  ordered(): AsyncIterable<OrderedUpdate> {
    if (!this.feed) {
      throw new SessionError(
        'BAD_OPTIONS',
        `${this.id} runs no update engine: open it with updates: { catchUp: true }`,
      );
    }
    return this.feed.iterator(this.options.updatesQueueSize ?? 1000);
  }

  /** The application took every ordered update up to `token` (`updates.ack: 'manual'`). */
  acknowledge(token: number): void {
    if (!this.feed) throw new SessionError('BAD_OPTIONS', `${this.id} runs no update engine`);
    this.feed.acknowledge(token);
  }

  /** Decoded updates, with back-pressure (see updates.ts). */
  updates(): AsyncIterable<Updates> {
    if (this.feed) {
      throw new SessionError('BAD_OPTIONS', `${this.id} delivers ordered updates: use Session.ordered(id)`);
    }
    const size = this.options.updatesQueueSize ?? 1000;
    this.queue ??= new UpdateQueue<Updates>(
      size,
      this.options.updatesQueueLimit ?? Math.max(size * 10, 10_000),
      {
        dropped: (count) => this.notify({ kind: 'updatesDropped', sessionId: this.id, count }),
      },
    );
    return this.queue;
  }

  // --- Keys and state ---

  /** Everything needed to open the session elsewhere (`options.import`). Holds the key. */
  export(): SessionExport {
    const key = this.home.exportedKey();
    return {
      userId: this.userId,
      authKey: Buffer.from(key.authKey),
      serverSalt: key.serverSalt,
      dcId: this.dcId,
      timeOffset: Math.round(this.home.main.link.timeOffset / 1000),
    };
  }

  /** Reconnects with another key (a new MTProto session); requests pending under the old one fail with KEY_CHANGED. */
  async import(userId: bigint | number | null, authKey: Buffer, serverSalt: bigint): Promise<void> {
    const old = this.home;
    const pool = await this.connector.connect(this.dcId, {
      authKey,
      serverSalt,
      timeOffset: Math.round(old.main.link.timeOffset / 1000),
    });
    if (this.closed) {
      pool.close();
      throw new SessionError('SESSION_CLOSED', 'closed during import');
    }
    this.home = pool;
    this.setUser(userId == null ? null : BigInt(userId));
    old.close(new SessionError('KEY_CHANGED', 'the session key was replaced'));
  }

  /** The session's state (no key material). */
  state(): SessionState {
    const main = this.home.main;
    const link = main.link;
    const st = link.exportState();
    return {
      sessionId: this.id,
      dcId: this.dcId,
      userId: this.userId,
      authKeyId: authKeyIdOf(this.home.exportedKey().authKey),
      serverSalt: link.salt,
      mtpSessionId: link.sessionId,
      seqno: st.seqno,
      lastMsgId: st.lastMsgId,
      initConnectionSent: main.initEverSent,
      phoneCodeHash: this.phoneCodeHash,
      timeOffset: Math.round(link.timeOffset / 1000),
      status: main.status,
      // Every connection of the home DC: pool, draining generations.
      pending: this.home.pendingCount(),
    };
  }

  /** Writes the updates state to the stored record. */
  async saveUpdatesState(state: UpdatesState | JsonValue): Promise<void> {
    if (!this.store)
      throw new SessionError('BAD_OPTIONS', `${this.id} was not opened with a name (no storage)`);
    await this.store.saveUpdatesState(state as JsonValue);
  }

  /** The stored updates state: as loaded, then as last saved. */
  storedUpdatesState(): UpdatesState | JsonValue | undefined {
    return this.store?.updatesState;
  }

  // --- Logins ---

  async loginBot(botToken: string, options: LoginApiOptions): Promise<LoggedInUser> {
    const user = await loginBot(this.loginCalls(), botToken, options);
    await this.startFeed();
    return user;
  }

  async loginUser(options: UserLoginOptions): Promise<LoggedInUser> {
    const user = await loginUser(this.loginCalls(), options);
    await this.startFeed();
    return user;
  }

  async logOut(): Promise<void> {
    await logOut(this.loginCalls());
    this.phoneCodeHash = null;
    this.setUser(null);
  }

  private loginCalls(): LoginCalls {
    return {
      call: (method, params) => this.call(method, params),
      dropPhoneCodeHash: () => {
        this.phoneCodeHash = null;
      },
    };
  }

  private setUser(userId: bigint | null): void {
    if (userId === this.userId) return;
    this.userId = userId;
    this.store?.saveNow();
    if (userId !== null && this.home) void this.startFeed();
  }

  /** The key lost its authorization (revoked, logged out elsewhere, deactivated): tell the client once. */
  private unauthorized(reason: UnauthorizedReason): void {
    const userId = this.userId;
    if (userId === null) return;
    this.phoneCodeHash = null;
    this.setUser(null);
    this.notify({ kind: 'unauthorized', sessionId: this.id, reason, userId });
  }

  // --- The stored record ---

  private storeHost() {
    return {
      sessionId: this.id,
      notify: this.notify,
      snapshot: (): StoreSnapshot => {
        const main = this.home?.main;
        return {
          dcId: this.dcId,
          userId: this.userId,
          connection: main
            ? {
                dcId: main.config.dcId,
                authKey: main.authKey,
                serverSalt: main.link.salt,
                timeOffsetMs: main.link.timeOffset,
              }
            : null,
        };
      },
      onLeaseLost: (error: SessionError) => this.stop(error),
    };
  }

  /** The lease is lost: nothing more is sent under the key, by any connection. */
  private stop(error: SessionError): void {
    if (this.halt(error)) {
      this.notify({ kind: 'leaseLost', sessionId: this.id, code: 'LEASE_LOST', message: error.message });
    }
  }

  /**
   * 406 AUTH_KEY_DUPLICATED: the server saw this key used from two places at once. The
   * session stops for good (no reconnection into the same error); the application
   * decides whether to make a new key or stop.
   */
  private keyDuplicated(): void {
    const error = new SessionError(
      'AUTH_KEY_DUPLICATED',
      'the server saw this auth key used from two places at once (406 AUTH_KEY_DUPLICATED); the session stopped',
    );
    if (this.halt(error)) {
      this.notify({
        kind: 'authKeyDuplicated',
        sessionId: this.id,
        code: 'AUTH_KEY_DUPLICATED',
        message: error.message,
      });
    }
  }

  /** Every connection fails with `error` and nothing more is sent; false when stopped already. */
  private halt(error: SessionError): boolean {
    if (this.stopped || this.closed) return false;
    this.stopped = error;
    this.home?.fail(error);
    for (const pool of this.left) pool.fail(error);
    this.otherDcs.closeAll(error);
    this.plain?.close();
    this.queue?.end();
    this.feed?.close();
    return true;
  }

  /** Stops every connection and timer; pending requests fail with SESSION_CLOSED; emits `closed`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.home.close();
    for (const pool of this.left) pool.close();
    this.left.clear();
    this.otherDcs.closeAll();
    this.plain?.close();
    this.queue?.end();
    this.feed?.close();
    await this.peers?.close().catch(() => {});
    // A stored session: its last state written, its lease given back (rejects with STORAGE_FAILED).
    const failed = this.store
      ? await this.store.close().then(
          () => null,
          (e: unknown) => e,
        )
      : null;
    this.notify({ kind: 'closed', sessionId: this.id });
    if (failed) throw failed;
  }

  /** bindings/peers' store, resolver and flood gate (null without `options.peers` / `options.flood`). */
  get peerPort(): SessionPeers | null {
    return this.peers;
  }

  /** The home DC's connections (diagnostics, tests). */
  get connections(): DcPool {
    return this.home;
  }
}

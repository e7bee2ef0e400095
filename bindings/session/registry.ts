// The session registry: the public API of DESIGN.md ("The public API").
// `Session` is the process-wide registry; `new SessionRegistry()` an isolated one.

import { createHash } from 'node:crypto';
import { createAuthKey } from '../auth';
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
import type { JsonValue, UpdatesState } from '../storage/types';
import * as TL from '../tl';
import { FloodWaitError, MigrateError } from '../tl';
import { secretTransportKind } from '../transport';
import { dcAddresses, handshakeDcId } from './dcs';
import { createKey, type DialHost } from './dial';
import { Driver } from './driver';
import { isAccountMigrate, migrateSession } from './migrate';
import { type Notify, notifier } from './notify';
import { openStored, type SessionStore } from './persist';
import { PlainSender } from './plain';
import { DcPool, exportedKeyOf, poolOf, requestVia } from './pool';
import { type AttemptLimiter, connectionAttempts } from './reconnect';
import {
  type CallOptions,
  type SendResult,
  type SendType,
  type SessionAddress,
  type SessionClient,
  SessionError,
  type SessionExport,
  type SessionId,
  type SessionOpenOptions,
  type SessionState,
} from './types';
import { UpdateQueue } from './updates';

/** One open session: what survives its connections (and migrations). */
export interface SessionEntry {
  id: SessionId;
  dcId: number;
  options: SessionOpenOptions;
  userId: bigint | null;
  phoneCodeHash: string | null;
  driver: Driver;
  /** Connections left behind by a migration, closed once their requests are answered. */
  draining: Set<Driver>;
  notify: Notify;
  client: SessionClient | undefined;
  migrating: Promise<void> | null;
  plain: PlainSender | null;
  updates: UpdateQueue<TL.Types['Updates']> | null;
  /** Other DCs' addresses learned from help.getConfig. */
  knownDcs: Map<number, SessionAddress>;
  /** The storage behind a session opened with `options.name` (persist.ts). */
  persist?: SessionStore;
}

const MAX_RETRIES = 5;

export class SessionRegistry {
  private readonly sessions = new Map<SessionId, SessionEntry>();
  private nextId = 1;

  constructor(readonly limiter: AttemptLimiter = connectionAttempts) {}

  /** Ids of the open sessions. */
  list(): SessionId[] {
    return [...this.sessions.keys()];
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * Connects to DC `dcId` (or `options.address`), creates an auth key unless
   * `options.import` gives one, and resolves once the server answered a ping
   * with that key. Rejects with SessionError (BAD_OPTIONS, CONNECT_FAILED,
   * AUTH_KEY_UNKNOWN) leaving nothing behind.
   */
  async open(dcId: number, client?: SessionClient, options: SessionOpenOptions = {}): Promise<SessionId> {
    const id: SessionId = `s${this.nextId++}`;
    const entry = {
      id,
      dcId,
      options,
      userId: options.import?.userId == null ? null : BigInt(options.import.userId),
      phoneCodeHash: null,
      client,
      migrating: null,
      plain: null,
      updates: null,
      draining: new Set(),
      knownDcs: new Map(Object.entries(options.dcAddresses ?? {}).map(([k, v]) => [Number(k), v])),
    } as unknown as SessionEntry;
    entry.notify = this.makeNotify(entry);
    const connect = () => this.connect(entry, entry.dcId, this.addressOf(entry, entry.dcId), options.import);
    entry.driver =
      options.name !== undefined || options.storage ? await openStored(entry, connect) : await connect();
    this.sessions.set(id, entry);
    return id;
  }

  private makeNotify(entry: SessionEntry): Notify {
    let inner = notifier(entry.client, () => {});
    // A throwing client is reported as badData (to the same client, guarded against loops).
    let reporting = false;
    const report = (e: unknown) => {
      if (reporting) return;
      reporting = true;
      try {
        inner({
          kind: 'badData',
          sessionId: entry.id,
          code: 'CLIENT_THREW',
          message: String((e as Error)?.message ?? e),
        });
      } finally {
        reporting = false;
      }
    };
    const rebuild = () => {
      inner = notifier(entry.client, report);
    };
    rebuild();
    const notify: Notify & { rebuild?: () => void } = (event) => {
      entry.persist?.observe(event.kind);
      inner(event);
      // The key lost its login: also seen for a message sent with send(), which no
      // call() awaits (unauthorized() tells the client once, whoever sees it first).
      if (event.kind === 'rpcError' && isUnauthorized(event.code, event.message))
        this.unauthorized(entry, event.message);
    };
    notify.rebuild = rebuild;
    return notify;
  }

  /** The address of `dcId` for this session: options.address for the first DC, else learned or the table. */
  addressOf(entry: SessionEntry, dcId: number): SessionAddress {
    if (dcId === entry.dcId && entry.options.address) return entry.options.address;
    const known = entry.knownDcs.get(dcId);
    if (known) return known;
    try {
      const [a] = dcAddresses(dcId, entry.options.environment, entry.options.ipv6);
      return { host: a.host, port: a.port };
    } catch (e) {
      throw new SessionError('BAD_OPTIONS', (e as Error).message, e);
    }
  }

  /**
   * A started driver for `dcId` with the imported key or a new one: the main connection
   * of the session's connections to that DC (pool.ts: extra connections, temporary keys).
   */
  async connect(
    entry: SessionEntry,
    dcId: number,
    address: SessionAddress,
    imported?: { authKey: Buffer; serverSalt: bigint; timeOffset?: number },
  ): Promise<Driver> {
    const host = this.dialHost(entry, dcId, address);
    let key = imported ?? entry.persist?.keyFor(dcId);
    let created: bigint | null = null;
    if (!key) {
      const k = await createKey(host);
      key = k;
      created = k.authKeyId;
    }
    // A stored session's new key is stored before it is used.
    await entry.persist?.useKey(dcId, key);
    if (created !== null) entry.notify({ kind: 'authKeyCreated', sessionId: entry.id, authKeyId: created });
    return (await DcPool.open(host, key)).main;
  }

  /** How a DC's connections are made with this session's options. */
  private dialHost(entry: SessionEntry, dcId: number, address: SessionAddress): DialHost {
    const o = entry.options;
    // A dd/ee MTProxy secret without a named transport: padded intermediate.
    const transport = { ...o.transport, kind: o.transport?.kind ?? secretTransportKind(o.transport?.secret) };
    const wireDcId = handshakeDcId(dcId, o.environment);
    return {
      entry,
      dcId,
      address,
      exchangeKey: (temp) =>
        createAuthKey({
          host: address.host,
          port: address.port,
          dcId,
          environment: o.environment,
          transport: transport.kind,
          obfuscated: transport.obfuscated,
          secret: transport.secret,
          proxy: o.proxy,
          // An `ee` hello is stamped on the server's clock as this session knows it
          // (a temp key renewal through a fake-TLS MTProxy with a skewed local clock).
          timeOffsetMs:
            (entry.driver as Driver | undefined)?.link.timeOffset ?? (o.import?.timeOffset ?? 0) * 1000,
          rsaKeys: o.rsaKeys,
          timeoutMs: o.connectTimeoutMs,
          temp,
        }),
      newDriver: (key, hooks) => {
        try {
          const driver = new Driver({
            sessionId: entry.id,
            dcId,
            wireDcId,
            address,
            transport,
            authKey: key.authKey,
            salt: key.serverSalt,
            timeOffset: (key.timeOffset ?? 0) * 1000,
            options: o,
            notify: entry.notify,
            limiter: this.limiter,
            onAuth: (info) => {
              if (info.userId !== undefined) entry.userId = info.userId;
              if (info.userId !== undefined) entry.persist?.authChanged();
              if (info.phoneCodeHash !== undefined) entry.phoneCodeHash = info.phoneCodeHash;
            },
            ...hooks,
          });
          // A stored session's connections send nothing once its lease is lost.
          entry.persist?.guard(driver);
          return driver;
        } catch (e) {
          throw new SessionError('BAD_OPTIONS', (e as Error).message, e);
        }
      },
    };
  }

  private get(id: SessionId): SessionEntry {
    const s = this.sessions.get(id);
    if (!s) throw new SessionError('NO_SUCH_SESSION', `no open session ${id}`);
    return s;
  }

  /** Stops the connection and timers, fails pending requests with SESSION_CLOSED, emits `closed`. */
  async close(id: SessionId): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    s.driver.close();
    for (const d of s.draining) d.close();
    s.draining.clear();
    s.plain?.close();
    s.updates?.end();
    // A stored session: its last state written, its lease given back (rejects with STORAGE_FAILED).
    const stored = s.persist?.close().then(
      () => null,
      (e: unknown) => e,
    );
    const failed = stored && (await stored);
    s.notify({ kind: 'closed', sessionId: id });
    if (failed) throw failed;
  }

  /** Everything needed to open the session elsewhere (`options.import`). Holds the key: keep it secret. */
  export(id: SessionId): SessionExport {
    const s = this.get(id);
    const link = s.driver.link;
    // The permanent key (under PFS the connections run on temporary ones).
    const key = exportedKeyOf(s.driver);
    return {
      userId: s.userId,
      authKey: Buffer.from(key.authKey),
      serverSalt: key.serverSalt,
      dcId: s.dcId,
      timeOffset: Math.round(link.timeOffset / 1000),
    };
  }

  /** Writes the updates state (pts, qts, date, seq or any JSON) to a stored session's record. */
  async saveUpdatesState(id: SessionId, state: UpdatesState | JsonValue): Promise<void> {
    const s = this.get(id);
    if (!s.persist) throw new SessionError('BAD_OPTIONS', `${id} was not opened with a name (no storage)`);
    await s.persist.saveUpdatesState(state as JsonValue);
  }

  /** The stored updates state: as loaded, then as last saved (updates.getState answers included). */
  storedUpdatesState(id: SessionId): UpdatesState | JsonValue | undefined {
    return this.get(id).persist?.updatesState;
  }

  /**
   * Replaces the key of an open session: reconnects with it (a new MTProto
   * session). Requests pending under the old key fail with KEY_CHANGED.
   */
  async import(
    id: SessionId,
    userId: bigint | number | null,
    authKey: Buffer,
    serverSalt: bigint,
  ): Promise<void> {
    const s = this.get(id);
    const old = s.driver;
    const driver = await this.connect(s, s.dcId, this.addressOf(s, s.dcId), {
      authKey,
      serverSalt,
      timeOffset: Math.round(old.link.timeOffset / 1000),
    });
    if (!this.sessions.has(id)) {
      driver.close();
      throw new SessionError('SESSION_CLOSED', 'closed during import');
    }
    s.driver = driver;
    s.userId = userId == null ? null : BigInt(userId);
    old.close(new SessionError('KEY_CHANGED', 'the session key was replaced'));
  }

  /**
   * Sends one message. 'encrypted': resolves once the message was handed to
   * the socket (or queued while reconnecting... then once it is written after
   * the reconnect); its answer, if any, comes to the client as rpcResult/rpcError.
   * 'plain': an unencrypted message (auth_key_id 0) on a separate connection;
   * answers come as `message` events with msgId 0-based plain ids.
   */
  async send(
    id: SessionId,
    message: TL.TlObject | Buffer,
    type: SendType = 'encrypted',
  ): Promise<SendResult> {
    const s = this.sessions.get(id);
    if (!s) return { ok: false, reason: { code: 'SESSION_CLOSED', message: `no open session ${id}` } };
    let body: Buffer;
    try {
      body = Buffer.isBuffer(message) ? message : TL.serialize(message);
    } catch (e) {
      return { ok: false, reason: { code: 'BAD_MESSAGE', message: (e as Error).message } };
    }
    try {
      if (type === 'plain') {
        s.plain ??= new PlainSender(s, this.addressOf(s, s.dcId));
        return { ok: true, messageId: await s.plain.send(body) };
      }
      // Under PFS through the pool: a message on a temporary key the server lost moves to the next key.
      const pool = poolOf(s.driver);
      let driver = s.driver;
      let msgId: bigint;
      if (pool?.pfs) {
        ({ msgId, driver } = await pool.send(body));
      } else {
        const queued = driver.enqueue(body);
        msgId = queued.msgId;
        await queued.handed;
      }
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

  /** Who is notified of this session's events from now on. */
  setClient(id: SessionId, client: SessionClient | undefined): void {
    const s = this.get(id);
    s.client = client;
    (s.notify as Notify & { rebuild?: () => void }).rebuild?.();
  }

  /**
   * Calls an API method; resolves with its decoded result. Rejects with TL's
   * RpcError (FloodWaitError, MigrateError...) or SessionError. FLOOD_WAIT_X
   * below `floodWaitThreshold` is waited out and retried; USER/PHONE/NETWORK
   * _MIGRATE_X moves the session to DC X and retries there; FILE_MIGRATE_X and
   * STATS_MIGRATE_X are surfaced (they name a DC for one file/stat request,
   * not for the account: open a session there).
   */
  async call<M extends TL.MethodName>(
    id: SessionId,
    method: M,
    params: TL.Params<M>,
    options: CallOptions = {},
  ): Promise<TL.Result<M>> {
    const s = this.get(id);
    s.persist?.check();
    const request = { _: method, ...params } as unknown as TL.TlObject;
    for (let attempt = 0; ; attempt++) {
      if (s.migrating) await s.migrating.catch(() => {});
      const driver = s.driver;
      try {
        const result = (await requestVia(driver, request, options)) as TL.Result<M>;
        s.persist?.observeResult(method, result);
        return result;
      } catch (e) {
        const lost = asUnauthorized(e);
        if (lost) {
          this.unauthorized(s, lost.reason);
          throw lost;
        }
        if (attempt >= MAX_RETRIES || !this.sessions.has(id)) throw e;
        if (e instanceof FloodWaitError && e.seconds < (s.options.floodWaitThreshold ?? 0)) {
          await new Promise((r) => setTimeout(r, e.seconds * 1000));
          continue;
        }
        if (e instanceof MigrateError && isAccountMigrate(e)) {
          // Sent before the session moved there: retry on the new connection.
          if (e.dcId === s.dcId && driver !== s.driver) continue;
          if (e.dcId === s.dcId) throw e;
          s.migrating ??= migrateSession(this, s, e.dcId).finally(() => {
            s.migrating = null;
          });
          await s.migrating;
          continue;
        }
        throw e;
      }
    }
  }

  /** Decoded updates of this session, with back-pressure (see updates.ts). */
  updates(id: SessionId): AsyncIterable<TL.Types['Updates']> {
    const s = this.get(id);
    if (!s.updates) {
      const q: UpdateQueue<TL.Types['Updates']> = new UpdateQueue(
        s.options.updatesQueueSize ?? 1000,
        () => setPaused(s, true),
        () => setPaused(s, false),
      );
      s.updates = q;
      for (const d of poolOf(s.driver)?.drivers() ?? [s.driver]) d.updates = q;
    }
    return s.updates;
  }

  /** The session's state (no key material). */
  state(id: SessionId): SessionState {
    const s = this.get(id);
    const link = s.driver.link;
    const st = link.exportState();
    const state: SessionState = {
      sessionId: id,
      dcId: s.dcId,
      userId: s.userId,
      authKeyId: authKeyIdOf(exportedKeyOf(s.driver).authKey),
      serverSalt: link.salt,
      mtpSessionId: link.sessionId,
      seqno: st.seqno,
      lastMsgId: st.lastMsgId,
      initConnectionSent: s.driver.initEverSent,
      phoneCodeHash: s.phoneCodeHash,
      timeOffset: Math.round(link.timeOffset / 1000),
      status: s.driver.status,
      // Every connection of the session: pool, draining generations.
      pending: poolOf(s.driver)?.pendingCount() ?? s.driver.pending.size,
    };
    return state;
  }

  // --- Logins (bindings/login) ---

  /** Logs the session in as a bot (auth.importBotAuthorization); resolves with its user. Rejects with LoginError. */
  loginBot(id: SessionId, botToken: string, options: LoginApiOptions): Promise<LoggedInUser> {
    return loginBot(this.loginCalls(id), botToken, options);
  }

  /**
   * Logs the session in as the user of `options.phone`: the code (and the 2FA password)
   * from the callbacks, PHONE_/USER_MIGRATE followed; resolves with the user. Rejects with
   * LoginError (SIGN_UP_REQUIRED for a phone without an account: none is created).
   */
  loginUser(id: SessionId, options: UserLoginOptions): Promise<LoggedInUser> {
    return loginUser(this.loginCalls(id), options);
  }

  /** auth.logOut; the session stays open with its key, without a user. */
  async logOut(id: SessionId): Promise<void> {
    const s = this.get(id);
    await logOut(this.loginCalls(id));
    s.userId = null;
    s.phoneCodeHash = null;
    s.persist?.authChanged();
  }

  private loginCalls(id: SessionId): LoginCalls {
    const s = this.get(id);
    return {
      call: (method, params) => this.call(id, method, params),
      dropPhoneCodeHash: () => {
        s.phoneCodeHash = null;
      },
    };
  }

  /** The key lost its authorization (revoked, logged out elsewhere, deactivated): tell the client once. */
  private unauthorized(s: SessionEntry, reason: UnauthorizedReason): void {
    const userId = s.userId;
    if (userId !== null) {
      s.userId = null;
      s.phoneCodeHash = null;
      s.persist?.authChanged();
      s.notify({ kind: 'unauthorized', sessionId: s.id, reason, userId });
    }
  }
}

/** Back-pressure of the updates iterator: on every connection of the session's pool. */
function setPaused(s: SessionEntry, paused: boolean): void {
  const pool = poolOf(s.driver);
  if (pool) pool.setPaused(paused);
  else s.driver.setPaused(paused);
}

function authKeyIdOf(key: Buffer): bigint {
  // auth_key_id: the 64 lower-order bits of SHA1(auth_key) (mtproto/description).
  return createHash('sha1').update(key).digest().readBigUInt64LE(12);
}

/** The process-wide registry. */
export const Session = new SessionRegistry();

// TestDc: an embedded loopback Telegram data center. The protocol is sans-IO (dc-core
// routes packets; server-handshake, dc-session, methods, salts, faults do the rest);
// this file owns the listening socket, the connections and the timers, and holds the
// public API.

import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { FakeTlsServer } from '../native';
import type * as TL from '../tl';
import { serialize } from '../tl';
import { AccountDirectory } from './accounts';
import { AuthorizationRegistry } from './authorizations';
import { DcConnection } from './connection';
import { DcCore } from './dc-core';
import type { MigrateKind } from './faults';
import { FileStore } from './file-store';
import type { FloodRule } from './flood-limits';
import { AuthKeyRecord } from './keys';
import { ConnectionLimits, headerNamesDc } from './limits';
import { generateTestRsaKey, type RsaPublicKeyInfo, sharedTestRsaKey, type TestRsaKey } from './rsa-key';
import type { HandshakeFault } from './server-handshake';
import { TestUpdates } from './test-updates';
import type {
  AuthKeyInfo,
  Execution,
  Handler,
  SessionInfo,
  SessionSelector,
  TestDcOption,
  TestDcOptions,
  TestDcStats,
} from './types';
import { UpdateLog } from './update-log';
import type { WorldLink } from './world-link';

export class TestDc {
  readonly dcId: number;
  readonly host: string;
  /** The port it listens on (known once started). */
  port = 0;
  readonly rsaPublicKey: RsaPublicKeyInfo;
  readonly stats: TestDcStats;
  /** Users, bots, login codes and 2FA passwords (the world's, in a TestWorld). */
  readonly accounts: AccountDirectory;
  /** The update log of this DC's accounts and channels, its pushes and their faults (test-updates.ts). */
  readonly updates: TestUpdates;
  /** Uploads, stored files, CDN copies and file faults (the world's, in a TestWorld; file-store.ts). */
  readonly files: FileStore;
  /** The media-only port (`media: true`), listed in help.getConfig with media_only. */
  mediaPort: number | undefined;
  private mediaServer: Server | null = null;
  private readonly rsaKey: TestRsaKey;
  private readonly options: TestDcOptions;
  private readonly server: Server;
  private readonly connections = new Set<DcConnection>();
  private readonly core: DcCore;
  private readonly log: (message: string) => void;
  private readonly limits: ConnectionLimits;

  private constructor(options: TestDcOptions, world?: WorldLink) {
    this.options = options;
    this.dcId = options.dcId ?? 2;
    this.host = options.host ?? '127.0.0.1';
    const k = options.rsaKey;
    this.rsaKey =
      k === 'shared' ? sharedTestRsaKey() : k === undefined || k === 'generate' ? generateTestRsaKey() : k;
    const { modulus, exponent, pem, fingerprint } = this.rsaKey;
    this.rsaPublicKey = { modulus, exponent, pem, fingerprint };
    this.log = options.log ?? (() => {});
    const registry = new AuthorizationRegistry();
    const link: WorldLink = world ?? {
      dcOptions: () => this.addresses(),
      authorizations: registry,
      accounts: new AccountDirectory(() => this.dcId),
      files: new FileStore(() => this.dcId),
    };
    this.accounts = link.accounts;
    const userObject = (userId: bigint, min: boolean) => {
      const a = this.accounts.user(userId);
      return a && this.accounts.userObject(a, undefined, min);
    };
    this.files = link.files;
    const updateLog = new UpdateLog({ now: () => this.core.now(), userObject, ...options.updateLog });
    this.core = new DcCore(
      {
        dcId: this.dcId,
        testMode: options.testMode ?? false,
        gzipAbove: options.gzipAbove ?? 512,
        clock: options.now ?? Date.now,
        world: link,
        afterMsgTimeoutMs: options.afterMsgTimeoutMs,
        refuseRandomIdRepeats: options.refuseRandomIdRepeats,
        configTtlSec: options.configTtlSec,
        extraDcOptions: options.extraDcOptions,
        updateLog,
        cdn: options.cdn,
      },
      {
        setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
        clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
        defer: (fn) => void setImmediate(fn),
        log: this.log,
      },
    );
    this.stats = this.core.stats;
    this.updates = new TestUpdates(updateLog, {
      push: (userId, updates) => this.core.pushToUser(userId, updates),
      dropConnections: () => this.dropConnections(),
      forgetSessions: (userId) => this.forgetSessions({ userId }),
      userObject,
    });
    this.accounts.attachDc(this.dcId, this.core.keys);
    this.limits = new ConnectionLimits(options.maxConnections);
    this.server = createServer((socket) => this.accept(socket));
  }

  /** This DC's entries of help.getConfig: its address, its media-only one, CDN flagged. */
  addresses(): TestDcOption[] {
    const main: TestDcOption = { dcId: this.dcId, host: this.host, port: this.port };
    if (this.options.cdn) main.cdn = true;
    const out = [main];
    if (this.mediaPort !== undefined) {
      out.push({ dcId: this.dcId, host: this.host, port: this.mediaPort, mediaOnly: true });
    }
    return out;
  }

  /** Starts a TestDc listening on `options.host`:`options.port` (127.0.0.1, a free port by default). */
  static async start(options: TestDcOptions = {}): Promise<TestDc> {
    return TestDc.create(options);
  }

  /** @internal TestWorld's constructor path. */
  static async create(options: TestDcOptions, world?: WorldLink): Promise<TestDc> {
    const dc = new TestDc(options, world);
    await new Promise<void>((resolve, reject) => {
      dc.server.once('error', reject);
      dc.server.listen(options.port ?? 0, dc.host, () => {
        dc.server.off('error', reject);
        resolve();
      });
    });
    const addr = dc.server.address();
    if (addr && typeof addr === 'object') dc.port = addr.port;
    if (options.media) await dc.listenMedia();
    dc.log(`dc ${dc.dcId}: listening on ${dc.host}:${dc.port}`);
    return dc;
  }

  /** A second listener for the media-only address: the same DC (keys, sessions), counted apart. */
  private async listenMedia(): Promise<void> {
    const server = createServer((socket) => this.accept(socket, true));
    this.mediaServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr && typeof addr === 'object') this.mediaPort = addr.port;
  }

  /** The server's clock (ms since the epoch), skew included. */
  now(): number {
    return this.core.now();
  }

  // --- handlers -----------------------------------------------------------

  /** Answers `method` with `handler` (replacing a built-in one). */
  handle<M extends TL.MethodName>(method: M, handler: Handler<M>): this {
    this.core.handlers.set(method, handler as unknown as Handler);
    return this;
  }

  /** Removes a handler registered with `handle` (built-ins come back). */
  unhandle(method: TL.MethodName): this {
    this.core.handlers.delete(method);
    return this;
  }

  /** Every query a handler ran (optionally of one method), oldest first. */
  executions(method?: string): Execution[] {
    // A copy already (the log's two halves joined).
    const log = this.core.executions.entries;
    return method === undefined ? log : log.filter((e) => e.method === method);
  }

  // --- keys and sessions --------------------------------------------------

  /** Registers an authorization key made elsewhere (tests that skip the exchange). */
  addAuthKey(
    authKey: Buffer,
    options: { userId?: bigint | number; salt?: bigint } = {},
  ): { authKeyId: bigint; salt: bigint } {
    if (authKey.length !== 256) throw new RangeError('an auth key is 256 bytes');
    const salt = options.salt ?? randomBytes(8).readBigUInt64LE(0);
    const rec = new AuthKeyRecord(authKey, salt, this.now(), {
      userId: options.userId === undefined ? undefined : BigInt(options.userId),
    });
    this.core.keys.set(rec.authKeyId, rec);
    return { authKeyId: rec.authKeyId, salt };
  }

  /** Forgets a key: its clients get -404 (as after a server-side logout). */
  removeAuthKey(authKeyId: bigint): boolean {
    return this.core.removeKey(authKeyId);
  }

  authKeys(): AuthKeyInfo[] {
    return [...this.core.keys.values()].map((k) => k.info());
  }

  /** The key's raw bytes (tests comparing a client's key with the server's). */
  authKey(authKeyId: bigint): Buffer | undefined {
    const k = this.core.keys.get(authKeyId);
    return k && Buffer.from(k.authKey);
  }

  setUserId(authKeyId: bigint, userId: bigint | number | undefined): void {
    const rec = this.core.keys.get(authKeyId);
    if (!rec) throw new RangeError(`no auth key ${authKeyId}`);
    rec.userId = userId === undefined ? undefined : BigInt(userId);
  }

  sessions(): SessionInfo[] {
    return [...this.core.select('all')].map((s) => ({
      authKeyId: s.authKeyId,
      sessionId: s.sessionId,
      connected: this.core.attached.has(s),
      layer: s.layer,
      initConnection: s.initConnection,
      answered: s.answered,
    }));
  }

  /** Sends `updates` (an Updates object or its bytes) to the selected sessions; returns how many. */
  pushUpdate(target: SessionSelector, updates: TL.Types['Updates'] | Buffer): number {
    const body = Buffer.isBuffer(updates) ? updates : serialize(updates);
    let n = 0;
    for (const s of [...this.core.select(target, true)]) {
      this.core.pushTo(s, body);
      n++;
    }
    return n;
  }

  // --- faults -------------------------------------------------------------

  /** Answers every key exchange wrongly in the given way until cleared with null. */
  injectHandshakeFault(fault: HandshakeFault | null): void {
    this.core.faults.handshake = fault;
  }

  /** Answers the next `times` calls of `method` with rpc_error `code` `message`. */
  failNext(method: string, code: number, message: string, times = 1): void {
    this.core.faults.addRpcError(method, { code, message }, times);
  }

  /** FLOOD_WAIT_<seconds> (420) for the next `times` calls of `method`. */
  floodWait(method: string, seconds: number, times = 1): void {
    this.failNext(method, 420, `FLOOD_WAIT_${seconds}`, times);
  }

  /**
   * Flood limits from now on (none: off): token buckets per method and per account, per
   * peer or per DC; a call over one is refused unrun with 420 FLOOD_WAIT_X, X the whole
   * seconds until it would pass (`telegramBotLimits(speed)` gives the Bot FAQ's limits).
   */
  setFloodLimits(rules: readonly FloodRule[] | null): void {
    this.core.flood.set(rules ?? []);
  }

  /**
   * 406 AUTH_KEY_DUPLICATED for the next `times` calls of `method`: what Telegram answers
   * once it saw one auth key used from two places at once (api/errors#406-not-acceptable).
   */
  keyDuplicated(method: string, times = 1): void {
    this.failNext(method, 406, 'AUTH_KEY_DUPLICATED', times);
  }

  /** <kind>_MIGRATE_<dcId> (303) for the next `times` calls of `method`. */
  migrate(method: string, kind: MigrateKind, dcId: number, times = 1): void {
    this.failNext(method, 303, `${kind}_MIGRATE_${dcId}`, times);
  }

  /** The next `packets` encrypted packets get bad_server_salt (the salts change before each). */
  badServerSalt(packets = 1): void {
    this.core.faults.badSaltPackets += packets;
  }

  /** Moves the server's clock `seconds` ahead (negative: behind) of the local clock. */
  skewClock(seconds: number): void {
    this.core.skewMs = Math.round(seconds * 1000);
    for (const s of this.core.select('all')) s.setTimeOffset(this.core.skewMs);
  }

  /** Drops every connection now, or the one that receives the `afterPackets`-th packet from now. */
  dropConnections(options: { afterPackets?: number } = {}): void {
    if (options.afterPackets !== undefined && options.afterPackets > 0) {
      this.core.faults.dropAfterPackets = options.afterPackets;
      return;
    }
    for (const c of [...this.connections]) c.destroy();
  }

  /**
   * Forgets the selected sessions (default all), as a restarted server would: their next
   * message opens a new session (new_session_created); keys and salts stay. Returns how many.
   */
  forgetSessions(target: SessionSelector = 'all'): number {
    let n = 0;
    for (const s of [...this.core.select(target)]) {
      const key = this.core.keys.get(s.authKeyId);
      if (key && this.core.destroySession(key, s.sessionId)) n++;
    }
    return n;
  }

  /**
   * Connections one client address may hold from now on (undefined: no limit): one more
   * is answered -429 on its first packet and closed (`maxConnections`).
   */
  limitConnections(max: number | undefined): void {
    this.limits.max = max;
  }

  /** Holds every answer `ms` before sending it (0: off). */
  delayReplies(ms: number): void {
    this.core.faults.replyDelayMs = Math.max(0, ms);
  }

  /** Holds the next `count` answers and sends them in reverse order. */
  reorderReplies(count: number): void {
    this.core.faults.reorderCount = Math.max(0, count);
  }

  /**
   * Sends garbage on every connection (or those of the sessions `target` selects: tests
   * sharing a TestDc then leave each other alone): a frame of random bytes (default), or
   * bytes that bypass the framing (`framed: false`; random, or the given `bytes`).
   */
  sendGarbage(
    options: { framed?: boolean; length?: number; bytes?: Buffer; target?: SessionSelector } = {},
  ): void {
    const length = options.length ?? 64;
    let conns: Iterable<DcConnection> = this.connections;
    if (options.target !== undefined) {
      const chosen = new Set<unknown>();
      for (const s of this.core.select(options.target)) chosen.add(this.core.attached.get(s));
      conns = [...this.connections].filter((c) => chosen.has(c));
    }
    for (const c of conns) {
      if (options.framed === false) c.sendRaw(options.bytes ?? randomBytes(length));
      else c.send(options.bytes ?? randomBytes(Math.max(4, length - (length % 4))));
    }
  }

  /** Clears every fault (clock skew included). */
  clearFaults(): void {
    this.core.faults.clear();
    this.skewClock(0);
    this.core.flushHeld();
  }

  // --- lifecycle ----------------------------------------------------------

  /** Closes every socket and timer; resolves when the listener is closed. */
  async stop(): Promise<void> {
    if (this.core.stopped) return;
    this.core.stop();
    const closed = [this.server, this.mediaServer].map(
      (s) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve())),
    );
    for (const c of [...this.connections]) c.destroy();
    await Promise.all(closed);
  }

  // --- I/O ------------------------------------------------------------------

  private fakeTls: FakeTlsServer | undefined;

  /** With an `ee` secret: the ClientHello checker shared by every connection (one replay cache). */
  private fakeTlsServer(): { server: FakeTlsServer; now: () => number } | undefined {
    const secret = this.options.secret;
    if (!secret || secret.length <= 17 || secret[0] !== 0xee) return undefined;
    this.fakeTls ??= new FakeTlsServer(secret, this.options.fakeTlsWindow);
    // Hellos are checked against the server's clock, skewClock() included, as a
    // real MTProxy checks them against its own.
    return { server: this.fakeTls, now: () => this.core.now() };
  }

  private accept(socket: Socket, media = false): void {
    if (this.core.stopped) {
      socket.destroy();
      return;
    }
    const address = socket.remoteAddress ?? '';
    const admitted = this.limits.admit(address);
    const conn = new DcConnection(
      socket,
      { secret: this.options.secret, obfuscated: this.options.obfuscated },
      {
        dcId: this.dcId,
        rsaKey: this.rsaKey,
        dhPrime: this.options.dhPrime,
        g: this.options.g,
        keyIdTaken: (id) => this.core.keys.has(id),
      },
      {
        onPacket: (c, p, quickAck) => {
          // Transport errors a DC answers a connection's first packet with (limits.ts).
          if (!admitted) return this.refuse(c, -429);
          if (this.options.strictDcId && !headerNamesDc(c.headerDcId, this.dcId)) return this.refuse(c, -444);
          this.core.onPacket(c, p, quickAck);
        },
        onRead: (_c, handle) => this.core.onRead(handle),
        onClose: (c) => {
          if (!this.connections.delete(c)) return;
          if (admitted) this.limits.release(address);
          this.stats.activeConnections--;
          this.core.connectionClosed(c);
        },
        log: this.log,
      },
      this.fakeTlsServer(),
    );
    this.connections.add(conn);
    this.stats.connections++;
    if (media) this.stats.mediaConnections++;
    this.stats.activeConnections++;
    this.log(`dc ${this.dcId}: conn ${conn.id} from port ${socket.remotePort}`);
  }

  private refuse(conn: DcConnection, code: number): void {
    if (code === -429) this.stats.refusedConnections++;
    this.log(`dc ${this.dcId}: conn ${conn.id} refused with ${code}`);
    this.core.transportError(conn, code);
    conn.end();
  }
}

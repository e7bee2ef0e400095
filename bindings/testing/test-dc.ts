// TestDc: an embedded loopback Telegram data center. Its protocol pieces are sans-IO
// (server-handshake, dc-session, methods, salts, faults); this file wires them to
// sockets and timers and holds the public API.

import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { MtpSession } from '../native';
import type * as TL from '../tl';
import { serialize } from '../tl';
import { AuthorizationRegistry } from './authorizations';
import { DcConnection } from './connection';
import { DcSession } from './dc-session';
import { DcFaults, type MigrateKind } from './faults';
import { AuthKeyRecord, authKeyIdOf } from './keys';
import { type BuiltinHost, builtinHandlers, type DispatchHost, runQuery } from './methods';
import { generateTestRsaKey, type RsaPublicKeyInfo, sharedTestRsaKey, type TestRsaKey } from './rsa-key';
import type { HandshakeFault } from './server-handshake';
import type {
  AuthKeyInfo,
  Execution,
  Handler,
  SessionInfo,
  SessionSelector,
  TestDcOptions,
  TestDcStats,
} from './types';

/** What a world shares with its DCs (a lone TestDc is a world of one). */
export interface WorldLink {
  dcOptions(): Array<{ dcId: number; host: string; port: number }>;
  readonly authorizations: AuthorizationRegistry;
}

export class TestDc {
  readonly dcId: number;
  readonly host: string;
  /** The port it listens on (known once started). */
  port = 0;
  readonly rsaPublicKey: RsaPublicKeyInfo;
  readonly stats: TestDcStats = {
    connections: 0,
    activeConnections: 0,
    packetsIn: 0,
    packetsOut: 0,
    authKeysCreated: 0,
    handshakeFailures: 0,
    lastHandshakeFailure: undefined,
    executed: 0,
    duplicates: 0,
    rejected: {},
    dropped: 0,
    transportErrors: 0,
    injectedErrors: 0,
    gzipped: 0,
  };
  private readonly rsaKey: TestRsaKey;
  private readonly options: TestDcOptions;
  private readonly server: Server;
  private readonly connections = new Set<DcConnection>();
  private readonly keys = new Map<bigint, AuthKeyRecord>();
  private readonly attached = new Map<DcSession, DcConnection>();
  private readonly timers = new Map<DcSession, NodeJS.Timeout>();
  private readonly handlers = new Map<string, Handler>();
  private readonly builtins: Map<string, Handler>;
  private readonly executionLog: Execution[] = [];
  private readonly executedIds = new Set<string>();
  private readonly faults = new DcFaults();
  private readonly clock: () => number;
  private readonly log: (message: string) => void;
  private readonly world: WorldLink;
  private held: Array<() => void> = [];
  private readonly dispatchHost: DispatchHost;
  private skewMs = 0;
  private stopped = false;

  private constructor(options: TestDcOptions, world?: WorldLink) {
    this.options = options;
    this.dcId = options.dcId ?? 2;
    this.host = options.host ?? '127.0.0.1';
    const k = options.rsaKey;
    this.rsaKey =
      k === 'shared' ? sharedTestRsaKey() : k === undefined || k === 'generate' ? generateTestRsaKey() : k;
    const { modulus, exponent, pem, fingerprint } = this.rsaKey;
    this.rsaPublicKey = { modulus, exponent, pem, fingerprint };
    this.clock = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    const registry = new AuthorizationRegistry();
    this.world = world ?? {
      dcOptions: () => [{ dcId: this.dcId, host: this.host, port: this.port }],
      authorizations: registry,
    };
    const builtinHost: BuiltinHost = {
      dcId: this.dcId,
      testMode: options.testMode ?? false,
      serverNow: () => this.now(),
      dcOptions: () => this.world.dcOptions(),
      authorizations: this.world.authorizations,
      keyRecord: (id) => this.keys.get(id),
      unbindFrom: (perm) => {
        for (const k of this.keys.values()) if (k.boundTo === perm) k.boundTo = undefined;
      },
    };
    this.builtins = builtinHandlers(builtinHost);
    this.dispatchHost = {
      dcId: this.dcId,
      faults: this.faults,
      stats: this.stats,
      serverNow: () => this.now(),
      handlerFor: (m) => this.handlers.get(m) ?? this.builtins.get(m),
      recordExecution: (e) => this.recordExecution(e),
      pushTo: (session, body) => this.pushTo(session, body),
      log: (m) => this.log(`dc ${this.dcId}: ${m}`),
    };
    this.server = createServer((socket) => this.accept(socket));
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
    dc.log(`dc ${dc.dcId}: listening on ${dc.host}:${dc.port}`);
    return dc;
  }

  /** The server's clock (ms since the epoch), skew included. */
  now(): number {
    return this.clock() + this.skewMs;
  }

  // --- handlers -----------------------------------------------------------

  /** Answers `method` with `handler` (replacing a built-in one). */
  handle<M extends TL.MethodName>(method: M, handler: Handler<M>): this {
    this.handlers.set(method, handler as unknown as Handler);
    return this;
  }

  /** Removes a handler registered with `handle` (built-ins come back). */
  unhandle(method: TL.MethodName): this {
    this.handlers.delete(method);
    return this;
  }

  /** Every query a handler ran (optionally of one method), oldest first. */
  executions(method?: string): Execution[] {
    return method === undefined
      ? [...this.executionLog]
      : this.executionLog.filter((e) => e.method === method);
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
    this.keys.set(rec.authKeyId, rec);
    return { authKeyId: rec.authKeyId, salt };
  }

  /** Forgets a key: its clients get -404 (as after a server-side logout). */
  removeAuthKey(authKeyId: bigint): boolean {
    const rec = this.keys.get(authKeyId);
    if (!rec) return false;
    for (const s of rec.sessions.values()) this.detach(s);
    return this.keys.delete(authKeyId);
  }

  authKeys(): AuthKeyInfo[] {
    return [...this.keys.values()].map((k) => k.info());
  }

  /** The key's raw bytes (tests comparing a client's key with the server's). */
  authKey(authKeyId: bigint): Buffer | undefined {
    const k = this.keys.get(authKeyId);
    return k && Buffer.from(k.authKey);
  }

  setUserId(authKeyId: bigint, userId: bigint | number | undefined): void {
    const rec = this.keys.get(authKeyId);
    if (!rec) throw new RangeError(`no auth key ${authKeyId}`);
    rec.userId = userId === undefined ? undefined : BigInt(userId);
  }

  sessions(): SessionInfo[] {
    const out: SessionInfo[] = [];
    for (const k of this.keys.values()) {
      for (const s of k.sessions.values()) {
        out.push({
          authKeyId: k.authKeyId,
          sessionId: s.sessionId,
          connected: this.attached.has(s),
          layer: s.layer,
          initConnection: s.initConnection,
          answered: s.answered,
        });
      }
    }
    return out;
  }

  /** Sends `updates` (an Updates object or its bytes) to the selected sessions; returns how many. */
  pushUpdate(target: SessionSelector, updates: TL.Types['Updates'] | Buffer): number {
    const body = Buffer.isBuffer(updates) ? updates : serialize(updates);
    let n = 0;
    for (const k of this.keys.values()) {
      for (const s of k.sessions.values()) {
        if (!selects(target, k, s)) continue;
        this.pushTo(s, body);
        n++;
      }
    }
    return n;
  }

  // --- faults -------------------------------------------------------------

  /** Answers every key exchange wrongly in the given way until cleared with null. */
  injectHandshakeFault(fault: HandshakeFault | null): void {
    this.faults.handshake = fault;
  }

  /** Answers the next `times` calls of `method` with rpc_error `code` `message`. */
  failNext(method: string, code: number, message: string, times = 1): void {
    this.faults.addRpcError(method, { code, message }, times);
  }

  /** FLOOD_WAIT_<seconds> (420) for the next `times` calls of `method`. */
  floodWait(method: string, seconds: number, times = 1): void {
    this.failNext(method, 420, `FLOOD_WAIT_${seconds}`, times);
  }

  /** <kind>_MIGRATE_<dcId> (303) for the next `times` calls of `method`. */
  migrate(method: string, kind: MigrateKind, dcId: number, times = 1): void {
    this.failNext(method, 303, `${kind}_MIGRATE_${dcId}`, times);
  }

  /** The next `packets` encrypted packets get bad_server_salt (the salts change before each). */
  badServerSalt(packets = 1): void {
    this.faults.badSaltPackets += packets;
  }

  /** Moves the server's clock `seconds` ahead (negative: behind) of the local clock. */
  skewClock(seconds: number): void {
    this.skewMs = Math.round(seconds * 1000);
    for (const k of this.keys.values()) for (const s of k.sessions.values()) s.setTimeOffset(this.skewMs);
  }

  /** Drops every connection now, or the one that receives the `afterPackets`-th packet from now. */
  dropConnections(options: { afterPackets?: number } = {}): void {
    if (options.afterPackets !== undefined && options.afterPackets > 0) {
      this.faults.dropAfterPackets = options.afterPackets;
      return;
    }
    for (const c of [...this.connections]) c.destroy();
  }

  /** Holds every answer `ms` before sending it (0: off). */
  delayReplies(ms: number): void {
    this.faults.replyDelayMs = Math.max(0, ms);
  }

  /** Holds the next `count` answers and sends them in reverse order. */
  reorderReplies(count: number): void {
    this.faults.reorderCount = Math.max(0, count);
  }

  /**
   * Sends garbage on every connection: a frame of random bytes (default), or bytes that
   * bypass the framing (`framed: false`; random, or the given `bytes`).
   */
  sendGarbage(options: { framed?: boolean; length?: number; bytes?: Buffer } = {}): void {
    const length = options.length ?? 64;
    for (const c of this.connections) {
      if (options.framed === false) c.sendRaw(options.bytes ?? randomBytes(length));
      else c.send(options.bytes ?? randomBytes(Math.max(4, length - (length % 4))));
    }
  }

  /** Clears every fault (clock skew included). */
  clearFaults(): void {
    this.faults.clear();
    this.skewClock(0);
    this.flushHeld();
  }

  // --- lifecycle ----------------------------------------------------------

  /** Closes every socket and timer; resolves when the listener is closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.held = [];
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.connections]) c.destroy();
    await closed;
  }

  // --- I/O ------------------------------------------------------------------

  private accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    const conn = new DcConnection(
      socket,
      { secret: this.options.secret, obfuscated: this.options.obfuscated },
      {
        dcId: this.dcId,
        rsaKey: this.rsaKey,
        dhPrime: this.options.dhPrime,
        g: this.options.g,
        keyIdTaken: (id) => this.keys.has(id),
      },
      {
        onPacket: (c, p) => this.onPacket(c, p),
        onClose: (c) => this.onClose(c),
        log: this.log,
      },
    );
    this.connections.add(conn);
    this.stats.connections++;
    this.stats.activeConnections++;
    this.log(`dc ${this.dcId}: conn ${conn.id} from port ${socket.remotePort}`);
  }

  private onClose(conn: DcConnection): void {
    if (!this.connections.delete(conn)) return;
    this.stats.activeConnections--;
    for (const [s, c] of this.attached) if (c === conn) this.detach(s);
    this.log(`dc ${this.dcId}: conn ${conn.id} closed`);
  }

  private detach(s: DcSession): void {
    this.attached.delete(s);
    clearTimeout(this.timers.get(s));
    this.timers.delete(s);
  }

  private onPacket(conn: DcConnection, packet: Buffer): void {
    this.stats.packetsIn++;
    if (this.faults.countPacket()) {
      this.log(`dc ${this.dcId}: conn ${conn.id} dropped (fault)`);
      conn.destroy();
      return;
    }
    if (packet.length < 8) {
      conn.destroy();
      return;
    }
    const keyId = packet.readBigUInt64LE(0);
    if (keyId === 0n) this.onPlain(conn, packet);
    else this.onEncrypted(conn, keyId, packet);
  }

  private onPlain(conn: DcConnection, packet: Buffer): void {
    const declared = packet.length >= 20 ? packet.readUInt32LE(16) : -1;
    const msgId = packet.length >= 20 ? packet.readBigUInt64LE(8) : 0n;
    if (declared !== packet.length - 20 || msgId % 4n !== 0n || msgId === 0n) {
      this.handshakeFailed(conn, 'malformed plain message');
      return;
    }
    conn.handshake.fault = this.faults.handshake;
    const step = conn.handshake.handle(packet.subarray(20), this.now());
    switch (step.kind) {
      case 'failed':
        this.handshakeFailed(conn, step.reason);
        return;
      case 'created': {
        const k = step.key;
        const rec = new AuthKeyRecord(k.authKey, k.firstSalt, k.createdAt, {
          created: k,
          expiresAt: k.expiresIn === undefined ? undefined : k.createdAt + k.expiresIn * 1000,
        });
        this.keys.set(rec.authKeyId, rec);
        this.stats.authKeysCreated++;
        this.log(
          `dc ${this.dcId}: conn ${conn.id} created auth key ${rec.authKeyId.toString(16)} (${k.innerData}, ${k.rsaScheme})`,
        );
        conn.sendPlain(step.body, this.now());
        return;
      }
      case 'reply':
        conn.sendPlain(step.body, this.now());
        if (step.close) conn.end();
        return;
    }
  }

  private handshakeFailed(conn: DcConnection, reason: string): void {
    this.stats.handshakeFailures++;
    this.stats.lastHandshakeFailure = reason;
    this.log(`dc ${this.dcId}: conn ${conn.id} key exchange failed: ${reason}`);
    this.transportError(conn, -404);
    conn.end();
  }

  private transportError(conn: DcConnection, code: number): void {
    this.stats.transportErrors++;
    conn.sendTransportError(code);
  }

  private onEncrypted(conn: DcConnection, keyId: bigint, packet: Buffer): void {
    const now = this.clock();
    const key = this.keys.get(keyId);
    if (!key || key.expired(this.now())) {
      // Spec: a message under a key the server does not know is answered with -404.
      this.log(`dc ${this.dcId}: conn ${conn.id} unknown auth key ${keyId.toString(16)}`);
      if (key) this.removeAuthKey(keyId);
      this.transportError(conn, -404);
      conn.end();
      return;
    }
    const sessionId = MtpSession.peekSessionId(key.authKey, packet);
    if (sessionId === null) {
      this.stats.dropped++;
      this.log(`dc ${this.dcId}: conn ${conn.id} packet does not decrypt (msg_key), ignored`);
      return;
    }
    let session = key.sessions.get(sessionId);
    if (!session) {
      session = new DcSession({
        authKey: key.authKey,
        authKeyId: key.authKeyId,
        sessionId,
        salts: key.salts,
        timeOffset: this.skewMs,
        now,
        gzipAbove: this.options.gzipAbove ?? 512,
        destroySession: (id) => this.destroySession(key, id),
      });
      key.sessions.set(sessionId, session);
    }
    if (this.faults.badSaltPackets > 0) {
      this.faults.badSaltPackets--;
      key.salts.rotate(Math.floor(this.now() / 1000));
    }
    const before = this.attached.get(session);
    if (before !== conn) {
      this.attached.set(session, conn);
      // The session moved: answers the client may have missed on the old connection go again.
      if (before) session.reattached();
    }
    const input = session.receive(packet, now);
    for (const r of input.rejected) this.stats.rejected[r.code] = (this.stats.rejected[r.code] ?? 0) + 1;
    this.stats.dropped += input.dropped.length;
    for (const d of input.dropped)
      this.log(`dc ${this.dcId}: session ${sessionId.toString(16)} dropped ${d.reason}`);
    if (input.disconnectDelay !== undefined) conn.armDisconnect(input.disconnectDelay);
    for (const q of input.queries) void this.run(key, session, q.msgId, q.body);
    this.flush(session);
  }

  private destroySession(key: AuthKeyRecord, sessionId: bigint): boolean {
    const s = key.sessions.get(sessionId);
    if (!s) return false;
    this.detach(s);
    return key.sessions.delete(sessionId);
  }

  private async run(key: AuthKeyRecord, session: DcSession, msgId: bigint, body: Buffer): Promise<void> {
    let result: Buffer;
    try {
      result = await runQuery(this.dispatchHost, key, session, msgId, body);
    } catch (e) {
      this.log(`dc ${this.dcId}: query failed unexpectedly (${(e as Error).message})`);
      return;
    }
    const deliver = () => {
      if (this.stopped || key.sessions.get(session.sessionId) !== session) return;
      if (session.answer(msgId, result, this.clock())) this.stats.gzipped++;
      this.flush(session);
    };
    if (this.faults.replyDelayMs > 0) {
      setTimeout(() => this.hold(deliver), this.faults.replyDelayMs).unref();
    } else {
      this.hold(deliver);
    }
  }

  /** Reordering: the next `reorderCount` answers wait, then go newest first. */
  private hold(deliver: () => void): void {
    if (this.faults.reorderCount <= 0) {
      deliver();
      return;
    }
    this.held.push(deliver);
    if (this.held.length >= this.faults.reorderCount) {
      this.faults.reorderCount = 0;
      this.flushHeld();
    }
  }

  private flushHeld(): void {
    const held = this.held.reverse();
    this.held = [];
    for (const d of held) d();
  }

  private recordExecution(e: Execution): void {
    this.stats.executed++;
    const id = `${e.authKeyId}:${e.sessionId}:${e.msgId}`;
    if (this.executedIds.has(id)) this.stats.duplicates++;
    this.executedIds.add(id);
    this.executionLog.push(e);
  }

  private pushTo(s: DcSession, body: Buffer): void {
    s.push(body, this.clock());
    this.flush(s);
  }

  /** Sends whatever the session has due on its connection and re-arms its timer. */
  private flush(s: DcSession): void {
    if (this.stopped) return;
    const conn = this.attached.get(s);
    clearTimeout(this.timers.get(s));
    this.timers.delete(s);
    if (!conn || conn.closed) return;
    const now = this.clock();
    const t = s.transmit(now);
    for (const p of t.packets) {
      conn.send(p);
      this.stats.packetsOut++;
    }
    if (t.deadline !== undefined) {
      const timer = setTimeout(() => this.flush(s), Math.max(0, t.deadline - now));
      timer.unref();
      this.timers.set(s, timer);
    }
  }
}

function selects(target: SessionSelector, key: AuthKeyRecord, s: DcSession): boolean {
  if (target === 'all') return true;
  if (typeof target === 'bigint') return key.authKeyId === target;
  if (target.authKeyId !== undefined && target.authKeyId !== key.authKeyId) return false;
  if (target.sessionId !== undefined && target.sessionId !== s.sessionId) return false;
  if (target.userId !== undefined && key.userId !== BigInt(target.userId)) return false;
  return true;
}

export { authKeyIdOf };

// The protocol core of a TestDc, sans-IO: client packets in (from any connection),
// packets out through the connection's `Link`, timers through `CoreIo`. It routes plain
// messages to the connection's key exchange and encrypted ones to the key's session
// (shared by every connection, like a real DC), runs queries and delivers their answers
// (with the reply faults), and keeps the keys, the sessions and the counters.

import { MtpLink } from '../native';
import * as TL from '../tl';
import { FILE_FRAME_ROOM, WriteScratch } from '../transport/write-scratch';
import { cdnHandlers, cdnMethodInvalid } from './cdn-dc';
import { DcSession, isRpcError, type ResultBody, rpcErrorBody } from './dc-session';
import { ExecutionLog } from './execution-log';
import { DcFaults } from './faults';
import { PARTS_RUN_IN_PLACE } from './file-methods';
import { FloodLimiter } from './flood-limits';
import { AuthKeyRecord } from './keys';
import { updatesForLayer } from './legacy-updates';
import { type BuiltinHost, builtinHandlers, type DispatchHost, runQuery } from './methods';
import { QueryBodies } from './query-bodies';
import { quickAckToken } from './quick-ack';
import type { HandshakeServer } from './server-handshake';
import type { Execution, Handler, SessionSelector, TestDcOption, TestDcStats } from './types';
import type { UpdateLog } from './update-log';
import type { WorldLink } from './world-link';

/** Packets from this length are framed where they lie (Link.sendInPlace) rather than copied. */
const IN_PLACE_MIN = 16 * 1024;

/** One client connection as the core sees it (DcConnection over a socket, or a fake). */
export interface Link {
  readonly id: number;
  readonly closed: boolean;
  readonly handshake: HandshakeServer;
  send(packet: Buffer): void;
  /** Several packets in one write (optional: `send` each otherwise). */
  sendMany?(packets: Buffer[]): void;
  /**
   * A session's packet (with PACKET_ROOM free around it) framed where it lies and written
   * (optional: `send` otherwise). Used for large packets, whose copy would cost more.
   */
  sendInPlace?(packet: Buffer): void;
  /**
   * Whether bytes given to the send methods are still held, not yet taken by the
   * kernel (optional: a link without it gets no shared scratch, see `flush`).
   */
  writesPending?(): boolean;
  sendPlain(body: Buffer, serverNow: number): void;
  sendTransportError(code: number): void;
  sendQuickAck(token: number): void;
  armDisconnect(seconds: number): void;
  end(): void;
  destroy(): void;
}

/** Timers and logging, provided by the I/O layer. */
export interface CoreIo {
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /**
   * Runs `fn` once the current turn's work is done (setImmediate: after the packets of
   * this read and the answers they produced). Without it every change is sent at once.
   */
  defer?(fn: () => void): void;
  log(message: string): void;
}

export interface DcCoreOptions {
  dcId: number;
  testMode: boolean;
  gzipAbove: number;
  /** The local clock (ms); the server's is this plus the skew. */
  clock: () => number;
  world: WorldLink;
  /** How long invokeAfterMsg waits for a query that has not arrived (default 10 s). */
  afterMsgTimeoutMs?: number;
  /** TestDcOptions.refuseRandomIdRepeats. */
  refuseRandomIdRepeats?: boolean;
  /** help.getConfig: `expires` this far ahead (default 3600 s), and addresses listed before the world's. */
  configTtlSec?: number;
  extraDcOptions?: TestDcOption[];
  /** The update log the update methods answer from (test-dc.ts makes one per DC). */
  updateLog: UpdateLog;
  /** A CDN DC: upload.getCdnFile only (cdn-dc.ts). */
  cdn?: boolean;
}

export class DcCore {
  readonly dcId: number;
  readonly stats: TestDcStats = {
    connections: 0,
    activeConnections: 0,
    mediaConnections: 0,
    packetsIn: 0,
    packetsOut: 0,
    authKeysCreated: 0,
    handshakeFailures: 0,
    lastHandshakeFailure: undefined,
    executed: 0,
    duplicates: 0,
    randomIdRepeats: 0,
    rejected: {},
    dropped: 0,
    transportErrors: 0,
    refusedConnections: 0,
    injectedErrors: 0,
    gzipped: 0,
    floodWaits: 0,
    partsInPlace: 0,
    partsInPlaceRunning: 0,
  };
  readonly faults = new DcFaults();
  /** Flood limits per method, account and peer (flood-limits.ts). */
  readonly flood = new FloodLimiter();
  readonly keys = new Map<bigint, AuthKeyRecord>();
  readonly handlers = new Map<string, Handler>();
  /** What ran, and the check that nothing ran twice. */
  readonly executions = new ExecutionLog();
  /** Sessions and the connection each answers on. */
  readonly attached = new Map<DcSession, Link>();
  skewMs = 0;
  stopped = false;
  /** Each session's armed wake-up and when it fires (ms, local clock). */
  private readonly timers = new Map<DcSession, { handle: unknown; at: number }>();
  /** Sessions with something to send at the end of the read being handled, or of this turn. */
  private readonly dirty = new Set<DcSession>();
  private flushScheduled = false;
  /** Reads being handled (onRead): what they produce is sent when the outermost ends. */
  private reading = 0;
  /** Where flushes seal their packets, shared by every session (a file part costs no Buffer). */
  private readonly scratch = new WriteScratch(FILE_FRAME_ROOM);
  /** Where sessions' large query bodies land, shared likewise: file parts run there, with TestDc's own handlers. */
  readonly bodies = new QueryBodies((method) => PARTS_RUN_IN_PLACE.has(method) && !this.handlers.has(method));
  /** The connection each session last answered on (kept after it closed). */
  private readonly lastLink = new WeakMap<DcSession, Link>();
  private readonly builtins: Map<string, Handler>;
  private readonly dispatchHost: DispatchHost;
  private readonly clock: () => number;
  private readonly gzipAbove: number;
  private held: Array<() => void> = [];

  constructor(
    o: DcCoreOptions,
    private readonly io: CoreIo,
  ) {
    // Read from the scratches' own use counts, not counted a second time here.
    Object.defineProperty(this.stats, 'partsInPlaceRunning', {
      enumerable: true,
      get: () => this.bodies.inUse,
    });
    this.dcId = o.dcId;
    this.clock = o.clock;
    this.gzipAbove = o.gzipAbove;
    const builtinHost: BuiltinHost = {
      dcId: o.dcId,
      testMode: o.testMode,
      serverNow: () => this.now(),
      dcOptions: () => [...(o.extraDcOptions ?? []), ...o.world.dcOptions()],
      configTtlSec: o.configTtlSec ?? 3600,
      authorizations: o.world.authorizations,
      accounts: o.world.accounts,
      keyRecord: (id) => this.keys.get(id),
      unbindFrom: (perm) => {
        for (const k of this.keys.values()) if (k.boundTo === perm) k.boundTo = undefined;
      },
      updateLog: o.updateLog,
      pushToUser: (userId, updates) => this.pushToUser(userId, updates),
      files: o.world.files,
    };
    this.builtins = o.cdn
      ? cdnHandlers({ dcId: o.dcId, files: o.world.files })
      : builtinHandlers(builtinHost);
    // A CDN DC refuses every other method (registered handlers aside).
    const fallback = o.cdn ? cdnMethodInvalid : undefined;
    this.dispatchHost = {
      dcId: o.dcId,
      faults: this.faults,
      stats: this.stats,
      serverNow: () => this.now(),
      handlerFor: (m) => this.handlers.get(m) ?? this.builtins.get(m) ?? fallback,
      recordExecution: (e) => this.recordExecution(e),
      pushTo: (session, body) => this.pushTo(session, body),
      log: (m) => this.log(m),
      accounts: o.world.accounts,
      afterMsgTimeoutMs: o.afterMsgTimeoutMs ?? 10_000,
      flood: this.flood,
      randomIds: o.refuseRandomIdRepeats ? new RandomIdLog() : undefined,
    };
  }

  /** The server's clock (ms since the epoch), skew included. */
  now(): number {
    return this.clock() + this.skewMs;
  }

  private log(message: string): void {
    this.io.log(`dc ${this.dcId}: ${message}`);
  }

  /** Forgets a key: its clients get -404 (as after a server-side logout). */
  removeKey(authKeyId: bigint): boolean {
    const rec = this.keys.get(authKeyId);
    if (!rec) return false;
    for (const s of rec.sessions.values()) this.detach(s);
    return this.keys.delete(authKeyId);
  }

  /** Every session `target` selects. */
  /** The sessions `target` names; `forUpdates`: only those that take updates (no invokeWithoutUpdates only). */
  *select(target: SessionSelector, forUpdates = false): Generator<DcSession> {
    for (const k of this.keys.values())
      for (const s of k.sessions.values()) {
        if (forUpdates && !takesUpdates(target, s)) continue;
        if (selects(target, k, s)) yield s;
      }
  }

  /** Runs timer work; nothing a timer does may throw out of TestDc. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log(`timer work failed (${(e as Error).message})`);
    }
  }

  /** Stops every timer and held answer. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) this.io.clearTimer(t.handle);
    this.timers.clear();
    this.dirty.clear();
    this.held = [];
  }

  /** A connection closed: its sessions wait for the client to come back. */
  connectionClosed(conn: Link): void {
    for (const [s, c] of this.attached) if (c === conn) this.detach(s);
    this.log(`conn ${conn.id} closed`);
  }

  detach(s: DcSession): void {
    this.attached.delete(s);
    this.disarm(s);
  }

  /**
   * Runs `handle`, which feeds onPacket the packets of one read, then sends what they
   * produced at once: the answers of queries that ran to the end, in one transmit per
   * session. A client waiting for one answer gets it without a wait for the end of the
   * event loop's turn; one that sent many gets them together. (Answers that come later,
   * from handlers that await, go at the end of their turn: flushSoon.)
   */
  onRead(handle: () => void): void {
    this.reading++;
    try {
      handle();
    } finally {
      if (--this.reading === 0 && this.dirty.size > 0) this.flushDirty();
    }
  }

  /** One whole packet from a client connection. */
  onPacket(conn: Link, packet: Buffer, quickAck = false): void {
    this.stats.packetsIn++;
    if (this.faults.countPacket()) {
      this.log(`conn ${conn.id} dropped (fault)`);
      conn.destroy();
      return;
    }
    if (packet.length < 8) {
      conn.destroy();
      return;
    }
    const keyId = packet.readBigUInt64LE(0);
    if (keyId === 0n) this.onPlain(conn, packet);
    else this.onEncrypted(conn, keyId, packet, quickAck);
  }

  private onPlain(conn: Link, packet: Buffer): void {
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

  private handshakeFailed(conn: Link, reason: string): void {
    this.stats.handshakeFailures++;
    this.stats.lastHandshakeFailure = reason;
    this.log(`conn ${conn.id} key exchange failed: ${reason}`);
    this.transportError(conn, -404);
    conn.end();
  }

  transportError(conn: Link, code: number): void {
    this.stats.transportErrors++;
    conn.sendTransportError(code);
  }

  private onEncrypted(conn: Link, keyId: bigint, packet: Buffer, quickAck: boolean): void {
    const now = this.clock();
    const key = this.keys.get(keyId);
    if (!key || key.expired(this.now())) {
      // Spec: a message under a key the server does not know is answered with -404.
      this.log(`conn ${conn.id} unknown auth key ${keyId.toString(16)}`);
      if (key) this.removeKey(keyId);
      this.transportError(conn, -404);
      conn.end();
      return;
    }
    // The session it names: from the first block (a file part is half a megabyte), and
    // checked in full only before a new session is made for it (its receive checks the rest).
    let sessionId = MtpLink.peekSessionIdUnchecked(key.authKey, packet);
    if (sessionId === null || !key.sessions.has(sessionId))
      sessionId = MtpLink.peekSessionId(key.authKey, packet);
    if (sessionId === null) {
      this.stats.dropped++;
      this.log(`conn ${conn.id} packet does not decrypt (msg_key), ignored`);
      return;
    }
    if (quickAck) {
      const token = quickAckToken(key.authKey, packet);
      if (token !== null) conn.sendQuickAck(token);
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
        gzipAbove: this.gzipAbove,
        destroySession: (id) => this.destroySession(key, id),
        clock: this.clock,
      });
      if (key.retiredMsgId > session.mtp.lastMsgId) session.mtp.lastMsgId = key.retiredMsgId;
      key.sessions.set(sessionId, session);
    }
    if (this.faults.badSaltPackets > 0) {
      this.faults.badSaltPackets--;
      key.salts.rotate(Math.floor(this.now() / 1000));
    }
    const before = this.attached.get(session) ?? this.lastLink.get(session);
    if (before !== conn || !this.attached.has(session)) {
      this.attached.set(session, conn);
      this.lastLink.set(session, conn);
      // The session moved: answers the client may have missed on the old connection go
      // again. Also when the old connection closed first (the usual case: the session was
      // detached then), or those answers would wait for the 20 s msgs_state_req timer.
      if (before && before !== conn) session.reattached();
    }
    const bodies = this.bodies.next(packet.length);
    const input = session.receive(packet, now, bodies);
    for (const r of input.rejected) this.stats.rejected[r.code] = (this.stats.rejected[r.code] ?? 0) + 1;
    this.stats.dropped += input.dropped.length;
    for (const d of input.dropped) this.log(`session ${sessionId.toString(16)} dropped ${d.reason}`);
    if (input.disconnectDelay !== undefined) conn.armDisconnect(input.disconnectDelay);
    if (bodies === undefined) {
      // A packet too short for a body in the scratch: the usual case, nothing to claim.
      for (const q of input.queries) this.run(key, session, q.msgId, q.body, null);
    } else {
      const claimed = this.bodies.claim(input.queries.map((q) => q.body));
      input.queries.forEach((q, i) => {
        const { body, release } = claimed[i];
        if (release !== null) this.stats.partsInPlace++;
        this.run(key, session, q.msgId, body, release);
      });
    }
    this.flushSoon(session);
  }

  destroySession(key: AuthKeyRecord, sessionId: bigint): boolean {
    const s = key.sessions.get(sessionId);
    if (!s) return false;
    this.detach(s);
    if (s.mtp.lastMsgId > key.retiredMsgId) key.retiredMsgId = s.mtp.lastMsgId;
    return key.sessions.delete(sessionId);
  }

  /**
   * Runs one query; `release`: its body lies in the shared scratch, given back once it
   * finished. A query that waits for nothing ends before this returns (methods.ts runQuery).
   */
  private run(
    key: AuthKeyRecord,
    session: DcSession,
    msgId: bigint,
    body: Buffer,
    release: (() => void) | null,
  ): void {
    session.started(msgId);
    let result: ResultBody | Promise<ResultBody> | null;
    try {
      result = runQuery(this.dispatchHost, key, session, msgId, body);
    } catch (e) {
      result = this.failed(e);
    }
    if (!(result instanceof Promise)) {
      this.ended(key, session, msgId, result, release);
      return;
    }
    session.goesOn(msgId);
    result.then(
      (r) => this.ended(key, session, msgId, r, release),
      (e) => this.ended(key, session, msgId, this.failed(e), release),
    );
  }

  private failed(e: unknown): null {
    this.log(`query failed unexpectedly (${(e as Error)?.message})`);
    return null;
  }

  /** A query ended (`result` null: it failed unexpectedly and gets no answer): its answer goes. */
  private ended(
    key: AuthKeyRecord,
    session: DcSession,
    msgId: bigint,
    result: ResultBody | null,
    release: (() => void) | null,
  ): void {
    try {
      release?.();
      session.ended(msgId, result !== null && !isRpcError(result));
      if (result === null || session.dropped.delete(msgId)) return;
      // The usual case answers at once, without the closures that faults need.
      if (this.faults.replyDelayMs <= 0 && this.faults.reorderCount <= 0) {
        this.deliver(key, session, msgId, result);
        return;
      }
      const deliver = () => this.deliver(key, session, msgId, result);
      if (this.faults.replyDelayMs > 0) {
        this.io.setTimer(() => this.safely(() => this.hold(deliver)), this.faults.replyDelayMs);
      } else {
        this.hold(deliver);
      }
    } catch (e) {
      this.log(`answering ${msgId} failed unexpectedly (${(e as Error)?.message})`);
    }
  }

  /** Queues the answer to `msgId` (unless its session is gone) and sends it this turn. */
  private deliver(key: AuthKeyRecord, session: DcSession, msgId: bigint, result: ResultBody): void {
    if (this.stopped || key.sessions.get(session.sessionId) !== session) return;
    try {
      if (session.answer(msgId, result, this.clock())) this.stats.gzipped++;
    } catch (e) {
      // A handler's raw answer that is no TL object (not whole words, over 1 MiB).
      this.log(
        `answer to ${msgId} refused by the message layer (${(e as { code?: string }).code ?? 'error'})`,
      );
      session.answer(msgId, rpcErrorBody(500, 'INTERNAL_SERVER_ERROR'), this.clock());
    }
    this.flushSoon(session);
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

  /** Sends every held answer now (reordering ends). */
  flushHeld(): void {
    const held = this.held.reverse();
    this.held = [];
    for (const d of held) d();
  }

  /** Counts a query that ran twice (execution-log.ts says which count as the same). */
  private recordExecution(e: Execution): void {
    this.stats.executed++;
    if (this.executions.add(e)) return;
    this.stats.duplicates++;
    this.log(`query ${e.msgId} (${e.method}) ran twice`);
  }

  /** Pushes `updates` to every session logged in as `userId`, in each one's layer; returns how many. */
  pushToUser(userId: bigint, updates: TL.Types['Updates']): number {
    let n = 0;
    // Serialized once per form: the current layer's, and layer 198's for older clients.
    const bodies = new Map<boolean, Buffer>();
    for (const s of [...this.select({ userId })]) {
      const form = updatesForLayer(updates, s.layer);
      const legacy = Buffer.isBuffer(form);
      let body = bodies.get(legacy);
      if (!body) {
        body = legacy ? form : TL.serialize(form);
        bodies.set(legacy, body);
      }
      this.pushTo(s, body);
      n++;
    }
    return n;
  }

  pushTo(s: DcSession, body: Buffer): void {
    s.push(body, this.clock());
    this.flush(s);
  }

  /**
   * Sends what `s` has due at the end of the read being handled (onRead), else at the end
   * of this turn: the answers of every query a read brought (and their acks) go out in one
   * transmit, so one packet and one write per connection rather than one per answer.
   */
  private flushSoon(s: DcSession): void {
    const defer = this.io.defer;
    if (!defer && this.reading === 0) {
      this.flush(s);
      return;
    }
    this.dirty.add(s);
    // Within a read, its end sends (onRead).
    if (this.reading > 0 || this.flushScheduled) return;
    this.flushScheduled = true;
    defer!(() => {
      this.flushScheduled = false;
      this.flushDirty();
    });
  }

  private flushDirty(): void {
    const due = [...this.dirty];
    this.dirty.clear();
    for (const d of due) this.safely(() => this.flush(d));
  }

  /** Sends whatever the session has due on its connection and arms its wake-up. */
  private flush(s: DcSession): void {
    if (this.stopped) return;
    this.dirty.delete(s);
    const conn = this.attached.get(s);
    if (!conn || conn.closed) {
      this.disarm(s);
      return;
    }
    const now = this.clock();
    const scratch = conn.writesPending ? this.scratch.get() : undefined;
    const t = s.transmit(now, scratch);
    if (conn.sendInPlace && t.packets.some((p) => p.length >= IN_PLACE_MIN)) {
      // A file part among them: each goes on its own, in order, the large ones framed in place.
      for (const p of t.packets) {
        if (p.length >= IN_PLACE_MIN) conn.sendInPlace(p);
        else conn.send(p);
      }
    } else if (t.packets.length === 1 || (t.packets.length > 1 && !conn.sendMany)) {
      for (const p of t.packets) conn.send(p);
    } else if (t.packets.length > 1) {
      conn.sendMany!(t.packets);
    }
    this.stats.packetsOut += t.packets.length;
    if (scratch) this.scratch.written(conn.writesPending?.() === true);
    if (t.deadline !== undefined) this.arm(s, t.deadline, now);
  }

  /**
   * Arms the session's wake-up for `deadline` unless one as early is armed already.
   * Lazily: a wake-up that comes early finds nothing due and arms the next, which
   * costs less than clearing and setting a timer on every flush (the message layer's
   * deadline moves with each answer it sends).
   */
  private arm(s: DcSession, deadline: number, now: number): void {
    const armed = this.timers.get(s);
    if (armed && armed.at <= deadline) return;
    if (armed) this.io.clearTimer(armed.handle);
    const entry = { handle: undefined as unknown, at: deadline };
    entry.handle = this.io.setTimer(
      () => {
        if (this.timers.get(s) === entry) this.timers.delete(s);
        this.safely(() => this.flush(s));
      },
      Math.max(0, deadline - now),
    );
    this.timers.set(s, entry);
  }

  private disarm(s: DcSession): void {
    const armed = this.timers.get(s);
    if (!armed) return;
    this.io.clearTimer(armed.handle);
    this.timers.delete(s);
  }
}

/** A session that asked for no updates (invokeWithoutUpdates only) gets none, unless named. */
function takesUpdates(target: SessionSelector, s: DcSession): boolean {
  return s.wantsUpdates !== false || (typeof target === 'object' && target.sessionId !== undefined);
}

function selects(target: SessionSelector, key: AuthKeyRecord, s: DcSession): boolean {
  if (target === 'all') return true;
  if (typeof target === 'bigint') return key.authKeyId === target;
  if (target.authKeyId !== undefined && target.authKeyId !== key.authKeyId) return false;
  if (target.sessionId !== undefined && target.sessionId !== s.sessionId) return false;
  if (target.userId !== undefined && key.userId !== BigInt(target.userId)) return false;
  return true;
}

/** The random_ids each account ran, per method (refuseRandomIdRepeats); the last 100,000. */
export class RandomIdLog {
  private readonly seen = new Set<string>();
  /** False when `id` ran before; otherwise it is recorded. */
  claim(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > 100_000) {
      let drop = 10_000;
      for (const old of this.seen) {
        this.seen.delete(old);
        if (--drop === 0) break;
      }
    }
    return true;
  }
}

// The I/O shell of one session's connection: a TCP socket, the native MtpLink
// (one MTProto session + transport codec, sans-IO), the link's deadline timer,
// keepalive and reconnection. Protocol decisions live in the link (crates/mtcore);
// this file moves bytes, maps answers to waiting requests and reports events.

import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { type LinkReceive, MtpLink } from '../native';
import * as TL from '../tl';
import { RpcError } from '../tl';
import { openSocket, proxyFailureCode } from '../transport';
import { aborted, linkFailure } from './call-errors';
import { type Flushable, flushAtTurnEnd, flushSoonAfter } from './flush-queues';
import { wrapInit } from './init-connection';
import type { Notify } from './notify';
import { type ChainedTo, Outbox, type Outgoing } from './outbox';
import type { PendingRequests } from './pending';
import { type AttemptLimiter, backoffDelay } from './reconnect';
import {
  BIND_REQUEST,
  type Body,
  checkBody,
  SERVICE_QUERIES,
  UPDATES,
  withoutUpdates,
} from './request-bodies';
import { attach, frameScratch, type SocketOwner, socketReads } from './socket-glue';
import { type Alarm, timers, type Wakeable } from './timers';
import { FloodCounter, transportFailure } from './transport-errors';
import {
  type SessionAddress,
  SessionError,
  type SessionEvent,
  type SessionId,
  type SessionOpenOptions,
  type SessionTransportOptions,
} from './types';

type LinkEvent = LinkReceive['events'][number];

export type { Outgoing } from './outbox';

/** Where a chained call went: filled in by the driver that queues it (see chains.ts). */
export interface ChainHandle extends ChainedTo {
  driver?: Driver;
}

export interface RequestOptions {
  /** Reject with TIMEOUT (and drop the answer) after this many ms. */
  timeoutMs?: number;
  /** Abort: reject with ABORTED (and drop the answer). */
  signal?: AbortSignal;
  /** A chained call: `self` is filled in; it runs after `after` (invokeAfterMsg) while that is unanswered here. */
  chain?: { self: ChainHandle; after: ChainHandle | null };
  /**
   * An upload.file answer's bytes go here, from its start, as the link decrypts them (if
   * they fit); the result's `bytes` is then a view of it. A download's part lands in its
   * place without a Buffer of its own. The caller must not touch it until the call settles.
   */
  into?: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** Batches of the link's events taken in one turn before the rest waits for the next one (8 x 1,024). */
const DRAIN_BATCHES = 8;

/**
 * How long the transport may hold an unfinished frame with no further bytes. A stream
 * that lost its framing (garbage read as a length) would otherwise wait forever for
 * bytes that never come; after this the connection is dropped and re-established.
 */
export const FRAME_STALL_MS = 5_000;

/**
 * How long a frame may take from its first byte to its last: at least 35 KB/s for the
 * largest (1 MiB) frame, far below any real connection to a DC.
 */
export const FRAME_DEADLINE_MS = 30_000;

export interface DriverConfig {
  sessionId: SessionId;
  dcId: number;
  /** The dc value of the obfuscated2 header (+10000 test). */
  wireDcId: number;
  /** Where the DC is, in the order to try (the first that connects is kept). */
  addresses: readonly SessionAddress[];
  transport: SessionTransportOptions;
  authKey: Buffer;
  salt: bigint;
  /** ms */
  timeOffset: number;
  options: SessionOpenOptions;
  notify: Notify;
  limiter: AttemptLimiter;
  /**
   * Asked before every transmit: false means nothing may leave under this key any
   * more (a stored session whose lease may have run out). The owner then stops the
   * connection; the driver sends nothing.
   */
  mayTransmit?(): boolean;
  /** Each update (an `Updates` object) that arrives on this connection. */
  onUpdate?(update: TL.Types['Updates']): void;
  /** The server created a new MTProto session for this connection (new_session_created). */
  onSessionCreated?(): void;
  /** Wrap every request in invokeWithoutUpdates (a pool's extra connections). */
  withoutUpdates?: boolean;
  /** A transport error the owner handles itself (a pool's -404 on a temporary key): true to skip the default. */
  onTransportError?(code: number): boolean;
  /** Called once when the driver closes or fails (a pool forgets it). */
  onClosed?(): void;
}

export type DriverStatus = 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'failed';

export class Driver implements Wakeable, SocketOwner, Flushable {
  readonly link: MtpLink;
  /** What this connection has queued to send and what it waits for. */
  private readonly outbox: Outbox;
  status: DriverStatus = 'connecting';
  /** initConnection went out on the current connection. */
  initSent = false;
  initEverSent = false;
  private socket: net.Socket | null = null;
  /** The link's deadline (ms) and the next keepalive, both served by the shared `timers`. */
  private timerAt = Number.POSITIVE_INFINITY;
  private keepaliveAt = Number.POSITIVE_INFINITY;
  private alarm: Alarm | null = null;
  private flushScheduled = false;
  private attempt = 0;
  /** The address (of `config.addresses`) that connected last. */
  private addressAt = 0;
  private floodPenalty = 0;
  /** -429s in a row (the backoff grows with them). */
  readonly floods = new FloodCounter();
  private lastReceived = Date.now();
  private pongWaiters: Map<bigint, () => void> | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  /** Events the link still holds are taken on the next turn (see onData). */
  private draining = false;
  /** When the unfinished frame got its first byte (0: none unfinished). */
  private frameSince = 0;
  private readyWaiter: { resolve(): void; reject(e: unknown): void } | null = null;

  constructor(readonly config: DriverConfig) {
    const t = config.transport;
    this.link = new MtpLink(config.authKey, {
      transport: {
        kind: t.kind ?? 'intermediate',
        obfuscated: t.obfuscated || t.secret !== undefined,
        secret: typeof t.secret === 'string' ? Buffer.from(t.secret, 'hex') : t.secret,
        dcId: config.wireDcId,
      },
      salt: config.salt,
      timeOffset: config.timeOffset,
    });
    this.outbox = new Outbox({
      cancel: (msgId) => this.link.cancel(msgId),
      live: () => this.status !== 'closed' && this.status !== 'failed',
      flushDue: () => this.scheduleFlush(),
    });
  }

  /** Calls sent and not yet answered (a pool takes them over when a key is lost). */
  get pending(): PendingRequests {
    return this.outbox.pending;
  }

  get authKey(): Buffer {
    return this.config.authKey;
  }

  private get limiterKey(): string {
    const a = this.config.addresses[this.addressAt];
    return `${a.host}:${a.port}`;
  }

  private emit(e: SessionEvent): void {
    this.config.notify(e);
  }

  // --- Lifecycle ---

  /**
   * Connects and checks the key with a ping; rejects (leaving nothing behind) otherwise.
   * Bounded by `connectTimeoutMs`, and by `deadline` (local ms) when an open is under way.
   */
  async start(deadline = Number.POSITIVE_INFINITY): Promise<void> {
    const timeoutMs = this.config.options.connectTimeoutMs ?? 10_000;
    const until = Math.min(deadline, Date.now() + timeoutMs);
    const ready = new Promise<void>((resolve, reject) => {
      this.readyWaiter = { resolve, reject };
    });
    const timer = setTimeout(
      () => this.failStart(new SessionError('CONNECT_FAILED', `not ready within ${timeoutMs} ms`)),
      Math.max(0, until - Date.now()),
    );
    try {
      const release = await this.config.limiter.acquire(this.limiterKey);
      try {
        await Promise.race([this.connectSocket(until), ready]);
      } finally {
        release();
      }
      const pingId = randomBytes(8).readBigUInt64LE(0);
      this.pongWaiters = new Map([[pingId, () => this.readyWaiter?.resolve()]]);
      this.link.enqueuePing(pingId, Date.now());
      this.flushNow();
      await ready;
      this.status = 'connected';
      this.startKeepalive();
      this.emit({ kind: 'connected', sessionId: this.config.sessionId, dcId: this.config.dcId });
    } catch (e) {
      // Dead for good: a connection attempt still under way is dropped when it lands.
      this.status = 'closed';
      this.shutdown();
      throw e instanceof SessionError
        ? e
        : new SessionError('CONNECT_FAILED', String((e as Error)?.message ?? e), e);
    } finally {
      clearTimeout(timer);
      this.readyWaiter = null;
      this.pongWaiters = null;
    }
  }

  private failStart(e: SessionError): void {
    this.readyWaiter?.reject(e);
  }

  /**
   * A socket to the first of the DC's addresses that connects, starting with the one
   * that worked last; by `until` (local ms), shared fairly among the addresses left.
   */
  private async connectSocket(until = Number.POSITIVE_INFINITY): Promise<void> {
    const o = this.config.options;
    const list = this.config.addresses;
    let socket: net.Socket | null = null;
    let failure: SessionError | null = null;
    for (let i = 0; i < list.length && !socket; i++) {
      const at = (this.addressAt + i) % list.length;
      const left = until - Date.now();
      const share = Math.max(1000, Math.floor(left / (list.length - i)));
      try {
        // Directly or through o.proxy; the fake-TLS handshake of an `ee` secret,
        // its hello stamped on the server's clock as this session learned it
        // (an MTProxy refuses hellos ~20 min off its own clock).
        socket = await openSocket(list[at], {
          proxy: o.proxy,
          secret: this.config.transport.secret,
          timeoutMs: Math.min(o.connectTimeoutMs ?? 10_000, share),
          onread: socketReads(),
          timeOffsetMs: this.link.timeOffset,
        });
        this.addressAt = at;
      } catch (e) {
        const code = proxyFailureCode(e) ?? 'CONNECT_FAILED';
        // openSocket's messages name the target (and the proxy), never credentials.
        failure = new SessionError(code, (e as Error).message, e);
        // A proxy that refuses our credentials refuses them for every address.
        if (code === 'PROXY_AUTH_FAILED' || code === 'MTPROXY_REJECTED') break;
      }
      if (this.status === 'closed' || this.status === 'failed') break;
    }
    if (!socket) throw failure ?? new SessionError('CONNECT_FAILED', 'no address to connect to');
    if (this.status === 'closed' || this.status === 'failed') {
      socket.destroy();
      throw new SessionError('SESSION_CLOSED', 'closed while connecting');
    }
    this.attachSocket(socket);
    socket.resume();
  }

  private attachSocket(socket: net.Socket): void {
    this.socket = socket;
    this.initSent = false;
    this.lastReceived = Date.now();
    attach(socket, this);
  }

  /** Whether `socket` is the current connection (for the shared socket listeners). */
  isSocket(socket: net.Socket): boolean {
    return this.socket === socket;
  }

  onSocketClosed(socket: net.Socket): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.onDisconnect({ code: 'CONNECTION_LOST', message: 'the connection closed' });
  }

  private onDisconnect(reason: { code: string; message: string }): void {
    this.readyWaiter?.reject(new SessionError('CONNECT_FAILED', reason.message));
    if (this.status !== 'connected' && this.status !== 'reconnecting') return;
    this.emit({ kind: 'disconnected', sessionId: this.config.sessionId, reason });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.status === 'closed' || this.status === 'failed') return;
    this.status = 'reconnecting';
    const ro = this.config.options.reconnect ?? {};
    if (this.attempt >= (ro.maxAttempts ?? Number.POSITIVE_INFINITY)) {
      this.fail(new SessionError('NOT_CONNECTED', `gave up after ${this.attempt} reconnection attempts`));
      return;
    }
    const delayMs = backoffDelay(this.attempt + this.floodPenalty, ro);
    this.attempt++;
    this.emit({ kind: 'reconnecting', sessionId: this.config.sessionId, attempt: this.attempt, delayMs });
    const t = setTimeout(() => void this.reconnect(), delayMs);
    this.reconnectTimer = t;
  }

  private reconnectTimer: NodeJS.Timeout | null = null;

  private async reconnect(): Promise<void> {
    this.reconnectTimer = null;
    if (this.status !== 'reconnecting') return;
    const release = await this.config.limiter.acquire(this.limiterKey);
    try {
      await this.connectSocket();
    } catch {
      release();
      return this.scheduleReconnect();
    }
    release();
    // Same MTProto session on the new connection; ask the server what it has of
    // what is in flight instead of re-sending blindly (mtproto/service_messages_about_messages).
    this.link.reconnect();
    this.link.requestState(Date.now());
    this.status = 'connected';
    this.attempt = 0;
    this.floodPenalty = 0;
    this.emit({
      kind: 'connected',
      sessionId: this.config.sessionId,
      dcId: this.config.dcId,
      reconnect: true,
    });
    this.flushNow();
  }

  /** A fatal condition: no reconnection; every pending request fails with `error`. */
  fail(error: SessionError): void {
    if (this.status === 'closed' || this.status === 'failed') return;
    this.status = 'failed';
    this.readyWaiter?.reject(error);
    this.shutdown();
    this.settleAll(error);
    this.config.onClosed?.();
  }

  /** Stops everything; pending requests fail with SESSION_CLOSED (or `error`). */
  close(error = new SessionError('SESSION_CLOSED', 'the session was closed')): void {
    // A failed connection has stopped already (and keeps saying why).
    if (this.status === 'closed' || this.status === 'failed') return;
    this.status = 'closed';
    this.shutdown();
    this.settleAll(error);
    this.config.onClosed?.();
  }

  private settleAll(error: SessionError): void {
    // Raw messages that never went out: closed, or the connection failed.
    const unsent =
      this.status === 'failed'
        ? new SessionError('NOT_CONNECTED', 'the connection failed before the message was sent', error)
        : new SessionError('SESSION_CLOSED', 'closed before the message was sent', error);
    this.outbox.settleAll(error, unsent);
  }

  private shutdown(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    this.reconnectTimer = null;
    timers.cancel(this.alarm);
    this.alarm = null;
    this.timerAt = this.keepaliveAt = this.alarmAt = Number.POSITIVE_INFINITY;
    const s = this.socket;
    this.socket = null;
    s?.destroy();
  }

  // --- Keepalive (ping_delay_disconnect: the server closes a silent connection) ---

  private startKeepalive(): void {
    const interval = this.config.options.keepalive?.intervalMs ?? 60_000;
    if (interval <= 0) return;
    this.keepaliveAt = Date.now() + interval;
    this.schedule();
  }

  private keepaliveTick(now: number): void {
    const k = this.config.options.keepalive ?? {};
    const interval = k.intervalMs ?? 60_000;
    const delay = k.disconnectDelay ?? 75;
    this.keepaliveAt = now + interval;
    if (this.status !== 'connected' || !this.socket) return;
    if (now - this.lastReceived > interval + delay * 1000) {
      // Nothing heard for longer than the server would wait: the connection is dead.
      this.socket.destroy();
      return;
    }
    this.link.enqueuePing(randomBytes(8).readBigUInt64LE(0), now, delay);
    this.flushNow();
  }

  // --- Timers (one shared wheel: see timers.ts) ---

  /** Due time of this driver's alarm in the wheel. */
  private alarmAt = Number.POSITIVE_INFINITY;

  /** Makes sure the wheel wakes us at the earlier of the deadline and the keepalive. */
  private schedule(): void {
    const at = Math.min(this.timerAt, this.keepaliveAt);
    if (at >= this.alarmAt) return;
    timers.cancel(this.alarm);
    this.alarmAt = at;
    this.alarm = at === Number.POSITIVE_INFINITY ? null : timers.add(this, at);
  }

  /** Called by the wheel. */
  wake(now: number): void {
    this.alarm = null;
    this.alarmAt = Number.POSITIVE_INFINITY;
    if (this.status === 'closed' || this.status === 'failed') return;
    if (this.keepaliveAt <= now) this.keepaliveTick(now);
    if (this.timerAt <= now) {
      this.timerAt = Number.POSITIVE_INFINITY;
      this.flushNow();
    }
    this.schedule();
  }

  // --- Sending ---
  //
  // Bodies wait here, in JS, until the flush: one `transmit(now, bodies)` per flush
  // takes them all down and brings their msg_ids back (one native crossing per
  // direction). A call aborted before the flush just leaves the queue.

  /**
   * Sends a raw serialized body; resolves with its msg_id once it went to the socket.
   * Rejects with SessionError (SESSION_CLOSED, NOT_CONNECTED, BAD_MESSAGE).
   */
  send(body: Body): Promise<bigint> {
    const refused = this.refusal() ?? checkBody(body);
    if (refused) return Promise.reject(refused);
    return this.outbox.raw(body);
  }

  /** Requests and raw messages not answered or not sent yet: this connection's load. */
  get outstanding(): number {
    return this.outbox.outstanding;
  }

  /** Why nothing can be queued now (closed or failed), or null. */
  private refusal(): SessionError | null {
    if (this.status === 'closed') return new SessionError('SESSION_CLOSED', 'the session is closed');
    if (this.status === 'failed') return new SessionError('NOT_CONNECTED', 'the session failed');
    return null;
  }

  /** Sends a request; resolves with its decoded result, rejects with RpcError / SessionError. */
  request(request: TL.TlObject, options: RequestOptions = {}): Promise<unknown> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(aborted(signal));
    let body: Body;
    // initConnection goes with the first API query; service queries (ping...) go bare.
    const wrap = !this.initSent && this.status === 'connected' && !SERVICE_QUERIES.has(request._);
    try {
      // An extra connection of a pool asks for no updates: they come once, on the main one.
      let query = request;
      if (this.config.withoutUpdates && !SERVICE_QUERIES.has(request._)) query = withoutUpdates(query);
      if (wrap) query = wrapInit(query, this.config.options.init);
      // Large `bytes` (an upload part) stay in the caller's Buffer until the flush.
      body = TL.serializeParts(query);
    } catch (e) {
      return Promise.reject(new SessionError('BAD_MESSAGE', (e as Error).message, e));
    }
    const tooLong = checkBody(body);
    if (tooLong) return Promise.reject(tooLong);
    if (wrap) this.initSent = this.initEverSent = true;
    const chain = options.chain;
    if (chain) chain.self.driver = this;
    return this.outbox.call(request, body, options);
  }

  /** Takes back what has not gone to the link yet (a lost key: it goes again elsewhere). */
  takeQueued(): Outgoing[] {
    return this.outbox.takeQueued();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    if (this.outbox.pending.size === 0) {
      // Nothing in flight (a call after the last one was answered): out before the event
      // loop turns, with whatever this burst of microtasks queues (no idle wait).
      flushSoonAfter(this);
    } else {
      // Calls in flight: their answers come in several reads of this turn, and what their
      // continuations send shares one transmit, packets and containers at the turn's end.
      flushAtTurnEnd(this);
    }
  }

  /** Runs the flush `scheduleFlush` promised (called by `flushAll`). */
  flushScheduledNow(): void {
    this.flushScheduled = false;
    this.flushNow();
  }

  private flushNow(): void {
    const socket = this.socket;
    if (!socket || socket.destroyed || this.status === 'closed' || this.status === 'failed') return;
    if (this.config.mayTransmit && !this.config.mayTransmit()) return;
    const now = Date.now();
    const batch = this.outbox.queued;
    let out: ReturnType<MtpLink['transmit']>;
    // A file part (a body in pieces) is framed into the shared scratch, not a Buffer of its own.
    const scratch = batch.some((q) => Array.isArray(q.body)) ? frameScratch.get() : undefined;
    try {
      const bodies = batch.length === 0 ? undefined : batch.map((q) => q.body);
      out = this.link.transmit(now, bodies, this.outbox.chained(batch), scratch);
    } catch (e) {
      // ERR_LINK_BROKEN: a fatal event is being handled; the reconnect flushes (the
      // bodies stay queued: the link took none of them).
      this.badData('SEND_FAILED', (e as Error).message);
      return;
    }
    this.outbox.takeQueued();
    // Asked again right before the write: a process frozen (SIGSTOP, a stall) between the
    // first check and here would otherwise write, on waking, a frame it checked before
    // its lease ran out. The window left is the few microseconds from this check to the
    // write system call, which no check in the process can close (only the receiver could
    // fence); such a frame carries msg_ids stamped before the freeze.
    if (this.config.mayTransmit && !this.config.mayTransmit()) {
      this.outbox.refused(
        batch,
        new SessionError('LEASE_LOST', 'the lease ran out before the message was written'),
      );
      return;
    }
    if (out.frame) socket.write(out.frame);
    else if (out.placed && scratch) {
      socket.write(scratch.subarray(out.placed[0], out.placed[1]));
      frameScratch.written(socket.writableLength > 0);
    }
    this.outbox.sent(batch, out.msgIds);
    this.arm(out.deadline ?? undefined);
  }

  private arm(deadline: number | undefined): void {
    if (deadline === undefined || deadline >= this.timerAt) return;
    this.timerAt = deadline;
    this.schedule();
  }

  // --- Receiving ---

  onData(chunk: Buffer): void {
    // One receive hands out at most 1,024 events; what a bigger packet brought waits in
    // the link and is taken batch after batch: a few here, the rest on the next turns,
    // so that RPC answers, timers and other sockets get their turn in between.
    let deadline = this.receiveOnce(chunk);
    for (let n = 1; deadline !== false && this.link.waiting > 0 && n < DRAIN_BATCHES; n++) {
      deadline = this.receiveOnce(EMPTY);
    }
    if (deadline === false) return;
    if (this.link.waiting > 0 && !this.draining) {
      this.draining = true;
      setImmediate(() => {
        this.draining = false;
        if (this.status !== 'closed' && this.status !== 'failed') this.onData(EMPTY);
      });
    }
    this.watchStall();
    // What the link must send at once (a re-send after bad_server_salt, a state answer)
    // goes in this burst; acks wait for their deadline (the link's ack delay) or for the
    // next request, which carries them: no packet of its own per answer received.
    if (deadline !== undefined && deadline <= Date.now()) this.scheduleFlush();
    else this.arm(deadline);
  }

  /**
   * One native receive and its events; returns the link's deadline, or false when the
   * link threw (the socket is dropped).
   */
  private receiveOnce(data: Buffer): number | undefined | false {
    let events: LinkEvent[];
    let deadline: number | undefined;
    try {
      const sinks = this.outbox.pending.sinks();
      const r = sinks
        ? this.link.receive(data, Date.now(), sinks[0], sinks[1])
        : this.link.receive(data, Date.now());
      events = r.events;
      deadline = r.deadline ?? undefined;
    } catch (e) {
      this.badData('RECEIVE_FAILED', (e as Error).message);
      this.socket?.destroy();
      return false;
    }
    // Alive is what sends whole messages: bytes trickled one at a time keep nothing alive.
    if (events.length > 0) this.lastReceived = Date.now();
    for (const e of events) {
      try {
        this.onEvent(e);
      } catch (err) {
        this.badData('EVENT_FAILED', (err as Error).message);
      }
    }
    return deadline;
  }

  /**
   * Arms (or clears) the stalled-frame timer after the bytes just received: an unfinished
   * frame must get bytes every FRAME_STALL_MS, and be whole within FRAME_DEADLINE_MS of
   * its first byte (a server trickling a frame a byte at a time holds nothing for long).
   */
  private watchStall(): void {
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = null;
    const socket = this.socket;
    // Whole frames held behind waiting events are ours to read, not the peer's to finish.
    if (!socket || this.link.buffered === 0 || this.link.waiting > 0) {
      this.frameSince = 0;
      return;
    }
    const now = Date.now();
    if (this.frameSince === 0) this.frameSince = now;
    const frameTimeout = this.config.options.frameTimeoutMs ?? FRAME_DEADLINE_MS;
    const deadline = this.frameSince + frameTimeout;
    const stalled = now + FRAME_STALL_MS < deadline;
    this.stallTimer = setTimeout(
      () => {
        this.stallTimer = null;
        if (this.socket !== socket) return;
        this.frameSince = 0;
        const why = stalled
          ? `an unfinished frame got no bytes for ${FRAME_STALL_MS} ms`
          : `a frame was not whole ${frameTimeout} ms after its first byte`;
        this.badData('FRAME_STALLED', why);
        socket.destroy();
      },
      Math.max(0, Math.min(now + FRAME_STALL_MS, deadline) - now),
    );
    this.stallTimer.unref();
  }

  private badData(code: string, message: string): void {
    this.emit({ kind: 'badData', sessionId: this.config.sessionId, code, message });
  }

  private onEvent(e: LinkEvent): unknown {
    const sessionId = this.config.sessionId;
    switch (e.kind) {
      case 'rpcResult': {
        this.emit({ kind: 'rpcResult', sessionId, msgId: e.reqMsgId, body: e.body });
        const p = this.outbox.take(e.reqMsgId);
        if (!p) return;
        let value: unknown;
        try {
          value = TL.deserializeResult(p.request as never, e.body);
          // The bytes went to the call's sink (upload.file, RequestOptions.into).
          if (e.sunk !== undefined && p.into) (value as { bytes: Buffer }).bytes = p.into.subarray(0, e.sunk);
        } catch (err) {
          if (!(err instanceof RpcError)) this.badData('BAD_RESULT', (err as Error).message);
          return p.reject(err);
        }
        return p.resolve(value);
      }
      case 'rpcError': {
        this.emit({ kind: 'rpcError', sessionId, msgId: e.reqMsgId, code: e.code, message: e.message });
        const p = this.outbox.take(e.reqMsgId);
        if (!p) return;
        return p.reject(RpcError.from(e.code, e.message));
      }
      case 'message':
        return this.onMessage(e.msgId, e.seqno, e.body);
      case 'resent':
        return this.outbox.pending.remap(e.oldMsgId, e.newMsgId);
      case 'failed': {
        const p = this.outbox.take(e.msgId);
        if (!p) return;
        return p.reject(linkFailure(e.reason, e.errorCode));
      }
      case 'saltChanged':
        return this.emit({ kind: 'saltChanged', sessionId, salt: e.salt });
      case 'sessionCreated':
        // new_session_created: what the server pushed before may be lost (api/updates).
        return this.config.onSessionCreated?.();
      case 'pong': {
        const w = this.pongWaiters?.get(e.pingId);
        if (w) {
          this.pongWaiters?.delete(e.pingId);
          w();
        }
        // A `ping` the application called: the pong is its answer.
        const p = this.outbox.take(e.msgId);
        if (!p) return;
        return p.resolve({ _: 'pong', msgId: e.msgId, pingId: e.pingId });
      }
      case 'dropped':
        return this.badData(`DROPPED_${e.reason}`, e.detail);
      case 'transportError':
        return this.onTransportError(e.code, e.reason);
      case 'fatal':
        this.badData(e.code, e.message);
        this.socket?.destroy();
        return;
      default:
        return;
    }
  }

  /** Transport errors (mtproto/mtproto-transports#transport-errors); see transport-errors.ts. */
  private onTransportError(code: number, reason: string): void {
    const sessionId = this.config.sessionId;
    if (this.config.onTransportError?.(code)) return;
    const err = transportFailure(code);
    if (err) {
      // -404 (the key is unknown: a new key is the caller's decision), -444 (bad DC id):
      // reconnecting would only hear the same again.
      this.emit({ kind: 'disconnected', sessionId, reason: { code: err.code, message: err.message } });
      this.fail(err);
      return;
    }
    if (code === -429) {
      // Too many connections: back off harder, more so after each -429 in a row.
      this.floodPenalty = this.floods.hit(Date.now());
      this.readyWaiter?.reject(
        new SessionError('TRANSPORT_FLOOD', 'the server refused the connection (-429)'),
      );
    }
    this.badData(`TRANSPORT_${-code}`, `transport error ${code} (${reason})`);
  }

  /**
   * auth.bindTempAuthKey binding this connection's (temporary) key to `permKey`, never
   * wrapped in initConnection: the link builds the query, whose encrypted_message names
   * the msg_id the link stamps (crates/mtcore/src/mtp/bind.rs).
   */
  requestBind(permKey: Buffer, nonce: bigint, expiresAt: number, timeoutMs?: number): Promise<unknown> {
    if (this.status === 'closed' || this.status === 'failed') {
      return Promise.reject(new SessionError('NOT_CONNECTED', 'the connection is gone'));
    }
    let msgId: bigint;
    try {
      msgId = this.link.bindTempKey(permKey, nonce, expiresAt, Date.now());
    } catch (e) {
      return Promise.reject(new SessionError('BAD_MESSAGE', (e as Error).message, e));
    }
    this.scheduleFlush();
    return this.outbox.awaitAnswer(msgId, BIND_REQUEST, timeoutMs);
  }

  /** The next request on every connection carries initConnection again (after a rebinding: api/pfs). */
  resetInit(): void {
    this.initSent = false;
  }

  private onMessage(msgId: bigint, seqno: number, body: Buffer): void {
    const sessionId = this.config.sessionId;
    let object: TL.TlObject | undefined;
    try {
      object = TL.deserialize(body);
    } catch (err) {
      this.badData('BAD_MESSAGE', (err as Error).message);
    }
    this.emit({ kind: 'message', sessionId, msgId, seqno, body, object });
    if (object && UPDATES.has(object._)) {
      const update = object as TL.Types['Updates'];
      this.emit({ kind: 'update', sessionId, update });
      this.config.onUpdate?.(update);
    }
  }
}

// What one connection has to send and what it waits for: the bodies queued for the next
// flush (calls, raw messages, rpc_drop_answer notices) and the calls sent and not yet
// answered, by msg_id. A call's timeout and abort are handled here: a call still queued
// just leaves the queue; one already sent is forgotten by the link and the server is
// told to drop its answer. The driver owns the socket and the link; it takes a batch
// from here at each flush and reports what the link did with it.

import type * as TL from '../tl';
import { aborted, timedOut } from './call-errors';
import { type Pending, PendingRequests } from './pending';
import { type Body, dropAnswerBody } from './request-bodies';
import type { SessionError } from './types';

/** A request or a raw message waiting for the flush. */
export interface Outgoing {
  readonly body: Body;
  /** A call: pending under its msg_id once sent. */
  readonly call: Pending | null;
  /** A raw message: told its msg_id once sent. */
  readonly sent: { resolve(msgId: bigint): void; reject(e: unknown): void } | null;
  /** A call of a chain: runs on the server only after this earlier call (invokeAfterMsg). */
  readonly after: ChainedTo | null;
}

/** A call of a chain as the outbox sees it: its pending entry once queued (see chains.ts). */
export interface ChainedTo {
  pending?: Pending;
}

/** What the outbox needs of its connection. */
export interface OutboxHost {
  /** The link forgets a request it sent (its answer, if it comes, is not decoded). */
  cancel(msgId: bigint): void;
  /** Whether notices to the server may still be queued (the connection is not closed or failed). */
  live(): boolean;
  /** Something was queued: a flush is due. */
  flushDue(): void;
}

export interface CallTracking {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** A chained call: its handle is filled in; it runs after `after`. */
  chain?: { self: ChainedTo; after: ChainedTo | null };
  /** Where an upload.file answer may put its bytes (RequestOptions.into). */
  into?: Buffer;
}

export class Outbox {
  /** Calls sent and not yet answered, by msg_id. */
  readonly pending = new PendingRequests();
  private queue: Outgoing[] = [];
  /** Entries of `queue` that are notices to the server (rpc_drop_answer), not calls. */
  private queuedNotices = 0;

  constructor(private readonly host: OutboxHost) {}

  /** Requests and raw messages not answered or not sent yet: the connection's load. */
  get outstanding(): number {
    return this.pending.size + this.queue.length - this.queuedNotices;
  }

  /** What the next flush takes, in order. */
  get queued(): readonly Outgoing[] {
    return this.queue;
  }

  /** A serialized call: resolves with its decoded result, rejects with its error, TIMEOUT or ABORTED. */
  call(request: TL.TlObject, body: Body, o: CallTracking): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const p: Pending = { request, resolve, reject, into: o.into };
      const timeoutMs = o.timeoutMs;
      if (timeoutMs !== undefined) p.timer = setTimeout(() => this.giveUp(p, timedOut(timeoutMs)), timeoutMs);
      const signal = o.signal;
      if (signal) {
        const onAbort = () => this.giveUp(p, aborted(signal));
        signal.addEventListener('abort', onAbort, { once: true });
        p.resolve = (v) => {
          signal.removeEventListener('abort', onAbort);
          resolve(v);
        };
        p.reject = (e) => {
          signal.removeEventListener('abort', onAbort);
          reject(e);
        };
      }
      if (o.chain) o.chain.self.pending = p;
      this.queue.push({ body, call: p, sent: null, after: o.chain?.after ?? null });
      this.host.flushDue();
    });
  }

  /** A raw body: resolves with its msg_id once it went to the socket. */
  raw(body: Body): Promise<bigint> {
    return new Promise((resolve, reject) => {
      this.queue.push({ body, call: null, sent: { resolve, reject }, after: null });
      this.host.flushDue();
    });
  }

  /** The answer to a request the link queued itself as `msgId` (the binding). */
  awaitAnswer(msgId: bigint, request: TL.TlObject, timeoutMs?: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const p: Pending = { request, resolve, reject };
      if (timeoutMs !== undefined) p.timer = setTimeout(() => this.giveUp(p, timedOut(timeoutMs)), timeoutMs);
      this.pending.add(msgId, p);
    });
  }

  /**
   * The caller no longer wants `p` (a timeout, an abort): a call still queued just leaves
   * the queue; one already sent is forgotten by the link and the server is told to drop
   * its answer (rpc_drop_answer), so a late answer neither crosses the network nor is
   * decoded.
   */
  private giveUp(p: Pending, error: SessionError): void {
    const id = this.pending.remove(p);
    if (id !== undefined) {
      if (p.timer) clearTimeout(p.timer);
      this.host.cancel(id);
      this.dropAnswer(id);
    } else {
      const i = this.queue.findIndex((q) => q.call === p);
      if (i < 0) return; // settled already
      this.queue.splice(i, 1);
      if (p.timer) clearTimeout(p.timer);
    }
    p.reject(error);
  }

  /** rpc_drop_answer for `msgId` (mtproto/service_messages#cancellation-of-an-rpc-query); its own answer is not awaited. */
  private dropAnswer(msgId: bigint): void {
    if (!this.host.live()) return;
    this.queue.push({ body: dropAnswerBody(msgId), call: null, sent: null, after: null });
    this.queuedNotices++;
    this.host.flushDue();
  }

  /** Takes back what has not gone to the link yet (a lost key: it goes again elsewhere). */
  takeQueued(): Outgoing[] {
    const q = this.queue;
    this.queue = [];
    this.queuedNotices = 0;
    return q;
  }

  /** The link took `batch` (what `queued` held) under these msg_ids: calls now wait for answers. */
  sent(batch: readonly Outgoing[], msgIds: readonly bigint[]): void {
    for (let i = 0; i < batch.length; i++) {
      const q = batch[i];
      if (q.call) this.pending.add(msgIds[i], q.call);
      else q.sent?.resolve(msgIds[i]);
    }
  }

  /** `batch` will not be written (the lease ran out before the write): each fails with `error`. */
  refused(batch: readonly Outgoing[], error: SessionError): void {
    for (const q of batch) {
      if (q.call?.timer) clearTimeout(q.call.timer);
      (q.call ?? q.sent)?.reject(error);
    }
  }

  /** Answers of `msgId` settle its call here; undefined when nothing waits for it. */
  take(msgId: bigint): Pending | undefined {
    const p = this.pending.take(msgId);
    if (p?.timer) clearTimeout(p.timer);
    return p;
  }

  /** Every waiting call fails with `error`; raw messages never sent fail with `unsent`. */
  settleAll(error: SessionError, unsent: SessionError): void {
    for (const [, p] of this.pending.drain()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(error);
    }
    for (const q of this.takeQueued()) {
      if (q.call) {
        if (q.call.timer) clearTimeout(q.call.timer);
        q.call.reject(error);
      } else q.sent?.reject(unsent);
    }
  }

  /**
   * For each queued call of a chain, the call it waits for: its msg_id when it is still
   * unanswered here, its index when it goes in this same batch; nothing when it is
   * answered (or elsewhere: chains.ts waits for such a one before sending).
   */
  chained(batch: readonly Outgoing[]): Array<bigint | number | null> | undefined {
    let out: Array<bigint | number | null> | undefined;
    let index: Map<Pending, number> | undefined;
    for (let i = 0; i < batch.length; i++) {
      const prev = batch[i].after?.pending;
      if (!prev) continue;
      out ??= new Array<bigint | number | null>(batch.length).fill(null);
      if (prev.msgId !== undefined && this.pending.has(prev.msgId)) {
        out[i] = prev.msgId;
        continue;
      }
      if (!index) {
        index = new Map();
        for (let j = 0; j < batch.length; j++) {
          const c = batch[j].call;
          if (c) index.set(c, j);
        }
      }
      const j = index.get(prev);
      if (j !== undefined && j < i) out[i] = j;
    }
    return out;
  }
}

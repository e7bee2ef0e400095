// One client session as the server keeps it: the native MtpLink without a transport
// (whole packets: TestDc's connections frame for themselves), in server mode (decryption, every check of a Telegram server answered with bad_msg_notification /
// bad_server_salt, new_session_created, acks, containers, gzip, msgs_state_req) plus
// the service requests a server answers itself (ping, ping_delay_disconnect,
// get_future_salts, destroy_session). Sans-IO: packets and time in, packets and the
// client's queries out; the DC runs the queries and hands the answers back.

import { gzipSync } from 'node:zlib';
import {
  type LinkTransportEvent,
  MAX_FRAME_HEADER_ROOM,
  MAX_FRAME_TRAILER_ROOM,
  type MtpEvent,
  MtpLink,
} from '../native';
import * as TL from '../tl';
import type { FutureSalt, SaltSchedule } from './salts';

// Service constructors answered here (https://core.telegram.org/schema/mtproto).
const PING = 0x7abe77ec;
const PING_DELAY_DISCONNECT = 0xf3427b8c;
const GET_FUTURE_SALTS = 0xb921bd04;
const DESTROY_SESSION = 0xe7512126;
const PONG = 0x347773c5;
const FUTURE_SALTS = 0xae500895;
const DESTROY_SESSION_OK = 0xe22045fc;
const DESTROY_SESSION_NONE = 0x62d350c9;
const RPC_RESULT = 0xf35c6d01;
const RPC_ERROR = 0x2144ca19;
const GZIP_PACKED = 0x3072cfa1;
const EMPTY = Buffer.alloc(0);
/**
 * Results never packed: file bytes (upload.file#096a18d5, upload.cdnFile#a99fca4f) do not
 * shrink, and trying costs more than sending them.
 */
const NEVER_PACKED = new Set([0x096a18d5, 0xa99fca4f]);

/**
 * The free bytes a session's packets have around them, the most any transport's frame
 * needs: a connection frames a large packet where it lies (TransportCodec.encodeInPlace),
 * without a copy or a Buffer of its own.
 */
export const PACKET_ROOM = { before: MAX_FRAME_HEADER_ROOM, after: MAX_FRAME_TRAILER_ROOM } as const;

/** A query of the client, to be run by the DC. */
export interface IncomingQuery {
  msgId: bigint;
  body: Buffer;
}

/** What one client packet brought. */
export interface SessionInput {
  queries: IncomingQuery[];
  /** ping_delay_disconnect: close the connection this many seconds from now unless renewed. */
  disconnectDelay?: number;
  /** bad_msg_notification / bad_server_salt sent back, by code. */
  rejected: Array<{ msgId: bigint; code: number }>;
  /** What the native layer dropped (duplicates, undecodable messages...). */
  dropped: Array<{ reason: string; msgId?: bigint; detail: string }>;
  /** This packet opened the session (new_session_created was queued). */
  created: boolean;
}

export interface DcSessionOptions {
  authKey: Buffer;
  authKeyId: bigint;
  sessionId: bigint;
  salts: SaltSchedule;
  /** The DC's clock minus the local clock (ms): a skewed server. */
  timeOffset: number;
  now: number;
  /** Results larger than this go gzip_packed (Telegram does so for large answers). */
  gzipAbove: number;
  /** destroy_session: removes another session of the same key; true if it existed. */
  destroySession: (sessionId: bigint) => boolean;
  /** The DC's local clock (ms; default Date.now). */
  clock?: () => number;
}

/** Data recorded from initConnection (its query aside). */
export type InitConnectionInfo = Record<string, unknown> & { apiId: number };

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}

function u64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
}

function tlString(s: string | Buffer): Buffer {
  const data = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const head =
    data.length < 254
      ? Buffer.from([data.length])
      : Buffer.concat([Buffer.from([254]), u32(data.length).subarray(0, 3)]);
  const pad = (4 - ((head.length + data.length) % 4)) % 4;
  return Buffer.concat([head, data, Buffer.alloc(pad)]);
}

/** The least body length of a service request answered here (0 for other constructors). */
function serviceBodyLength(ctor: number): number {
  switch (ctor) {
    case PING:
    case DESTROY_SESSION:
      return 12;
    case PING_DELAY_DISCONNECT:
      return 16;
    case GET_FUTURE_SALTS:
      return 8;
    default:
      return 0;
  }
}

/** The moment (ms since the epoch) a msg_id names. */
export function msgIdTimeMs(msgId: bigint): number {
  return Number(msgId >> 32n) * 1000 + Number(((msgId & 0xffffffffn) * 1000n) >> 32n);
}

/**
 * A query's result as serialized: one Buffer, or its pieces in order (a file part's
 * bytes left where they were: TL.serializeResultParts), which the link joins.
 */
export type ResultBody = TL.Serialized;

/** Whether a result body is an rpc_error (the constructor id is always in the first piece). */
export function isRpcError(result: ResultBody): boolean {
  const head = Array.isArray(result) ? result[0] : result;
  return head !== undefined && head.length >= 4 && head.readUInt32LE(0) === RPC_ERROR;
}

/** rpc_error as a result body. */
export function rpcErrorBody(code: number, message: string): Buffer {
  return Buffer.concat([u32(RPC_ERROR), u32(code), tlString(message)]);
}

/**
 * The last answers sent (request id, answer id, seq_no, bytes), for rpc_drop_answer: a ring
 * of typed arrays, cheap to write for every answer and searched only when asked.
 */
class AnswerRing {
  private readonly ids = new BigUint64Array(ANSWER_RING * 2);
  private readonly bytes = new Int32Array(ANSWER_RING);
  private at = 0;

  add(reqMsgId: bigint, msgId: bigint, bytes: number): void {
    const slot = this.at++ % ANSWER_RING;
    this.ids[slot * 2] = BigInt.asUintN(64, reqMsgId);
    this.ids[slot * 2 + 1] = msgId;
    this.bytes[slot] = bytes;
  }

  take(reqMsgId: bigint): { msgId: bigint; bytes: number } | null {
    const want = BigInt.asUintN(64, reqMsgId);
    for (let i = 0; i < this.ids.length; i += 2) {
      if (this.ids[i] !== want || this.ids[i + 1] === 0n) continue;
      const found = { msgId: this.ids[i + 1], bytes: this.bytes[i / 2] };
      this.ids[i + 1] = 0n;
      return found;
    }
    return null;
  }
}

const ANSWER_RING = 4096;

/** rpc_result's constructor and req_msg_id, written for each answer (answer). */
const RESULT_HEAD = Buffer.alloc(12);
RESULT_HEAD.writeUInt32LE(RPC_RESULT, 0);

/** Ended queries remembered for invokeAfterMsg. */
const DONE_RING = 4096;
/** Entries kept by a bookkeeping map (failed queries, unacknowledged answers). */
const KEPT = 4096;

export class DcSession {
  readonly authKeyId: bigint;
  readonly sessionId: bigint;
  readonly mtp: MtpLink;
  /** invokeWithLayer's layer, once seen. */
  layer?: number;
  /** initConnection's parameters, once seen. */
  initConnection?: InitConnectionInfo;
  /** Queries answered so far. */
  answered = 0;
  /**
   * Whether the client wants updates on this session: false once it sent only queries
   * wrapped in invokeWithoutUpdates, true after any other query (api/invoking).
   */
  wantsUpdates: boolean | undefined;
  /**
   * Queries being run, by msg_id: what invokeAfterMsg waits for and rpc_drop_answer finds;
   * with whoever waits for each to end (null while nobody does: the usual case).
   */
  private readonly running = new Map<bigint, Array<() => void> | null>();
  /** Running queries whose answer the client dropped (rpc_drop_answer). */
  readonly dropped = new Set<bigint>();
  /**
   * The last queries that ended, for invokeAfterMsg: a ring of their ids (cheap to write
   * for every query; searched only when a query names one) and the failed ones.
   */
  private readonly done = new BigUint64Array(DONE_RING);
  private doneAt = 0;
  private readonly failedQueries = new Map<bigint, true>();
  /** invokeAfterMsg waiting for a query that has not arrived yet. */
  private readonly arrivals = new Map<bigint, Array<() => void>>();
  /** Answers sent and not acknowledged yet: what rpc_drop_answer can still drop. */
  private readonly answers = new AnswerRing();
  private readonly salts: SaltSchedule;
  private saltsVersion = -1;
  /** The server second syncSalts last looked at the schedule (it changes at most once a second). */
  private saltsCheckedAt = Number.NaN;
  private readonly gzipAbove: number;
  private readonly destroy: (sessionId: bigint) => boolean;
  private readonly clock: () => number;
  /** The link's time offset, kept here too: read on every message, set only by setTimeOffset. */
  private offset: number;

  constructor(o: DcSessionOptions) {
    this.authKeyId = o.authKeyId;
    this.sessionId = o.sessionId;
    this.salts = o.salts;
    this.gzipAbove = o.gzipAbove;
    this.destroy = o.destroySession;
    this.clock = o.clock ?? Date.now;
    this.offset = o.timeOffset;
    const nowS = Math.floor((o.now + o.timeOffset) / 1000);
    this.mtp = new MtpLink(o.authKey, {
      server: true,
      serverChecks: true,
      sessionId: o.sessionId,
      salt: o.salts.current(nowS),
      timeOffset: o.timeOffset,
      headroom: PACKET_ROOM.before,
      tailroom: PACKET_ROOM.after,
    });
    this.syncSalts(o.now);
  }

  /** The server clock of this session (ms). */
  serverNow(now: number): number {
    return now + this.offset;
  }

  /**
   * Skews the server's clock (ms ahead of the local clock; negative: behind). Forward
   * jumps apply at once. A clock turned back stops at the time of the last msg_id this
   * session sent: server msg_ids must keep increasing within a session
   * (https://core.telegram.org/mtproto/description#message-identifier-msg-id), and a
   * session whose checks ran on an earlier clock than its own ids would answer 17 with
   * ids that carry the later one, which no client can sync to. So a busy session keeps
   * its clock (its client needs no repair), an idle one takes the skew as far as its
   * last id allows, and sessions opened later take it whole.
   */
  setTimeOffset(offset: number, now = this.clock()): void {
    const last = this.mtp.lastMsgId;
    const floor = last > 0n ? msgIdTimeMs(last) - now : Number.NEGATIVE_INFINITY;
    this.offset = Math.max(offset, Math.min(floor, this.offset));
    this.mtp.timeOffset = this.offset;
    this.saltsVersion = -1;
    this.saltsCheckedAt = Number.NaN;
  }

  /** Gives the native layer the salts valid now when the schedule changed. */
  syncSalts(now: number): void {
    const nowS = Math.floor(this.serverNow(now) / 1000);
    // Within one second only a rotation (a fault) changes the schedule: skip the scan.
    if (nowS === this.saltsCheckedAt && this.salts.version === this.saltsVersion) return;
    this.saltsCheckedAt = nowS;
    const all = this.salts.all(nowS);
    if (this.salts.version === this.saltsVersion) return;
    this.saltsVersion = this.salts.version;
    this.mtp.setFutureSalts(
      all.map((s: FutureSalt) => ({ validSince: s.validSince, validUntil: s.validUntil, salt: s.salt })),
      now,
    );
  }

  /**
   * Decrypts and checks one packet of the client, answering service requests at once.
   * `bodies`: where large query bodies may be copied (query-bodies.ts), by the first
   * receive only: a second would write over what the first handed out.
   */
  receive(packet: Buffer, now: number, bodies?: Buffer): SessionInput {
    this.syncSalts(now);
    const out: SessionInput = { queries: [], rejected: [], dropped: [], created: false };
    // A packet may carry more events than one call hands out: the rest wait in the link.
    for (let data = packet, scratch = bodies; ; data = EMPTY, scratch = undefined) {
      for (const e of this.mtp.receive(data, now, undefined, undefined, scratch).events)
        this.onEvent(e, now, out);
      if (this.mtp.waiting === 0) break;
    }
    return out;
  }

  private onEvent(e: MtpEvent | LinkTransportEvent, now: number, out: SessionInput): void {
    switch (e.kind) {
      case 'message':
        this.onMessage(e.msgId, e.body, now, out);
        break;
      case 'rejected':
        out.rejected.push({ msgId: e.msgId, code: e.errorCode });
        break;
      case 'sessionCreated':
        out.created = true;
        break;
      case 'dropped':
        out.dropped.push({ reason: e.reason, msgId: e.msgId, detail: e.detail });
        break;
      default:
        // acks, state answers, resends: the native layer did what they need.
        break;
    }
  }

  private onMessage(msgId: bigint, body: Buffer, now: number, out: SessionInput): void {
    const ctor = body.length >= 4 ? body.readUInt32LE(0) : 0;
    // Service requests too short to read go to the DC like any query (it answers INPUT_FETCH_ERROR).
    const short = serviceBodyLength(ctor);
    if (body.length < short) {
      out.queries.push({ msgId, body });
      return;
    }
    switch (ctor) {
      case PING:
      case PING_DELAY_DISCONNECT: {
        // Spec: pong answers the ping's msg_id and ping_id; ping_delay_disconnect also
        // (re)arms a timer that closes the connection after disconnect_delay seconds.
        this.mtp.enqueue(Buffer.concat([u32(PONG), u64(msgId), body.subarray(4, 12)]), now);
        if (ctor === PING_DELAY_DISCONNECT) out.disconnectDelay = body.readInt32LE(12);
        return;
      }
      case GET_FUTURE_SALTS: {
        const num = Math.min(64, Math.max(1, body.readInt32LE(4)));
        const nowS = Math.floor(this.serverNow(now) / 1000);
        const salts = this.salts.future(nowS, num);
        this.syncSalts(now);
        const parts = [u32(FUTURE_SALTS), u64(msgId), u32(nowS), u32(salts.length)];
        for (const s of salts) parts.push(u32(s.validSince), u32(s.validUntil), u64(s.salt));
        this.mtp.enqueue(Buffer.concat(parts), now);
        return;
      }
      case DESTROY_SESSION: {
        const target = body.readBigUInt64LE(4);
        // A session cannot destroy itself (spec: destroy_session about another session).
        const existed = target !== this.sessionId && this.destroy(target);
        this.mtp.enqueue(
          Buffer.concat([u32(existed ? DESTROY_SESSION_OK : DESTROY_SESSION_NONE), u64(target)]),
          now,
        );
        return;
      }
      default:
        out.queries.push({ msgId, body });
    }
  }

  /**
   * Queues rpc_result for the client's query `reqMsgId` (`result`: the serialized result or
   * rpc_error); true when it went gzip_packed.
   */
  answer(reqMsgId: bigint, result: ResultBody, now: number): boolean {
    const head = Array.isArray(result) ? result[0] : result;
    const length = TL.serializedLength(result);
    const ctor = head !== undefined && head.length >= 4 ? head.readUInt32LE(0) : 0;
    let payload = result;
    let payloadLength = length;
    if (length > this.gzipAbove && ctor !== RPC_ERROR && !NEVER_PACKED.has(ctor)) {
      const whole = Array.isArray(result) ? Buffer.concat(result, length) : result;
      const packed = Buffer.concat([u32(GZIP_PACKED), tlString(gzipSync(whole))]);
      if (packed.length < length) {
        payload = packed;
        payloadLength = packed.length;
      }
    }
    this.answered++;
    // rpc_result#f35c6d01 req_msg_id:long result:Object: a head before the result's
    // pieces, joined by the link in the copy it keeps (so one head serves every answer).
    RESULT_HEAD.writeBigUInt64LE(BigInt.asUintN(64, reqMsgId), 4);
    const msgId = this.mtp.enqueue(
      Array.isArray(payload) ? [RESULT_HEAD, ...payload] : [RESULT_HEAD, payload],
      now,
    );
    this.answers.add(reqMsgId, msgId, 12 + payloadLength);
    return payload !== result;
  }

  /** A query arrived and starts running: invokeAfterMsg waiting for it to arrive go on. */
  started(msgId: bigint): void {
    if (this.arrivals.size === 0) return;
    const waiting = this.arrivals.get(msgId);
    if (!waiting) return;
    this.arrivals.delete(msgId);
    for (const w of waiting) w();
  }

  /**
   * A started query goes on past this turn (it awaits something). Only such a query can
   * be seen running: one that ends in the turn it started ends before anything else runs.
   */
  goesOn(msgId: bigint): void {
    this.running.set(msgId, null);
  }

  /** A query ended: with a result (`ok`) or an rpc_error. invokeAfterMsg waiting for it go on. */
  ended(msgId: bigint, ok: boolean): void {
    this.done[this.doneAt++ % DONE_RING] = msgId;
    if (!ok) this.remember(this.failedQueries, msgId, true);
    if (this.running.size === 0) return;
    const waiting = this.running.get(msgId);
    this.running.delete(msgId);
    if (waiting) for (const w of waiting) w();
  }

  /** Whether the query `msgId` is running now. */
  isRunning(msgId: bigint): boolean {
    return this.running.has(msgId);
  }

  private hasEnded(msgId: bigint): boolean {
    return this.done.includes(msgId);
  }

  /**
   * What invokeAfterMsg(`msgId`) must wait for: resolves with how that query ended once
   * it did ('ok' or 'failed'), or 'timeout' when it did not arrive within `timeoutMs`.
   */
  async predecessor(msgId: bigint, timeoutMs: number): Promise<'ok' | 'failed' | 'timeout'> {
    if (!this.running.has(msgId) && !this.hasEnded(msgId)) {
      const came = await new Promise<boolean>((resolve) => {
        const list = this.arrivals.get(msgId) ?? [];
        const timer = setTimeout(() => resolve(false), timeoutMs);
        list.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
        this.arrivals.set(msgId, list);
      });
      if (!came) {
        this.arrivals.delete(msgId);
        return 'timeout';
      }
    }
    if (this.running.has(msgId)) {
      await new Promise<void>((resolve) => {
        const waiting = this.running.get(msgId) ?? [];
        waiting.push(resolve);
        this.running.set(msgId, waiting);
      });
    }
    return this.failedQueries.has(msgId) ? 'failed' : 'ok';
  }

  /**
   * rpc_drop_answer of `reqMsgId`'s answer: the answer sent and not acknowledged yet is
   * taken back (the client will not be sent it again); null when there is none.
   */
  dropSentAnswer(reqMsgId: bigint): { msgId: bigint; seqNo: number; bytes: number } | null {
    const a = this.answers.take(reqMsgId);
    const seqNo = a && this.mtp.seqnoOf(a.msgId);
    return a && seqNo != null && this.mtp.cancel(a.msgId) ? { msgId: a.msgId, seqNo, bytes: a.bytes } : null;
  }

  /** Keeps the last few thousand entries of a bookkeeping map (the older half dropped at once). */
  private remember<V>(map: Map<bigint, V>, key: bigint, value: V): void {
    map.set(key, value);
    if (map.size <= 2 * KEPT) return;
    let drop = map.size - KEPT;
    for (const k of map.keys()) {
      if (drop-- <= 0) break;
      map.delete(k);
    }
  }

  /** Queues a message of the server's own (an update), content-related. */
  push(body: Buffer, now: number): bigint {
    return this.mtp.enqueue(body, now);
  }

  /**
   * Everything due now, encrypted; and when to call again. Each packet is a view with
   * PACKET_ROOM free bytes around it (Link.sendInPlace frames it there), in `scratch`
   * while they fit, then in memory of its own.
   */
  transmit(now: number, scratch?: Buffer): { packets: Buffer[]; deadline?: number } {
    this.syncSalts(now);
    const t = this.mtp.transmit(now, undefined, undefined, scratch);
    const { before, after } = PACKET_ROOM;
    const packets: Buffer[] = [];
    const placed = t.placed;
    if (placed && scratch) {
      for (let i = 0; i < placed.length; i += 2)
        packets.push(scratch.subarray(placed[i] + before, placed[i + 1] - after));
    }
    for (const p of t.packets ?? []) packets.push(p.subarray(before, p.length - after));
    return { packets, deadline: t.deadline };
  }

  /** The session moved to another connection: what the client may have missed goes again. */
  reattached(): void {
    this.mtp.resendPending();
  }
}

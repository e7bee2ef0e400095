// HostileServer: a raw MTProto server for tests of what a client does with input no
// honest server sends. It shares a known auth key with the client (import it with
// `Session.open(dc, client, { address, import: { authKey, serverSalt } })`), decrypts
// and decodes what the client sends, answers pings and msgs_state_req by itself, and
// sends any plaintext the test builds as a server message: msg_ids, seqnos, salts and
// session ids included, or bytes that are not a message at all. Unlike TestDc it
// checks nothing and keeps no session state beyond the client's session_id.
//
// Plaintext layout (core.telegram.org/mtproto/description#encrypted-message-encrypted-data):
// salt:long session_id:long msg_id:long seq_no:int message_data_length:int message_data.
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { decryptMessage, encryptMessage, mtpMsgIdAt, TransportCodec, type TransportOptions } from '../native';
import * as TL from '../tl';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, n));
  return b;
};

/** A TL object as `TL.serialize` takes it. */
export type TlObjectLike = { _: string; [field: string]: unknown };

/** One message the client sent (containers taken apart, wrappers looked through). */
export interface HostileQuery {
  /** The salt of the packet it came in. */
  salt: bigint;
  msgId: bigint;
  seqno: number;
  /** The decoded message, or undefined when it does not decode. */
  object: { _: string; [field: string]: unknown } | undefined;
  /** The innermost query's name (through invokeWithLayer, initConnection, ...). */
  method: string | undefined;
  /** The innermost query. */
  query: { _: string; [field: string]: unknown } | undefined;
}

export interface HostileServerOptions {
  /** 256 bytes (default: random). */
  authKey?: Buffer;
  /** The salt to give the client to import (the server never checks salts). */
  serverSalt?: bigint;
  /** Transport (server role); default: whatever the client speaks. */
  transport?: Omit<TransportOptions, 'role'>;
  /**
   * Called for every message of the client before the built-in answers (pong to
   * ping, msgs_state_info to msgs_state_req, nearestDc to help.getNearestDc);
   * return true to suppress them.
   */
  onQuery?: (query: HostileQuery, server: HostileServer) => boolean | undefined;
}

export interface HostileSendOptions {
  msgId?: bigint;
  /** Default 1 (content-related); even for service messages. */
  seqno?: number;
  salt?: bigint;
  sessionId?: bigint;
}

/** Bodies a hostile test builds often (all serialized, boxed). */
export const hostileBodies = {
  rpcResult(reqMsgId: bigint, result: Buffer | TlObjectLike): Buffer {
    const r = Buffer.isBuffer(result) ? result : TL.serialize(result as TL.TlObject);
    return Buffer.concat([u32(0xf35c6d01), u64(reqMsgId), r] as Uint8Array[]);
  },
  /** msg_copy#e06046b2 orig_message:Message (a bare `message`). */
  msgCopy(msgId: bigint, seqno: number, body: Buffer): Buffer {
    return Buffer.concat([u32(0xe06046b2), u64(msgId), u32(seqno), u32(body.length), body] as Uint8Array[]);
  },
  /** msg_container of (msg_id, seqno, body) items. */
  container(items: Array<{ msgId: bigint; seqno: number; body: Buffer }>): Buffer {
    const parts: Uint8Array[] = [u32(0x73f1f8dc), u32(items.length)];
    for (const it of items) parts.push(u64(it.msgId), u32(it.seqno), u32(it.body.length), it.body);
    return Buffer.concat(parts);
  },
  gzipPacked: (body: Buffer): Buffer => TL.gzipPack(body),
};

/** A server msg_id (odd) for `ms`, above `last`. */
function serverMsgId(ms: number, last: bigint): bigint {
  const id = mtpMsgIdAt(ms) | 1n;
  return id > last ? id : last + 4n;
}

export class HostileServer {
  readonly host = '127.0.0.1';
  port = 0;
  readonly authKey: Buffer;
  readonly serverSalt: bigint;
  /** The client's session_id, from its first packet. */
  sessionId: bigint | null = null;
  /** Every message the client sent, in order. */
  readonly queries: HostileQuery[] = [];
  /** Connections accepted so far. */
  connections = 0;
  /** Server clock offset (ms) for the msg_ids `nextMsgId` makes. */
  clockOffsetMs = 0;
  onQuery: HostileServerOptions['onQuery'];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private current: { socket: Socket; codec: TransportCodec } | null = null;
  private lastMsgId = 0n;
  private readonly seen = new Set<bigint>();
  private waiters: Array<{ pred: (q: HostileQuery) => boolean; resolve: (q: HostileQuery) => void }> = [];

  private constructor(options: HostileServerOptions) {
    this.authKey = options.authKey ?? randomBytes(256);
    this.serverSalt = options.serverSalt ?? randomBytes(8).readBigUInt64LE();
    this.onQuery = options.onQuery;
    const transport = options.transport ?? {};
    this.server = createServer((socket) => this.accept(socket, transport));
  }

  static async start(options: HostileServerOptions = {}): Promise<HostileServer> {
    const s = new HostileServer(options);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.port = (s.server.address() as { port: number }).port;
    return s;
  }

  /** What `Session.open`'s `import` takes. */
  get importOptions(): { authKey: Buffer; serverSalt: bigint } {
    return { authKey: this.authKey, serverSalt: this.serverSalt };
  }

  /** A server msg_id for the moment `ms` (odd), without moving `nextMsgId` on. */
  msgIdAt(ms: number): bigint {
    return mtpMsgIdAt(ms) | 1n;
  }

  /** A fresh server msg_id (odd, increasing, on the server clock). */
  nextMsgId(atMs = Date.now() + this.clockOffsetMs): bigint {
    this.lastMsgId = serverMsgId(atMs, this.lastMsgId);
    return this.lastMsgId;
  }

  /** Encrypts `body` as one server message on the current connection; returns its msg_id. */
  send(body: Buffer, options: HostileSendOptions = {}): bigint {
    const msgId = options.msgId ?? this.nextMsgId();
    const plain = Buffer.concat([
      u64(options.salt ?? this.serverSalt) as Uint8Array,
      u64(options.sessionId ?? this.sessionId ?? 0n),
      u64(msgId),
      u32(options.seqno ?? 1),
      u32(body.length),
      body,
    ]);
    this.sendPlaintext(plain);
    return msgId;
  }

  /** Encrypts any plaintext (header included, see the layout above) and frames it. */
  sendPlaintext(plain: Buffer): void {
    this.sendPacket(encryptMessage(this.authKey, plain, true));
  }

  /** Frames `packet` as it is (an encrypted message, a 4-byte transport error, junk). */
  sendPacket(packet: Buffer): void {
    const c = this.current;
    if (!c || c.socket.destroyed) throw new Error('no client connected');
    c.socket.write(c.codec.encode(packet));
  }

  /**
   * Frames `packet` and writes the frame a few bytes at a time, one piece every
   * `intervalMs` (a slowloris server); returns a function that stops it.
   */
  trickle(packet: Buffer, intervalMs: number, bytesPerTick = 1): () => void {
    const c = this.current;
    if (!c || c.socket.destroyed) throw new Error('no client connected');
    const frame = c.codec.encode(packet);
    let at = 0;
    const timer = setInterval(() => {
      if (c.socket.destroyed || at >= frame.length) return clearInterval(timer);
      c.socket.write(frame.subarray(at, at + bytesPerTick));
      at += bytesPerTick;
    }, intervalMs);
    return () => clearInterval(timer);
  }

  /** Encrypts `body` as a server message, without sending it (for `trickle`). */
  seal(body: Buffer, options: HostileSendOptions = {}): Buffer {
    const plain = Buffer.concat([
      u64(options.salt ?? this.serverSalt) as Uint8Array,
      u64(options.sessionId ?? this.sessionId ?? 0n),
      u64(options.msgId ?? this.nextMsgId()),
      u32(options.seqno ?? 1),
      u32(body.length),
      body,
    ]);
    return encryptMessage(this.authKey, plain, true);
  }

  /** Bytes straight to the socket, outside any frame. */
  sendRaw(bytes: Buffer): void {
    this.current?.socket.write(bytes);
  }

  /** A transport error code (-404, -429, -444, ...). */
  transportError(code: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(code);
    this.sendPacket(b);
  }

  /** rpc_result for the client's `reqMsgId`. */
  answer(reqMsgId: bigint, result: Buffer | TlObjectLike, options: HostileSendOptions = {}): bigint {
    return this.send(hostileBodies.rpcResult(reqMsgId, result), options);
  }

  /** The next client message matching `pred` (one already received counts). */
  waitFor(pred: (q: HostileQuery) => boolean, timeoutMs = 5_000): Promise<HostileQuery> {
    const found = this.queries.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no matching client message within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (q: HostileQuery) => {
        clearTimeout(timer);
        resolve(q);
      };
      this.waiters.push({ pred, resolve: done });
    });
  }

  /** The next call of `method` from now on. */
  nextCall(method: string, timeoutMs?: number): Promise<HostileQuery> {
    const after = this.queries.length;
    return this.waitFor((q) => q.method === method && this.queries.indexOf(q) >= after, timeoutMs);
  }

  /** Drops the current connection (the client reconnects). */
  dropConnection(): void {
    this.current?.socket.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket, transport: Omit<TransportOptions, 'role'>): void {
    this.connections++;
    this.sockets.add(socket);
    socket.setNoDelay(true);
    const codec = new TransportCodec({ ...transport, role: 'server' });
    this.current = { socket, codec };
    socket.on('error', () => {});
    socket.on('close', () => {
      this.sockets.delete(socket);
      if (this.current?.socket === socket) this.current = null;
    });
    socket.on('data', (chunk: Buffer) => {
      let events: ReturnType<TransportCodec['decode']>;
      try {
        events = codec.decode(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const e of events) if (e.kind === 'packet') this.onPacket(e.data, codec);
    });
  }

  private onPacket(data: Buffer, codec: TransportCodec): void {
    if (data.length < 24 || data.readBigUInt64LE(0) === 0n) return;
    // The padded transport may leave up to 15 random bytes after the blocks.
    const packet =
      codec.kind === 'padded' ? data.subarray(0, 24 + Math.floor((data.length - 24) / 16) * 16) : data;
    let plain: Buffer;
    try {
      plain = decryptMessage(this.authKey, packet, false);
    } catch {
      return;
    }
    this.sessionId ??= plain.readBigUInt64LE(8);
    const salt = plain.readBigUInt64LE(0);
    const msgId = plain.readBigUInt64LE(16);
    const seqno = plain.readUInt32LE(24);
    const body = plain.subarray(32, 32 + plain.readUInt32LE(28));
    let object: HostileQuery['object'];
    try {
      object = TL.deserialize(body) as HostileQuery['object'];
    } catch {
      object = undefined;
    }
    if (object?._ === 'msg_container') {
      for (const m of object.messages as Array<{
        msgId: bigint;
        seqno: number;
        body: HostileQuery['object'];
      }>) {
        this.onMessage(salt, m.msgId, m.seqno, m.body);
      }
    } else {
      this.onMessage(salt, msgId, seqno, object);
    }
  }

  private onMessage(salt: bigint, msgId: bigint, seqno: number, object: HostileQuery['object']): void {
    let query = object;
    while (query && typeof query.query === 'object' && query.query !== null && '_' in query.query) {
      query = query.query as HostileQuery['object'];
    }
    const q: HostileQuery = { salt, msgId, seqno, object, method: query?._, query };
    this.seen.add(msgId);
    this.queries.push(q);
    for (const w of this.waiters.filter((w) => w.pred(q))) {
      this.waiters = this.waiters.filter((x) => x !== w);
      w.resolve(q);
    }
    if (this.onQuery?.(q, this)) return;
    if (!this.current) return;
    switch (q.method) {
      case 'ping':
      case 'ping_delay_disconnect':
        this.send(TL.serialize({ _: 'pong', msgId, pingId: query?.pingId as bigint }));
        return;
      case 'msgs_state_req': {
        // 4: received, 2: not received (mtproto/service_messages_about_messages).
        const ids = (query?.msgIds as bigint[]) ?? [];
        const info = Buffer.from(ids.map((id) => (this.seen.has(id) ? 4 : 2)));
        this.send(TL.serialize({ _: 'msgs_state_info', reqMsgId: msgId, info }), {
          seqno: 2,
        });
        return;
      }
      case 'help.getNearestDc':
        this.answer(msgId, { _: 'nearestDc', country: 'XX', thisDc: 2, nearestDc: 2 });
        return;
    }
  }
}

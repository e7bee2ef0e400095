// The thin socket layer of TestDc: one TCP connection, its transport codec (any
// transport, obfuscated2 optional, detected from the client's first bytes), framing in
// and out, transport errors, and the ping_delay_disconnect timer. No protocol logic.
// With an `ee` MTProxy secret the connection starts with the fake-TLS handshake
// (the shared FakeTlsServer checks the ClientHello and answers it); the codec then
// reads the TLS records that follow.

import type { Socket } from 'node:net';
import { type FakeTlsServer, mtpMsgIdAt, TransportCodec, type TransportOptions } from '../native';
import { type DecodedStream, decodeShared } from '../transport/shared-decode';
import { PACKET_ROOM } from './dc-session';
import { HandshakeServer, type HandshakeServerOptions } from './server-handshake';

export interface ConnectionHandlers {
  /** One whole packet from the client (padding of the padded transport removed). */
  onPacket(conn: DcConnection, packet: Buffer, quickAck: boolean): void;
  /** Runs `handle`, which hands out the packets of one read (onPacket each), then sends what they produced. */
  onRead(conn: DcConnection, handle: () => void): void;
  onClose(conn: DcConnection): void;
  log(message: string): void;
}

let nextId = 1;

/**
 * Encrypted packets are lent to their session where decodeShared put them (decrypted in
 * place there, handled before the next read; what the session keeps it copies): neither
 * a file part nor a small query costs a Buffer of its own. V8 counts the bytes of every
 * new ArrayBuffer against the heap's limit, and one per uploaded part kept TestDc in full
 * collections. Plain ones (the key exchange) are copied out: a step may keep views of its
 * input.
 */
/** The largest frame a DC connection takes (the client's default bound too). */
const MAX_PACKET = 16 * 1024 * 1024;

/** The packet at `out[at, at + length)`: lent when encrypted, else copied. */
function packetAt(out: Buffer, at: number, length: number): Buffer {
  const view = out.subarray(at, at + length);
  return length >= 8 && view.readBigUInt64LE(0) !== 0n ? view : Buffer.from(view);
}

/** Removes what the padded intermediate transport may leave after a packet (0..15 random bytes). */
function trimPadding(packet: Buffer): Buffer {
  if (packet.length < 8) return packet;
  if (packet.readBigUInt64LE(0) === 0n) {
    // Plain: 20-byte header and the declared length.
    if (packet.length < 20) return packet;
    const end = 20 + packet.readUInt32LE(16);
    return end <= packet.length && packet.length - end < 16 ? packet.subarray(0, end) : packet;
  }
  // Encrypted: 24-byte header and whole AES blocks.
  if (packet.length < 24) return packet;
  return packet.subarray(0, 24 + Math.floor((packet.length - 24) / 16) * 16);
}

export class DcConnection {
  readonly id = nextId++;
  readonly handshake: HandshakeServer;
  /** Packets received on this connection. */
  packetsIn = 0;
  closed = false;
  private readonly codec: TransportCodec;
  private lastPlainId = 0n;
  private disconnectTimer: NodeJS.Timeout | undefined;
  /** Bytes of a ClientHello still being received (fake TLS), or null once answered. */
  private hello: Buffer | null;

  constructor(
    private readonly socket: Socket,
    codecOptions: TransportOptions,
    handshake: HandshakeServerOptions,
    private readonly handlers: ConnectionHandlers,
    /** `ee` mode: the shared hello checker and the server's clock (skew included) it checks against. */
    private readonly fakeTls?: { server: FakeTlsServer; now: () => number },
  ) {
    this.hello = fakeTls ? Buffer.alloc(0) : null;
    this.codec = new TransportCodec({ ...codecOptions, role: 'server' });
    this.handshake = new HandshakeServer(handshake);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) =>
      this.handlers.log(`conn ${this.id}: socket error ${(e as NodeJS.ErrnoException).code ?? ''}`),
    );
    socket.on('close', () => this.onClosed());
  }

  /** The DC the obfuscated2 header named (null for plain transports, or before it came). */
  get headerDcId(): number | null {
    return this.codec.dcId;
  }

  /** The transport the client chose, once known. */
  get transport(): string | null {
    return this.codec.kind === null
      ? null
      : `${this.codec.kind}${this.codec.obfuscated ? '+obfuscated2' : ''}${this.codec.fakeTls ? '+faketls' : ''}`;
  }

  /** Fake TLS: gathers the ClientHello and answers it; returns what follows it, or null. */
  private onHello(chunk: Buffer): Buffer | null {
    const received: Buffer = Buffer.concat([this.hello ?? Buffer.alloc(0), chunk]);
    let accepted: ReturnType<FakeTlsServer['accept']>;
    try {
      accepted = this.fakeTls!.server.accept(received, this.fakeTls!.now());
    } catch (e) {
      this.handlers.log(
        `conn ${this.id}: fake-TLS hello refused (${(e as { code?: string }).code ?? 'error'}), closing`,
      );
      this.destroy();
      return null;
    }
    if (accepted === null) {
      this.hello = received;
      return null;
    }
    this.hello = null;
    this.socket.write(accepted.answer);
    return received.subarray(accepted.consumed);
  }

  private onData(data: Buffer): void {
    if (this.closed) return;
    let chunk = data;
    if (this.hello !== null) {
      const rest = this.onHello(chunk);
      if (rest === null || rest.length === 0) return;
      chunk = rest;
    }
    try {
      this.handlers.onRead(this, () => decodeShared(this.codec, chunk, MAX_PACKET, this.decoded));
    } catch (e) {
      this.handlers.log(
        `conn ${this.id}: bad transport stream (${(e as { code?: string }).code ?? 'error'}), closing`,
      );
      this.destroy();
    }
  }

  /** What a decode hands out (transport/shared-decode.ts); a client's signals are not the DC's. */
  private readonly decoded: DecodedStream = {
    onDecodedPacket: (out, at, length, quickAck) => {
      this.packetsIn++;
      const data = packetAt(out, at, length);
      const packet = this.codec.kind === 'padded' ? trimPadding(data) : data;
      try {
        this.handlers.onPacket(this, packet, quickAck);
      } catch (e) {
        // A bug or an input nobody foresaw must not take TestDc down: drop the connection.
        this.handlers.log(`conn ${this.id}: packet handling failed (${(e as Error).message}), closing`);
        this.destroy();
      }
      return !this.closed;
    },
    onDecodedSignal: () => !this.closed,
  };

  /** Sends one packet (encrypted, or a plain message built by `sendPlain`). */
  send(packet: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(this.codec.encode(packet));
  }

  /**
   * Sends a session's packet framed where it lies: its header and trailer go in the
   * free bytes around it (PACKET_ROOM), so a file part is neither copied nor given a
   * Buffer of its own. Anything else, or a frame that needs more room (fake TLS
   * records of a large frame), is framed by copy as `send` does.
   */
  sendInPlace(packet: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    const { before, after } = PACKET_ROOM;
    const roomy =
      packet.byteOffset >= before && packet.buffer.byteLength - packet.byteOffset - packet.length >= after;
    let frame: Buffer | null = null;
    if (roomy) {
      const whole = Buffer.from(packet.buffer, packet.byteOffset - before, before + packet.length + after);
      try {
        const [start, end] = this.codec.encodeInPlace(whole, before, before + packet.length);
        frame = whole.subarray(start, end);
      } catch {
        // Refused before anything was written (the room is short): framed by copy below.
      }
    }
    this.socket.write(frame ?? this.codec.encode(packet));
  }

  /** Whether the socket still holds bytes it was given (the kernel did not take them whole). */
  writesPending(): boolean {
    return this.socket.writableLength > 0;
  }

  /** Sends several packets in one write. */
  sendMany(packets: Buffer[]): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(this.codec.encodeMany(packets));
  }

  /** Sends an unencrypted message (handshake answers) with a fresh server msg_id. */
  sendPlain(body: Buffer, serverNow: number): void {
    let id = mtpMsgIdAt(serverNow) | 1n;
    if (id <= this.lastPlainId) id = (this.lastPlainId & ~3n) + 5n;
    this.lastPlainId = id;
    const packet = Buffer.alloc(20 + body.length);
    packet.writeBigUInt64LE(id, 8);
    packet.writeUInt32LE(body.length, 16);
    body.copy(packet, 20);
    this.send(packet);
  }

  /** A transport error: a 4-byte packet holding a negative code such as -404. */
  sendTransportError(code: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(code);
    this.send(b);
  }

  /** Confirms a packet sent with the quick-ack flag (not possible in the full transport). */
  sendQuickAck(token: number): void {
    if (this.closed || this.socket.destroyed) return;
    try {
      this.socket.write(this.codec.quickAckAnswer(token));
    } catch {
      // The full transport has no quick acks (a client cannot have asked for one).
    }
  }

  /** Raw bytes on the socket, bypassing framing (garbage fault). */
  sendRaw(bytes: Buffer): void {
    if (!this.closed && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** ping_delay_disconnect: close `seconds` from now unless called again. */
  armDisconnect(seconds: number): void {
    clearTimeout(this.disconnectTimer);
    if (seconds <= 0) return;
    this.disconnectTimer = setTimeout(() => {
      this.handlers.log(`conn ${this.id}: ping_delay_disconnect delay passed, closing`);
      this.end();
    }, seconds * 1000);
    this.disconnectTimer.unref();
  }

  /** Closes after what was written is flushed. */
  end(): void {
    if (this.closed) return;
    this.socket.end();
    // A client that never closes its side does not keep the socket forever.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.markClosed();
  }

  /** Closes at once. */
  destroy(): void {
    if (this.closed && this.socket.destroyed) return;
    this.socket.destroy();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.disconnectTimer);
    this.handlers.onClose(this);
  }

  private onClosed(): void {
    this.markClosed();
  }
}

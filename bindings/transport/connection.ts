// One TCP connection carrying MTProto packets: a net.Socket with the native
// TransportCodec (client role) on it. It knows nothing of what the packets
// hold: the handshake sends plain messages over it, sessions encrypted ones.
//
// Receiving is allocation-light: every chunk is decoded into one buffer shared by
// the process (shared-decode.ts), so the only allocation per packet is the copy
// handed to the caller, or none with `borrowPackets`.
import { connect as netConnect, type Socket } from 'node:net';
import { TransportCodec } from '../native';
import { describeTransportCode, TransportConnectionError } from './errors';
import { isFakeTlsSecret, secretTransportKind } from './fake-tls';
import { openSocket, type ProxyOptions } from './proxy';
import type { ConnectError } from './proxy-errors';
import { type DecodedStream, decodeShared } from './shared-decode';

export type TransportKind = 'abridged' | 'intermediate' | 'padded' | 'full';

export interface TransportConnectOptions {
  host: string;
  port: number;
  /** The transport ('padded' is padded intermediate). Default 'intermediate' ('padded' for a dd/ee secret). */
  kind?: TransportKind;
  /** Wrap in obfuscated2 (implied by `secret`; not available with 'full'). */
  obfuscated?: boolean;
  /** MTProxy secret: 16 bytes, 0xdd + 16 bytes or 0xee + 16 bytes + domain (padded only); a Buffer or hex. */
  secret?: Buffer | string;
  /** A SOCKS5 or HTTP CONNECT proxy to connect through. */
  proxy?: ProxyOptions;
  /** DC id written into the obfuscated2 header (+10000 test, negative media); MTProxy routes on it. */
  dcId?: number;
  /** Give up connecting after this many ms (default 10000). */
  connectTimeoutMs?: number;
  /** Largest packet accepted or sent (default 16 MiB). */
  maxPacketLength?: number;
  /** IP family for name resolution (0 any, 4 or 6). */
  family?: 0 | 4 | 6;
  /** Aborts connecting (after connecting, call close()). */
  signal?: AbortSignal;
  /** Server time minus local time (ms), for an `ee` secret's fake-TLS hello (default 0). */
  timeOffsetMs?: number;
}

export interface TransportHandlers {
  /**
   * A whole packet arrived. It is the caller's to keep unless the connection
   * was opened with `borrowPackets`, in which case it is a view into a shared
   * buffer that is valid only until this call returns.
   */
  onPacket(packet: Buffer, quickAck: boolean): void;
  /** The server confirmed a packet sent with quickAck (its token). */
  onQuickAck?(token: number): void;
  /** The connection ended: `error` is null when close() ended it. Called once. */
  onClose?(error: TransportConnectionError | null): void;
  /** See onPacket (default false). */
  borrowPackets?: boolean;
}

function toSecret(secret: Buffer | string | undefined): Buffer | undefined {
  if (secret === undefined || Buffer.isBuffer(secret)) return secret;
  if (!/^(?:[0-9a-f]{2})+$/i.test(secret)) {
    throw new TypeError('secret must be a Buffer or a hex string');
  }
  return Buffer.from(secret, 'hex');
}

export class TransportConnection {
  private readonly socket: Socket;
  private readonly codec: TransportCodec;
  private readonly handlers: TransportHandlers;
  private readonly maxPacket: number;
  private closedWith: TransportConnectionError | null | undefined;

  private constructor(socket: Socket, codec: TransportCodec, handlers: TransportHandlers, maxPacket: number) {
    this.socket = socket;
    this.codec = codec;
    this.handlers = handlers;
    this.maxPacket = maxPacket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(socketError(err)));
    socket.on('end', () =>
      this.fail(new TransportConnectionError('ERR_TRANSPORT_CLOSED', 'the server closed the connection')),
    );
    socket.on('close', () =>
      this.fail(new TransportConnectionError('ERR_TRANSPORT_CLOSED', 'the connection closed')),
    );
  }

  /**
   * Opens a TCP connection and sets up the transport. Rejects with
   * TransportConnectionError (ERR_TRANSPORT_CONNECT, ERR_TRANSPORT_CONNECT_TIMEOUT,
   * ERR_TRANSPORT_ABORTED) and leaves no socket or timer behind. Bad options
   * (unknown kind, malformed secret) throw the codec's ERR_TRANSPORT_* error.
   */
  static connect(
    options: TransportConnectOptions,
    handlers: TransportHandlers,
  ): Promise<TransportConnection> {
    const maxPacket = options.maxPacketLength ?? 16 * 1024 * 1024;
    let codec: TransportCodec;
    try {
      codec = new TransportCodec({
        role: 'client',
        kind: options.kind ?? secretTransportKind(toSecret(options.secret)) ?? 'intermediate',
        obfuscated: options.obfuscated,
        secret: toSecret(options.secret),
        dcId: options.dcId,
        maxPacketLength: maxPacket,
      });
    } catch (err) {
      return Promise.reject(err);
    }
    const signal = options.signal;
    if (signal?.aborted) {
      return Promise.reject(new TransportConnectionError('ERR_TRANSPORT_ABORTED', 'connect aborted'));
    }
    const secret = toSecret(options.secret);
    if (options.proxy || (secret && isFakeTlsSecret(secret))) {
      return TransportConnection.connectVia(options, secret, codec, handlers, maxPacket);
    }
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: options.host, port: options.port, family: options.family ?? 0 });
      socket.setNoDelay(true);
      const timeoutMs = options.connectTimeoutMs ?? 10_000;
      const settle = (err: TransportConnectionError | null) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        socket.removeListener('connect', onConnect);
        socket.removeListener('error', onError);
        if (err) {
          socket.destroy();
          reject(err);
        } else {
          resolve(new TransportConnection(socket, codec, handlers, maxPacket));
        }
      };
      const onConnect = () => settle(null);
      const onError = (err: Error) =>
        settle(
          new TransportConnectionError(
            'ERR_TRANSPORT_CONNECT',
            `cannot connect to ${options.host}:${options.port}: ${err.message}`,
            { cause: err },
          ),
        );
      const onAbort = () => settle(new TransportConnectionError('ERR_TRANSPORT_ABORTED', 'connect aborted'));
      const timer = setTimeout(
        () =>
          settle(
            new TransportConnectionError(
              'ERR_TRANSPORT_CONNECT_TIMEOUT',
              `no connection to ${options.host}:${options.port} within ${timeoutMs} ms`,
            ),
          ),
        timeoutMs,
      );
      socket.once('connect', onConnect);
      socket.once('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** connect() through a proxy and/or the fake-TLS handshake (proxy.ts). */
  private static async connectVia(
    options: TransportConnectOptions,
    secret: Buffer | undefined,
    codec: TransportCodec,
    handlers: TransportHandlers,
    maxPacket: number,
  ): Promise<TransportConnection> {
    let socket: Socket;
    try {
      socket = await openSocket(
        { host: options.host, port: options.port },
        {
          proxy: options.proxy,
          secret,
          timeoutMs: options.connectTimeoutMs ?? 10_000,
          signal: options.signal,
          family: options.family,
          timeOffsetMs: options.timeOffsetMs,
        },
      );
    } catch (e) {
      const err = e as ConnectError;
      const code =
        err.code === 'CONNECT_TIMEOUT'
          ? 'ERR_TRANSPORT_CONNECT_TIMEOUT'
          : err.code === 'CONNECT_ABORTED'
            ? 'ERR_TRANSPORT_ABORTED'
            : err.code === 'CONNECT_FAILED'
              ? 'ERR_TRANSPORT_CONNECT'
              : 'ERR_TRANSPORT_PROXY';
      throw new TransportConnectionError(code, err.message, { cause: err });
    }
    const conn = new TransportConnection(socket, codec, handlers, maxPacket);
    socket.resume();
    return conn;
  }

  /** Whether the connection has ended (by close() or a failure). */
  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Why the connection ended: null after close(), undefined while open. */
  get closeReason(): TransportConnectionError | null | undefined {
    return this.closedWith;
  }

  /** The local TCP port (for logs and tests). */
  get localPort(): number | undefined {
    return this.socket.localPort;
  }

  /**
   * Frames and writes one packet. Returns false when the socket's buffer is
   * full (write more after a 'drain'-like pause) as net.Socket.write does.
   * Throws ERR_TRANSPORT_CLOSED after the connection ended.
   */
  send(packet: Buffer, quickAck = false): boolean {
    this.assertOpen();
    return this.socket.write(this.codec.encode(packet, quickAck));
  }

  /** Frames several packets into one write (one native call, one Buffer). */
  sendMany(packets: Buffer[]): boolean {
    this.assertOpen();
    if (packets.length === 0) return true;
    return this.socket.write(this.codec.encodeMany(packets));
  }

  /** Closes the connection; onClose(null) follows at once. Idempotent. */
  close(): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = null;
    this.socket.destroy();
    this.handlers.onClose?.(null);
  }

  private assertOpen(): void {
    if (this.closedWith !== undefined) {
      throw new TransportConnectionError('ERR_TRANSPORT_CLOSED', 'the connection is closed', {
        cause: this.closedWith ?? undefined,
      });
    }
  }

  private fail(err: TransportConnectionError): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = err;
    this.socket.destroy();
    this.handlers.onClose?.(err);
  }

  private onData(chunk: Buffer): void {
    if (this.closedWith !== undefined) return;
    try {
      decodeShared(this.codec, chunk, this.maxPacket, this.decoded);
    } catch (err) {
      this.fail(
        new TransportConnectionError(
          'ERR_TRANSPORT_PROTOCOL',
          `corrupt transport stream: ${(err as Error).message}`,
          {
            cause: err,
          },
        ),
      );
    }
  }

  /** What a decode hands out (shared-decode.ts); made once per connection. */
  private readonly decoded: DecodedStream = {
    onDecodedPacket: (out, at, length, quickAck) => {
      let packet: Buffer;
      if (this.handlers.borrowPackets === true) {
        packet = out.subarray(at, at + length);
      } else {
        packet = Buffer.allocUnsafe(length);
        out.copy(packet, 0, at, at + length);
      }
      this.handlers.onPacket(packet, quickAck);
      return this.closedWith === undefined;
    },
    onDecodedSignal: (kind, value) => {
      if (kind === 2) {
        this.handlers.onQuickAck?.(value >>> 0);
        return this.closedWith === undefined;
      }
      this.fail(
        new TransportConnectionError(
          'ERR_TRANSPORT_SERVER_CODE',
          `the server sent transport error ${value}: ${describeTransportCode(value)}`,
          { transportCode: value },
        ),
      );
      return false;
    },
  };
}

function socketError(err: Error): TransportConnectionError {
  return new TransportConnectionError('ERR_TRANSPORT_SOCKET', `socket error: ${err.message}`, { cause: err });
}

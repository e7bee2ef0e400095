// Typed errors of a transport connection. Every failure a caller can meet has
// a stable `code`; the socket error or codec error behind it is the `cause`.

export type TransportConnectionErrorCode =
  /** The TCP connection was not established within `connectTimeoutMs`. */
  | 'ERR_TRANSPORT_CONNECT_TIMEOUT'
  /** The TCP connection could not be established (refused, unreachable, DNS...). */
  | 'ERR_TRANSPORT_CONNECT'
  /** The socket failed after connecting (reset, broken pipe...). */
  | 'ERR_TRANSPORT_SOCKET'
  /** The peer closed the connection, or a send came after close(). */
  | 'ERR_TRANSPORT_CLOSED'
  /** The server sent a transport error code (a 4-byte packet such as -404, -429, -444). */
  | 'ERR_TRANSPORT_SERVER_CODE'
  /** The byte stream is corrupt (bad length, CRC, seqno...): the codec's code is in `cause`. */
  | 'ERR_TRANSPORT_PROTOCOL'
  /** connect() was aborted through its AbortSignal. */
  | 'ERR_TRANSPORT_ABORTED'
  /** The SOCKS5 / HTTP proxy or the MTProxy's fake-TLS handshake failed: a ConnectError is the `cause`. */
  | 'ERR_TRANSPORT_PROXY';

export class TransportConnectionError extends Error {
  override name = 'TransportConnectionError';
  readonly code: TransportConnectionErrorCode;
  /** For ERR_TRANSPORT_SERVER_CODE: the negative code the server sent (e.g. -404). */
  readonly transportCode?: number;
  /** The system error code behind a socket failure (ECONNREFUSED, ECONNRESET...). */
  readonly syscallCode?: string;

  constructor(
    code: TransportConnectionErrorCode,
    message: string,
    extra: { cause?: unknown; transportCode?: number } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    if (extra.transportCode !== undefined) this.transportCode = extra.transportCode;
    const sys = (extra.cause as { code?: unknown } | undefined)?.code;
    if (typeof sys === 'string') this.syscallCode = sys;
  }
}

/** What the server's transport error codes mean (core.telegram.org/mtproto/mtproto-transports#transport-errors). */
export function describeTransportCode(code: number): string {
  switch (code) {
    case -404:
      return 'auth key not found (or the request was sent to the wrong DC)';
    case -429:
      return 'too many connections or requests (transport flood)';
    case -444:
      return 'invalid DC';
    default:
      return 'transport error';
  }
}

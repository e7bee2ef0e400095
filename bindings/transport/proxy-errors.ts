// Typed failures of opening a socket (proxy.ts). Messages name hosts and
// ports, never credentials.

export type ConnectErrorCode =
  /** The target (or, with a proxy, the proxy) could not be reached. */
  | 'CONNECT_FAILED'
  /** Not connected within the time allowed. */
  | 'CONNECT_TIMEOUT'
  /** The AbortSignal fired. */
  | 'CONNECT_ABORTED'
  /** The proxy refused our credentials, or wants some we did not give. */
  | 'PROXY_AUTH_FAILED'
  /** The proxy could not or would not connect to the target. */
  | 'PROXY_CONNECT_FAILED'
  /** The proxy answered something that is not its protocol. */
  | 'PROXY_PROTOCOL'
  /** The MTProxy failed the fake-TLS handshake (wrong `ee` secret, or not an MTProxy). */
  | 'MTPROXY_REJECTED';

/** The codes that name a proxy's (or an MTProxy's) failure. */
export type ProxyErrorCode = Extract<ConnectErrorCode, `PROXY_${string}` | 'MTPROXY_REJECTED'>;

export class ConnectError extends Error {
  override name = 'ConnectError';
  constructor(
    readonly code: ConnectErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The proxy failure behind `err` (searched along its `cause` chain), if any. */
export function proxyFailureCode(err: unknown): ProxyErrorCode | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof ConnectError && (e.code.startsWith('PROXY_') || e.code === 'MTPROXY_REJECTED')) {
      return e.code as ProxyErrorCode;
    }
  }
  return undefined;
}

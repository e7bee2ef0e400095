// Opening the TCP socket a connection runs on: directly, through a SOCKS5 proxy
// (RFC 1928, username/password RFC 1929, by the `socks` package) or an HTTP
// CONNECT proxy (RFC 9110 section 9.3.6, Basic auth RFC 7617, by node:http),
// then, for an MTProxy `ee` secret, the fake-TLS handshake (fake-tls.ts).
//
// The socket is handed over paused, with nothing read from it lost: attach your
// 'data' listener, then resume(). Proxy passwords never appear in an error
// message or its cause (the `socks` package's errors carry the options, so they
// are not passed on as causes).
import { request as httpRequest } from 'node:http';
import { isIPv6, connect as netConnect, type OnReadOpts, Socket } from 'node:net';
import { SocksClient } from 'socks';
import { fakeTlsHandshake, isFakeTlsSecret } from './fake-tls';
import { ConnectError } from './proxy-errors';

/** A SOCKS5 or HTTP CONNECT proxy between us and the DC (or the MTProxy). */
export interface ProxyOptions {
  type: 'socks5' | 'http';
  host: string;
  port: number;
  /** SOCKS5 username/password auth, or HTTP Proxy-Authorization: Basic. */
  username?: string;
  password?: string;
}

export interface OpenSocketOptions {
  proxy?: ProxyOptions;
  /** MTProxy secret: with an `ee` one the fake-TLS handshake runs on the socket. */
  secret?: Buffer | string;
  /** For the whole of it: connecting, the proxy's and the fake-TLS handshake (default 10000). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Name resolution family for direct and HTTP-proxy connections (0 any). */
  family?: 0 | 4 | 6;
  /**
   * net's `onread` for a direct connection without fake TLS (reads into the caller's
   * buffer instead of 'data' events); ignored otherwise.
   */
  onread?: OnReadOpts;
  /** Server time minus local time (ms), for the fake-TLS hello's timestamp (default 0). */
  timeOffsetMs?: number;
}

export interface SocketTarget {
  host: string;
  port: number;
}

/**
 * Opens a socket to `target` (through `options.proxy` if given) and runs the
 * fake-TLS handshake of an `ee` secret. Resolves with a connected, paused
 * socket (TCP_NODELAY set); rejects with ConnectError and leaves no socket
 * or timer behind.
 */
export async function openSocket(target: SocketTarget, options: OpenSocketOptions = {}): Promise<Socket> {
  const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'hex') : options.secret;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const signal = options.signal;
  if (signal?.aborted) throw new ConnectError('CONNECT_ABORTED', 'connect aborted');

  // One guard for every step: a timeout or an abort destroys whatever socket
  // is being set up, which makes the step in progress fail.
  let current: Socket | null = null;
  let stopped: ConnectError | null = null;
  let rejectStop!: (e: ConnectError) => void;
  const stopSignal = new Promise<never>((_, reject) => {
    rejectStop = reject;
  });
  stopSignal.catch(() => {});
  const stop = (e: ConnectError) => {
    stopped ??= e;
    current?.destroy();
    rejectStop(e);
  };
  // Each step ends with the step, or with the timeout / abort (whose step
  // may then settle later: its result is dropped).
  const step = <T>(p: Promise<T>): Promise<T> => {
    p.then(
      (s) => {
        if (stopped && s instanceof Socket) s.destroy();
      },
      () => {},
    );
    return Promise.race([p, stopSignal]);
  };
  const timer = setTimeout(
    () =>
      stop(
        new ConnectError(
          'CONNECT_TIMEOUT',
          `no connection to ${where(target, options.proxy)} within ${timeoutMs} ms`,
        ),
      ),
    timeoutMs,
  );
  const onAbort = () => stop(new ConnectError('CONNECT_ABORTED', 'connect aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  const track = (s: Socket) => {
    current = s;
    if (stopped) s.destroy();
  };
  try {
    let socket: Socket;
    if (!options.proxy) {
      const onread = secret && isFakeTlsSecret(secret) ? undefined : options.onread;
      socket = await step(connectDirect(target, options.family ?? 0, track, onread));
    } else if (options.proxy.type === 'socks5') {
      socket = await step(connectSocks5(target, options.proxy, timeoutMs, track));
    } else if (options.proxy.type === 'http') {
      socket = await step(connectHttp(target, options.proxy, options.family ?? 0, track));
    } else {
      throw new ConnectError(
        'CONNECT_FAILED',
        `unknown proxy type ${String((options.proxy as { type: unknown }).type)}`,
      );
    }
    track(socket);
    if (stopped) throw stopped;
    socket.setNoDelay(true);
    if (secret && isFakeTlsSecret(secret)) await step(fakeTlsHandshake(socket, secret, options.timeOffsetMs));
    if (stopped) throw stopped;
    socket.pause();
    return socket;
  } catch (e) {
    (current as Socket | null)?.destroy();
    throw stopped ?? e;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function where(target: SocketTarget, proxy?: ProxyOptions): string {
  const t = `${target.host}:${target.port}`;
  return proxy ? `${t} through ${proxy.type} proxy ${proxy.host}:${proxy.port}` : t;
}

function connectDirect(
  target: SocketTarget,
  family: 0 | 4 | 6,
  track: (s: Socket) => void,
  onread?: OnReadOpts,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket: Socket = netConnect({
      host: target.host,
      port: target.port,
      family,
      onread: onread && readsOn(onread, () => socket),
    });
    track(socket);
    socket.once('connect', () => {
      socket.removeListener('error', onError);
      resolve(socket);
    });
    const onError = (e: Error) =>
      reject(
        new ConnectError('CONNECT_FAILED', `cannot connect to ${target.host}:${target.port}: ${e.message}`),
      );
    socket.once('error', onError);
  });
}

/**
 * `onread` whose callback runs with `this` = its socket on every runtime. Node
 * happens to call it as a method of the socket (its docs promise no `this`);
 * Bun calls it bare, so a callback that finds its connection through `this`
 * (the session driver's shared one) would see undefined. One closure per
 * connection, not per read.
 */
function readsOn(onread: OnReadOpts, socket: () => Socket): OnReadOpts {
  const callback = onread.callback;
  return {
    buffer: onread.buffer,
    callback: (nread: number, buf: Uint8Array) => callback.call(socket(), nread, buf),
  };
}

/** The messages of the `socks` package's errors (its ERRORS table) that name an auth failure. */
const SOCKS_AUTH = /authentication failed|no accepted authentication type/i;

async function connectSocks5(
  target: SocketTarget,
  proxy: ProxyOptions,
  timeoutMs: number,
  track: (s: Socket) => void,
): Promise<Socket> {
  const client = new SocksClient({
    proxy: {
      host: proxy.host,
      port: proxy.port,
      type: 5,
      ...(proxy.username !== undefined || proxy.password !== undefined
        ? { userId: proxy.username ?? '', password: proxy.password ?? '' }
        : {}),
    },
    command: 'connect',
    destination: { host: target.host, port: target.port },
    timeout: timeoutMs,
    set_tcp_nodelay: true,
  });
  const established = new Promise<Socket>((resolve, reject) => {
    client.once('established', (info) => resolve(info.socket as Socket));
    client.once('error', (e: Error) => reject(socksError(e, proxy)));
  });
  client.connect();
  // The client's own socket, so that a timeout or abort can end it.
  const inner = (client as unknown as { socket?: Socket }).socket;
  if (inner) track(inner);
  const socket = await established;
  // `socks` resumes the socket (and re-emits any early bytes) on the next
  // turn of the event loop: let it, before the socket is paused and handed on.
  await new Promise((r) => setImmediate(r));
  return socket;
}

function socksError(e: Error, proxy: ProxyOptions): ConnectError {
  const at = `SOCKS5 proxy ${proxy.host}:${proxy.port}`;
  // Only the message: the package's error carries the options, password included.
  const msg = e.message;
  if (SOCKS_AUTH.test(msg)) return new ConnectError('PROXY_AUTH_FAILED', `${at}: ${msg}`);
  if (/rejected connection/i.test(msg)) return new ConnectError('PROXY_CONNECT_FAILED', `${at}: ${msg}`);
  if (/timed out/i.test(msg)) return new ConnectError('CONNECT_TIMEOUT', `${at}: ${msg}`);
  if (/invalid/i.test(msg)) return new ConnectError('PROXY_PROTOCOL', `${at}: ${msg}`);
  return new ConnectError('PROXY_CONNECT_FAILED', `${at}: ${msg}`);
}

function connectHttp(
  target: SocketTarget,
  proxy: ProxyOptions,
  family: 0 | 4 | 6,
  track: (s: Socket) => void,
): Promise<Socket> {
  const authority = `${isIPv6(target.host) ? `[${target.host}]` : target.host}:${target.port}`;
  const headers: Record<string, string> = { host: authority };
  if (proxy.username !== undefined || proxy.password !== undefined) {
    const token = Buffer.from(`${proxy.username ?? ''}:${proxy.password ?? ''}`).toString('base64');
    headers['proxy-authorization'] = `Basic ${token}`;
  }
  const at = `HTTP proxy ${proxy.host}:${proxy.port}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: proxy.host,
      port: proxy.port,
      family,
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
    });
    req.once('socket', (s) => track(s));
    req.once('connect', (res, socket, head) => {
      req.removeListener('error', onError);
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        if (head.length > 0) socket.unshift(head);
        resolve(socket);
        return;
      }
      socket.destroy();
      if (status === 407)
        reject(new ConnectError('PROXY_AUTH_FAILED', `${at} wants other credentials (407)`));
      else reject(new ConnectError('PROXY_CONNECT_FAILED', `${at} answered CONNECT with ${status}`));
    });
    req.once('response', (res) => {
      res.resume();
      req.destroy();
      reject(
        new ConnectError(
          'PROXY_PROTOCOL',
          `${at} answered CONNECT with a plain response (${res.statusCode})`,
        ),
      );
    });
    const onError = (e: Error) => {
      const code = (e as NodeJS.ErrnoException).code;
      reject(
        code === 'HPE_INVALID_CONSTANT' || code?.startsWith('HPE_')
          ? new ConnectError('PROXY_PROTOCOL', `${at}: not an HTTP answer`)
          : new ConnectError('PROXY_CONNECT_FAILED', `cannot reach ${at}: ${e.message}`),
      );
    };
    req.once('error', onError);
    req.end();
  });
}

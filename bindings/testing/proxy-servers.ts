// Loopback proxies for tests: a SOCKS5 server (RFC 1928, optional
// username/password auth per RFC 1929) and an HTTP CONNECT proxy (optional
// Basic auth, RFC 7617), each forwarding to whatever address the client asks
// for, as long as it is a loopback one (tests never send traffic elsewhere).
// They count what they saw, so tests can check that a session really went
// through them.
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { createServer, isIP, connect as netConnect, type Server, type Socket } from 'node:net';

export interface ProxyServerOptions {
  /** Require these credentials (SOCKS5 username/password, or HTTP Basic). */
  username?: string;
  password?: string;
  /** Listen port (default 0: any free one). */
  port?: number;
}

export interface ProxyServerStats {
  /** Client connections accepted. */
  connections: number;
  /** Tunnels opened to a target. */
  tunnels: number;
  /** Clients refused for their credentials. */
  authFailures: number;
  /** Tunnels refused (target not loopback, unreachable, bad request). */
  refused: number;
}

/** Only loopback targets: these servers exist for tests on this machine. */
function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || /^(0+:){7}0*1$/.test(host);
}

/** Joins two sockets; either end closing closes the other. */
function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', end);
  b.on('error', end);
  a.on('close', end);
  b.on('close', end);
}

abstract class ProxyServerBase {
  readonly stats: ProxyServerStats = { connections: 0, tunnels: 0, authFailures: 0, refused: 0 };
  protected readonly sockets = new Set<Socket>();
  constructor(protected readonly options: ProxyServerOptions) {}

  protected abstract get server(): Server | HttpServer;

  /** The port it listens on (after start()). */
  get port(): number {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('not listening');
    return a.port;
  }

  get host(): string {
    return '127.0.0.1';
  }

  async start(): Promise<this> {
    this.server.listen(this.options.port ?? 0, '127.0.0.1');
    await once(this.server, 'listening');
    return this;
  }

  /** Closes the listener and every connection through it. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Drops every open tunnel (to test reconnection), keeps listening. */
  dropAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  protected track(s: Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => {});
  }

  protected get needsAuth(): boolean {
    return this.options.username !== undefined || this.options.password !== undefined;
  }
}

/** SOCKS5 (CONNECT command only), optionally with username/password auth. */
export class Socks5ProxyServer extends ProxyServerBase {
  protected readonly server: Server = createServer((s) => this.accept(s));

  private accept(client: Socket): void {
    this.stats.connections++;
    this.track(client);
    let buf = Buffer.alloc(0);
    let state: 'greeting' | 'auth' | 'request' | 'connecting' = 'greeting';
    const fail = (reply?: Buffer) => {
      this.stats.refused++;
      if (reply) client.end(reply);
      else client.destroy();
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (state === 'greeting') {
          // VER NMETHODS METHODS...
          if (buf.length < 2) return;
          if (buf[0] !== 5) return fail();
          const n = buf[1];
          if (buf.length < 2 + n) return;
          const methods = buf.subarray(2, 2 + n);
          buf = buf.subarray(2 + n);
          const want = this.needsAuth ? 2 : 0;
          if (!methods.includes(want)) {
            if (this.needsAuth) this.stats.authFailures++;
            return fail(Buffer.from([5, 0xff]));
          }
          client.write(Buffer.from([5, want]));
          state = this.needsAuth ? 'auth' : 'request';
        } else if (state === 'auth') {
          // RFC 1929: VER=1 ULEN UNAME PLEN PASSWD
          if (buf.length < 2) return;
          const ulen = buf[1];
          if (buf.length < 3 + ulen) return;
          const plen = buf[2 + ulen];
          if (buf.length < 3 + ulen + plen) return;
          const user = buf.subarray(2, 2 + ulen).toString();
          const pass = buf.subarray(3 + ulen, 3 + ulen + plen).toString();
          buf = buf.subarray(3 + ulen + plen);
          if (user !== (this.options.username ?? '') || pass !== (this.options.password ?? '')) {
            this.stats.authFailures++;
            return fail(Buffer.from([1, 1]));
          }
          client.write(Buffer.from([1, 0]));
          state = 'request';
        } else if (state === 'request') {
          // VER CMD RSV ATYP DST.ADDR DST.PORT
          if (buf.length < 5) return;
          const atyp = buf[3];
          let host: string;
          let at: number;
          if (atyp === 1) {
            if (buf.length < 10) return;
            host = [...buf.subarray(4, 8)].join('.');
            at = 8;
          } else if (atyp === 3) {
            const len = buf[4];
            if (buf.length < 7 + len) return;
            host = buf.subarray(5, 5 + len).toString();
            at = 5 + len;
          } else if (atyp === 4) {
            if (buf.length < 22) return;
            const parts: string[] = [];
            for (let i = 0; i < 8; i++) parts.push(buf.readUInt16BE(4 + 2 * i).toString(16));
            host = parts.join(':');
            at = 20;
          } else {
            return fail(Buffer.from([5, 8, 0, 1, 0, 0, 0, 0, 0, 0]));
          }
          const port = buf.readUInt16BE(at);
          const cmd = buf[1];
          buf = buf.subarray(at + 2);
          if (cmd !== 1) return fail(Buffer.from([5, 7, 0, 1, 0, 0, 0, 0, 0, 0]));
          if (!isLoopback(host)) return fail(Buffer.from([5, 2, 0, 1, 0, 0, 0, 0, 0, 0]));
          state = 'connecting';
          client.removeListener('data', onData);
          client.pause();
          this.open(client, host, port, buf);
          return;
        } else {
          return;
        }
      }
    };
    client.on('data', onData);
  }

  private open(client: Socket, host: string, port: number, early: Buffer): void {
    const upstream = netConnect({ host, port });
    this.track(upstream);
    const onError = () => {
      this.stats.refused++;
      client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
    };
    upstream.once('error', onError);
    upstream.once('connect', () => {
      upstream.removeListener('error', onError);
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      this.stats.tunnels++;
      const reply = Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]);
      reply.writeUInt16BE(upstream.localPort ?? 0, 8);
      client.write(reply);
      if (early.length > 0) upstream.write(early);
      pipeBoth(client, upstream);
      client.resume();
    });
  }
}

/** An HTTP proxy that only tunnels (CONNECT), optionally with Basic auth. */
export class HttpConnectProxyServer extends ProxyServerBase {
  protected readonly server: HttpServer = createHttpServer((_req, res) => {
    res.writeHead(405, { allow: 'CONNECT' }).end();
  });

  constructor(options: ProxyServerOptions) {
    super(options);
    this.server.on('connection', (s: Socket) => {
      this.stats.connections++;
      this.track(s);
    });
    this.server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) =>
      this.connect(req, client, head),
    );
  }

  private authorized(req: IncomingMessage): boolean {
    if (!this.needsAuth) return true;
    const h = req.headers['proxy-authorization'];
    if (!h?.startsWith('Basic ')) return false;
    const expected = `${this.options.username ?? ''}:${this.options.password ?? ''}`;
    return Buffer.from(h.slice(6), 'base64').toString() === expected;
  }

  private connect(req: IncomingMessage, client: Socket, head: Buffer): void {
    if (!this.authorized(req)) {
      this.stats.authFailures++;
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n',
      );
      return;
    }
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '');
    if (!m || !isLoopback(m[1])) {
      this.stats.refused++;
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = netConnect({ host: m[1], port: Number(m[2]) });
    this.track(upstream);
    const onError = () => {
      this.stats.refused++;
      client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
    };
    upstream.once('error', onError);
    upstream.once('connect', () => {
      upstream.removeListener('error', onError);
      upstream.setNoDelay(true);
      client.setNoDelay(true);
      this.stats.tunnels++;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      pipeBoth(client, upstream);
    });
  }
}

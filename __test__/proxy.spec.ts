// Sessions through SOCKS5 and HTTP CONNECT proxies (bindings/transport/proxy.ts)
// against TestDc over loopback: the key exchange and every call go through the
// proxy (its counters prove it), credentials are checked, failures are typed and
// never show the password, and a dropped tunnel is reconnected through the proxy.

import test from 'ava';
import { SessionError, type SessionEvent, SessionRegistry } from '../bindings';
import { HttpConnectProxyServer, Socks5ProxyServer, TestDc } from '../bindings/testing';
import { ConnectError, openSocket, type ProxyOptions } from '../bindings/transport';

let dc: TestDc;
let socksOpen: Socks5ProxyServer;
let socksAuth: Socks5ProxyServer;
let httpOpen: HttpConnectProxyServer;
let httpAuth: HttpConnectProxyServer;
const USER = 'alice';
const PASSWORD = 'pa55-w0rd-not-in-logs';

test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
  socksOpen = await new Socks5ProxyServer({}).start();
  socksAuth = await new Socks5ProxyServer({ username: USER, password: PASSWORD }).start();
  httpOpen = await new HttpConnectProxyServer({}).start();
  httpAuth = await new HttpConnectProxyServer({ username: USER, password: PASSWORD }).start();
});
test.after.always(async () => {
  await Promise.all([socksOpen?.stop(), socksAuth?.stop(), httpOpen?.stop(), httpAuth?.stop()]);
  await dc?.stop();
});

const opts = (proxy: ProxyOptions) => ({
  address: { host: dc.host, port: dc.port },
  rsaKeys: [dc.rsaPublicKey.pem],
  init: { apiId: 1 },
  reconnect: { baseMs: 20, capMs: 200 },
  connectTimeoutMs: 5000,
  proxy,
});

type Server = Socks5ProxyServer | HttpConnectProxyServer;
const kinds: Array<[string, () => Server, () => Server, 'socks5' | 'http']> = [
  ['SOCKS5', () => socksOpen, () => socksAuth, 'socks5'],
  ['HTTP CONNECT', () => httpOpen, () => httpAuth, 'http'],
];

for (const [name, open, auth, type] of kinds) {
  test.serial(`${name} without auth: key exchange and calls go through the proxy`, async (t) => {
    const server = open();
    const before = { ...server.stats };
    const keys = dc.stats.authKeysCreated;
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, opts({ type, host: server.host, port: server.port }));
    t.is(dc.stats.authKeysCreated, keys + 1);
    const config = await reg.call(id, 'help.getConfig', {});
    t.is(config.thisDc, 2);
    // One tunnel for the key exchange, one for the session.
    t.is(server.stats.tunnels - before.tunnels, 2);
    await reg.close(id);
  });

  test.serial(`${name} with auth: the right credentials pass`, async (t) => {
    const server = auth();
    const before = server.stats.tunnels;
    const reg = new SessionRegistry();
    const id = await reg.open(
      2,
      undefined,
      opts({ type, host: server.host, port: server.port, username: USER, password: PASSWORD }),
    );
    const config = await reg.call(id, 'help.getConfig', {});
    t.is(config.thisDc, 2);
    t.is(server.stats.tunnels - before, 2);
    await reg.close(id);
  });

  test.serial(`${name} with a wrong password: PROXY_AUTH_FAILED, password not shown`, async (t) => {
    const server = auth();
    const failures = server.stats.authFailures;
    const reg = new SessionRegistry();
    const wrong = 'wrong-secret-password';
    const err = await t.throwsAsync(
      reg.open(
        2,
        undefined,
        opts({ type, host: server.host, port: server.port, username: USER, password: wrong }),
      ),
      { instanceOf: SessionError },
    );
    t.is(err?.code, 'PROXY_AUTH_FAILED');
    t.true(server.stats.authFailures > failures);
    // Neither the message nor anything along the cause chain carries the password.
    for (let e: unknown = err, i = 0; e instanceof Error && i < 8; e = e.cause, i++) {
      t.false(e.message.includes(wrong));
      t.false(JSON.stringify(e, Object.getOwnPropertyNames(e)).includes(wrong));
    }
    // No credentials at all for a proxy that wants them: also an auth failure.
    const none = await t.throwsAsync(
      openSocket({ host: dc.host, port: dc.port }, { proxy: { type, host: server.host, port: server.port } }),
      {
        instanceOf: ConnectError,
      },
    );
    t.is(none?.code, 'PROXY_AUTH_FAILED');
    t.is(reg.size, 0);
  });

  test.serial(`${name}: a dropped tunnel reconnects through the proxy`, async (t) => {
    const server = open();
    const events: SessionEvent[] = [];
    const reg = new SessionRegistry();
    const id = await reg.open(2, (e) => events.push(e), opts({ type, host: server.host, port: server.port }));
    await reg.call(id, 'help.getConfig', {});
    const tunnels = server.stats.tunnels;
    server.dropAll();
    // The call waits for the reconnection and is answered on the new tunnel.
    const config = await reg.call(id, 'help.getConfig', {});
    t.is(config.thisDc, 2);
    t.true(server.stats.tunnels > tunnels);
    t.true(events.some((e) => e.kind === 'disconnected'));
    t.true(events.filter((e) => e.kind === 'connected').length >= 2);
    await reg.close(id);
  });
}

test.serial('unreachable proxy and a target the proxy cannot reach are typed', async (t) => {
  // A port nothing listens on: take one from a stopped proxy.
  const gone = await new Socks5ProxyServer({}).start();
  const port = gone.port;
  await gone.stop();
  for (const type of ['socks5', 'http'] as const) {
    const e1 = await t.throwsAsync(
      openSocket({ host: dc.host, port: dc.port }, { proxy: { type, host: '127.0.0.1', port } }),
      {
        instanceOf: ConnectError,
      },
    );
    t.is(e1?.code, 'PROXY_CONNECT_FAILED', type);
    const server = type === 'socks5' ? socksOpen : httpOpen;
    const e2 = await t.throwsAsync(
      openSocket({ host: '127.0.0.1', port }, { proxy: { type, host: server.host, port: server.port } }),
      {
        instanceOf: ConnectError,
      },
    );
    t.is(e2?.code, 'PROXY_CONNECT_FAILED', type);
  }
});

test.serial('a proxy that speaks something else is PROXY_PROTOCOL; a silent one times out', async (t) => {
  const { createServer } = await import('node:net');
  const liar = createServer((s) => s.end(Buffer.from('SSH-2.0-nope\r\n')));
  const silent = createServer(() => {});
  liar.listen(0, '127.0.0.1');
  silent.listen(0, '127.0.0.1');
  await Promise.all([
    new Promise((r) => liar.once('listening', r)),
    new Promise((r) => silent.once('listening', r)),
  ]);
  const portOf = (s: typeof liar) => (s.address() as { port: number }).port;
  const target = { host: dc.host, port: dc.port };
  const socks = await t.throwsAsync(
    openSocket(target, { proxy: { type: 'socks5', host: '127.0.0.1', port: portOf(liar) } }),
    {
      instanceOf: ConnectError,
    },
  );
  t.true(['PROXY_PROTOCOL', 'PROXY_CONNECT_FAILED'].includes(socks?.code ?? ''), socks?.code);
  const http = await t.throwsAsync(
    openSocket(target, { proxy: { type: 'http', host: '127.0.0.1', port: portOf(liar) } }),
    {
      instanceOf: ConnectError,
    },
  );
  t.is(http?.code, 'PROXY_PROTOCOL');
  for (const type of ['socks5', 'http'] as const) {
    const slow = await t.throwsAsync(
      openSocket(target, { proxy: { type, host: '127.0.0.1', port: portOf(silent) }, timeoutMs: 150 }),
      { instanceOf: ConnectError },
    );
    t.is(slow?.code, 'CONNECT_TIMEOUT', type);
  }
  // An abort while the proxy is silent ends the attempt at once.
  const abort = new AbortController();
  const pending = openSocket(target, {
    proxy: { type: 'socks5', host: '127.0.0.1', port: portOf(silent) },
    signal: abort.signal,
  });
  setTimeout(() => abort.abort(), 30);
  const aborted = await t.throwsAsync(pending, { instanceOf: ConnectError });
  t.is(aborted?.code, 'CONNECT_ABORTED');
  liar.close();
  silent.close();
});

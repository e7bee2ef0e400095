// Sessions through MTProxy secrets against TestDc acting as the MTProxy: the plain
// 16-byte form, `dd` (padded intermediate) and `ee` (fake TLS, on the wire as
// TLS 1.3 records), also `ee` through a SOCKS5 proxy; a wrong secret, a replayed
// hello and a server that does not know the secret are refused; the hello is
// checked against node:crypto's HMAC; and TelethonFakeTLS (an independent Python
// client of the fake-TLS wrapper) talks to TestDc's `ee` mode.

import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { SessionError, SessionRegistry } from '../bindings';
import { createAuthKey } from '../bindings/auth';
import { authKeyIdOf } from '../bindings/auth/key';
import { FakeTlsClient, FakeTlsServer, TransportCodec } from '../bindings/native';
import { HttpConnectProxyServer, Socks5ProxyServer, TestDc, type TestDcOptions } from '../bindings/testing';
import { ConnectError, openSocket } from '../bindings/transport';

const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const DOMAIN = 'example.com';
const EE = Buffer.concat([Buffer.of(0xee), KEY, Buffer.from(DOMAIN)]);
const DD = Buffer.concat([Buffer.of(0xdd), KEY]);

const dcs: TestDc[] = [];
let socks: Socks5ProxyServer;
let http: HttpConnectProxyServer;
test.before(async () => {
  socks = await new Socks5ProxyServer({}).start();
  http = await new HttpConnectProxyServer({ username: 'u', password: 'p' }).start();
});
test.after.always(async () => {
  await socks?.stop();
  await http?.stop();
  await Promise.all(dcs.map((d) => d.stop()));
});

async function startDc(secret: Buffer, more: Partial<TestDcOptions> = {}): Promise<TestDc> {
  const dc = await TestDc.start({ rsaKey: 'shared', dcId: 2, secret, ...more });
  dcs.push(dc);
  return dc;
}

const opts = (dc: TestDc, port: number, secret: Buffer | string, kind?: 'padded' | 'intermediate') => ({
  address: { host: '127.0.0.1', port },
  rsaKeys: [dc.rsaPublicKey.pem],
  init: { apiId: 1 },
  reconnect: { baseMs: 20, capMs: 200 },
  connectTimeoutMs: 5000,
  transport: { kind, secret },
});

/** A TCP relay in front of `port` that records what each side of each connection sent. */
async function tap(
  port: number,
): Promise<{ server: Server; port: number; conns: Array<{ up: Buffer[]; down: Buffer[] }> }> {
  const conns: Array<{ up: Buffer[]; down: Buffer[] }> = [];
  const server = createServer((client: Socket) => {
    const rec = { up: [] as Buffer[], down: [] as Buffer[] };
    conns.push(rec);
    const dc = connect(port, '127.0.0.1');
    client.on('data', (d) => {
      rec.up.push(d);
      dc.write(d);
    });
    dc.on('data', (d) => {
      rec.down.push(d);
      client.write(d);
    });
    const end = () => {
      client.destroy();
      dc.destroy();
    };
    client.on('close', end);
    dc.on('close', end);
    client.on('error', end);
    dc.on('error', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, conns };
}

/** Splits a byte stream into TLS records: [type, length] each; throws on a bad header. */
function records(stream: Buffer): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let at = 0;
  while (at + 5 <= stream.length) {
    if (stream[at + 1] !== 3) throw new Error(`not a TLS record at ${at}`);
    const len = stream.readUInt16BE(at + 3);
    out.push([stream[at], len]);
    at += 5 + len;
  }
  return out;
}

for (const [name, secret, kind] of [
  ['plain 16-byte secret', KEY.toString('hex'), 'intermediate'],
  // No kind named: dd and ee imply padded intermediate.
  ['dd secret', DD.toString('hex'), undefined],
  ['ee secret (fake TLS)', EE.toString('hex'), undefined],
] as const) {
  test.serial(`${name}: open, call, reconnect after a drop`, async (t) => {
    const dc = await startDc(Buffer.from(secret, 'hex'));
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, opts(dc, dc.port, secret, kind));
    t.is((await reg.call(id, 'help.getConfig', {})).thisDc, 2);
    const conns = dc.stats.connections;
    dc.dropConnections();
    t.is((await reg.call(id, 'help.getConfig', {})).thisDc, 2);
    t.true(dc.stats.connections > conns);
    await reg.close(id);
  });
}

test.serial('ee on the wire: a 517-byte ClientHello, the answer, then only TLS records', async (t) => {
  const dc = await startDc(EE);
  const relay = await tap(dc.port);
  try {
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, opts(dc, relay.port, EE));
    await reg.call(id, 'help.getConfig', {});
    await reg.close(id);
    // Two connections (the key exchange, then the session), each the same way.
    t.is(relay.conns.length, 2);
    for (const conn of relay.conns) {
      const up = Buffer.concat(conn.up);
      const down = Buffer.concat(conn.down);
      const hello = up.subarray(0, 517);
      t.deepEqual([...hello.subarray(0, 11)], [0x16, 3, 1, 2, 0, 1, 0, 1, 0xfc, 3, 3]);
      t.true(hello.includes(Buffer.from(DOMAIN)), 'SNI is the secret domain');
      // node:crypto as the reference: random = HMAC-SHA256(key, hello with random
      // zeroed) XOR (zeros(28) ‖ unix time LE).
      const zeroed = Buffer.from(hello);
      zeroed.fill(0, 11, 43);
      const mac = createHmac('sha256', KEY).update(zeroed).digest();
      const random = hello.subarray(11, 43);
      t.deepEqual(random.subarray(0, 28), mac.subarray(0, 28));
      const time = (random.readUInt32LE(28) ^ mac.readUInt32LE(28)) >>> 0;
      t.true(Math.abs(time - Date.now() / 1000) < 60);
      // Then ChangeCipherSpec and application data only, none over 16 KiB.
      const upRecords = records(up.subarray(517));
      t.deepEqual(upRecords[0], [0x14, 1]);
      t.true(upRecords.slice(1).every(([type, len]) => type === 0x17 && len <= 16384));
      // The server's answer: ServerHello, ChangeCipherSpec, application data, whose
      // random is HMAC-SHA256(key, client random ‖ answer with it zeroed); then data.
      const downRecords = records(down);
      t.deepEqual(
        downRecords.slice(0, 3).map((r) => r[0]),
        [0x16, 0x14, 0x17],
      );
      t.true(downRecords.slice(3).every(([type]) => type === 0x17));
      const answerLen = downRecords.slice(0, 3).reduce((n, [, l]) => n + 5 + l, 0);
      const answer = Buffer.from(down.subarray(0, answerLen));
      const serverRandom = Buffer.from(answer.subarray(11, 43));
      answer.fill(0, 11, 43);
      t.deepEqual(createHmac('sha256', KEY).update(random).update(answer).digest(), serverRandom);
    }
  } finally {
    relay.server.close();
  }
});

/** The unix time in an `ee` ClientHello (node:crypto's HMAC as the reference, as above). */
function helloTime(hello: Buffer): number {
  const zeroed = Buffer.from(hello.subarray(0, 517));
  zeroed.fill(0, 11, 43);
  const mac = createHmac('sha256', KEY).update(zeroed).digest();
  return (hello.readUInt32LE(39) ^ mac.readUInt32LE(28)) >>> 0;
}

test.serial(
  'ee: reconnects stamp the ClientHello on the learned server clock (DC 30 min ahead)',
  async (t) => {
    // A real MTProxy refuses hellos more than ~20 min off its own clock
    // (TestDc checks them against its clock, skew included).
    const dc = await startDc(EE, { fakeTlsWindow: { maxAgeSeconds: 1200, maxAheadSeconds: 600 } });
    const relay = await tap(dc.port);
    try {
      const reg = new SessionRegistry();
      const id = await reg.open(2, undefined, {
        ...opts(dc, relay.port, EE),
        reconnect: { baseMs: 20, capMs: 100, maxAttempts: 4 },
      });
      await reg.call(id, 'help.getConfig', {});
      dc.skewClock(1800);
      // The session learns the offset from the DC's bad_msg_notification...
      t.is((await reg.call(id, 'help.getConfig', {})).thisDc, 2);
      const conns = relay.conns.length;
      dc.dropConnections();
      // ...and the new connection's hello is accepted (without the offset it is
      // refused on every attempt and the session gives up).
      t.is((await reg.call(id, 'help.getConfig', {})).thisDc, 2);
      const hello = Buffer.concat(relay.conns[conns].up);
      t.true(Math.abs(helloTime(hello) - (Date.now() / 1000 + 1800)) < 60);
      await reg.close(id);
    } finally {
      relay.server.close();
    }
  },
);

test.serial(
  'ee: a key exchange stamps its ClientHello with the time offset it is given (DC 30 min ahead)',
  async (t) => {
    const dc = await startDc(EE, { fakeTlsWindow: { maxAgeSeconds: 1200, maxAheadSeconds: 600 } });
    dc.skewClock(1800);
    const options = {
      host: '127.0.0.1',
      port: dc.port,
      dcId: 2,
      secret: EE,
      rsaKeys: [dc.rsaPublicKey.pem],
      timeoutMs: 3000,
    };
    // On the local clock the hello is 30 min behind the DC's window: refused.
    await t.throwsAsync(createAuthKey(options));
    t.is(dc.stats.authKeysCreated, 0);
    // Stamped on the DC's clock (what a session that learned the offset passes): accepted.
    const key = await createAuthKey({ ...options, timeOffsetMs: 1800_000 });
    t.is(key.authKey.length, 256);
    t.is(dc.stats.authKeysCreated, 1);
  },
);

test.serial('ee through a SOCKS5 and an HTTP CONNECT (auth) proxy', async (t) => {
  const dc = await startDc(EE);
  for (const [server, proxy] of [
    [socks, { type: 'socks5', host: socks.host, port: socks.port }],
    [http, { type: 'http', host: http.host, port: http.port, username: 'u', password: 'p' }],
  ] as const) {
    const tunnels = server.stats.tunnels;
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, { ...opts(dc, dc.port, EE), proxy });
    t.is((await reg.call(id, 'help.getConfig', {})).thisDc, 2);
    t.is(server.stats.tunnels - tunnels, 2, proxy.type);
    await reg.close(id);
  }
});

test.serial('ee: a wrong key or another domain is refused by TestDc (MTPROXY_REJECTED)', async (t) => {
  const dc = await startDc(EE);
  const wrongKey = Buffer.concat([Buffer.of(0xee), Buffer.alloc(16, 7), Buffer.from(DOMAIN)]);
  const wrongDomain = Buffer.concat([Buffer.of(0xee), KEY, Buffer.from('example.org')]);
  for (const secret of [wrongKey, wrongDomain]) {
    const err = await t.throwsAsync(new SessionRegistry().open(2, undefined, opts(dc, dc.port, secret)), {
      instanceOf: SessionError,
    });
    t.is(err?.code, 'MTPROXY_REJECTED');
  }
  t.is(dc.stats.authKeysCreated, 0);
});

test.serial('ee: a replayed ClientHello gets no answer', async (t) => {
  const dc = await startDc(EE);
  const hello = new FakeTlsClient(EE, Date.now()).hello;
  const send = async () => {
    const s = connect(dc.port, '127.0.0.1');
    await once(s, 'connect');
    s.write(hello);
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    await once(s, 'close').catch(() => {});
    return Buffer.concat(chunks);
  };
  const first = connect(dc.port, '127.0.0.1');
  await once(first, 'connect');
  first.write(hello);
  const [answer] = (await once(first, 'data')) as [Buffer];
  t.is(answer[0], 0x16);
  first.destroy();
  t.is((await send()).length, 0, 'the replay was closed without an answer');
});

test.serial('the client refuses a server that does not know the secret', async (t) => {
  // Answers any hello with TLS-shaped records whose random is not the HMAC.
  const impostor = createServer((s) => {
    s.once('data', () => {
      const hello = Buffer.alloc(4 + 2 + 32 + 1 + 3);
      hello[0] = 2;
      hello.writeUIntBE(hello.length - 4, 1, 3);
      hello[4] = 3;
      hello[5] = 3;
      const rec = Buffer.concat([Buffer.from([0x16, 3, 3, 0, hello.length]), hello]);
      s.write(Buffer.concat([rec, Buffer.from([0x14, 3, 3, 0, 1, 1, 0x17, 3, 3, 0, 4, 1, 2, 3, 4])]));
    });
    s.on('error', () => {});
  });
  impostor.listen(0, '127.0.0.1');
  await once(impostor, 'listening');
  const port = (impostor.address() as { port: number }).port;
  try {
    const err = await t.throwsAsync(openSocket({ host: '127.0.0.1', port }, { secret: EE }), {
      instanceOf: ConnectError,
    });
    t.is(err?.code, 'MTPROXY_REJECTED');
    t.is((err?.cause as { code?: string } | undefined)?.code, 'ERR_TRANSPORT_TLS_BAD_DIGEST');
  } finally {
    impostor.close();
  }
});

test('FakeTlsServer: stale hellos and non-TLS bytes are typed errors', (t) => {
  const server = new FakeTlsServer(EE, { maxAgeSeconds: 30, maxAheadSeconds: 30 });
  const now = Date.now();
  t.throws(() => server.accept(new FakeTlsClient(EE, now - 60_000).hello, now), {
    code: 'ERR_TRANSPORT_TLS_STALE',
  });
  t.throws(() => server.accept(new FakeTlsClient(EE, now + 60_000).hello, now), {
    code: 'ERR_TRANSPORT_TLS_STALE',
  });
  t.throws(() => server.accept(Buffer.from('GET / HTTP/1.1\r\n'), now), {
    code: 'ERR_TRANSPORT_TLS_BAD_HELLO',
  });
  const hello = new FakeTlsClient(EE, now).hello;
  t.is(server.accept(hello.subarray(0, 100), now), null);
  t.truthy(server.accept(hello, now));
  t.throws(() => server.accept(hello, now), { code: 'ERR_TRANSPORT_TLS_REPLAY' });
  t.throws(() => new FakeTlsClient(DD, now), { code: 'ERR_TRANSPORT_BAD_SECRET' });
});

// Differential: TelethonFakeTLS (Python, PyPI) against TestDc's `ee` mode;
// `npm test` installs it into .tmp/pydeps (scripts/install-peers.sh).
test.serial(
  'TelethonFakeTLS (independent client) gets a key and a call through TestDc in ee mode',
  async (t) => {
    const dc = await startDc(EE);
    const dir = mkdtempSync(join(tmpdir(), 'tm-faketls-'));
    const pem = join(dir, 'dc.pem');
    writeFileSync(pem, dc.rsaPublicKey.pem);
    const out = await new Promise<string>((resolve, reject) => {
      const p = spawn(
        'python3',
        [
          join(__dirname, 'proxy-telethon-faketls.py'),
          String(dc.port),
          '2',
          pem,
          EE.subarray(1).toString('hex'),
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, PYTHONPATH: join(__dirname, '..', '.tmp', 'pydeps') },
        },
      );
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => {
        stdout += d;
      });
      p.stderr.on('data', (d) => {
        stderr += d;
      });
      const timer = setTimeout(() => p.kill(), 60_000);
      p.on('close', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`TelethonFakeTLS exited with ${code}: ${stderr.slice(-2000)}`));
      });
    });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { thisDc: number; authKey: string };
    t.is(result.thisDc, 2);
    t.is(result.authKey.length, 512);
    // The key Telethon holds is one TestDc made with it (a loaded machine may have had
    // Telethon time out a first exchange and run a second: CI saw 2 keys once).
    const key = Buffer.from(result.authKey, 'hex');
    t.deepEqual(dc.authKey(authKeyIdOf(key)), key);
    t.true(dc.stats.authKeysCreated >= 1);
  },
);

test('TransportCodec with an ee secret: large packets span several TLS records both ways', (t) => {
  const client = new TransportCodec({ kind: 'padded', secret: EE, dcId: 2 });
  const server = new TransportCodec({ role: 'server', secret: EE });
  t.true(client.fakeTls);
  const packets = [randomBytes(40), randomBytes(100_000), randomBytes(16_384)];
  const wire = Buffer.concat(packets.map((p) => client.encode(p)));
  const tls = records(wire);
  t.deepEqual(tls[0], [0x14, 1]);
  t.true(tls.slice(1).every(([type, len]) => type === 0x17 && len <= 16384));
  t.true(tls.length > 8);
  // Fed one byte at a time for the first 300 bytes, then the rest at once.
  const events = [...server.decode(wire.subarray(0, 1))];
  for (let i = 1; i < 300; i++) events.push(...server.decode(wire.subarray(i, i + 1)));
  events.push(...server.decode(wire.subarray(300)));
  t.is(server.kind, 'padded');
  t.true(server.fakeTls);
  t.is(events.length, 3);
  events.forEach((e, i) => {
    t.is(e.kind, 'packet');
    if (e.kind === 'packet') t.deepEqual(e.data.subarray(0, packets[i].length), packets[i]);
  });
  const back = server.encode(randomBytes(20_000));
  t.is(back[0], 0x17);
  t.is(client.decode(back).length, 1);
  // encodeInto: the room a 40 000-byte packet needs, exactly; one byte less is refused.
  const c2 = new TransportCodec({ kind: 'padded', secret: EE });
  const big = randomBytes(40_000);
  const need = c2.headerRoom + big.length + c2.trailerLength(big.length);
  t.true(c2.trailerLength(big.length) >= c2.trailerRoom + 10);
  t.throws(() => c2.encodeInto(big, Buffer.alloc(need - 1)), { code: 'ERR_TRANSPORT_BUFFER_TOO_SMALL' });
  const out = Buffer.alloc(need);
  const n = c2.encodeInto(big, out);
  const s2 = new TransportCodec({ role: 'server', secret: EE });
  const got = s2.decode(out.subarray(0, n));
  t.is(got.length, 1);
  t.deepEqual(got[0].kind === 'packet' && got[0].data.subarray(0, big.length), big);
  // An alert record in the data phase is a typed error.
  t.throws(() => server.decode(Buffer.from([0x15, 3, 3, 0, 2, 2, 40])), {
    code: 'ERR_TRANSPORT_TLS_BAD_RECORD',
  });
});

test.serial(
  'file parts through ee and dd arrive whole: framed in place by TestDc, or by copy where fake TLS needs more room',
  async (t) => {
    const api = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };
    for (const [secret, kind] of [
      [EE, undefined],
      [DD, 'padded'],
    ] as const) {
      const dc = await startDc(secret);
      const bot = dc.accounts.addBot({ homeDcId: 2 });
      const reg = new SessionRegistry();
      const id = await reg.open(2, undefined, {
        ...opts(dc, dc.port, secret, kind),
        pool: { upload: 2, download: 2 },
      });
      try {
        await reg.loginBot(id, bot.token as string, api);
        // 512 KiB parts: above the in-place threshold; over ee each frame spans many TLS records.
        const bytes = randomBytes(3 * 1024 * 1024 + 4100);
        const file = dc.files.put(bytes);
        const got = await reg.download(id, file.location, { size: bytes.length });
        t.true(got.equals(bytes), `${secret === EE ? 'ee' : 'dd'}: the downloaded bytes are the file's`);
      } finally {
        await reg.close(id);
      }
    }
  },
);

// MtpLink: one session over one transport, through its JS API. A client link
// talks to a server-mode link over a real loopback socket (net.Server here),
// reconnects with its session intact, runs batches across 100 links, and its
// frame bytes are checked against the plain TransportCodec plus an independent
// MTProto 2.0 envelope over node:crypto (and the other way round).
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import test from 'ava';
import {
  type LinkTransportEvent,
  type MtpEvent,
  MtpLink,
  type MtpOptions,
  TransportCodec,
  type TransportOptions,
} from '../bindings';

const authKey = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 13 + 5) & 0xff));
const SALT = 0x5a175a175a175a17n;
const REQUEST = 0x0badf00d;
const SECRET = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const DD_SECRET = Buffer.concat([Buffer.from([0xdd]), SECRET]);

type Event = MtpEvent | LinkTransportEvent;

// Every client transport, with the server setup that accepts it.
const SETUPS: Array<{ name: string; client: TransportOptions; server: TransportOptions }> = [
  ...(['abridged', 'intermediate', 'padded', 'full'] as const).map((kind) => ({
    name: kind,
    client: { kind },
    server: { role: 'server' as const },
  })),
  ...(['abridged', 'intermediate', 'padded'] as const).map((kind) => ({
    name: `${kind}+obfuscated2`,
    client: { kind, obfuscated: true, dcId: 2 },
    server: { role: 'server' as const },
  })),
  {
    name: 'padded+dd-mtproxy',
    client: { kind: 'padded', secret: DD_SECRET, dcId: 4 },
    server: { role: 'server', secret: DD_SECRET },
  },
];

// --- TL helpers ---
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, n));
  return b;
}
/** A request tagged `tag`; some are long enough for abridged's 4-byte header. */
const request = (tag: number) => Buffer.concat([u32(REQUEST), u32(tag), Buffer.alloc((tag % 4) * 200, 0x5c)]);
const result = (tag: number) => Buffer.concat([u32(0x0a753e12), u32(tag)]);
const rpcResult = (req: bigint, body: Buffer) => Buffer.concat([u32(0xf35c6d01), u64(req), body]);
const tagOf = (body: Buffer) => body.readUInt32LE(4);

const clientOptions = (extra: MtpOptions = {}): MtpOptions => ({
  salt: SALT,
  timeOffset: 0,
  autoFutureSalts: false,
  ...extra,
});
const serverLink = (transport: TransportOptions) =>
  new MtpLink(authKey, transport, { server: true, salt: SALT });

/** Server side: answers every request among `events`; returns their tags. */
function serve(server: MtpLink, events: Event[], now: number): number[] {
  const tags: number[] = [];
  for (const e of events) {
    if (e.kind === 'message' && e.body.readUInt32LE(0) === REQUEST) {
      tags.push(tagOf(e.body));
      server.enqueue(rpcResult(e.msgId, result(tagOf(e.body))), now);
    }
  }
  return tags;
}

// --- An independent MTProto 2.0 envelope over node:crypto ---
function ige(data: Buffer, key: Buffer, iv: Buffer, encrypt: boolean): Buffer {
  const aes = (encrypt ? createCipheriv : createDecipheriv)('aes-256-ecb', key, null).setAutoPadding(false);
  const out = Buffer.alloc(data.length);
  // Encrypt: c = E(p ^ c_prev) ^ p_prev. Decrypt: p = D(c ^ p_prev) ^ c_prev.
  let chainIn = encrypt ? iv.subarray(0, 16) : iv.subarray(16, 32);
  let chainOut = encrypt ? iv.subarray(16, 32) : iv.subarray(0, 16);
  for (let i = 0; i < data.length; i += 16) {
    const x = Buffer.alloc(16);
    for (let j = 0; j < 16; j++) x[j] = data[i + j] ^ chainIn[j];
    const y = aes.update(x);
    for (let j = 0; j < 16; j++) out[i + j] = y[j] ^ chainOut[j];
    chainIn = out.subarray(i, i + 16);
    chainOut = data.subarray(i, i + 16);
  }
  return out;
}

function kdf(msgKey: Buffer, x: number): [Buffer, Buffer] {
  const a = createHash('sha256')
    .update(msgKey)
    .update(authKey.subarray(x, x + 36))
    .digest();
  const b = createHash('sha256')
    .update(authKey.subarray(40 + x, 76 + x))
    .update(msgKey)
    .digest();
  return [
    Buffer.concat([a.subarray(0, 8), b.subarray(8, 24), a.subarray(24, 32)]),
    Buffer.concat([b.subarray(0, 8), a.subarray(8, 24), b.subarray(24, 32)]),
  ];
}

const keyId = createHash('sha1').update(authKey).digest().subarray(12, 20);
const msgKeyOf = (plain: Buffer, x: number) =>
  createHash('sha256')
    .update(authKey.subarray(88 + x, 120 + x))
    .update(plain)
    .digest()
    .subarray(8, 24);

/** Opens a client packet (padded transport: trailing padding trimmed). */
function refOpen(packet: Buffer) {
  const p = packet.subarray(0, packet.length - ((packet.length - 24) % 16));
  const msgKey = p.subarray(8, 24);
  const [k, iv] = kdf(msgKey, 0);
  const plain = ige(p.subarray(24), k, iv, false);
  const len = plain.readUInt32LE(28);
  return {
    keyIdOk: p.subarray(0, 8).equals(keyId),
    msgKeyOk: msgKeyOf(plain, 0).equals(msgKey),
    salt: plain.readBigUInt64LE(0),
    sessionId: plain.readBigUInt64LE(8),
    msgId: plain.readBigUInt64LE(16),
    body: plain.subarray(32, 32 + len),
  };
}

/** Seals a server message (x = 8) the way the spec says, without the native code. */
function refSeal(sessionId: bigint, msgId: bigint, seqno: number, body: Buffer): Buffer {
  const head = Buffer.concat([u64(SALT), u64(sessionId), u64(msgId), u32(seqno), u32(body.length)]);
  const len = head.length + body.length;
  const pad = 12 + ((16 - ((len + 12) % 16)) % 16);
  const plain = Buffer.concat([head, body, randomBytes(pad)]);
  const msgKey = msgKeyOf(plain, 8);
  const [k, iv] = kdf(msgKey, 8);
  return Buffer.concat([keyId, msgKey, ige(plain, k, iv, true)]);
}

/** msg_container items: [msgId, body]. */
function unpackContainer(body: Buffer): Array<[bigint, Buffer]> {
  if (body.readUInt32LE(0) !== 0x73f1f8dc) return [];
  const out: Array<[bigint, Buffer]> = [];
  let at = 8;
  for (let i = 0; i < body.readUInt32LE(4); i++) {
    const len = body.readUInt32LE(at + 12);
    out.push([body.readBigUInt64LE(at), body.subarray(at + 16, at + 16 + len)]);
    at += 16 + len;
  }
  return out;
}

/** Cuts `bytes` at random places. */
function chunks(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = Math.min(bytes.length - at, 1 + Math.floor(Math.random() * (Math.random() < 0.3 ? 8 : 400)));
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

// --- Differential: frames read by the plain TransportCodec and node:crypto ---
for (const setup of SETUPS) {
  test(`differential: frames decode with TransportCodec and open with node:crypto (${setup.name})`, (t) => {
    const client = new MtpLink(authKey, setup.client, clientOptions({ sessionId: 0x1234n }));
    const codec = new TransportCodec(setup.server);
    for (let round = 0; round < 6; round++) {
      const bodies = Array.from({ length: round % 3 }, (_, i) => request(round * 10 + i));
      const out = client.transmit(Date.now(), bodies);
      t.is(out.msgIds.length, bodies.length);
      if (bodies.length === 0) {
        t.is(out.frame, null, 'nothing due');
        continue;
      }
      t.true(Buffer.isBuffer(out.frame));
      const frames = codec.decode(out.frame as Buffer);
      t.is(frames.length, 1);
      const frame = frames[0];
      if (frame.kind !== 'packet') return t.fail(frame.kind);
      const ref = refOpen(frame.data);
      t.true(ref.keyIdOk && ref.msgKeyOk);
      t.is(ref.salt, SALT);
      t.is(ref.sessionId, 0x1234n);
      const items =
        bodies.length > 1 ? unpackContainer(ref.body) : [[ref.msgId, ref.body] as [bigint, Buffer]];
      t.deepEqual(
        items.map(([id]) => id),
        out.msgIds,
      );
      t.deepEqual(
        items.map(([, b]) => b),
        bodies,
      );
    }
    // The other way: a server message sealed by node:crypto, framed by the codec.
    const update = Buffer.concat([u32(0x11223344), u32(7)]);
    const msgId = (BigInt(Math.floor(Date.now() / 1000)) << 32n) | 1n;
    const frame = codec.encode(refSeal(0x1234n, msgId, 1, update));
    const events = chunks(frame).flatMap((c) => client.receive(c, Date.now()).events);
    t.deepEqual(events, [{ kind: 'message', msgId, seqno: 1, body: update }]);
  });
}

// --- Loopback sockets ---
function listen(onConnection: (socket: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer(onConnection);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

/** A server-mode link behind a socket: answers every request it reads. */
async function loopbackServer(transport: TransportOptions, link = serverLink(transport)) {
  const executed: number[] = [];
  let dropNext = false;
  const server = await listen((socket) => {
    link.reconnect();
    socket.on('data', (chunk) => {
      const now = Date.now();
      const { events } = link.receive(chunk, now);
      const tags = serve(link, events, now);
      executed.push(...tags);
      if (tags.length > 0 && dropNext) {
        // The connection dies after the request was read, before the answer.
        dropNext = false;
        socket.destroy();
        return;
      }
      if (events.some((e) => e.kind === 'fatal')) return void socket.destroy();
      if (link.transport === null) return;
      const out = link.transmit(now);
      if (out.frame) socket.write(out.frame);
    });
    socket.on('error', () => {});
  });
  const dropAfterNextRequest = () => {
    dropNext = true;
  };
  return { server, link, executed, dropAfterNextRequest };
}

/** A client link behind a socket, with promises per request. */
class Client {
  socket!: net.Socket;
  readonly open = new Map<bigint, { tag: number; resolve: (tag: number) => void }>();
  readonly events: Event[] = [];
  constructor(
    readonly link: MtpLink,
    readonly port: number,
  ) {}

  connect(): Promise<void> {
    this.socket = net.connect(this.port, '127.0.0.1');
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', () => {});
    return new Promise((resolve) => this.socket.once('connect', () => resolve()));
  }

  onData(chunk: Buffer): void {
    const now = Date.now();
    const { events } = this.link.receive(chunk, now);
    this.events.push(...events);
    for (const e of events) {
      if (e.kind === 'resent') {
        const entry = this.open.get(e.oldMsgId);
        if (entry) {
          this.open.delete(e.oldMsgId);
          this.open.set(e.newMsgId, entry);
        }
      } else if (e.kind === 'rpcResult') {
        const entry = this.open.get(e.reqMsgId);
        if (!entry) throw new Error(`an answer to no open request: ${e.reqMsgId}`);
        this.open.delete(e.reqMsgId);
        entry.resolve(tagOf(e.body));
      }
    }
    this.flush();
  }

  flush(): void {
    const out = this.link.transmit(Date.now());
    if (out.frame && !this.socket.destroyed) this.socket.write(out.frame);
  }

  /** Sends these requests in one transmit; resolves with the tags answered. */
  call(tags: number[]): Promise<number[]> {
    const out = this.link.transmit(
      Date.now(),
      tags.map((tag) => request(tag)),
    );
    const answers = out.msgIds.map(
      (id, i) => new Promise<number>((resolve) => this.open.set(id, { tag: tags[i], resolve })),
    );
    if (out.frame) this.socket.write(out.frame);
    return Promise.all(answers);
  }
}

for (const setup of SETUPS) {
  test(`loopback socket: requests and answers (${setup.name})`, async (t) => {
    const { server, link: sLink, executed } = await loopbackServer(setup.server);
    const client = new Client(new MtpLink(authKey, setup.client, clientOptions()), portOf(server));
    await client.connect();
    const groups = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 1 + (i % 4) }, (_, j) => i * 10 + j),
    );
    const answered = await Promise.all(groups.map((tags) => client.call(tags)));
    t.deepEqual(answered, groups);
    t.deepEqual(
      executed.sort((a, b) => a - b),
      groups.flat().sort((a, b) => a - b),
    );
    t.is(sLink.sessionId, client.link.sessionId);
    t.is(sLink.transport, setup.client.kind as string);
    t.deepEqual(client.link.inFlight(), []);
    client.socket.destroy();
    server.close();
  });
}

test('loopback socket: reconnect keeps the session; requestState re-sends only what was lost', async (t) => {
  const setup = SETUPS.find((s) => s.name === 'intermediate+obfuscated2');
  if (!setup) return t.fail();
  const srv = await loopbackServer(setup.server);
  const client = new Client(new MtpLink(authKey, setup.client, clientOptions()), portOf(srv.server));
  await client.connect();
  t.deepEqual(await client.call([1]), [1]);
  const sessionId = client.link.sessionId;

  // Request 2 is read and run, then the connection drops before its answer.
  srv.dropAfterNextRequest();
  const closed = new Promise((resolve) => client.socket.once('close', resolve));
  const second = client.call([2]);
  await closed;
  // While disconnected: request 3 is queued, not sent.
  const third = client.link.enqueue(request(3), Date.now());
  const answerOf3 = new Promise<number>((resolve) => client.open.set(third, { tag: 3, resolve }));

  client.link.reconnect();
  t.is(client.link.broken, null);
  t.is(client.link.requestState(Date.now()), 1, 'request 2 is the one in flight');
  await client.connect();
  client.flush();
  t.deepEqual(await second, [2]);
  t.is(await answerOf3, 3);
  t.deepEqual(srv.executed, [1, 2, 3], 'the server ran each request once: request 2 was not re-sent');
  t.false(client.events.some((e) => e.kind === 'resent'));
  t.is(client.link.sessionId, sessionId);
  t.is(srv.link.sessionId, sessionId);
  client.socket.destroy();
  srv.server.close();
});

test('loopback socket: a request lost on the wire is re-sent after requestState', async (t) => {
  const setup = SETUPS[1];
  const srv = await loopbackServer(setup.server);
  const client = new Client(new MtpLink(authKey, setup.client, clientOptions()), portOf(srv.server));
  await client.connect();
  t.deepEqual(await client.call([1]), [1]);
  // Request 2 leaves the link but never reaches the socket.
  const out = client.link.transmit(Date.now(), [request(2)]);
  const answer = new Promise<number>((resolve) => client.open.set(out.msgIds[0], { tag: 2, resolve }));
  client.socket.destroy();
  client.link.reconnect();
  client.link.requestState(Date.now());
  await client.connect();
  client.flush();
  t.is(await answer, 2);
  t.deepEqual(srv.executed, [1, 2]);
  t.true(client.events.some((e) => e.kind === 'resent' && e.oldMsgId === out.msgIds[0]));
  client.socket.destroy();
  srv.server.close();
});

// --- Transport events ---
test('transport error codes are typed events; the link keeps working', (t) => {
  const client = new MtpLink(authKey, { kind: 'padded', obfuscated: true }, clientOptions({ sessionId: 9n }));
  const codec = new TransportCodec({ role: 'server' });
  codec.decode(client.transmit(Date.now(), [request(1)]).frame as Buffer);
  const bytes = Buffer.concat([-404, -429, -444, -1].map((code) => codec.encode(u32(code))));
  const events = chunks(bytes).flatMap((c) => client.receive(c, Date.now()).events);
  t.deepEqual(events, [
    { kind: 'transportError', code: -404, reason: 'AUTH_KEY_NOT_FOUND' },
    { kind: 'transportError', code: -429, reason: 'FLOOD' },
    { kind: 'transportError', code: -444, reason: 'INVALID_DC' },
    { kind: 'transportError', code: -1, reason: 'OTHER' },
  ]);
  t.is(client.broken, null);
  t.deepEqual(client.receive(codec.quickAckAnswer(0x1234), Date.now()).events, [
    { kind: 'quickAck', token: 0x80001234 },
  ]);
});

test('a corrupt stream gives one fatal event; transmit refuses until reconnect', (t) => {
  const client = new MtpLink(authKey, { kind: 'intermediate' }, clientOptions());
  client.transmit(Date.now(), [request(1)]);
  const { events } = client.receive(Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3]), Date.now());
  t.is(events.length, 1);
  const fatal = events[0];
  if (fatal.kind !== 'fatal') return t.fail(fatal.kind);
  t.is(fatal.code, 'ERR_TRANSPORT_FRAME_TOO_LONG');
  t.is(client.broken, 'ERR_TRANSPORT_FRAME_TOO_LONG');
  t.deepEqual(client.receive(Buffer.from([1]), Date.now()).events, [fatal]);
  t.throws(() => client.transmit(Date.now(), [request(2)]), { code: 'ERR_LINK_BROKEN' });
  t.is(client.inFlight().length, 1, 'the refused body was not queued');
  client.reconnect();
  t.is(client.broken, null);
  t.truthy(client.transmit(Date.now(), [request(2)]).frame);
});

test('garbage never throws: only typed events', (t) => {
  for (const setup of SETUPS) {
    for (let round = 0; round < 20; round++) {
      const client = new MtpLink(authKey, setup.client, clientOptions());
      client.transmit(Date.now(), [request(1)]);
      for (const c of chunks(randomBytes(Math.floor(Math.random() * 3000)))) {
        for (const e of client.receive(c, Date.now()).events) {
          t.true(['fatal', 'dropped', 'quickAck', 'transportError'].includes(e.kind), e.kind);
        }
      }
    }
  }
});

test('errors: bad bodies, bad auth key, bad options, a server before the preamble', (t) => {
  const client = new MtpLink(authKey, { kind: 'full' }, clientOptions());
  t.throws(() => client.transmit(Date.now(), [request(1), Buffer.alloc(3)]), { code: 'ERR_BAD_BODY' });
  t.deepEqual(client.inFlight(), []);
  t.throws(() => new MtpLink(Buffer.alloc(8), { kind: 'full' }), { code: 'ERR_BAD_AUTH_KEY' });
  t.throws(() => new MtpLink(authKey, {}), { code: 'ERR_TRANSPORT_BAD_OPTIONS' });
  const server = serverLink({ role: 'server' });
  server.enqueue(request(1), Date.now());
  t.throws(() => server.transmit(Date.now()), { code: 'ERR_TRANSPORT_NOT_READY' });
  t.is(server.transport, null);
});

test('state export and import pass through to the session', (t) => {
  const a = new MtpLink(authKey, { kind: 'abridged' }, clientOptions({ sessionId: 77n }));
  a.transmit(Date.now(), [request(1), request(2)]);
  const state = a.exportState();
  t.deepEqual(state.authKey, authKey);
  t.is(state.sessionId, 77n);
  t.is(state.seqno, 2);
  const b = new MtpLink(authKey, { kind: 'abridged' }, clientOptions());
  b.importState(state, Date.now());
  t.is(b.sessionId, 77n);
  t.deepEqual(b.exportState(), state);
  const id = b.transmit(Date.now(), [request(3)]).msgIds[0];
  t.true(id > state.lastMsgId, 'msg_ids continue after the imported ones');
});

test('pooled frames and bodies are Buffers whose bytes later calls never touch', (t) => {
  const client = new MtpLink(authKey, { kind: 'intermediate' }, clientOptions({ sessionId: 5n }));
  const codec = new TransportCodec({ role: 'server' });
  const kept: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < 400; i++) {
    const frame = client.transmit(Date.now(), [request(i)]).frame as Buffer;
    t.true(Buffer.isBuffer(frame));
    kept.push([frame, Buffer.from(frame)]);
    codec.decode(frame);
  }
  // Past several pools: every frame still holds its own bytes.
  t.true(new Set(kept.map(([f]) => f.buffer)).size > 1, 'frames come from more than one pool');
  t.true(kept.every(([f, copy]) => f.equals(copy)));
  const bodies: Array<[Buffer, Buffer]> = [];
  for (let i = 0; i < 300; i++) {
    const update = Buffer.concat([u32(0x11223344), u32(i), Buffer.alloc((i % 13) * 4, i)]);
    const msgId = (BigInt(Math.floor(Date.now() / 1000)) << 32n) | BigInt(4 * i + 1);
    const [e] = client.receive(codec.encode(refSeal(5n, msgId, 2 * i + 1, update)), Date.now()).events;
    if (e.kind !== 'message')
      return t.fail(JSON.stringify(e, (_, v) => (typeof v === 'bigint' ? `${v}` : v)));
    t.true(Buffer.isBuffer(e.body));
    t.deepEqual(e.body, update);
    bodies.push([e.body, update]);
  }
  t.true(bodies.every(([b, copy]) => b.equals(copy)));
  t.true(kept.every(([f, copy]) => f.equals(copy)));
});

// --- Batches across 100 links ---
test('transmitAll / receiveAll across 100 links, chunks cut anywhere', (t) => {
  const N = 100;
  const setups = Array.from({ length: N }, (_, i) => SETUPS[i % SETUPS.length]);
  const clients = setups.map(
    (s, i) => new MtpLink(authKey, s.client, clientOptions({ sessionId: BigInt(i + 1) })),
  );
  const servers = setups.map((s) => serverLink(s.server));
  const open = new Map<string, number>();
  let tag = 0;
  for (let round = 0; round < 5; round++) {
    const now = Date.now();
    const bodies = clients.map((_, i) =>
      (i + round) % 7 === 0 ? null : Array.from({ length: 1 + ((i + round) % 3) }, () => request(++tag)),
    );
    const out = MtpLink.transmitAll(clients, now, bodies);
    t.deepEqual(out.errors, []);
    t.is(out.frameEnds.length, N);
    t.is(out.deadlines.length, N);
    t.is(out.frameEnds[N - 1], out.frames.length);
    t.is(out.msgIds.length, bodies.flat().filter((b) => b !== null).length);
    out.msgIds.forEach((id, k) => {
      const link = out.msgIdLink[k];
      const index = out.msgIdLink.subarray(0, k).filter((l) => l === link).length;
      open.set(`${link}:${id}`, tagOf((bodies[link] as Buffer[])[index]));
    });
    // Each link's bytes, cut in two: every server appears twice in one receiveAll.
    const perLink = clients.map((_, i) =>
      out.frames.subarray(i === 0 ? 0 : out.frameEnds[i - 1], out.frameEnds[i]),
    );
    const cut = perLink.map((b) => Math.floor(Math.random() * (b.length + 1)));
    const got = MtpLink.receiveAll(
      [...servers, ...servers],
      [...perLink.map((b, i) => b.subarray(0, cut[i])), ...perLink.map((b, i) => b.subarray(cut[i]))],
      now,
    );
    t.is(got.events.length, got.eventLink.length);
    for (let i = 0; i < N; i++) {
      const mine = got.events.filter((_, k) => got.eventLink[k] % N === i);
      const served = serve(servers[i], mine, now);
      const sent = bodies[i]?.map(tagOf) ?? [];
      t.deepEqual(served, sent);
    }
    const back = MtpLink.transmitAll(servers, now);
    // Servers that never heard from their client cannot send yet.
    t.true(back.errors.every((e) => e.code === 'ERR_TRANSPORT_NOT_READY'));
    const answers = MtpLink.receiveAll(
      clients,
      clients.map((_, i) => back.frames.subarray(i === 0 ? 0 : back.frameEnds[i - 1], back.frameEnds[i])),
      now,
    );
    answers.events.forEach((e, k) => {
      if (e.kind !== 'rpcResult') return;
      const key = `${answers.eventLink[k]}:${e.reqMsgId}`;
      t.is(open.get(key), tagOf(e.body));
      open.delete(key);
    });
  }
  t.is(open.size, 0, 'every request answered once');
});

test('transmitAll: a broken link is reported and skipped, a bad body changes nothing', (t) => {
  const links = Array.from(
    { length: 3 },
    (_, i) => new MtpLink(authKey, { kind: 'intermediate' }, clientOptions({ sessionId: BigInt(i + 1) })),
  );
  links[1].receive(Buffer.from([0xff, 0xff, 0xff, 0x7f]), Date.now());
  t.throws(() => MtpLink.transmitAll(links, Date.now(), [[request(1)], [request(2)], [Buffer.alloc(5)]]), {
    code: 'ERR_BAD_BODY',
  });
  t.true(links.every((l) => l.inFlight().length === 0));
  const out = MtpLink.transmitAll(links, Date.now(), [[request(1)], [request(2)], [request(3)]]);
  t.is(out.errors.length, 1);
  t.like(out.errors[0], { link: 1, code: 'ERR_LINK_BROKEN' });
  t.deepEqual([...out.msgIdLink], [0, 2]);
  t.is(out.frameEnds[0], out.frameEnds[1], 'nothing from the broken link');
  t.true(Number.isNaN(out.deadlines[1]));
  t.is(links[1].inFlight().length, 0);
  t.throws(() => MtpLink.receiveAll(links, [], Date.now()), { code: 'ERR_BAD_BATCH' });
  // Something that is not a link: nothing changes, not even for the links before it.
  const notALink = { transmit() {} } as unknown as MtpLink;
  t.throws(() => MtpLink.transmitAll([links[0], notALink], Date.now(), [[request(4)]]), {
    code: 'ERR_BAD_BATCH',
  });
  t.is(links[0].inFlight().length, 1);
  // The same link twice: its chunks are taken in order.
  const twice = MtpLink.transmitAll([links[2], links[2]], Date.now(), [[request(5)], [request(6)]]);
  t.deepEqual([...twice.msgIdLink], [0, 1]);
  t.is(links[2].inFlight().length, 3);
});

test('receiveAll makes the same events as receive (bodies small, large, in one or two arenas)', (t) => {
  const now = Date.now();
  const twin = () => new MtpLink(authKey, { kind: 'intermediate' }, clientOptions({ sessionId: 77n }));
  const [one, all] = [twin(), twin()];
  const server = serverLink({ role: 'server' });
  server.receive(one.transmit(now, [request(1)]).frame as Buffer, now);
  // Unsolicited messages of many sizes: pooled views, and past 4 KiB Buffers of their own.
  const sizes = [4, 8, 100, 600, 5000, 3000, 12, 4096, 4100, 40];
  const frames: Buffer[] = [];
  // One message per frame: receive() makes each event as an object of its own,
  // receiveAll() the whole batch in its flat form.
  for (let round = 0; round < 20; round++) {
    for (const size of sizes) {
      const body = Buffer.alloc(size, round);
      body.writeUInt32LE(0x1cb5c415 ^ size, 0);
      server.enqueue(body, now, true);
      frames.push(server.transmit(now).frame as Buffer);
    }
  }
  // The twin that sent the request also hears it acknowledged; the other does not know the id.
  const single = frames.flatMap((f) => one.receive(f, now).events).filter((e) => e.kind !== 'acked');
  const batched = MtpLink.receiveAll(
    frames.map(() => all),
    frames,
    now,
  );
  t.is(single.length, sizes.length * 20);
  t.deepEqual(batched.events, single);
  t.deepEqual(
    [...batched.eventLink],
    single.map((_, i) => i),
  );
});

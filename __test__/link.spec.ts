// MtpLink: one session over one transport, through its JS API. A client link
// talks to a server-mode link over a real loopback socket (net.Server here),
// reconnects with its session intact, hands a big packet's events out 1,024 at a
// time, makes the same results through the JS factories as natively, and its
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
  TL,
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

const clientOptions = (transport: TransportOptions, extra: MtpOptions = {}): MtpOptions => ({
  transport,
  salt: SALT,
  timeOffset: 0,
  autoFutureSalts: false,
  ...extra,
});
const serverLink = (transport: TransportOptions) =>
  new MtpLink(authKey, { transport, server: true, salt: SALT });

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
    const client = new MtpLink(authKey, clientOptions(setup.client, { sessionId: 0x1234n }));
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
    const client = new Client(new MtpLink(authKey, clientOptions(setup.client)), portOf(server));
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
  const client = new Client(new MtpLink(authKey, clientOptions(setup.client)), portOf(srv.server));
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
  const client = new Client(new MtpLink(authKey, clientOptions(setup.client)), portOf(srv.server));
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
  const client = new MtpLink(authKey, clientOptions({ kind: 'padded', obfuscated: true }, { sessionId: 9n }));
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
  const client = new MtpLink(authKey, clientOptions({ kind: 'intermediate' }));
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
      const client = new MtpLink(authKey, clientOptions(setup.client));
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
  const client = new MtpLink(authKey, clientOptions({ kind: 'full' }));
  t.throws(() => client.transmit(Date.now(), [request(1), Buffer.alloc(3)]), { code: 'ERR_BAD_BODY' });
  t.deepEqual(client.inFlight(), []);
  t.throws(() => new MtpLink(Buffer.alloc(8), { transport: { kind: 'full' } }), { code: 'ERR_BAD_AUTH_KEY' });
  t.throws(() => new MtpLink(authKey, { transport: {} }), { code: 'ERR_TRANSPORT_BAD_OPTIONS' });
  const server = serverLink({ role: 'server' });
  server.enqueue(request(1), Date.now());
  t.throws(() => server.transmit(Date.now()), { code: 'ERR_TRANSPORT_NOT_READY' });
  t.is(server.transport, null);
});

test('state export and import pass through to the session', (t) => {
  const a = new MtpLink(authKey, clientOptions({ kind: 'abridged' }, { sessionId: 77n }));
  a.transmit(Date.now(), [request(1), request(2)]);
  const state = a.exportState();
  t.deepEqual(state.authKey, authKey);
  t.is(state.sessionId, 77n);
  t.is(state.seqno, 2);
  const b = new MtpLink(authKey, clientOptions({ kind: 'abridged' }));
  b.importState(state, Date.now());
  t.is(b.sessionId, 77n);
  t.deepEqual(b.exportState(), state);
  const id = b.transmit(Date.now(), [request(3)]).msgIds[0];
  t.true(id > state.lastMsgId, 'msg_ids continue after the imported ones');
});

test('pooled frames and bodies are Buffers whose bytes later calls never touch', (t) => {
  const client = new MtpLink(authKey, clientOptions({ kind: 'intermediate' }, { sessionId: 5n }));
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

// --- Many events from one packet ---
/** A server packet holding `count` small updates (tags 0..count) in one msg_container, sealed by hand. */
function bigContainer(sessionId: bigint, count: number, firstId: bigint): Buffer {
  const items = Array.from({ length: count }, (_, tag) =>
    Buffer.concat([u64(firstId + 4n * BigInt(tag)), u32(1), u32(8), u32(0x11223344), u32(tag)]),
  );
  const body = Buffer.concat([u32(0x73f1f8dc), u32(count), ...items]);
  return refSeal(sessionId, firstId + 4n * BigInt(count), 2, body);
}

test('one receive hands out at most 1,024 events; the rest wait, and so does the frame after them', (t) => {
  const now = Date.now();
  const client = new MtpLink(authKey, clientOptions({ kind: 'intermediate' }, { sessionId: 0x77n }));
  const codec = new TransportCodec({ role: 'server' });
  codec.decode(client.transmit(now, [request(1)]).frame as Buffer);
  // A second ago: older than the id of the message that follows.
  const first = (BigInt(Math.floor(now / 1000) - 1) << 32n) | 1n;
  const count = 2500;
  const update = Buffer.concat([u32(0x11223344), u32(9999)]);
  const later = (BigInt(Math.floor(now / 1000)) << 32n) | 1n;
  const wire = Buffer.concat([
    codec.encode(bigContainer(0x77n, count, first)),
    codec.encode(refSeal(0x77n, later, 3, update)),
  ]);
  const calls: Event[][] = [];
  let r = client.receive(wire, now);
  calls.push(r.events);
  t.is(client.waiting, count - 1024);
  t.true(client.buffered > 0, 'the frame after the big packet waits undecoded');
  while (client.waiting > 0) {
    r = client.receive(Buffer.alloc(0), now);
    calls.push(r.events);
  }
  t.deepEqual(
    calls.map((c) => c.length),
    [1024, 1024, count - 2048 + 1],
  );
  t.is(client.buffered, 0);
  const tags = calls.flat().map((e) => (e.kind === 'message' ? tagOf(e.body) : -1));
  t.deepEqual(tags, [...Array.from({ length: count }, (_, i) => i), 9999], 'in order, nothing lost');
  t.deepEqual(client.receive(Buffer.alloc(0), now).events, []);
});

// --- The results made by the JS factories (bindings/link-results.ts) and natively ---
/** Events as JSON both processes can print: bigints and Buffers spelled out. */
const spelled = (events: Event[]) =>
  JSON.stringify(events, (_, v) =>
    typeof v === 'bigint'
      ? `${v}n`
      : v && typeof v === 'object' && v.type === 'Buffer'
        ? Buffer.from(v.data).toString('hex')
        : v,
  );

test('events made by the JS factories are those the native module makes on its own', async (t) => {
  const now = Date.now();
  const server = serverLink({ role: 'server' });
  const options = clientOptions({ kind: 'intermediate' }, { sessionId: 77n });
  // Twenty requests, sent by both twins alike (msg_ids follow `now`, given).
  const requests = Array.from({ length: 20 }, (_, i) => request(i));
  const link = new MtpLink(authKey, options);
  const sent = link.transmit(now, requests);
  serve(server, server.receive(sent.frame as Buffer, now).events, now);
  // Messages of many sizes (pooled views, and past 4 KiB Buffers of their own), the
  // answers, and duplicates (another kind of event, made natively either way).
  const sizes = [4, 8, 100, 600, 5000, 3000, 12, 4096, 4100, 40];
  const frames: Buffer[] = [server.transmit(now).frame as Buffer];
  for (let round = 0; round < 20; round++) {
    for (const size of sizes) {
      const body = Buffer.alloc(size, round);
      body.writeUInt32LE(0x1cb5c415 ^ size, 0);
      server.enqueue(body, now, true);
      const frame = server.transmit(now).frame as Buffer;
      frames.push(frame);
      if (size === 12) frames.push(Buffer.from(frame));
    }
  }
  // Each frame alone, then all of them again in one chunk (duplicates then).
  const mine = [
    ...frames.map((f) => link.receive(Buffer.from(f), now).events),
    link.receive(Buffer.concat(frames), now).events,
  ].map(spelled);
  t.true(mine[0].includes('"rpcResult"') && mine.some((e) => e.includes('"dropped"')));
  // The native module loaded in a process of its own, without factories.
  const script = `
    const { MtpLink } = require(${JSON.stringify(require.resolve('../index.js'))});
    const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const hex = (h) => Buffer.from(h, 'hex');
    const frames = input.frames.map(hex);
    const options = { ...input.options, sessionId: BigInt(input.options.sessionId), salt: BigInt(input.options.salt) };
    const link = new MtpLink(hex(input.authKey), options);
    link.transmit(input.now, input.requests.map(hex));
    const spelled = ${spelled.toString()};
    const out = [...frames.map((f) => link.receive(f, input.now).events), link.receive(Buffer.concat(frames), input.now).events];
    process.stdout.write(JSON.stringify(out.map(spelled)));
  `;
  const { spawnSync } = await import('node:child_process');
  const child = spawnSync(process.execPath, ['-e', script], {
    input: JSON.stringify({
      frames: frames.map((f) => f.toString('hex')),
      requests: requests.map((r) => r.toString('hex')),
      options: { ...options, sessionId: '77', salt: SALT.toString() },
      authKey: authKey.toString('hex'),
      now,
    }),
    maxBuffer: 64 << 20,
  });
  t.is(child.status, 0, child.stderr.toString());
  t.deepEqual(JSON.parse(child.stdout.toString()), mine);
});

test('transmit results: the frame (pooled, or its own past 4 KiB), the ids of the bodies, the deadline', (t) => {
  const now = Date.now();
  const link = new MtpLink(authKey, clientOptions({ kind: 'intermediate' }, { sessionId: 5n }));
  const codec = new TransportCodec({ role: 'server' });
  for (const body of [request(1), Buffer.alloc(8000, 4)]) {
    body.writeUInt32LE(REQUEST, 0);
    const out = link.transmit(now, [body]);
    t.true(Buffer.isBuffer(out.frame));
    t.is(out.msgIds.length, 1);
    t.is(typeof out.deadline, 'number');
    const [frame] = codec.decode(out.frame as Buffer);
    if (frame?.kind !== 'packet') return t.fail();
    const opened = refOpen(frame.data);
    t.is(opened.msgId, out.msgIds[0]);
    t.deepEqual(opened.body, body);
  }
  const idle = link.transmit(now);
  t.is(idle.frame, null);
  t.deepEqual(idle.msgIds, []);
});

test('a body given as pieces goes out as the pieces joined, both ways; a bad one queues nothing', (t) => {
  const now = Date.now();
  const client = new MtpLink(authKey, clientOptions({ kind: 'intermediate' }, { sessionId: 6n }));
  const server = serverLink({ role: 'server' });
  const big = randomBytes(70_000);
  const pieces = [Buffer.concat([u32(REQUEST), u32(9)]), big, Buffer.alloc(4 - (big.length % 4 || 4))];
  const whole = Buffer.concat(pieces);
  const sent = client.transmit(now, [pieces, request(2)]);
  t.is(sent.msgIds.length, 2);
  const events = server.receive(sent.frame as Buffer, now).events;
  const got = events.filter((e): e is Extract<Event, { kind: 'message' }> => e.kind === 'message');
  t.deepEqual(
    got.map((e) => e.body),
    [whole, request(2)],
  );
  t.is(got[0].msgId, sent.msgIds[0]);
  // The server's answer as pieces too (TestDc's rpc_result head before a file part).
  server.enqueue([Buffer.concat([u32(0xf35c6d01), u64(sent.msgIds[0])]), ...pieces], now);
  const answers = client.receive(server.transmit(now).frame as Buffer, now).events;
  const answer = answers.find((e) => e.kind === 'rpcResult');
  if (answer?.kind !== 'rpcResult') return t.fail();
  t.deepEqual(answer.body, whole);
  // Pieces that do not join into whole TL words are refused, and nothing is queued.
  t.throws(() => client.transmit(now, [[u32(REQUEST), Buffer.alloc(3)]]), { code: 'ERR_BAD_BODY' });
  t.deepEqual(client.inFlight(), [sent.msgIds[1]]);
});

/** upload.file (storage.filePartial, mtime 7) carrying `bytes`, as the TL layer writes it. */
function uploadFile(bytes: Buffer): Buffer {
  return TL.serialize({ _: 'upload.file', type: { _: 'storage.filePartial' }, mtime: 7, bytes });
}

/** A client link and its server; the client's requests 1..n sent and received there. */
function sinkSetup(n: number) {
  const now = Date.now();
  const client = new MtpLink(authKey, clientOptions({ kind: 'intermediate' }, { sessionId: 8n }));
  const server = serverLink({ role: 'server' });
  const sent = client.transmit(
    now,
    Array.from({ length: n }, (_, i) => request(i + 1)),
  );
  server.receive(sent.frame as Buffer, now);
  return { now, client, server, ids: sent.msgIds };
}

test("an upload.file answer lands in its request's sink; any other answer comes as usual", (t) => {
  const { now, client, server, ids } = sinkSetup(5);
  const [fits, tooLong, cdn, noSink, tiny] = ids;
  const part = randomBytes(70_000);
  const long = randomBytes(5000);
  const cdnFile = TL.serialize({ _: 'upload.cdnFile', bytes: part });
  const small = randomBytes(3);
  server.enqueue(rpcResult(fits, uploadFile(part)), now);
  server.enqueue(rpcResult(tooLong, uploadFile(long)), now);
  server.enqueue(rpcResult(cdn, cdnFile), now);
  server.enqueue(rpcResult(noSink, uploadFile(small)), now);
  server.enqueue(rpcResult(tiny, uploadFile(small)), now);
  const sinks = [
    Buffer.alloc(80_000, 0xee),
    Buffer.alloc(4096, 0xee),
    Buffer.alloc(80_000, 0xee),
    Buffer.alloc(8, 0xee),
  ];
  const events = client.receive(
    server.transmit(now).frame as Buffer,
    now,
    [fits, tooLong, cdn, tiny],
    sinks,
  ).events;
  const answers = new Map(events.flatMap((e) => (e.kind === 'rpcResult' ? [[e.reqMsgId, e] as const] : [])));
  t.is(answers.size, 5);
  // Written into the sink from its start, nothing after; the answer without its bytes.
  t.is(answers.get(fits)?.sunk, part.length);
  t.deepEqual(sinks[0].subarray(0, part.length), part);
  t.true(sinks[0].subarray(part.length).every((b) => b === 0xee));
  t.deepEqual(answers.get(fits)?.body, uploadFile(Buffer.alloc(0)));
  t.is(answers.get(tiny)?.sunk, 3);
  t.deepEqual(sinks[3].subarray(0, 3), small);
  // Longer than its sink, another constructor, no sink: the whole answer, sinks untouched.
  t.deepEqual(answers.get(tooLong)?.body, uploadFile(long));
  t.deepEqual(answers.get(cdn)?.body, cdnFile);
  t.deepEqual(answers.get(noSink)?.body, uploadFile(small));
  for (const id of [tooLong, cdn, noSink]) t.is(answers.get(id)?.sunk, undefined);
  t.true(sinks[1].every((b) => b === 0xee) && sinks[2].every((b) => b === 0xee));
  // The ids and the sinks go in pairs.
  t.throws(() => client.receive(Buffer.alloc(0), now, [fits], []), { code: 'ERR_BAD_SINKS' });
});

test('a sink works the same without the JS factories', async (t) => {
  const { now, client, server, ids } = sinkSetup(1);
  const part = randomBytes(9000);
  server.enqueue(rpcResult(ids[0], uploadFile(part)), now);
  const frame = server.transmit(now).frame as Buffer;
  const mine = client.receive(Buffer.from(frame), now, [ids[0]], [Buffer.alloc(9000)]).events;
  // The same frame to a twin of the client in a process of its own (no factories).
  const script = `
    const { MtpLink } = require(${JSON.stringify(require.resolve('../index.js'))});
    const input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
    const hex = (h) => Buffer.from(h, 'hex');
    const link = new MtpLink(hex(input.authKey), { transport: { kind: 'intermediate' }, salt: BigInt(input.salt), timeOffset: 0, autoFutureSalts: false, sessionId: 8n });
    link.transmit(input.now, input.requests.map(hex));
    const sink = Buffer.alloc(9000);
    const [e] = link.receive(hex(input.frame), input.now, [BigInt(input.id)], [sink]).events.filter((e) => e.kind === 'rpcResult');
    process.stdout.write(JSON.stringify({ sunk: e.sunk, body: e.body.toString('hex'), sink: sink.toString('hex') }));
  `;
  const { spawnSync } = await import('node:child_process');
  const child = spawnSync(process.execPath, ['-e', script], {
    input: JSON.stringify({
      authKey: authKey.toString('hex'),
      salt: SALT.toString(),
      now,
      requests: [request(1).toString('hex')],
      frame: frame.toString('hex'),
      id: ids[0].toString(),
    }),
  });
  t.is(child.status, 0, child.stderr.toString());
  const answer = mine.find((e) => e.kind === 'rpcResult');
  if (answer?.kind !== 'rpcResult') return t.fail();
  t.deepEqual(JSON.parse(child.stdout.toString()), {
    sunk: 9000,
    body: answer.body.toString('hex'),
    sink: part.toString('hex'),
  });
  t.is(answer.sunk, 9000);
});

test('without a transport, packets go into the scratch when they fit, back to back; else as before', (t) => {
  const now = Date.now();
  const room = { headroom: 8, tailroom: 4 };
  const server = new MtpLink(authKey, { server: true, salt: SALT, ...room });
  const client = new MtpLink(authKey, { salt: SALT, timeOffset: 0, autoFutureSalts: false, sessionId: 9n });
  // The server's session starts from the client's first packet.
  for (const p of client.transmit(now, [request(1)]).packets ?? []) server.receive(p, now);
  const bodies = [3000, 5000, 700].map((n) => Buffer.alloc(n, n & 0xff));
  for (const b of bodies) b.writeUInt32LE(0x1cb5c415 ^ b.length, 0);
  const opened = (packets: Buffer[]) => {
    const got: Buffer[] = [];
    for (const p of packets) {
      t.true(
        p.subarray(p.length - room.tailroom).every((b) => b === 0),
        'tailroom zeros',
      );
      const sealed = Buffer.from(p.subarray(room.headroom, p.length - room.tailroom));
      for (const e of client.receive(sealed, now).events) if (e.kind === 'message') got.push(e.body);
    }
    return got;
  };
  // Room for everything: all of it in the scratch, back to back from its start.
  for (const b of bodies) server.enqueue(b, now, true);
  const scratch = Buffer.alloc(64 * 1024, 0xee);
  const out = server.transmit(now, undefined, undefined, scratch);
  const placed = out.placed ?? [];
  t.true(placed.length >= 2);
  t.deepEqual(out.packets, []);
  const views: Buffer[] = [];
  for (let i = 0; i < placed.length; i += 2) {
    t.is(placed[i], i === 0 ? 0 : placed[i - 1]);
    views.push(scratch.subarray(placed[i], placed[i + 1]));
  }
  t.true(
    scratch.subarray(placed.at(-1)).every((b) => b === 0xee),
    'nothing written past them',
  );
  t.deepEqual(opened(views), bodies);
  // A scratch too small for the first packet takes none: they come as before.
  for (const b of bodies) server.enqueue(b, now, true);
  const none = server.transmit(now, undefined, undefined, Buffer.alloc(64));
  t.is(none.placed, undefined);
  t.deepEqual(opened(none.packets ?? []), bodies);
});

test("a server's message bodies of 64 KiB or more go into its body scratch while they fit, back to back; others as before", (t) => {
  const now = Date.now();
  const server = new MtpLink(authKey, { server: true, salt: SALT });
  const client = new MtpLink(authKey, { salt: SALT, timeOffset: 0, autoFutureSalts: false, sessionId: 11n });
  const body = (n: number, tag: number) => Buffer.concat([u32(REQUEST), u32(tag), randomBytes(n - 8)]);
  const sent = [body(100_000, 1), body(70_000, 2), request(3), body(90_000, 4)];
  const scratch = Buffer.alloc(200_000, 0xee);
  const got: Buffer[] = [];
  const packets = client.transmit(now, sent).packets ?? [];
  t.is(packets.length, 1, 'one packet, one receive');
  for (const p of packets) {
    for (const e of server.receive(p, now, undefined, undefined, scratch).events)
      if (e.kind === 'message') got.push(e.body);
  }
  const mine = got.filter((b) => b.readUInt32LE(0) === REQUEST);
  t.deepEqual(mine, sent);
  // 64 KiB or more and fitting: views of the scratch, back to back from its start; the
  // small one and the one that no longer fits: Buffers of their own.
  t.deepEqual(
    mine.map((b) => (b.buffer === scratch.buffer ? b.byteOffset - scratch.byteOffset : null)),
    [0, 100_000, null, null],
  );
  t.true(
    scratch.subarray(170_000).every((b) => b === 0xee),
    'nothing written past them',
  );
  // A scratch too small for any: every body comes as before.
  for (const p of client.transmit(now, [body(100_000, 5)]).packets ?? []) {
    const [e] = server
      .receive(p, now, undefined, undefined, Buffer.alloc(1000))
      .events.filter((e) => e.kind === 'message');
    if (e?.kind !== 'message') return t.fail();
    t.not(e.body.buffer.byteLength, 1000);
    t.is(e.body.readUInt32LE(4), 5);
  }
});

test('with a transport, a frame of 64 KiB or more goes into the scratch; a smaller one, or one that does not fit, as before', (t) => {
  const now = Date.now();
  const client = new MtpLink(authKey, clientOptions({ kind: 'intermediate' }, { sessionId: 10n }));
  const codec = new TransportCodec({ role: 'server' });
  const big = Buffer.concat([u32(REQUEST), u32(1), randomBytes(100_000)]);
  const scratch = Buffer.alloc(200_000, 0xee);
  const out = client.transmit(now, [big], undefined, scratch);
  t.is(out.frame, null);
  t.deepEqual(out.placed, [0, out.placed?.[1]]);
  const frame = scratch.subarray(0, out.placed?.[1]);
  t.true(
    scratch.subarray(frame.length).every((b) => b === 0xee),
    'nothing written past it',
  );
  const [packet] = codec.decode(Buffer.from(frame));
  if (packet?.kind !== 'packet') return t.fail();
  t.deepEqual(refOpen(packet.data).body, big);
  // Small: a pooled frame as before. Too big for the scratch: a Buffer of its own.
  const small = client.transmit(now, [request(2)], undefined, scratch);
  t.true(Buffer.isBuffer(small.frame));
  t.is(small.placed, undefined);
  const tight = client.transmit(now, [big], undefined, Buffer.alloc(70_000));
  t.true(Buffer.isBuffer(tight.frame));
  t.is(tight.placed, undefined);
  const [again] = codec.decode(tight.frame as Buffer);
  if (again?.kind !== 'packet') return t.fail();
  t.deepEqual(refOpen(again.data).body, big);
});

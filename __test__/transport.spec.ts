// TransportCodec: round trips of every transport (plain, obfuscated2, MTProxy)
// with random packets and chunk splits, a differential check of framing and
// obfuscated2 against an independent implementation over node:crypto written
// below, the public vectors, and typed errors on corrupt input.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import test from 'ava';
import fc from 'fast-check';
import {
  aesCtr,
  aesCtrInPlace,
  MAX_FRAME_HEADER_ROOM,
  MAX_FRAME_TRAILER_ROOM,
  TransportCodec,
  type TransportEvent,
  type TransportOptions,
} from '../bindings';

type Kind = 'abridged' | 'intermediate' | 'padded' | 'full';
const KINDS: Kind[] = ['abridged', 'intermediate', 'padded', 'full'];
const SECRET = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const DD_SECRET = Buffer.concat([Buffer.from([0xdd]), SECRET]);

// Every client setup, with the server setup that accepts it.
const SETUPS: Array<{ name: string; client: TransportOptions; server: TransportOptions }> = [
  ...KINDS.map((kind) => ({ name: `${kind}`, client: { kind }, server: { role: 'server' as const } })),
  ...KINDS.filter((k) => k !== 'full').flatMap((kind) => [
    {
      name: `${kind}+obfuscated2`,
      client: { kind, obfuscated: true, dcId: -3 },
      server: { role: 'server' as const, kind },
    },
    {
      name: `${kind}+mtproxy`,
      client: { kind, secret: SECRET, dcId: 10002 },
      server: { role: 'server' as const, secret: SECRET },
    },
  ]),
  {
    name: 'padded+dd-mtproxy',
    client: { kind: 'padded', secret: DD_SECRET, dcId: 4 },
    server: { role: 'server', secret: DD_SECRET },
  },
];

// ---- An independent reference: framing and obfuscated2 over node:crypto ----

function refFrame(kind: Kind, packet: Buffer, seq: number, quickAck = false): Buffer {
  const qa = quickAck ? 0x80000000 : 0;
  switch (kind) {
    case 'abridged': {
      const words = packet.length / 4;
      const flag = quickAck ? 0x80 : 0;
      const head =
        words < 0x7f
          ? Buffer.from([words | flag])
          : Buffer.from([0x7f | flag, words & 0xff, (words >> 8) & 0xff, words >> 16]);
      return Buffer.concat([head, packet]);
    }
    case 'intermediate':
    case 'padded': {
      const pad = kind === 'padded' ? randomBytes(randomBytes(1)[0] & 15) : Buffer.alloc(0);
      const head = Buffer.alloc(4);
      head.writeUInt32LE((packet.length + pad.length + qa) >>> 0);
      return Buffer.concat([head, packet, pad]);
    }
    case 'full': {
      const head = Buffer.alloc(8);
      head.writeUInt32LE(packet.length + 12, 0);
      head.writeUInt32LE(seq, 4);
      const body = Buffer.concat([head, packet]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE(crc32(body));
      return Buffer.concat([body, crc]);
    }
  }
}

interface RefPacket {
  data: Buffer;
  quickAck: boolean;
}

// Parses a whole stream of frames sent by a client (quick-ack bit = request).
function refParse(kind: Kind, stream: Buffer): RefPacket[] {
  const out: RefPacket[] = [];
  let at = 0;
  while (at < stream.length) {
    if (kind === 'abridged') {
      const quickAck = (stream[at] & 0x80) !== 0;
      let words = stream[at] & 0x7f;
      let head = 1;
      if (words === 0x7f) {
        words = stream.readUIntLE(at + 1, 3);
        head = 4;
      }
      out.push({ data: stream.subarray(at + head, at + head + words * 4), quickAck });
      at += head + words * 4;
    } else if (kind === 'full') {
      const len = stream.readUInt32LE(at);
      if (crc32(stream.subarray(at, at + len - 4)) !== stream.readUInt32LE(at + len - 4))
        throw new Error('crc');
      out.push({ data: stream.subarray(at + 8, at + len - 4), quickAck: false });
      at += len;
    } else {
      const word = stream.readUInt32LE(at);
      const len = word & 0x7fffffff;
      const keep = kind === 'padded' ? len - (len % 4) : len;
      out.push({ data: stream.subarray(at + 4, at + 4 + keep), quickAck: word >= 0x80000000 });
      at += 4 + len;
    }
  }
  return out;
}

function refKeys(init: Buffer, secret?: Buffer) {
  const rev = Buffer.from(init).reverse();
  const key = (k: Buffer) => (secret ? createHash('sha256').update(k).update(secret).digest() : k);
  return {
    encKey: key(init.subarray(8, 40)),
    encIv: init.subarray(40, 56),
    decKey: key(rev.subarray(8, 40)),
    decIv: rev.subarray(40, 56),
  };
}

const TAGS: Record<string, number> = { abridged: 0xefefefef, intermediate: 0xeeeeeeee, padded: 0xdddddddd };

/** Reference obfuscated2 client: returns the header and the two CTR streams. */
function refClient(kind: Kind, dcId: number, secret?: Buffer) {
  let init: Buffer;
  do init = randomBytes(64);
  while (
    init[0] === 0xef ||
    [0x44414548, 0x54534f50, 0x20544547, 0x4954504f, 0xdddddddd, 0xeeeeeeee, 0x02010316].includes(
      init.readUInt32LE(0),
    ) ||
    init.readUInt32LE(4) === 0
  );
  init.writeUInt32LE(TAGS[kind], 56);
  init.writeInt16LE(dcId, 60);
  const k = refKeys(init, secret);
  const send = createCipheriv('aes-256-ctr', k.encKey, k.encIv);
  const encrypted = send.update(init);
  const header = Buffer.concat([init.subarray(0, 56), encrypted.subarray(56)]);
  return { header, send, recv: createCipheriv('aes-256-ctr', k.decKey, k.decIv) };
}

// ---- Helpers ----

const packetArb = fc
  .oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 300 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }) },
  )
  .chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }))
  .map((bytes) => {
    const p = Buffer.from(bytes);
    p[3] &= 0x7f; // a non-negative first word: never a transport error code
    return p;
  });

/** Random bytes with a non-negative first word (see packetArb). */
function packet(length: number): Buffer {
  const p = randomBytes(length);
  p[3] &= 0x7f;
  return p;
}

function splitAt(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, data.length]) {
    parts.push(data.subarray(prev, p));
    prev = p;
  }
  return parts;
}

function decodeAll(codec: TransportCodec, parts: Buffer[]): TransportEvent[] {
  return parts.flatMap((part) => codec.decode(part));
}

/** Decodes through `decodeInto` with a small events array, converting to `decode`'s events. */
function decodeAllInto(codec: TransportCodec, parts: Buffer[], slots: number): TransportEvent[] {
  const out = Buffer.alloc(80_016);
  const events = new Int32Array(slots * 3);
  const result: TransportEvent[] = [];
  for (let chunk of parts) {
    for (;;) {
      const n = codec.decodeInto(chunk, out, events);
      for (let i = 0; i < n; i++) {
        const [type, a, b] = events.subarray(i * 3, i * 3 + 3);
        if (type < 2)
          result.push({ kind: 'packet', data: Buffer.from(out.subarray(a, a + b)), quickAck: type === 1 });
        else if (type === 2) result.push({ kind: 'quickAck', token: a >>> 0 });
        else result.push({ kind: 'transportError', code: a });
      }
      if (n === 0) break;
      chunk = Buffer.alloc(0);
    }
  }
  return result;
}

/**
 * `p` framed where it lies, with the most room any transport needs around it (as TestDc
 * frames a file part), or by copy where the room is short (fake TLS records of a large
 * frame): the refusal must leave the codec as it was, which the peer's decode checks.
 */
function framedInPlace(codec: TransportCodec, p: Buffer): { frame: Buffer; inPlace: boolean } {
  const whole = Buffer.alloc(MAX_FRAME_HEADER_ROOM + p.length + MAX_FRAME_TRAILER_ROOM, 0xee);
  p.copy(whole, MAX_FRAME_HEADER_ROOM);
  try {
    const [start, end] = codec.encodeInPlace(whole, MAX_FRAME_HEADER_ROOM, MAX_FRAME_HEADER_ROOM + p.length);
    return { frame: whole.subarray(start, end), inPlace: true };
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_TRANSPORT_BUFFER_TOO_SMALL') throw e;
    return { frame: codec.encode(p), inPlace: false };
  }
}

function samePacket(kind: string | null, sent: Buffer, got: Buffer): boolean {
  if (kind !== 'padded') return sent.equals(got);
  return got.length - sent.length <= 12 && got.length % 4 === 0 && sent.equals(got.subarray(0, sent.length));
}

// ---- Round trips ----

for (const setup of SETUPS) {
  test(`round trip: ${setup.name}`, (t) => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(packetArb, fc.boolean()), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.integer({ min: 0, max: 2 }),
        fc.integer({ min: 0, max: 3 }),
        (packets, cuts, form, slots) => {
          const decode = (codec: TransportCodec, parts: Buffer[]) =>
            slots === 0 ? decodeAll(codec, parts) : decodeAllInto(codec, parts, slots);
          const client = new TransportCodec(setup.client);
          const server = new TransportCodec(setup.server);
          const quickAcks = setup.client.kind !== 'full';
          const frame = ([p, qa]: [Buffer, boolean]): Buffer => {
            if (form === 1) {
              const out = Buffer.alloc(client.headerRoom + p.length + client.trailerRoom + 5);
              const n = client.encodeInto(p, out, 5, qa && quickAcks);
              return out.subarray(5, 5 + n);
            }
            return client.encode(p, qa && quickAcks);
          };
          const wire =
            form === 2 ? client.encodeMany(packets.map(([p]) => p)) : Buffer.concat(packets.map(frame));
          const events = decode(server, splitAt(wire, cuts));
          t.is(server.kind, setup.client.kind!);
          t.is(server.obfuscated, client.obfuscated);
          if (client.obfuscated) t.is(server.dcId, setup.client.dcId!);
          t.is(events.length, packets.length);
          events.forEach((e, i) => {
            const [p, qa] = packets[i];
            t.true(e.kind === 'packet' && samePacket(server.kind, p, e.data));
            t.true(e.kind === 'packet' && e.quickAck === (form !== 2 && qa && quickAcks));
          });
          // And back, with a quick-ack answer and a transport error mixed in.
          const reply = packets.map(([p]) => p);
          // Every other reply framed in place; fake TLS refuses only past 16 KiB records.
          const back = [
            ...reply.map((p, i) => {
              if (i % 2 === 0) return server.encode(p);
              const { frame, inPlace } = framedInPlace(server, p);
              if (!inPlace && !setup.name.includes('tls')) t.fail(`${setup.name}: in place refused`);
              return frame;
            }),
            server.encode(Buffer.from([0x6c, 0xfe, 0xff, 0xff])),
          ];
          if (quickAcks) back.push(server.quickAckAnswer(0x1234));
          const got = decode(client, splitAt(Buffer.concat(back), cuts));
          t.is(got.length, back.length);
          reply.forEach((p, i) => {
            const e = got[i];
            t.true(e.kind === 'packet' && samePacket(client.kind, p, e.data));
          });
          t.deepEqual(got[reply.length], { kind: 'transportError', code: -404 });
          if (quickAcks) t.deepEqual(got[reply.length + 1], { kind: 'quickAck', token: 0x80001234 });
          t.is(client.buffered + server.buffered, 0);
        },
      ),
      { numRuns: 25 },
    );
  });
}

// ---- Differential: native against the reference ----

for (const kind of KINDS) {
  test(`differential: plain ${kind} frames match the reference`, (t) => {
    const client = new TransportCodec({ kind });
    const preamble = {
      abridged: [0xef],
      intermediate: [0xee, 0xee, 0xee, 0xee],
      padded: [0xdd, 0xdd, 0xdd, 0xdd],
      full: [],
    }[kind];
    t.deepEqual([...client.takePreamble()], preamble);
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 5 }), (packets) => {
        const native = new TransportCodec({ kind });
        native.takePreamble();
        const wire = Buffer.concat(packets.map((p) => native.encode(p)));
        const parsed = refParse(kind, wire);
        t.is(parsed.length, packets.length);
        parsed.forEach((r, i) => {
          t.true(samePacket(kind, packets[i], r.data));
        });
        if (kind !== 'padded') {
          const ref = Buffer.concat(packets.map((p, i) => refFrame(kind, p, i)));
          t.true(wire.equals(ref));
        }
        // The reference's frames decode natively (as a server reads them).
        const server = new TransportCodec({ role: 'server', kind });
        const events = server.decode(
          Buffer.concat([Buffer.from(preamble), ...packets.map((p, i) => refFrame(kind, p, i))]),
        );
        t.is(events.length, packets.length);
        events.forEach((e, i) => {
          t.true(e.kind === 'packet' && samePacket(kind, packets[i], e.data));
        });
      }),
      { numRuns: 20 },
    );
  });
}

for (const kind of KINDS.filter((k) => k !== 'full')) {
  for (const secret of [undefined, SECRET]) {
    const name = `${kind}${secret ? ' + MTProxy secret' : ''}`;

    test(`differential: native obfuscated2 client read by the node:crypto reference (${name})`, (t) => {
      const client = new TransportCodec({ kind, obfuscated: true, dcId: 2, secret });
      const packets = [packet(64), packet(4000), packet(8)];
      const wire = Buffer.concat(packets.map((p, i) => client.encode(p, i === 1)));
      const header = wire.subarray(0, 64);
      const k = refKeys(header, secret);
      const recv = createCipheriv('aes-256-ctr', k.encKey, k.encIv);
      const init = recv.update(header);
      t.is(init.readUInt32LE(56), TAGS[kind]);
      t.is(init.readInt16LE(60), 2);
      const frames = refParse(kind, recv.update(wire.subarray(64)));
      frames.forEach((f, i) => {
        t.true(samePacket(kind, packets[i], f.data));
      });
      t.deepEqual(
        frames.map((f) => f.quickAck),
        [false, true, false],
      );
      // The reference server answers; the native client decrypts.
      const send = createCipheriv('aes-256-ctr', k.decKey, k.decIv);
      const reply = send.update(Buffer.concat(packets.map((p, i) => refFrame(kind, p, i))));
      const events = client.decode(reply);
      events.forEach((e, i) => {
        t.true(e.kind === 'packet' && samePacket(kind, packets[i], e.data));
      });
    });

    test(`differential: node:crypto reference client read by the native server (${name})`, (t) => {
      const ref = refClient(kind, -5, secret);
      const server = new TransportCodec({ role: 'server', secret });
      const packets = [packet(128), packet(16 * 1024)];
      const body = ref.send.update(Buffer.concat(packets.map((p, i) => refFrame(kind, p, i))));
      const events = decodeAll(server, splitAt(Buffer.concat([ref.header, body]), [1, 63, 64, 65, 300]));
      t.is(server.kind, kind);
      t.is(server.dcId, -5);
      events.forEach((e, i) => {
        t.true(e.kind === 'packet' && samePacket(kind, packets[i], e.data));
      });
      const reply = ref.recv.update(server.encode(packets[0]));
      t.true(samePacket(kind, packets[0], refParse(kind, reply)[0].data));
    });
  }
}

// ---- Public vectors (vectors/obfuscated2.json) ----

test('vector: mtpylon intermediate over obfuscated2, server side', (t) => {
  // github.com/Zapix/mtpylon tests/test_transports/test_obfuscation.py
  const header = Buffer.from(
    'ac12ac1df7f68e2eacd4085138d294d7f9d71000469b9fbdc6cf0cbb50382a5d34a38c29ae4e14945dded705a65625e02e206e7a12f9e13a6bdb572fe929ec85',
    'hex',
  );
  const c2s = Buffer.from(
    'e7dbc655fbf3234c5f265c50c06482bd55ac73a906fdfee24b946ea3d268e42e11a1fccac23884200ffb7e67',
    'hex',
  );
  const c2sPlain = Buffer.from(
    '280000000000000000000000040000005e595260140000007897466054b3ae2f3172ad489eef5aa8271f730e',
    'hex',
  );
  const s2cPlain = Buffer.from(
    '54000000000000000000000001f442f55e595260400000006324160554b3ae2f3172ad489eef5aa8271f730e857a0d1dc11006c19103166c8b21d22b082690282a15c9613d00000015c4b51c01000000216be86c022bb4c3',
    'hex',
  );
  const s2c = Buffer.from(
    'fb4209d8ae8eb555348b62e53c0df46e0bb3fc0dd8b8c676c8abd9200e5546d61997e1e8473bb39304afa06ab84a4cee580541bd99bdb602737e4d358ac5c609451b2234720d93120a37b9c0b460e626d27d9da196c4690c',
    'hex',
  );
  const server = new TransportCodec({ role: 'server' });
  t.deepEqual(server.decode(Buffer.concat([header, c2s])), [
    { kind: 'packet', data: c2sPlain.subarray(4), quickAck: false },
  ]);
  t.is(server.kind, 'intermediate');
  t.true(server.encode(s2cPlain.subarray(4)).equals(s2c));
});

test('vector: gramjs AES-256-CTR', (t) => {
  // github.com/gram-js/gramjs __tests__/crypto/AES.spec.ts 'CTR encrypt function'
  const key = Buffer.from('the key needs 32 characters long');
  const iv = Buffer.from('the iv does not.');
  t.is(
    aesCtr(key, iv, Buffer.from('this can be any length')).toString('hex'),
    '5f40f14f8b70178f70e8045b44eff5f1b148714f23cd',
  );
  const err = t.throws(() => aesCtr(key.subarray(1), iv, Buffer.alloc(1)));
  t.is((err as NodeJS.ErrnoException).code, 'ERR_BAD_LENGTH');
});

test('AES-256-CTR in place: the same bytes as node:crypto and as aesCtr, written over the input only', (t) => {
  for (const n of [0, 1, 15, 16, 17, 4096, 70_001]) {
    const key = randomBytes(32);
    const iv = randomBytes(16);
    const data = randomBytes(n);
    const around = Buffer.concat([Buffer.alloc(8, 0xee), data, Buffer.alloc(8, 0xee)]);
    const view = around.subarray(8, 8 + n);
    const expected = createCipheriv('aes-256-ctr', key, iv).update(data);
    aesCtrInPlace(key, iv, view);
    t.deepEqual(view, expected, `${n} bytes`);
    t.deepEqual(aesCtr(key, iv, data), expected);
    t.true(around.subarray(0, 8).every((b) => b === 0xee) && around.subarray(8 + n).every((b) => b === 0xee));
  }
  const err = t.throws(() => aesCtrInPlace(randomBytes(32), randomBytes(15), Buffer.alloc(1)));
  t.is((err as NodeJS.ErrnoException).code, 'ERR_BAD_LENGTH');
});

// ---- Errors ----

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
  return undefined;
}

test('full transport: a flipped byte is ERR_TRANSPORT_BAD_CRC, a replay ERR_TRANSPORT_BAD_SEQ', (t) => {
  const client = new TransportCodec({ kind: 'full' });
  const first = client.encode(randomBytes(32));
  const second = client.encode(randomBytes(64));
  for (let pos = 4; pos < second.length; pos++) {
    const server = new TransportCodec({ role: 'server', kind: 'full' });
    server.decode(first);
    const bad = Buffer.from(second);
    bad[pos] ^= 1 << (pos % 8);
    t.is(
      code(() => server.decode(bad)),
      'ERR_TRANSPORT_BAD_CRC',
      `byte ${pos}`,
    );
    // The codec stays failed.
    t.is(
      code(() => server.decode(Buffer.alloc(0))),
      'ERR_TRANSPORT_BAD_CRC',
    );
  }
  const server = new TransportCodec({ role: 'server' });
  server.decode(first);
  t.is(
    code(() => server.decode(first)),
    'ERR_TRANSPORT_BAD_SEQ',
  );
});

test('limits, options and misuse give coded errors', (t) => {
  const small = new TransportCodec({ role: 'server', maxPacketLength: 64 });
  t.is(
    code(() => small.decode(new TransportCodec({ kind: 'intermediate' }).encode(Buffer.alloc(128)))),
    'ERR_TRANSPORT_FRAME_TOO_LONG',
  );
  t.is(
    code(() => new TransportCodec({ kind: 'full', obfuscated: true })),
    'ERR_TRANSPORT_OBFUSCATED_FULL',
  );
  t.is(
    code(() => new TransportCodec({ kind: 'intermediate', secret: DD_SECRET })),
    'ERR_TRANSPORT_SECRET_REQUIRES_PADDED',
  );
  t.is(
    code(() => new TransportCodec({ kind: 'padded', secret: Buffer.alloc(5) })),
    'ERR_TRANSPORT_BAD_SECRET',
  );
  t.is(
    code(() => new TransportCodec({})),
    'ERR_TRANSPORT_BAD_OPTIONS',
  );
  t.is(
    code(() => new TransportCodec({ kind: 'bogus' as Kind })),
    'ERR_TRANSPORT_BAD_OPTIONS',
  );
  t.is(
    code(() => new TransportCodec({ kind: 'abridged', dcId: 40000 })),
    'ERR_TRANSPORT_BAD_OPTIONS',
  );
  t.is(
    code(() => new TransportCodec({ kind: 'abridged' }).encode(Buffer.alloc(5))),
    'ERR_TRANSPORT_UNALIGNED',
  );
  t.is(
    code(() => new TransportCodec({ kind: 'full' }).encode(Buffer.alloc(8), true)),
    'ERR_TRANSPORT_QUICK_ACK_UNSUPPORTED',
  );
  t.is(
    code(() => new TransportCodec({ role: 'server' }).encode(Buffer.alloc(8))),
    'ERR_TRANSPORT_NOT_READY',
  );
  t.is(
    code(() => new TransportCodec({ kind: 'full' }).encodeInto(Buffer.alloc(8), Buffer.alloc(10))),
    'ERR_TRANSPORT_BUFFER_TOO_SMALL',
  );
  t.is(
    code(() => new TransportCodec({ role: 'server' }).decode(Buffer.from('GET / HTTP/1.1'))),
    'ERR_TRANSPORT_UNSUPPORTED_PROTOCOL',
  );
  const proxy = new TransportCodec({ role: 'server', secret: SECRET });
  t.is(
    code(() => proxy.decode(new TransportCodec({ kind: 'abridged' }).encode(Buffer.alloc(8)))),
    'ERR_TRANSPORT_BAD_PREAMBLE',
  );
  const wrong = new TransportCodec({ role: 'server', secret: randomBytes(16) });
  t.is(
    code(() => wrong.decode(new TransportCodec({ kind: 'abridged', secret: SECRET }).takePreamble())),
    'ERR_TRANSPORT_BAD_TAG',
  );
});

test('decodeInto: a packet larger than out is ERR_TRANSPORT_BUFFER_TOO_SMALL and stays buffered', (t) => {
  const client = new TransportCodec({ kind: 'intermediate' });
  const server = new TransportCodec({ role: 'server' });
  const events = new Int32Array(6);
  const big = packet(100);
  const wire = Buffer.concat([client.encode(packet(8)), client.encode(big)]);
  const out = Buffer.alloc(50);
  t.is(server.decodeInto(wire, out, events), 1);
  t.deepEqual([...events.subarray(0, 3)], [0, 0, 8]);
  t.is(
    code(() => server.decodeInto(Buffer.alloc(0), out, events)),
    'ERR_TRANSPORT_BUFFER_TOO_SMALL',
  );
  const large = Buffer.alloc(100);
  t.is(server.decodeInto(Buffer.alloc(0), large, events), 1);
  t.true(large.equals(big));
  t.is(
    code(() => server.decodeInto(Buffer.alloc(0), large, new Int32Array(2))),
    'ERR_TRANSPORT_BAD_OPTIONS',
  );
});

test('garbage gives coded errors or nothing, never anything else', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      const codecs = [
        new TransportCodec({ role: 'server' }),
        new TransportCodec({ role: 'server', secret: SECRET }),
        ...KINDS.map((kind) => new TransportCodec({ kind })),
        ...KINDS.filter((k) => k !== 'full').map((kind) => new TransportCodec({ kind, obfuscated: true })),
      ];
      for (const codec of codecs) {
        const c = code(() => decodeAll(codec, splitAt(Buffer.from(bytes), cuts)));
        t.true(c === undefined || c.startsWith('ERR_TRANSPORT_'), String(c));
      }
      for (const codec of [new TransportCodec({ role: 'server' }), new TransportCodec({ kind: 'padded' })]) {
        const c = code(() => decodeAllInto(codec, splitAt(Buffer.from(bytes), cuts), 1));
        t.true(c === undefined || c.startsWith('ERR_TRANSPORT_'), String(c));
      }
    }),
    { numRuns: 200 },
  );
});

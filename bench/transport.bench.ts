// Transport framing: encode on one side + decode on the other, per packet,
// for each transport (plain and obfuscated2), native TransportCodec against a
// straightforward JS implementation over node:crypto written here.
import { type Cipher, createCipheriv, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { TransportCodec } from '../dist';
import { type Measured, opsPerSecond, report } from './harness';

type Kind = 'abridged' | 'intermediate' | 'padded' | 'full';

/** One direction of a connection in plain JS: frames, CTR-encrypts, parses. */
class JsCodec {
  private seq = 0;
  private pending: Buffer = Buffer.alloc(0);
  private readonly cipher?: Cipher;

  constructor(
    private readonly kind: Kind,
    key?: Buffer,
    iv?: Buffer,
  ) {
    if (key && iv) this.cipher = createCipheriv('aes-256-ctr', key, iv);
  }

  encode(packet: Buffer): Buffer {
    let frame: Buffer;
    if (this.kind === 'abridged') {
      const words = packet.length >> 2;
      const head =
        words < 0x7f
          ? Buffer.from([words])
          : Buffer.from([0x7f, words & 0xff, (words >> 8) & 0xff, words >> 16]);
      frame = Buffer.concat([head, packet]);
    } else if (this.kind === 'full') {
      frame = Buffer.allocUnsafe(packet.length + 12);
      frame.writeUInt32LE(packet.length + 12, 0);
      frame.writeUInt32LE(this.seq++, 4);
      packet.copy(frame, 8);
      frame.writeUInt32LE(crc32(frame.subarray(0, packet.length + 8)), packet.length + 8);
    } else {
      const pad = this.kind === 'padded' ? randomBytes(randomBytes(1)[0] & 15) : Buffer.alloc(0);
      frame = Buffer.allocUnsafe(4 + packet.length + pad.length);
      frame.writeUInt32LE(packet.length + pad.length, 0);
      packet.copy(frame, 4);
      pad.copy(frame, 4 + packet.length);
    }
    return this.cipher ? this.cipher.update(frame) : frame;
  }

  decode(chunk: Buffer): Buffer[] {
    const plain = this.cipher ? this.cipher.update(chunk) : chunk;
    this.pending = this.pending.length ? Buffer.concat([this.pending, plain]) : plain;
    const out: Buffer[] = [];
    for (;;) {
      const buf = this.pending;
      let head: number;
      let len: number;
      let tail = 0;
      if (this.kind === 'abridged') {
        if (buf.length < 1) break;
        if (buf[0] < 0x7f) [head, len] = [1, buf[0] * 4];
        else if (buf.length < 4) break;
        else [head, len] = [4, buf.readUIntLE(1, 3) * 4];
      } else {
        if (buf.length < 4) break;
        head = this.kind === 'full' ? 8 : 4;
        len = buf.readUInt32LE(0) - (this.kind === 'full' ? 12 : 0);
        if (this.kind === 'full') tail = 4;
        if (this.kind === 'padded') {
          tail = len % 4;
          len -= tail;
        }
      }
      if (buf.length < head + len + tail) break;
      if (this.kind === 'full') {
        const crc = buf.readUInt32LE(head + len);
        if (crc32(buf.subarray(0, head + len)) !== crc) throw new Error('bad crc');
      }
      out.push(buf.subarray(head, head + len));
      this.pending = buf.subarray(head + len + tail);
    }
    return out;
  }
}

function nativePair(kind: Kind, obfuscated: boolean): [TransportCodec, TransportCodec] {
  const client = new TransportCodec({ kind, obfuscated });
  const server = new TransportCodec({ role: 'server' });
  server.decode(client.encode(Buffer.alloc(16))); // preamble and first frame
  return [client, server];
}

function jsPair(kind: Kind, obfuscated: boolean): [JsCodec, JsCodec] {
  if (!obfuscated) return [new JsCodec(kind), new JsCodec(kind)];
  const key = randomBytes(32);
  const iv = randomBytes(16);
  return [new JsCodec(kind, key, iv), new JsCodec(kind, key, iv)];
}

export async function run(): Promise<void> {
  const setups: Array<[Kind, boolean]> = [
    ['abridged', false],
    ['intermediate', false],
    ['padded', false],
    ['full', false],
    ['abridged', true],
    ['intermediate', true],
    ['padded', true],
  ];
  for (const size of [128, 16 * 1024]) {
    const packet = randomBytes(size);
    packet[3] &= 0x7f;
    for (const [kind, obfuscated] of setups) {
      const label = `${kind}${obfuscated ? '+obfuscated2' : ''}`;
      const [jsClient, jsServer] = jsPair(kind, obfuscated);
      const [client, server] = nativePair(kind, obfuscated);
      const [intoClient, intoServer] = nativePair(kind, obfuscated);
      const out = Buffer.alloc(size + 128);
      const batch = Array.from({ length: 16 }, () => packet);
      const [manyClient, manyServer] = nativePair(kind, obfuscated);
      const [zeroClient, zeroServer] = nativePair(kind, obfuscated);
      const inbox = Buffer.alloc(size + 64);
      const events = new Int32Array(3 * 16);
      const rows: Measured[] = [
        {
          name: 'js (node:crypto)',
          opsPerSec: opsPerSecond(() => jsServer.decode(jsClient.encode(packet))),
        },
        {
          name: 'native encode + decode',
          opsPerSec: opsPerSecond(() => server.decode(client.encode(packet))),
        },
        {
          name: 'native encodeInto + decode',
          opsPerSec: opsPerSecond(() => {
            const n = intoClient.encodeInto(packet, out);
            intoServer.decode(out.subarray(0, n));
          }),
        },
        {
          name: 'native encodeInto + decodeInto',
          opsPerSec: opsPerSecond(() => {
            const n = zeroClient.encodeInto(packet, out);
            zeroServer.decodeInto(out.subarray(0, n), inbox, events);
          }),
        },
        {
          name: 'native encodeMany(16) + decode',
          opsPerSec: opsPerSecond(() => manyServer.decode(manyClient.encodeMany(batch))) * batch.length,
        },
      ];
      report(`transport ${label}, ${size} B packets (encode + decode per packet)`, rows, 'js (node:crypto)');
    }
  }
}

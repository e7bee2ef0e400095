// The hot path through MtpLink: one 128-byte request sealed and framed per
// transmit, and one small update unframed, decrypted, checked and made an event
// per receive, one call each (on one link, and across 1,000 links), beside a JS
// baseline over node:crypto doing the same work: msg_id and seqno, headers,
// padding, msg_key, KDF, AES-256-IGE, intermediate framing and the obfuscated2
// AES-CTR stream. Reference rows show where the time goes: a native call that
// does nothing, an idle transmit, sealing alone, framing alone, and the bare
// envelope batch (encryptMessages: 256 messages sealed and framed in one call,
// no session around them), to which the full path is held as a ratio (issue
// #19: at least 0.3 one call each). A last table: a frame carrying 256 updates.
import { type Cipher, createCipheriv, createHash, randomBytes, randomFillSync } from 'node:crypto';
import * as native from '../dist';
import { MtpLink, TransportCodec, type TransportOptions } from '../dist';
import { type Measured, report } from './harness';
import { jsIge, jsKdf } from './js-baseline';

const authKey = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 31 + 7) & 0xff));
const body = Buffer.alloc(128, 0x11);
body.writeUInt32LE(0x12345678, 0);
const OBFUSCATED: TransportOptions = { kind: 'intermediate', obfuscated: true };
const PLAIN: TransportOptions = { kind: 'intermediate' };
const N = 1000;

// --- JS baseline: MTProto 2.0 over node:crypto, intermediate + obfuscated2 ---
const keyId = createHash('sha1').update(authKey).digest().subarray(12, 20);

/** One side of a connection in JS: seals and frames, or unframes and opens. */
class JsLink {
  lastMsgId = 0n;
  seq = 0;
  readonly seen = new Set<bigint>();
  readonly order: bigint[] = [];
  inbox = Buffer.alloc(0);
  readonly send: Cipher;
  readonly recv: Cipher;

  constructor(
    readonly sessionId: bigint,
    readonly sender: 0 | 8,
    keys = randomBytes(96),
  ) {
    // Two AES-256-CTR streams, as obfuscated2 keeps one per direction.
    const a = createCipheriv('aes-256-ctr', keys.subarray(0, 32), keys.subarray(32, 48));
    const b = createCipheriv('aes-256-ctr', keys.subarray(48, 80), keys.subarray(80, 96));
    [this.send, this.recv] = sender === 0 ? [a, b] : [b, a];
  }

  msgId(now: number): bigint {
    let id = ((BigInt(Math.floor(now / 1000)) << 32n) | ((BigInt(now % 1000) << 32n) / 1000n)) & ~3n;
    if (this.sender === 8) id |= 1n;
    if (id <= this.lastMsgId) id = this.lastMsgId + 4n;
    this.lastMsgId = id;
    return id;
  }

  transmit(payload: Buffer, now: number): { frame: Buffer; msgId: bigint } {
    const msgId = this.msgId(now);
    const len = 32 + payload.length;
    const pad = 12 + ((16 - ((len + 12) % 16)) % 16);
    const plain = Buffer.allocUnsafe(len + pad);
    plain.writeBigUInt64LE(0x1234n, 0);
    plain.writeBigUInt64LE(this.sessionId, 8);
    plain.writeBigUInt64LE(msgId, 16);
    plain.writeUInt32LE(this.seq++ * 2 + 1, 24);
    plain.writeUInt32LE(payload.length, 28);
    payload.copy(plain, 32);
    randomFillSync(plain, len, pad);
    const msgKey = createHash('sha256')
      .update(authKey.subarray(88 + this.sender, 120 + this.sender))
      .update(plain)
      .digest()
      .subarray(8, 24);
    const [k, iv] = jsKdf(authKey, msgKey, this.sender);
    const packet = Buffer.concat([keyId, msgKey, jsIge(plain, k, iv, true)]);
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(packet.length);
    return { frame: this.send.update(Buffer.concat([head, packet])), msgId };
  }

  receive(chunk: Buffer, now: number): unknown[] {
    const data = this.recv.update(chunk);
    this.inbox = this.inbox.length ? Buffer.concat([this.inbox, data]) : data;
    const events: unknown[] = [];
    while (this.inbox.length >= 4) {
      const len = this.inbox.readUInt32LE(0);
      if (this.inbox.length < 4 + len) break;
      events.push(this.open(this.inbox.subarray(4, 4 + len), now));
      this.inbox = this.inbox.subarray(4 + len);
    }
    return events;
  }

  open(packet: Buffer, now: number): unknown {
    const dropped = { kind: 'dropped' };
    if (packet.length < 24 + 32 + 12 || (packet.length - 24) % 16 !== 0) return dropped;
    if (!packet.subarray(0, 8).equals(keyId)) return dropped;
    const msgKey = packet.subarray(8, 24);
    const x = 8 - this.sender;
    const [k, iv] = jsKdf(authKey, msgKey, x);
    const plain = jsIge(packet.subarray(24), k, iv, false);
    const check = createHash('sha256')
      .update(authKey.subarray(88 + x, 120 + x))
      .update(plain)
      .digest()
      .subarray(8, 24);
    if (!check.equals(msgKey)) return dropped;
    const len = plain.readUInt32LE(28);
    if (len % 4 !== 0 || len > plain.length - 32 - 12) return dropped;
    if (plain.readBigUInt64LE(8) !== this.sessionId) return dropped;
    const msgId = plain.readBigUInt64LE(16);
    if ((msgId & 1n) !== 1n) return dropped;
    const skew = Number(msgId >> 32n) * 1000 - now;
    if (skew > 30_000 || skew < -300_000) return dropped;
    if (this.seen.has(msgId)) return dropped;
    this.seen.add(msgId);
    this.order.push(msgId);
    if (this.order.length > 256) this.seen.delete(this.order.shift() as bigint);
    return {
      kind: 'message',
      msgId,
      seqno: plain.readUInt32LE(24),
      body: Buffer.from(plain.subarray(32, 32 + len)),
    };
  }
}

// --- Native setup ---
function client(transport: TransportOptions, i = 1): MtpLink {
  return new MtpLink(authKey, {
    transport,
    sessionId: BigInt(i),
    salt: 0x1234n,
    timeOffset: 0,
    autoFutureSalts: false,
  });
}

/** A server-mode link that has read `c`'s first frame (so it can frame for it). */
function serverFor(c: MtpLink, now: number): MtpLink {
  const server = new MtpLink(authKey, { transport: { role: 'server' }, server: true, salt: 0x1234n });
  server.receive(c.transmit(now, [body]).frame as Buffer, now);
  return server;
}

/** A client and `count` frames a server-mode link sent it (one small update each). */
function feed(transport: TransportOptions, sid: number, count: number, now: number) {
  const c = client(transport, sid);
  const server = serverFor(c, now);
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) frames.push(server.transmit(now, [body]).frame as Buffer);
  return { client: c, frames };
}

// --- Measuring ---
// BENCH_CLOCK=cpu divides by the process's CPU time (all threads, the GC's too)
// instead of wall time: steadier on a shared machine.
const cpuClock = process.env.BENCH_CLOCK === 'cpu';
function clock(): number {
  if (!cpuClock) return performance.now();
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Operations per second of `count` calls of `fn` (for work that cannot repeat). */
function fixedRate(count: number, fn: (i: number) => void): number {
  const start = clock();
  for (let i = 0; i < count; i++) fn(i);
  return (count * 1000) / (clock() - start);
}

/**
 * Operations per second of `fn` (each call `ops` operations), in segments of
 * `calls` calls after an untimed `setup`: links are renewed between segments
 * (unanswered requests stay in flight) and the renewal is not counted.
 */
function segmented(setup: () => void, fn: () => void, calls: number, ops = 1, ms = 400): number {
  let spent = 0;
  let done = 0;
  for (let warm = 0; warm < 2; warm++) {
    setup();
    for (let i = 0; i < calls; i++) fn();
  }
  while (spent < ms) {
    setup();
    const start = clock();
    for (let i = 0; i < calls; i++) fn();
    spent += clock() - start;
    done += calls * ops;
  }
  return (done * 1000) / spent;
}

/** Best of three: the machine is shared, and a figure only gets slower by noise. */
function best(name: string, measure: () => number): Measured {
  return { name, opsPerSec: Math.max(measure(), measure(), measure()) };
}

/**
 * The bare envelope batch: 256 messages of the link's size (32-byte header and the
 * 128-byte body), one key each, sealed and framed (4-byte length) by one
 * `encryptMessages` call: the work of a transmit without the session around it.
 */
function bareEnvelopeBatch(): Measured {
  const count = 256;
  const plainLen = 32 + body.length;
  const H = native.ENVELOPE_HEADER_LEN;
  const stride = 4 + H + plainLen + 80;
  const plain = randomBytes(plainLen);
  plain.writeUInt32LE(body.length, 28);
  const big = Buffer.alloc(count * stride);
  const slots = new Uint32Array(count * 4);
  const keys = Array.from({ length: count }, () => new native.AuthKey(randomBytes(256)));
  const batch = () => {
    for (let i = 0; i < count; i++) {
      const at = i * stride;
      plain.copy(big, at + 4 + H);
      slots[4 * i] = at + 4;
      slots[4 * i + 1] = plainLen;
      slots[4 * i + 2] = stride - 4;
    }
    native.encryptMessages(keys, big, slots, false);
    for (let i = 0; i < count; i++) big.writeUInt32LE(slots[4 * i + 3], i * stride);
  };
  return best(BARE, () => segmented(() => {}, batch, 64, count));
}

const BARE = 'bare envelope batch';

/** Prints each figure as a share of the bare envelope batch's. */
function againstBare(title: string, rows: Measured[], bare: Measured): void {
  console.log(`  ${title} (issue #19: at least 0.3 one call each)`);
  for (const r of rows) {
    console.log(
      `    ${r.name.padEnd(40)} ${(r.opsPerSec / bare.opsPerSec).toFixed(2)} of the bare envelope batch`,
    );
  }
}

export async function run(): Promise<void> {
  const now = Date.now();
  console.log(`clock: ${cpuClock ? 'CPU time (BENCH_CLOCK=cpu)' : 'wall time'}`);

  // transmit: one link (or 1,000) renewed every 256 calls (64 per link), untimed.
  let js = new JsLink(1n, 0);
  let one = client(OBFUSCATED);
  let plain = client(PLAIN);
  let packets = new MtpLink(authKey, { sessionId: 1n, timeOffset: 0, autoFutureSalts: false });
  const codec = new TransportCodec(PLAIN);
  const sealed = (packets.transmit(now, [body]).packets as Buffer[])[0];
  const idle = client(OBFUSCATED);
  const tx: Measured[] = [
    best('js node:crypto (seal+frame)', () =>
      segmented(
        () => {
          js = new JsLink(1n, 0);
        },
        () => js.transmit(body, now),
        256,
      ),
    ),
    best('link.transmit(now, [body]) obf2', () =>
      segmented(
        () => {
          one = client(OBFUSCATED);
        },
        () => one.transmit(now, [body]),
        256,
      ),
    ),
    best('link.transmit(now, [body]) plain', () =>
      segmented(
        () => {
          plain = client(PLAIN);
        },
        () => plain.transmit(now, [body]),
        256,
      ),
    ),
  ];
  let many: MtpLink[] = [];
  let jsMany: JsLink[] = [];
  tx.push(
    best(`js node:crypto x${N} links`, () =>
      segmented(
        () => {
          jsMany = Array.from({ length: N }, (_, i) => new JsLink(BigInt(i + 1), 0));
        },
        () => {
          for (const s of jsMany) s.transmit(body, now);
        },
        64,
        N,
      ),
    ),
    best(`link.transmit, ${N} links`, () =>
      segmented(
        () => {
          many = Array.from({ length: N }, (_, i) => client(OBFUSCATED, i + 1));
        },
        () => {
          for (const l of many) l.transmit(now, [body]);
        },
        64,
        N,
      ),
    ),
    // Where the time goes: the floor of a native call, and parts of the work.
    best('  part: native call, no work', () =>
      segmented(
        () => {},
        () => idle.buffered,
        4096,
      ),
    ),
    best('  part: idle transmit', () =>
      segmented(
        () => {},
        () => idle.transmit(now),
        4096,
      ),
    ),
    best('  part: seal only (no transport)', () =>
      segmented(
        () => {
          packets = new MtpLink(authKey, { sessionId: 1n, timeOffset: 0, autoFutureSalts: false });
        },
        () => packets.transmit(now, [body]),
        256,
      ),
    ),
    best('  part: TransportCodec.encode only', () =>
      segmented(
        () => {},
        () => codec.encode(sealed),
        4096,
      ),
    ),
  );
  const bare = bareEnvelopeBatch();
  tx.push({ ...bare, name: `  part: ${BARE}` });
  report('link transmit: 128-byte request sealed and framed (messages/s)', tx, 'js node:crypto (seal+frame)');
  againstBare('the full path', [tx[1], tx[4]], bare);

  // receive: fresh streams for every pass (an obfuscated2 stream cannot be
  // replayed), made untimed; best of three passes.
  const M = 40_000;
  const S = 4;
  const per = M / S;
  const rx: Measured[] = [
    best('js node:crypto (unframe+open)', () => {
      const streams = Array.from({ length: S }, () => {
        const keys = randomBytes(96);
        const server = new JsLink(1n, 8, keys);
        const frames = Array.from({ length: per }, () => server.transmit(body, now).frame);
        return { client: new JsLink(1n, 0, keys), frames };
      });
      return fixedRate(M, (i) => {
        const s = streams[Math.floor(i / per)];
        s.client.receive(s.frames[i % per], now);
      });
    }),
    best('link.receive(chunk) obf2', () => {
      const streams = Array.from({ length: S }, () => feed(OBFUSCATED, 1, per, now));
      return fixedRate(M, (i) => {
        const s = streams[Math.floor(i / per)];
        s.client.receive(s.frames[i % per], now);
      });
    }),
  ];
  // 1,000 links, one frame each in turn.
  const K = 32;
  rx.push(
    best(`js node:crypto x${N} links`, () => {
      const feeds = Array.from({ length: N }, (_, s) => {
        const keys = randomBytes(96);
        const server = new JsLink(BigInt(s + 1), 8, keys);
        const frames = Array.from({ length: K }, () => server.transmit(body, now).frame);
        return { client: new JsLink(BigInt(s + 1), 0, keys), frames };
      });
      return fixedRate(K * N, (i) => {
        const f = feeds[i % N];
        f.client.receive(f.frames[Math.floor(i / N)], now);
      });
    }),
    best(`link.receive, ${N} links`, () => {
      const feeds = Array.from({ length: N }, (_, s) => feed(OBFUSCATED, s + 1, K, now));
      return fixedRate(K * N, (i) => {
        const f = feeds[i % N];
        f.client.receive(f.frames[Math.floor(i / N)], now);
      });
    }),
    { ...bare, name: `  part: ${BARE}` },
  );
  report(
    'link receive: one small update unframed, decrypted, checked (messages/s)',
    rx,
    'js node:crypto (unframe+open)',
  );
  againstBare('the full path', [rx[1], rx[3]], bare);

  // Many events from one frame: a container of 256 small updates (each event made
  // by the JS factory of bindings/link-results.ts).
  const update = Buffer.alloc(24, 0x22);
  update.writeUInt32LE(0x1cb5c415, 0);
  const F = 40;
  const burst = best('link.receive, 256 updates per frame', () => {
    const c = client(PLAIN);
    const server = serverFor(c, now);
    const frames = Array.from({ length: F }, () => {
      for (let i = 0; i < 256; i++) server.enqueue(update, now);
      return server.transmit(now).frame as Buffer;
    });
    let events = 0;
    const rate = fixedRate(F, (i) => {
      events += c.receive(frames[i], now).events.length;
    });
    return (rate * events) / F;
  });
  report('link receive: events out of one frame carrying 256 updates (events/s)', [burst], burst.name);
}

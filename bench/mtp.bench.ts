// The MTProto message layer alone (MtpLink without a transport: whole packets, as
// TestDc uses it): sealing (transmit) and opening (receive) one small message, a
// call each, on one session and across 1,000, against a JS baseline that does the
// same work over node:crypto (msg_id/seqno, headers, padding, msg_key, KDF,
// AES-256-IGE, and on receipt every check, the duplicate window and an event).
import { createHash, randomFillSync } from 'node:crypto';
import { MtpLink } from '../dist';
import { type Measured, opsPerSecond, report } from './harness';
import { jsIge, jsKdf } from './js-baseline';

const authKey = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 31 + 7) & 0xff));
const body = Buffer.alloc(48, 0x11); // a small request: constructor + a few fields
body.writeUInt32LE(0x12345678, 0);

// --- JS baseline ---
class JsSession {
  readonly keyId = createHash('sha1').update(authKey).digest().subarray(12, 20);
  lastMsgId = 0n;
  seq = 0;
  readonly received: bigint[] = [];
  readonly seen = new Set<bigint>();
  readonly acks: bigint[] = [];
  constructor(
    readonly sessionId: bigint,
    readonly salt = 0x1234n,
    readonly sender: 0 | 8 = 0,
  ) {}

  msgId(now: number): bigint {
    let id = ((BigInt(Math.floor(now / 1000)) << 32n) | ((BigInt(now % 1000) << 32n) / 1000n)) & ~3n;
    if (this.sender === 8) id |= 1n;
    if (id <= this.lastMsgId) id = this.lastMsgId + 4n;
    this.lastMsgId = id;
    return id;
  }

  transmit(payload: Buffer, now: number): Buffer {
    const msgId = this.msgId(now);
    const seqno = this.seq++ * 2 + 1;
    const len = 32 + payload.length;
    const pad = 12 + ((16 - ((len + 12) % 16)) % 16);
    const plain = Buffer.allocUnsafe(len + pad);
    plain.writeBigUInt64LE(this.salt, 0);
    plain.writeBigUInt64LE(this.sessionId, 8);
    plain.writeBigUInt64LE(msgId, 16);
    plain.writeUInt32LE(seqno, 24);
    plain.writeUInt32LE(payload.length, 28);
    payload.copy(plain, 32);
    randomFillSync(plain, len, pad);
    const msgKey = createHash('sha256')
      .update(authKey.subarray(88 + this.sender, 120 + this.sender))
      .update(plain)
      .digest()
      .subarray(8, 24);
    const [k, iv] = jsKdf(authKey, msgKey, this.sender);
    return Buffer.concat([this.keyId, msgKey, jsIge(plain, k, iv, true)]);
  }

  receive(packet: Buffer, now: number): unknown[] {
    if (packet.length < 24 + 32 + 12 || (packet.length - 24) % 16 !== 0) return [{ kind: 'dropped' }];
    if (!packet.subarray(0, 8).equals(this.keyId)) return [{ kind: 'dropped' }];
    const msgKey = packet.subarray(8, 24);
    const x = this.sender === 0 ? 8 : 0;
    const [k, iv] = jsKdf(authKey, msgKey, x);
    const plain = jsIge(packet.subarray(24), k, iv, false);
    const check = createHash('sha256')
      .update(authKey.subarray(88 + x, 120 + x))
      .update(plain)
      .digest()
      .subarray(8, 24);
    if (!check.equals(msgKey)) return [{ kind: 'dropped' }];
    const len = plain.readUInt32LE(28);
    if (len % 4 !== 0 || len > plain.length - 32 - 12) return [{ kind: 'dropped' }];
    if (plain.readBigUInt64LE(8) !== this.sessionId) return [{ kind: 'dropped' }];
    const msgId = plain.readBigUInt64LE(16);
    if ((msgId & 1n) !== 1n) return [{ kind: 'dropped' }];
    const skew = Number(msgId >> 32n) * 1000 - now;
    if (skew > 30_000 || skew < -300_000) return [{ kind: 'dropped' }];
    if (this.seen.has(msgId)) return [{ kind: 'dropped' }];
    this.seen.add(msgId);
    this.received.push(msgId);
    if (this.received.length > 256) this.seen.delete(this.received.shift() as bigint);
    const seqno = plain.readUInt32LE(24);
    if (seqno & 1) this.acks.push(msgId);
    return [{ kind: 'message', msgId, seqno, body: Buffer.from(plain.subarray(32, 32 + len)) }];
  }
}

const rate = (name: string, fn: () => void, perCall = 1): Measured => ({
  name,
  opsPerSec: opsPerSecond(fn) * perCall,
});

function client(i = 1): MtpLink {
  return new MtpLink(authKey, {
    sessionId: BigInt(i),
    salt: 0x1234n,
    timeOffset: 0,
    autoFutureSalts: false,
  });
}

/** Server-sealed packets (one small update each) for a client session `sid`. */
function serverPackets(sid: number, count: number, now: number): Buffer[] {
  const server = new MtpLink(authKey, { server: true, sessionId: BigInt(sid) });
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) out.push(...(server.transmit(now, [body]).packets ?? []));
  return out;
}

export async function run(): Promise<void> {
  const now = Date.now();
  const N = 1000;

  // transmit: seal one small request. Sessions are renewed now and then, since
  // unanswered requests stay in flight.
  let one = client();
  let n = 0;
  let js = new JsSession(1n);
  const rows: Measured[] = [
    rate('js node:crypto (seal)', () => {
      if (++n % 1024 === 0) js = new JsSession(1n);
      js.transmit(body, now);
    }),
    rate('native transmit(now, [body])', () => {
      if (++n % 1024 === 0) one = client();
      one.transmit(now, [body]);
    }),
    rate('native enqueue + transmit', () => {
      if (++n % 1024 === 0) one = client();
      one.enqueue(body, now);
      one.transmit(now);
    }),
  ];
  let many = Array.from({ length: N }, (_, i) => client(i + 1));
  let jsMany = Array.from({ length: N }, (_, i) => new JsSession(BigInt(i + 1)));
  let rounds = 0;
  rows.push(
    rate(
      `js node:crypto x${N} sessions`,
      () => {
        if (++rounds % 256 === 0) jsMany = Array.from({ length: N }, (_, i) => new JsSession(BigInt(i + 1)));
        for (const s of jsMany) s.transmit(body, now);
      },
      N,
    ),
    rate(
      `native x${N} sessions, a call each`,
      () => {
        if (++rounds % 256 === 0) many = Array.from({ length: N }, (_, i) => client(i + 1));
        for (const s of many) s.transmit(now, [body]);
      },
      N,
    ),
  );
  report('mtp transmit: one small message sealed (messages/s)', rows, 'js node:crypto (seal)');

  // receive: open one small update. Packets are consumed in place, so each call works on
  // a fresh copy (the same copy for the baseline); a new session starts each cycle.
  const M = 4096;
  const pristine = serverPackets(1, M, now);
  const work = pristine.map((p) => Buffer.alloc(p.length));
  let i = 0;
  let rc = client();
  let rjs = new JsSession(1n, 0n, 0);
  const recv: Measured[] = [
    rate('js node:crypto (open)', () => {
      if (i === M) {
        i = 0;
        rjs = new JsSession(1n, 0n, 0);
      }
      pristine[i].copy(work[i]);
      rjs.receive(work[i++], now);
    }),
  ];
  i = 0;
  recv.push(
    rate('native receive', () => {
      if (i === M) {
        i = 0;
        rc = client();
      }
      pristine[i].copy(work[i]);
      rc.receive(work[i++], now);
    }),
  );
  // Batched: 1,000 sessions, one packet each per call.
  const K = 32;
  const perSession = Array.from({ length: N }, (_, s) => serverPackets(s + 1, K, now));
  const batches = Array.from({ length: K }, (_, k) => perSession.map((ps) => ps[k]));
  const batchWork = batches.map((b) => b.map((p) => Buffer.alloc(p.length)));
  let k = 0;
  let clients = Array.from({ length: N }, (_, s) => client(s + 1));
  let jsClients = Array.from({ length: N }, (_, s) => new JsSession(BigInt(s + 1), 0n, 0));
  recv.push(
    rate(
      `js node:crypto x${N} sessions`,
      () => {
        if (k === K) {
          k = 0;
          jsClients = Array.from({ length: N }, (_, s) => new JsSession(BigInt(s + 1), 0n, 0));
        }
        const w = batchWork[k];
        batches[k].forEach((p, s) => {
          p.copy(w[s]);
          jsClients[s].receive(w[s], now);
        });
        k++;
      },
      N,
    ),
  );
  k = 0;
  recv.push(
    rate(
      `native x${N} sessions, a call each`,
      () => {
        if (k === K) {
          k = 0;
          clients = Array.from({ length: N }, (_, s) => client(s + 1));
        }
        const w = batchWork[k];
        batches[k].forEach((p, s) => {
          p.copy(w[s]);
          clients[s].receive(w[s], now);
        });
        k++;
      },
      N,
    ),
  );
  report('mtp receive: one small message opened (messages/s)', recv, 'js node:crypto (open)');
}

// A hand-written client for TestDc's tests: a socket with the native transport codec,
// the key exchange written out over node:crypto and bigint (independent of TestDc's
// server code), and an MtpLink driver (whole packets) for encrypted traffic.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { TL } from '../bindings';
import {
  factorizePq,
  type MtpEvent,
  MtpLink,
  modPow,
  mtpMsgIdAt,
  rsaLegacyEncrypt,
  rsaPadEncrypt,
  TransportCodec,
  type TransportEvent,
  type TransportOptions,
} from '../bindings/native';
import { type RsaPublicKeyInfo, TELEGRAM_DH_PRIME } from '../bindings/testing';

export const sha1 = (...p: Uint8Array[]) => p.reduce((h, x) => h.update(x), createHash('sha1')).digest();
export const sha256 = (...p: Uint8Array[]) => p.reduce((h, x) => h.update(x), createHash('sha256')).digest();

export function big(b: Uint8Array): bigint {
  return b.length ? BigInt(`0x${Buffer.from(b).toString('hex')}`) : 0n;
}

export function bytes(n: bigint, len?: number): Buffer {
  let h = n.toString(16);
  if (h.length % 2) h = `0${h}`;
  const b = Buffer.from(h, 'hex');
  return len === undefined ? b : Buffer.concat([Buffer.alloc(len - b.length), b]);
}

export function powMod(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

/** AES-256-IGE, written independently of TestDc's (iv: previous ciphertext ‖ previous plaintext). */
export function ige(data: Buffer, key: Buffer, iv: Buffer, encrypt: boolean): Buffer {
  const c = encrypt
    ? createCipheriv('aes-256-ecb', key, null).setAutoPadding(false)
    : createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  const out = Buffer.alloc(data.length);
  let prevC = iv.subarray(0, 16);
  let prevP = iv.subarray(16, 32);
  for (let i = 0; i < data.length; i += 16) {
    const blk = data.subarray(i, i + 16);
    if (encrypt) {
      const x = Buffer.alloc(16);
      for (let j = 0; j < 16; j++) x[j] = blk[j] ^ prevC[j];
      const y = c.update(x);
      for (let j = 0; j < 16; j++) out[i + j] = y[j] ^ prevP[j];
      prevP = blk;
      prevC = out.subarray(i, i + 16);
    } else {
      const x = Buffer.alloc(16);
      for (let j = 0; j < 16; j++) x[j] = blk[j] ^ prevP[j];
      const y = c.update(x);
      for (let j = 0; j < 16; j++) out[i + j] = y[j] ^ prevC[j];
      prevC = blk;
      prevP = out.subarray(i, i + 16);
    }
  }
  return out;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Pollard's rho: the smaller factor of pq. */
export function factor(pq: bigint): [bigint, bigint] {
  for (let c = 1n; ; c++) {
    let x = 2n;
    let y = 2n;
    let d = 1n;
    while (d === 1n) {
      x = (x * x + c) % pq;
      y = (y * y + c) % pq;
      y = (y * y + c) % pq;
      d = gcd(x > y ? x - y : y - x, pq);
    }
    if (d !== pq) {
      const e = pq / d;
      return d < e ? [d, e] : [e, d];
    }
  }
}

/** A client connection speaking one transport. */
export class TestClient {
  readonly socket: Socket;
  readonly codec: TransportCodec;
  private readonly queue: TransportEvent[] = [];
  private waiters: Array<(e: TransportEvent | null) => void> = [];
  closed = false;
  private lastMsgId = 0n;

  private constructor(socket: Socket, options: TransportOptions) {
    this.socket = socket;
    this.codec = new TransportCodec(options);
    socket.on('data', (chunk) => {
      let events: TransportEvent[];
      try {
        events = this.codec.decode(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const e of events) this.push(e);
    });
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.waiters) w(null);
      this.waiters = [];
    });
    socket.on('error', () => {});
  }

  static async open(port: number, options: TransportOptions = { kind: 'intermediate' }): Promise<TestClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new TestClient(socket, options);
  }

  private push(e: TransportEvent): void {
    const w = this.waiters.shift();
    if (w) w(e);
    else this.queue.push(e);
  }

  send(packet: Buffer): void {
    this.socket.write(this.codec.encode(packet));
  }

  /** The next transport event, or null when the connection closed (or after `ms`). */
  next(ms = 5000): Promise<TransportEvent | null> {
    const e = this.queue.shift();
    if (e) return Promise.resolve(e);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(null);
      }, ms);
      const done = (ev: TransportEvent | null) => {
        clearTimeout(t);
        resolve(ev);
      };
      this.waiters.push(done);
    });
  }

  /** Sends a plain message and returns the body of the plain answer (throws on anything else). */
  async plain(body: Buffer): Promise<Buffer> {
    let id = mtpMsgIdAt(Date.now());
    if (id <= this.lastMsgId) id = this.lastMsgId + 4n;
    this.lastMsgId = id;
    const p = Buffer.alloc(20 + body.length);
    p.writeBigUInt64LE(id, 8);
    p.writeUInt32LE(body.length, 16);
    body.copy(p, 20);
    this.send(p);
    const e = await this.next();
    if (!e) throw new Error('connection closed');
    if (e.kind === 'transportError')
      throw Object.assign(new Error(`transport error ${e.code}`), { transportCode: e.code });
    if (e.kind !== 'packet') throw new Error(`unexpected ${e.kind}`);
    const d = e.data;
    if (d.readBigUInt64LE(0) !== 0n) throw new Error('not a plain message');
    if (d.readBigUInt64LE(8) % 4n !== 1n) throw new Error('server plain msg_id is not 1 mod 4');
    return d.subarray(20, 20 + d.readUInt32LE(16));
  }

  close(): void {
    this.socket.destroy();
  }
}

export type InnerKind = 'p_q_inner_data' | 'p_q_inner_data_dc' | 'p_q_inner_data_temp_dc';

export interface ClientKey {
  authKey: Buffer;
  authKeyId: bigint;
  salt: bigint;
  serverTime: number;
}

/** RSA_PAD (https://core.telegram.org/mtproto/auth_key), client side, bigint RSA. */
function rsaPad(data: Buffer, key: RsaPublicKeyInfo): Buffer {
  const n = big(key.modulus);
  const e = big(key.exponent);
  const withPadding = Buffer.concat([data, randomBytes(192 - data.length)]);
  const reversed = Buffer.from(withPadding).reverse();
  for (;;) {
    const tempKey = randomBytes(32);
    const withHash = Buffer.concat([reversed, sha256(tempKey, withPadding)]);
    const aes = ige(withHash, tempKey, Buffer.alloc(32), true);
    const h = sha256(aes);
    const keyAes = Buffer.concat([Buffer.from(tempKey.map((b, i) => b ^ h[i])), aes]);
    if (big(keyAes) >= n) continue;
    return bytes(powMod(big(keyAes), e, n), 256);
  }
}

/** The legacy scheme: SHA1(data) ‖ data ‖ padding to 255 bytes, raw RSA. */
function rsaLegacy(data: Buffer, key: RsaPublicKeyInfo): Buffer {
  const block = Buffer.concat([sha1(data), data, randomBytes(255 - 20 - data.length)]);
  return bytes(powMod(big(block), big(key.exponent), big(key.modulus)), 256);
}

export interface HandshakeOptions {
  inner?: InnerKind;
  scheme?: 'pad' | 'legacy';
  dcId?: number;
  expiresIn?: number;
  /** Corrupt one step on purpose (tests of the server's strictness). */
  tamper?: 'p' | 'fingerprint' | 'inner-nonce' | 'dc' | 'client-hash' | 'g_b' | 'retry-id';
  useReqPq?: boolean;
  /** RSA and pq by the native functions (crates/mtcore) instead of this file's bigint code. */
  native?: boolean;
}

/** The whole key exchange as a client does it, checking everything the server sends. */
export async function clientHandshake(
  c: TestClient,
  key: RsaPublicKeyInfo,
  o: HandshakeOptions = {},
): Promise<ClientKey> {
  const nonce = randomBytes(16);
  const resPQ = TL.deserialize(
    await c.plain(TL.serialize({ _: o.useReqPq ? 'req_pq' : 'req_pq_multi', nonce })),
  ) as TL.Objects['resPQ'];
  if (resPQ._ !== 'resPQ' || !resPQ.nonce.equals(nonce)) throw new Error('resPQ: bad nonce');
  const fp = resPQ.serverPublicKeyFingerprints.map((f) => BigInt.asUintN(64, f));
  if (!fp.includes(key.fingerprint)) throw new Error('resPQ: unknown fingerprints');
  const pq = big(resPQ.pq);
  const [p, q] = o.native ? factorizePq(pq) : factor(pq);
  if (p * q !== pq || p === 1n) throw new Error('resPQ: pq does not factor');
  const newNonce = randomBytes(32);
  const inner = o.inner ?? 'p_q_inner_data_dc';
  const innerObj = {
    _: inner,
    pq: resPQ.pq,
    p: bytes(p),
    q: bytes(q),
    nonce: o.tamper === 'inner-nonce' ? randomBytes(16) : nonce,
    serverNonce: resPQ.serverNonce,
    newNonce,
    ...(inner === 'p_q_inner_data' ? {} : { dc: o.tamper === 'dc' ? 99 : (o.dcId ?? 2) }),
    ...(inner === 'p_q_inner_data_temp_dc' ? { expiresIn: o.expiresIn ?? 3600 } : {}),
  } as TL.Objects[InnerKind];
  const data = TL.serialize(innerObj);
  const scheme = o.scheme ?? 'pad';
  const encrypted = o.native
    ? (scheme === 'pad' ? rsaPadEncrypt : rsaLegacyEncrypt)(data, key.modulus, key.exponent)
    : scheme === 'pad'
      ? rsaPad(data, key)
      : rsaLegacy(data, key);
  const dhParams = TL.deserialize(
    await c.plain(
      TL.serialize({
        _: 'req_DH_params',
        nonce,
        serverNonce: resPQ.serverNonce,
        p: o.tamper === 'p' ? bytes(p + 2n) : bytes(p),
        q: bytes(q),
        publicKeyFingerprint: o.tamper === 'fingerprint' ? key.fingerprint ^ 1n : key.fingerprint,
        encryptedData: encrypted,
      }),
    ),
  ) as TL.Objects['server_DH_params_ok'];
  if (dhParams._ !== 'server_DH_params_ok') throw new Error(`req_DH_params answered ${dhParams._}`);
  if (!dhParams.nonce.equals(nonce) || !dhParams.serverNonce.equals(resPQ.serverNonce))
    throw new Error('server_DH_params: nonces');
  const tmpKey = Buffer.concat([
    sha1(newNonce, resPQ.serverNonce),
    sha1(resPQ.serverNonce, newNonce).subarray(0, 12),
  ]);
  const tmpIv = Buffer.concat([
    sha1(resPQ.serverNonce, newNonce).subarray(12, 20),
    sha1(newNonce, newNonce),
    newNonce.subarray(0, 4),
  ]);
  const answerWithHash = ige(dhParams.encryptedAnswer, tmpKey, tmpIv, false);
  const innerDh = TL.deserialize(answerWithHash.subarray(20), {
    allowTrailing: true,
  }) as TL.Objects['server_DH_inner_data'];
  const answerLen = TL.serialize(innerDh).length;
  if (!sha1(answerWithHash.subarray(20, 20 + answerLen)).equals(answerWithHash.subarray(0, 20)))
    throw new Error('answer hash');
  if (answerWithHash.length - 20 - answerLen >= 16) throw new Error('answer padding');
  if (!innerDh.nonce.equals(nonce) || !innerDh.serverNonce.equals(resPQ.serverNonce))
    throw new Error('inner nonces');
  const prime = big(innerDh.dhPrime);
  const gA = big(innerDh.gA);
  const margin = 1n << 1984n;
  // This client knows one prime only (a real one would run the safe-prime tests).
  if (!innerDh.dhPrime.equals(TELEGRAM_DH_PRIME)) throw new Error('unknown dh_prime');
  if (innerDh.g < 2 || innerDh.g > 7) throw new Error('bad g');
  if (!(gA > margin && gA < prime - margin)) throw new Error('bad g_a');
  let retryId = 0n;
  for (let attempt = 0; attempt < 3; attempt++) {
    const bBytes = randomBytes(256);
    const pow = (base: bigint, e: Buffer, m: bigint) =>
      o.native ? big(modPow(bytes(base), e, bytes(m))) : powMod(base, big(e), m);
    const gB = pow(BigInt(innerDh.g), bBytes, prime);
    const clientInner = TL.serialize({
      _: 'client_DH_inner_data',
      nonce,
      serverNonce: resPQ.serverNonce,
      retryId: o.tamper === 'retry-id' ? 5n : retryId,
      gB: o.tamper === 'g_b' ? bytes(1n) : bytes(gB, 256),
    });
    const hash = sha1(clientInner);
    if (o.tamper === 'client-hash') hash[3] ^= 1;
    const plainData = Buffer.concat([hash, clientInner]);
    const padded = Buffer.concat([plainData, randomBytes((16 - (plainData.length % 16)) % 16)]);
    const gen = TL.deserialize(
      await c.plain(
        TL.serialize({
          _: 'set_client_DH_params',
          nonce,
          serverNonce: resPQ.serverNonce,
          encryptedData: ige(padded, tmpKey, tmpIv, true),
        }),
      ),
    ) as TL.Objects['dh_gen_ok'] | TL.Objects['dh_gen_retry'] | TL.Objects['dh_gen_fail'];
    const authKey = bytes(pow(gA, bBytes, prime), 256);
    const aux = sha1(authKey).subarray(0, 8);
    const expect = (n: number) => sha1(newNonce, Buffer.from([n]), aux).subarray(4, 20);
    if (gen._ === 'dh_gen_ok') {
      if (!gen.newNonceHash1.equals(expect(1))) throw new Error('new_nonce_hash1');
      const salt = Buffer.from(
        newNonce.subarray(0, 8).map((x, i) => x ^ resPQ.serverNonce[i]),
      ).readBigUInt64LE(0);
      return { authKey, authKeyId: sha1(authKey).readBigUInt64LE(12), salt, serverTime: innerDh.serverTime };
    }
    if (gen._ === 'dh_gen_retry') {
      if (!gen.newNonceHash2.equals(expect(2))) throw new Error('new_nonce_hash2');
      retryId = aux.readBigUInt64LE(0);
      continue;
    }
    if (!gen.newNonceHash3.equals(expect(3))) throw new Error('new_nonce_hash3');
    throw new Error('dh_gen_fail');
  }
  throw new Error('too many retries');
}

/** An encrypted session over a TestClient, driven by an MtpLink without a transport (client mode). */
export class SessionDriver {
  readonly mtp: MtpLink;
  readonly events: MtpEvent[] = [];

  constructor(
    public client: TestClient,
    authKey: Buffer,
    opts: { salt: bigint; timeOffset?: number; sessionId?: bigint },
  ) {
    this.mtp = new MtpLink(authKey, {
      salt: opts.salt,
      timeOffset: opts.timeOffset ?? 0,
      autoFutureSalts: false,
      sessionId: opts.sessionId,
    });
  }

  /** Sends whatever the session has due. */
  flush(now = Date.now()): void {
    for (const p of this.mtp.transmit(now).packets ?? []) this.client.send(p);
  }

  /** Receives until `until` holds for an event (returned), flushing as it goes. */
  async waitFor(until: (e: MtpEvent) => boolean, ms = 5000): Promise<MtpEvent> {
    const deadline = Date.now() + ms;
    const seen = this.events.find(until);
    if (seen) return seen;
    for (;;) {
      this.flush();
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for an event');
      const e = await this.client.next(Math.min(left, 200));
      if (!e) {
        if (this.client.closed) throw new Error('connection closed');
        continue;
      }
      if (e.kind === 'transportError')
        throw Object.assign(new Error(`transport error ${e.code}`), { transportCode: e.code });
      if (e.kind !== 'packet') continue;
      // Without a transport the link reports no transport events.
      const got = this.mtp.receive(e.data, Date.now()).events as MtpEvent[];
      this.events.push(...got);
      const hit = got.find(until);
      if (hit) return hit;
    }
  }

  /** Calls a method and resolves to its decoded result (rejects with the RpcError). */
  async call<T extends TL.AnyMethod>(req: T): Promise<TL.ResultOf<T>> {
    const id = this.mtp.enqueue(TL.serialize(req), Date.now());
    this.flush();
    let current = id;
    const e = await this.waitFor((ev) => {
      if (ev.kind === 'resent' && ev.oldMsgId === current) current = ev.newMsgId;
      return (
        (ev.kind === 'rpcResult' || ev.kind === 'rpcError' || ev.kind === 'failed') &&
        ('reqMsgId' in ev ? ev.reqMsgId : ev.msgId) === current
      );
    });
    if (e.kind === 'rpcResult') return TL.deserializeResult(req, e.body) as TL.ResultOf<T>;
    if (e.kind === 'rpcError')
      throw Object.assign(new Error(e.message), { code: e.code, errorMessage: e.message });
    throw new Error(`request failed (${(e as { errorCode?: number }).errorCode})`);
  }
}

// --- MTProto 2.0 messages by hand (https://core.telegram.org/mtproto/description) ---

function kdf(authKey: Buffer, msgKey: Buffer, x: number): { key: Buffer; iv: Buffer } {
  const a = sha256(msgKey, authKey.subarray(x, x + 36));
  const b = sha256(authKey.subarray(40 + x, 76 + x), msgKey);
  return {
    key: Buffer.concat([a.subarray(0, 8), b.subarray(8, 24), a.subarray(24, 32)]),
    iv: Buffer.concat([b.subarray(0, 8), a.subarray(8, 24), b.subarray(24, 32)]),
  };
}

export interface RawMessage {
  salt: bigint;
  sessionId: bigint;
  msgId: bigint;
  seqno: number;
  body: Buffer;
}

/** A client packet with every field chosen by the test. */
export function sealFromClient(authKey: Buffer, m: RawMessage): Buffer {
  const head = Buffer.alloc(32);
  head.writeBigUInt64LE(m.salt, 0);
  head.writeBigUInt64LE(m.sessionId, 8);
  head.writeBigUInt64LE(m.msgId, 16);
  head.writeUInt32LE(m.seqno, 24);
  head.writeUInt32LE(m.body.length, 28);
  const plain = Buffer.concat([head, m.body]);
  const pad = 12 + ((16 - ((plain.length + 12) % 16)) % 16);
  const padded = Buffer.concat([plain, randomBytes(pad)]);
  const msgKey = sha256(authKey.subarray(88, 120), padded).subarray(8, 24);
  const { key, iv } = kdf(authKey, msgKey, 0);
  return Buffer.concat([sha1(authKey).subarray(12, 20), msgKey, ige(padded, key, iv, true)]);
}

/** Opens a server packet and checks its msg_key; throws when it does not check out. */
export function openFromServer(authKey: Buffer, raw: Buffer): RawMessage {
  // The padded transport may leave up to 15 random bytes after the packet.
  const packet = raw.subarray(0, 24 + Math.floor((raw.length - 24) / 16) * 16);
  const msgKey = packet.subarray(8, 24);
  const { key, iv } = kdf(authKey, msgKey, 8);
  const plain = ige(packet.subarray(24), key, iv, false);
  if (!sha256(authKey.subarray(96, 128), plain).subarray(8, 24).equals(msgKey)) throw new Error('msg_key');
  const len = plain.readUInt32LE(28);
  return {
    salt: plain.readBigUInt64LE(0),
    sessionId: plain.readBigUInt64LE(8),
    msgId: plain.readBigUInt64LE(16),
    seqno: plain.readUInt32LE(24),
    body: plain.subarray(32, 32 + len),
  };
}

/** A message and the TL objects in it (containers opened, msg_id and seqno of each). */
export function messagesOf(
  m: RawMessage,
): Array<{ msgId: bigint; seqno: number; obj: { _: string } & Record<string, unknown> }> {
  const obj = TL.deserialize(m.body) as { _: string } & Record<string, unknown>;
  if (obj._ !== 'msg_container') return [{ msgId: m.msgId, seqno: m.seqno, obj }];
  return (
    obj.messages as Array<{ msgId: bigint; seqno: number; body: { _: string } & Record<string, unknown> }>
  ).map((x) => ({
    msgId: x.msgId,
    seqno: x.seqno,
    obj: x.body,
  }));
}

/** A raw encrypted session over a TestClient: the test picks every header field. */
export class RawSession {
  private nextId: bigint;
  private count = 0;
  readonly received: Array<{
    msgId: bigint;
    seqno: number;
    salt: bigint;
    obj: { _: string } & Record<string, unknown>;
  }> = [];

  constructor(
    readonly client: TestClient,
    readonly authKey: Buffer,
    public salt: bigint,
    readonly sessionId: bigint = randomBytes(8).readBigUInt64LE(0),
  ) {
    this.nextId = mtpMsgIdAt(Date.now());
  }

  /** A fresh client msg_id (now, strictly increasing). */
  msgId(): bigint {
    const now = mtpMsgIdAt(Date.now());
    this.nextId = now > this.nextId ? now : this.nextId + 4n;
    return this.nextId;
  }

  /** The next seqno for a content-related message (or not). */
  seqno(content = true): number {
    if (!content) return this.count * 2;
    return this.count++ * 2 + 1;
  }

  send(m: Partial<RawMessage> & { body: Buffer }): { msgId: bigint; seqno: number } {
    const msgId = m.msgId ?? this.msgId();
    const seqno = m.seqno ?? this.seqno();
    this.client.send(
      sealFromClient(this.authKey, {
        salt: m.salt ?? this.salt,
        sessionId: m.sessionId ?? this.sessionId,
        msgId,
        seqno,
        body: m.body,
      }),
    );
    return { msgId, seqno };
  }

  /** Reads server messages until `pred` matches one (returned), up to `ms`. */
  async until(pred: (o: { _: string } & Record<string, unknown>) => boolean, ms = 3000) {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.received.find((r) => pred(r.obj));
      if (hit) return hit;
      const left = end - Date.now();
      if (left <= 0) throw new Error('timed out');
      const e = await this.client.next(left);
      if (!e) throw new Error('connection closed');
      if (e.kind === 'transportError')
        throw Object.assign(new Error(`transport error ${e.code}`), { transportCode: e.code });
      if (e.kind !== 'packet') continue;
      const m = openFromServer(this.authKey, e.data);
      if (m.sessionId !== this.sessionId) throw new Error('server used another session_id');
      for (const x of messagesOf(m)) this.received.push({ ...x, salt: m.salt });
    }
  }

  /** The bad_msg_notification / bad_server_salt about `msgId`. */
  async notice(msgId: bigint) {
    const r = await this.until(
      (o) =>
        (o._ === 'bad_msg_notification' || o._ === 'bad_server_salt') &&
        o.badMsgId === BigInt.asIntN(64, msgId),
    );
    return r.obj as { _: string; errorCode: number; newServerSalt?: bigint; badMsgSeqno: number };
  }
}

/** The binding message of auth.bindTempAuthKey, MTProto v1 under the permanent key. */
export function bindingMessage(
  permKey: Buffer,
  msgId: bigint,
  inner: {
    nonce: bigint;
    tempAuthKeyId: bigint;
    permAuthKeyId: bigint;
    tempSessionId: bigint;
    expiresAt: number;
  },
): Buffer {
  const body = TL.serialize({ _: 'bind_auth_key_inner', ...inner });
  const head = Buffer.alloc(32);
  randomBytes(16).copy(head, 0);
  head.writeBigUInt64LE(msgId, 16);
  head.writeUInt32LE(0, 24);
  head.writeUInt32LE(body.length, 28);
  const plain = Buffer.concat([head, body]);
  const msgKey = sha1(plain).subarray(4, 20);
  const a = sha1(msgKey, permKey.subarray(0, 32));
  const b = sha1(permKey.subarray(32, 48), msgKey, permKey.subarray(48, 64));
  const c = sha1(permKey.subarray(64, 96), msgKey);
  const d = sha1(msgKey, permKey.subarray(96, 128));
  const key = Buffer.concat([a.subarray(0, 8), b.subarray(8, 20), c.subarray(4, 16)]);
  const iv = Buffer.concat([a.subarray(8, 20), b.subarray(0, 8), c.subarray(16, 20), d.subarray(0, 8)]);
  const padded = Buffer.concat([plain, randomBytes((16 - (plain.length % 16)) % 16)]);
  return Buffer.concat([sha1(permKey).subarray(12, 20), msgKey, ige(padded, key, iv, true)]);
}

/** The quick-ack token the server owes for a client packet (msg_key_large's first word | MSB). */
export function expectedQuickAck(authKey: Buffer, packet: Buffer): number {
  const { key, iv } = kdf(authKey, packet.subarray(8, 24), 0);
  const large = sha256(authKey.subarray(88, 120), ige(packet.subarray(24), key, iv, false));
  return (large.readUInt32LE(0) | 0x80000000) >>> 0;
}

// The server side of the authorization key exchange (https://core.telegram.org/mtproto/auth_key),
// sans-IO: plain message bodies in, answers out; randomness and time come from the caller.
// Strict: every nonce, p, q, the fingerprint, the inner data's hash and the g_b range are
// checked, and anything wrong fails the exchange (the socket layer answers -404 and closes).
// Faults (a contract with the client's table-driven tests) make it answer wrongly on purpose.

import { randomBytes } from 'node:crypto';
import * as TL from '../tl';
import { TlReader } from '../tl';
import { bigFromBytes, bytesFromBig, igeDecrypt, igeEncrypt, sha1, sha256, xor } from './crypto';
import { type DhHalf, dhHalf, dhValueInRange, fakeDhPrime, TELEGRAM_DH_G, TELEGRAM_DH_PRIME } from './dh';
import { type Pq, randomPq, randomPrime62 } from './pq';
import { rsaDecryptRaw, type TestRsaKey } from './rsa-key';

/** Ways TestDc can answer a key exchange wrongly, for the client's tests. */
export const HANDSHAKE_FAULTS = [
  'wrong-nonce',
  'wrong-server-nonce',
  'unknown-fingerprints',
  'bad-pq',
  'bad-answer-hash',
  'bad-dh-prime',
  'bad-g',
  'bad-g-a',
  'bad-new-nonce-hash',
  'dh-gen-fail',
  'dh-gen-retry',
  'garbage',
  'close-mid-handshake',
] as const;

export type HandshakeFault = (typeof HANDSHAKE_FAULTS)[number];

/** A key the exchange created. */
export interface CreatedKey {
  authKey: Buffer;
  /** The lower 64 bits of SHA1(auth_key), as the unsigned value the client sends little-endian. */
  authKeyId: bigint;
  /** new_nonce[0..8] XOR server_nonce[0..8], read as a little-endian long. */
  firstSalt: bigint;
  /** Which inner data the client sent. */
  innerData: 'p_q_inner_data' | 'p_q_inner_data_dc' | 'p_q_inner_data_temp_dc';
  /** 'pad': RSA_PAD (MTProto 2.0); 'legacy': SHA1 ‖ data ‖ padding. */
  rsaScheme: 'pad' | 'legacy';
  /** The dc field of the inner data (undefined for p_q_inner_data). */
  dc?: number;
  /** Temporary keys: expires_in of p_q_inner_data_temp_dc, in seconds. */
  expiresIn?: number;
  /** Server time (ms) when it was created. */
  createdAt: number;
}

export type HandshakeStep =
  /** Send `body` (a plain message); `close` after it when a fault says so. */
  | { kind: 'reply'; body: Buffer; close?: boolean }
  /** Send `body` (dh_gen_ok): the key exists from now on. */
  | { kind: 'created'; body: Buffer; key: CreatedKey }
  /** The client's message is wrong: nothing to send; the connection should be closed. */
  | { kind: 'failed'; reason: string };

export interface HandshakeServerOptions {
  /** This DC's id: p_q_inner_data_dc must name it (or +10000 on test servers, negative for media). */
  dcId: number;
  rsaKey: TestRsaKey;
  /** Default: node:crypto randomBytes. */
  random?: (n: number) => Buffer;
  /** Default: the 2048-bit prime of Telegram's servers, with g = 3. */
  dhPrime?: Buffer;
  g?: number;
  /** Whether an auth_key_id is in use already: the client is then asked to retry (dh_gen_retry). */
  keyIdTaken?: (authKeyId: bigint) => boolean;
}

type InnerName = CreatedKey['innerData'];

interface Exchange {
  nonce: Buffer;
  serverNonce: Buffer;
  pq: Pq;
  /** Set by req_DH_params. */
  dh?: {
    newNonce: Buffer;
    half: DhHalf;
    tmpKey: Buffer;
    tmpIv: Buffer;
    inner: InnerName;
    scheme: 'pad' | 'legacy';
    dc?: number;
    expiresIn?: number;
    /** auth_key_aux_hash of the key refused with dh_gen_retry: the next retry_id. */
    retryId: bigint;
    retried: boolean;
  };
}

/** Most exchanges one connection may have open at once (older ones are forgotten). */
const MAX_OPEN = 8;
const INNER_NAMES: readonly string[] = ['p_q_inner_data', 'p_q_inner_data_dc', 'p_q_inner_data_temp_dc'];

/** tmp_aes_key and tmp_aes_iv from the nonces (https://core.telegram.org/mtproto/auth_key#dh-exchange-initiation). */
export function tmpAesKeyIv(newNonce: Buffer, serverNonce: Buffer): { key: Buffer; iv: Buffer } {
  const ns = sha1(newNonce, serverNonce);
  const sn = sha1(serverNonce, newNonce);
  const nn = sha1(newNonce, newNonce);
  return {
    key: Buffer.concat([ns, sn.subarray(0, 12)]),
    iv: Buffer.concat([sn.subarray(12, 20), nn, newNonce.subarray(0, 4)]),
  };
}

/** new_nonce_hash1/2/3: the lower 128 bits of SHA1(new_nonce ‖ n ‖ auth_key_aux_hash). */
export function newNonceHash(newNonce: Buffer, n: 1 | 2 | 3, authKey: Buffer): Buffer {
  return sha1(newNonce, Buffer.from([n]), sha1(authKey).subarray(0, 8)).subarray(4, 20);
}

/** The first server salt: new_nonce[0..8] XOR server_nonce[0..8], read as a little-endian long. */
export function firstSalt(newNonce: Buffer, serverNonce: Buffer): bigint {
  return xor(newNonce.subarray(0, 8), serverNonce.subarray(0, 8)).readBigUInt64LE(0);
}

/** Reverses RSA_PAD (https://core.telegram.org/mtproto/auth_key#presenting-proof-of-work-server-authentication). */
function openRsaPad(block: Buffer): Buffer | null {
  const tempKey = xor(block.subarray(0, 32), sha256(block.subarray(32)));
  const dataWithHash = igeDecrypt(block.subarray(32), tempKey, Buffer.alloc(32));
  const dataWithPadding = Buffer.from(dataWithHash.subarray(0, 192)).reverse();
  return sha256(tempKey, dataWithPadding).equals(dataWithHash.subarray(192)) ? dataWithPadding : null;
}

/** One TL object at the start of `data` and how many bytes it took; null when there is none. */
function readPrefix(data: Buffer): { obj: { _: string } & Record<string, unknown>; length: number } | null {
  const r = new TlReader(data);
  try {
    const obj = TL.readObject(r) as { _: string } & Record<string, unknown>;
    return obj && typeof obj === 'object' && typeof obj._ === 'string' ? { obj, length: r.pos } : null;
  } catch {
    return null;
  }
}

/** The legacy scheme: the decrypted block is 0 ‖ SHA1(data) ‖ data ‖ padding (255 bytes under RSA). */
function openLegacy(block: Buffer): Buffer | null {
  if (block[0] !== 0) return null;
  const rest = block.subarray(21);
  const read = readPrefix(rest);
  if (!read || !sha1(rest.subarray(0, read.length)).equals(block.subarray(1, 21))) return null;
  return rest;
}

function sameNumber(a: unknown, b: bigint): boolean {
  return Buffer.isBuffer(a) && bigFromBytes(a) === b;
}

export class HandshakeServer {
  /** The fault applied to every exchange until cleared. */
  fault: HandshakeFault | null = null;
  private readonly open = new Map<string, Exchange>();
  private readonly random: (n: number) => Buffer;
  private readonly prime: Buffer;
  private readonly primeNum: bigint;
  private readonly g: number;

  constructor(private readonly opts: HandshakeServerOptions) {
    this.random = opts.random ?? randomBytes;
    this.prime = opts.dhPrime ?? TELEGRAM_DH_PRIME;
    this.primeNum = bigFromBytes(this.prime);
    this.g = opts.g ?? TELEGRAM_DH_G;
  }

  /** Exchanges in progress. */
  get pending(): number {
    return this.open.size;
  }

  /** Answers one plain message body of the client at server time `now` (ms). */
  handle(body: Buffer, now: number): HandshakeStep {
    let req: { _: string } & Record<string, unknown>;
    try {
      req = TL.deserialize(body) as typeof req;
    } catch (e) {
      return {
        kind: 'failed',
        reason: `undecodable plain message (${(e as { code?: string }).code ?? 'error'})`,
      };
    }
    switch (req._) {
      case 'req_pq_multi':
      case 'req_pq':
        return this.resPq(req.nonce as Buffer);
      case 'req_DH_params':
        return this.dhParams(req as unknown as ReqDhParams, now);
      case 'set_client_DH_params':
        return this.clientDh(req as unknown as SetClientDh, now);
      default:
        return { kind: 'failed', reason: `${req._} is not a key exchange message` };
    }
  }

  private resPq(nonce: Buffer): HandshakeStep {
    const fault = this.fault;
    if (fault === 'garbage') return { kind: 'reply', body: this.random(80) };
    const ex: Exchange = {
      nonce: Buffer.from(nonce),
      serverNonce: this.random(16),
      pq: randomPq(this.random),
    };
    this.open.set(ex.nonce.toString('hex'), ex);
    if (this.open.size > MAX_OPEN) this.open.delete(this.open.keys().next().value as string);
    const pq = fault === 'bad-pq' ? randomPrime62(this.random) : ex.pq.pq;
    const fingerprints =
      fault === 'unknown-fingerprints'
        ? [this.random(8).readBigUInt64LE(0), this.random(8).readBigUInt64LE(0)]
        : [this.opts.rsaKey.fingerprint];
    const body = TL.serialize({
      _: 'resPQ',
      nonce: fault === 'wrong-nonce' ? this.random(16) : ex.nonce,
      serverNonce: ex.serverNonce,
      pq: bytesFromBig(pq, 8),
      serverPublicKeyFingerprints: fingerprints,
    });
    return { kind: 'reply', body, close: fault === 'close-mid-handshake' };
  }

  private find(nonce: unknown, serverNonce: unknown): Exchange | string {
    if (!Buffer.isBuffer(nonce) || !Buffer.isBuffer(serverNonce)) return 'missing nonces';
    const ex = this.open.get(nonce.toString('hex'));
    if (!ex) return 'unknown nonce';
    if (!ex.serverNonce.equals(serverNonce)) return 'server_nonce does not match';
    return ex;
  }

  private fail(nonce: Buffer | undefined, reason: string): HandshakeStep {
    if (nonce) this.open.delete(nonce.toString('hex'));
    return { kind: 'failed', reason };
  }

  private dhParams(req: ReqDhParams, now: number): HandshakeStep {
    const ex = this.find(req.nonce, req.serverNonce);
    if (typeof ex === 'string') return this.fail(undefined, `req_DH_params: ${ex}`);
    if (ex.dh) return this.fail(ex.nonce, 'req_DH_params: sent twice');
    if (!sameNumber(req.p, ex.pq.p) || !sameNumber(req.q, ex.pq.q))
      return this.fail(ex.nonce, 'req_DH_params: wrong p or q');
    if (BigInt.asUintN(64, req.publicKeyFingerprint) !== this.opts.rsaKey.fingerprint) {
      return this.fail(ex.nonce, 'req_DH_params: unknown public_key_fingerprint');
    }
    const block = rsaDecryptRaw(this.opts.rsaKey, req.encryptedData);
    if (!block) return this.fail(ex.nonce, 'req_DH_params: encrypted_data is not an RSA block of this key');
    let scheme: 'pad' | 'legacy' = 'pad';
    let data = openRsaPad(block);
    if (!data) {
      scheme = 'legacy';
      data = openLegacy(block);
    }
    if (!data)
      return this.fail(ex.nonce, 'req_DH_params: encrypted_data is neither RSA_PAD nor the legacy scheme');
    const read = readPrefix(data);
    if (!read || !INNER_NAMES.includes(read.obj._))
      return this.fail(ex.nonce, 'req_DH_params: no p_q_inner_data inside');
    const inner = read.obj as unknown as PqInner;
    if (
      !sameNumber(inner.pq, ex.pq.pq) ||
      !sameNumber(inner.p, ex.pq.p) ||
      !sameNumber(inner.q, ex.pq.q) ||
      !inner.nonce.equals(ex.nonce) ||
      !inner.serverNonce.equals(ex.serverNonce)
    ) {
      return this.fail(ex.nonce, 'req_DH_params: inner data does not match the exchange');
    }
    if (inner.dc !== undefined && !this.acceptsDc(inner.dc)) {
      return this.fail(ex.nonce, `req_DH_params: inner data names dc ${inner.dc}, not ${this.opts.dcId}`);
    }
    if (inner._ === 'p_q_inner_data_temp_dc' && !(inner.expiresIn! > 0)) {
      return this.fail(ex.nonce, 'req_DH_params: temporary key without a positive expires_in');
    }
    const fault = this.fault;
    const prime = fault === 'bad-dh-prime' ? fakeDhPrime(this.prime) : this.prime;
    const g = fault === 'bad-g' ? 9 : this.g;
    const half = dhHalf(prime, g, this.random);
    const gA = fault === 'bad-g-a' ? bytesFromBig(this.primeNum - 1n, 256) : half.gA;
    const { key: tmpKey, iv: tmpIv } = tmpAesKeyIv(inner.newNonce, ex.serverNonce);
    ex.dh = {
      newNonce: Buffer.from(inner.newNonce),
      half,
      tmpKey,
      tmpIv,
      inner: inner._,
      scheme,
      dc: inner.dc,
      expiresIn: inner.expiresIn,
      retryId: 0n,
      retried: false,
    };
    const answer = TL.serialize({
      _: 'server_DH_inner_data',
      nonce: ex.nonce,
      serverNonce: ex.serverNonce,
      g,
      dhPrime: prime,
      gA,
      serverTime: Math.floor(now / 1000),
    });
    const hash = sha1(answer);
    if (fault === 'bad-answer-hash') hash[0] ^= 0xff;
    const padding = this.random((16 - ((20 + answer.length) % 16)) % 16);
    const encryptedAnswer = igeEncrypt(Buffer.concat([hash, answer, padding]), tmpKey, tmpIv);
    const body = TL.serialize({
      _: 'server_DH_params_ok',
      nonce: ex.nonce,
      serverNonce: fault === 'wrong-server-nonce' ? this.random(16) : ex.serverNonce,
      encryptedAnswer,
    });
    return { kind: 'reply', body };
  }

  private acceptsDc(dc: number): boolean {
    const id = this.opts.dcId;
    return [id, id + 10000, -id, -(id + 10000)].includes(dc);
  }

  private clientDh(req: SetClientDh, now: number): HandshakeStep {
    const ex = this.find(req.nonce, req.serverNonce);
    if (typeof ex === 'string') return this.fail(undefined, `set_client_DH_params: ${ex}`);
    const dh = ex.dh;
    if (!dh) return this.fail(ex.nonce, 'set_client_DH_params before req_DH_params');
    const enc = req.encryptedData;
    if (!Buffer.isBuffer(enc) || enc.length === 0 || enc.length % 16 !== 0) {
      return this.fail(ex.nonce, 'set_client_DH_params: encrypted_data is not whole AES blocks');
    }
    const plain = igeDecrypt(enc, dh.tmpKey, dh.tmpIv);
    const read = readPrefix(plain.subarray(20));
    if (read?.obj._ !== 'client_DH_inner_data') {
      return this.fail(ex.nonce, 'set_client_DH_params: no client_DH_inner_data inside');
    }
    if (!sha1(plain.subarray(20, 20 + read.length)).equals(plain.subarray(0, 20))) {
      return this.fail(ex.nonce, 'set_client_DH_params: SHA1 of client_DH_inner_data does not match');
    }
    if (plain.length - 20 - read.length > 15)
      return this.fail(ex.nonce, 'set_client_DH_params: more than 15 bytes of padding');
    const inner = read.obj as unknown as ClientDhInner;
    if (!inner.nonce.equals(ex.nonce) || !inner.serverNonce.equals(ex.serverNonce)) {
      return this.fail(ex.nonce, 'set_client_DH_params: inner nonces do not match');
    }
    if (BigInt.asUintN(64, inner.retryId) !== dh.retryId) {
      return this.fail(
        ex.nonce,
        `set_client_DH_params: retry_id is not ${dh.retryId === 0n ? '0' : 'the previous auth_key_aux_hash'}`,
      );
    }
    const gB = bigFromBytes(inner.gB);
    if (!dhValueInRange(gB, this.primeNum))
      return this.fail(ex.nonce, 'set_client_DH_params: g_b out of range');
    const authKey = dh.half.secret(bytesFromBig(gB, 256));
    const digest = sha1(authKey);
    const auxHash = digest.readBigUInt64LE(0);
    const authKeyId = digest.readBigUInt64LE(12);
    const fault = this.fault;
    const retry = (fault === 'dh-gen-retry' && !dh.retried) || this.opts.keyIdTaken?.(authKeyId) === true;
    if (retry) {
      dh.retried = true;
      dh.retryId = auxHash;
      const body = TL.serialize({
        _: 'dh_gen_retry',
        nonce: ex.nonce,
        serverNonce: ex.serverNonce,
        newNonceHash2: newNonceHash(dh.newNonce, 2, authKey),
      });
      return { kind: 'reply', body };
    }
    this.open.delete(ex.nonce.toString('hex'));
    if (fault === 'dh-gen-fail') {
      const body = TL.serialize({
        _: 'dh_gen_fail',
        nonce: ex.nonce,
        serverNonce: ex.serverNonce,
        newNonceHash3: newNonceHash(dh.newNonce, 3, authKey),
      });
      return { kind: 'reply', body };
    }
    const hash1 = newNonceHash(dh.newNonce, 1, authKey);
    if (fault === 'bad-new-nonce-hash') hash1[0] ^= 0xff;
    const body = TL.serialize({
      _: 'dh_gen_ok',
      nonce: ex.nonce,
      serverNonce: ex.serverNonce,
      newNonceHash1: hash1,
    });
    const key: CreatedKey = {
      authKey,
      authKeyId,
      firstSalt: firstSalt(dh.newNonce, ex.serverNonce),
      innerData: dh.inner,
      rsaScheme: dh.scheme,
      dc: dh.dc,
      expiresIn: dh.expiresIn,
      createdAt: now,
    };
    return { kind: 'created', body, key };
  }
}

interface ReqDhParams {
  nonce: Buffer;
  serverNonce: Buffer;
  p: Buffer;
  q: Buffer;
  publicKeyFingerprint: bigint;
  encryptedData: Buffer;
}

interface SetClientDh {
  nonce: Buffer;
  serverNonce: Buffer;
  encryptedData: Buffer;
}

interface PqInner {
  _: InnerName;
  pq: Buffer;
  p: Buffer;
  q: Buffer;
  nonce: Buffer;
  serverNonce: Buffer;
  newNonce: Buffer;
  dc?: number;
  expiresIn?: number;
}

interface ClientDhInner {
  nonce: Buffer;
  serverNonce: Buffer;
  retryId: bigint;
  gB: Buffer;
}

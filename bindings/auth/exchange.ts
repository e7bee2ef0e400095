// The client side of the auth-key exchange as a sans-IO state machine
// (core.telegram.org/mtproto/auth_key): it takes the server's answers, the
// time and (through its options) the randomness, and returns the next request
// body or the key. No sockets, no timers: createAuthKey drives it over a
// connection; tests replay recorded answers with fixed randomness.
//
//   start()                      -> req_pq_multi
//   receive(resPQ)               -> req_DH_params
//   receive(server_DH_params_ok) -> set_client_DH_params
//                                   (or testPrime, then primeTested() -> set_client_DH_params)
//   receive(dh_gen_retry)        -> set_client_DH_params (new b, retry_id)
//   receive(dh_gen_ok)           -> done: auth_key, salt, time offset
import { randomBytes } from 'node:crypto';
import {
  checkDhParams,
  checkDhParamsKnown,
  checkDhValue,
  dhPublic,
  factorizePq,
  modPow,
  rsaPadEncrypt,
} from '../native';
import * as TL from '../tl';
import { TlReader } from '../tl';
import { aesIgeDecrypt, aesIgeEncrypt, sha1 } from './crypto';
import { authKeyIds, firstServerSalt, newNonceHash, paramsFailHash, tmpAesKeyIv } from './derive';
import { AuthKeyError, type AuthKeyErrorCode, type AuthKeyStep } from './errors';
import type { RsaKeyring, RsaPublicKey } from './rsa-keys';

export interface AuthKeyResult {
  /** The 2048-bit authorization key, 256 bytes big-endian. */
  authKey: Buffer;
  /** auth_key_id: the 64 lower-order bits of SHA1(auth_key), unsigned. */
  authKeyId: bigint;
  /** The first server salt, unsigned (MtpLink's `salt`). */
  serverSalt: bigint;
  /** Server time minus local time, in whole seconds (from server_DH_inner_data.server_time). */
  timeOffset: number;
  /** Temporary keys only: when the key expires, unix seconds on the local clock. */
  expiresAt?: number;
}

export interface AuthKeyExchangeOptions {
  /** p_q_inner_data_dc's dc: the DC id, +10000 on test servers, negative for media (handshakeDcId). */
  dc: number;
  /** The keys resPQ's fingerprints select from. */
  keys: RsaKeyring;
  /** Make a temporary key (p_q_inner_data_temp_dc) valid for this many seconds. */
  expiresIn?: number;
  /** How many dh_gen_retry answers to accept (default 3). */
  maxDhGenRetries?: number;
  /** Randomness: nonce (16), new_nonce (32), b (256), then padding, in that order. */
  random?: (n: number) => Buffer;
  /** RSA_PAD encryption of p_q_inner_data (default: the native rsaPadEncrypt). */
  rsaEncrypt?: (data: Buffer, key: RsaPublicKey) => Buffer;
  /**
   * A dh_prime that is not Telegram's and was not tested before in this process needs a
   * safe-prime test of tens of milliseconds. By default receive() runs it; with this set,
   * receive() returns a `testPrime` step instead, and the driver runs `testDhPrime` off
   * the event loop and then calls primeTested() (createAuthKey does).
   */
  deferPrimeTest?: boolean;
}

export type ExchangeStep =
  | { kind: 'send'; body: Buffer; step: AuthKeyStep }
  | { kind: 'testPrime'; dhPrime: Buffer; step: AuthKeyStep }
  | { kind: 'done'; result: AuthKeyResult };

type Stage = 'init' | 'resPQ' | 'serverDH' | 'primeTest' | 'dhGen' | 'done';

/** What server_DH_inner_data gave, kept for retries. */
interface DhParams {
  g: number;
  dhPrime: Buffer;
  gA: Buffer;
  tmpKey: Buffer;
  tmpIv: Buffer;
}

// Native DH check codes (crates/napi/src/bignum.rs) -> the check they name.
const DH_CODES: Record<string, AuthKeyErrorCode> = {
  ERR_DH_PRIME_SIZE: 'ERR_AUTH_DH_PRIME',
  ERR_DH_PRIME_NOT_SAFE: 'ERR_AUTH_DH_PRIME',
  ERR_DH_BAD_G: 'ERR_AUTH_DH_G',
  ERR_DH_G_RESIDUE: 'ERR_AUTH_DH_G',
  ERR_DH_GA_RANGE: 'ERR_AUTH_DH_GA',
};

const B_ATTEMPTS = 4;

function bigToBuffer(n: bigint): Buffer {
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

export class AuthKeyExchange {
  private stage: Stage = 'init';
  private readonly options: AuthKeyExchangeOptions;
  private readonly random: (n: number) => Buffer;
  private nonce = Buffer.alloc(0);
  private serverNonce = Buffer.alloc(0);
  private newNonce = Buffer.alloc(0);
  private dh?: DhParams;
  private b = Buffer.alloc(0);
  private retries = 0;
  private timeOffsetSec = 0;
  private nowSec = 0;

  constructor(options: AuthKeyExchangeOptions) {
    this.options = options;
    this.random = options.random ?? randomBytes;
  }

  /** The request whose answer is awaited next. */
  get step(): AuthKeyStep {
    switch (this.stage) {
      case 'init':
      case 'resPQ':
        return 'req_pq';
      case 'serverDH':
      case 'primeTest':
        return 'req_DH_params';
      case 'dhGen':
        return 'set_client_DH_params';
      default:
        return 'done';
    }
  }

  /** Server time minus local time in seconds, once server_DH_inner_data arrived (else 0). */
  get timeOffset(): number {
    return this.timeOffsetSec;
  }

  /** The first request: req_pq_multi with a fresh nonce. */
  start(): Buffer {
    if (this.stage !== 'init') throw new Error('the exchange has already started');
    this.nonce = Buffer.from(this.random(16));
    this.stage = 'resPQ';
    return TL.serialize({ _: 'req_pq_multi', nonce: this.nonce });
  }

  /**
   * Takes the body of the server's answer (a plain message's data) received
   * at `now` (ms since the epoch) and returns the next request or the key.
   * Throws AuthKeyError naming the failed check; the exchange is then dead.
   */
  receive(body: Buffer, now: number): ExchangeStep {
    return this.guarded(() => {
      let obj: TL.TlObject;
      try {
        obj = TL.deserialize(body);
      } catch (err) {
        throw this.fail('ERR_AUTH_BAD_RESPONSE', 'the answer is not a TL object', err);
      }
      switch (this.stage) {
        case 'resPQ':
          return this.onResPQ(obj);
        case 'serverDH':
          return this.onServerDhParams(obj, now);
        case 'dhGen':
          return this.onDhGen(obj);
        default:
          throw this.fail('ERR_AUTH_BAD_RESPONSE', 'no answer is expected now');
      }
    });
  }

  /**
   * After a `testPrime` step, once `testDhPrime(step.dhPrime)` has settled (either way):
   * checks server_DH_inner_data in full (the prime's verdict is now a lookup) and returns
   * set_client_DH_params. Throws AuthKeyError like receive().
   */
  primeTested(): ExchangeStep {
    return this.guarded(() => {
      if (this.stage !== 'primeTest') throw this.fail('ERR_AUTH_BAD_RESPONSE', 'no prime test is pending');
      const dh = this.dh!;
      this.checkParams(() => checkDhParams(dh.dhPrime, dh.g, dh.gA));
      return this.firstClientDhParams();
    });
  }

  /** Runs a step; any failure kills the exchange and surfaces as AuthKeyError. */
  private guarded(run: () => ExchangeStep): ExchangeStep {
    const step = this.step;
    try {
      return run();
    } catch (err) {
      this.stage = 'done';
      if (err instanceof AuthKeyError) throw err;
      throw new AuthKeyError('ERR_AUTH_BAD_RESPONSE', step, 'unexpected failure', { cause: err });
    }
  }

  /** A native DH check, its codes mapped to the check they name. */
  private checkParams<T>(check: () => T): T {
    try {
      return check();
    } catch (err) {
      const code = DH_CODES[codeOf(err) ?? ''];
      if (!code) throw err;
      throw this.fail(code, (err as Error).message, err);
    }
  }

  private fail(code: AuthKeyErrorCode, message: string, cause?: unknown): AuthKeyError {
    return new AuthKeyError(code, this.step, message, { cause });
  }

  /** nonce and server_nonce of every answer after resPQ (spec: checked at every step). */
  private checkNonces(obj: { nonce: Buffer; serverNonce: Buffer }): void {
    if (!obj.nonce.equals(this.nonce)) throw this.fail('ERR_AUTH_NONCE_MISMATCH', 'nonce mismatch');
    if (!obj.serverNonce.equals(this.serverNonce)) {
      throw this.fail('ERR_AUTH_SERVER_NONCE_MISMATCH', 'server_nonce mismatch');
    }
  }

  // Step 2 -> 4: resPQ, factorize pq, encrypt p_q_inner_data_dc, req_DH_params.
  private onResPQ(obj: TL.TlObject): ExchangeStep {
    if (obj._ !== 'resPQ') throw this.fail('ERR_AUTH_BAD_RESPONSE', `expected resPQ, got ${obj._}`);
    if (!obj.nonce.equals(this.nonce)) throw this.fail('ERR_AUTH_NONCE_MISMATCH', 'nonce mismatch');
    this.serverNonce = Buffer.from(obj.serverNonce);

    const pqBytes = obj.pq;
    if (pqBytes.length === 0 || pqBytes.length > 8) {
      throw this.fail('ERR_AUTH_BAD_PQ', `pq has ${pqBytes.length} bytes`);
    }
    const pq = BigInt(`0x${pqBytes.toString('hex')}`);
    let p: bigint;
    let q: bigint;
    try {
      [p, q] = factorizePq(pq);
    } catch (err) {
      throw this.fail('ERR_AUTH_BAD_PQ', 'pq is not a product of two primes', err);
    }

    const key = this.options.keys.select(obj.serverPublicKeyFingerprints);
    if (!key) {
      const fps = obj.serverPublicKeyFingerprints.map((f) => BigInt.asUintN(64, f).toString(16)).join(', ');
      throw this.fail('ERR_AUTH_NO_KNOWN_RSA_KEY', `no known key among the server's fingerprints [${fps}]`);
    }

    this.newNonce = Buffer.from(this.random(32));
    const common = {
      pq: pqBytes,
      p: bigToBuffer(p),
      q: bigToBuffer(q),
      nonce: this.nonce,
      serverNonce: this.serverNonce,
      newNonce: this.newNonce,
      dc: this.options.dc,
    };
    const inner =
      this.options.expiresIn === undefined
        ? TL.serialize({ _: 'p_q_inner_data_dc', ...common })
        : TL.serialize({ _: 'p_q_inner_data_temp_dc', ...common, expiresIn: this.options.expiresIn });
    const encrypt = this.options.rsaEncrypt ?? ((data, k) => rsaPadEncrypt(data, k.modulus, k.exponent));
    const encryptedData = encrypt(inner, key);

    this.stage = 'serverDH';
    return {
      kind: 'send',
      step: 'req_DH_params',
      body: TL.serialize({
        _: 'req_DH_params',
        nonce: this.nonce,
        serverNonce: this.serverNonce,
        p: common.p,
        q: common.q,
        publicKeyFingerprint: key.fingerprint,
        encryptedData,
      }),
    };
  }

  // Step 5 -> 6: server_DH_params_ok, decrypt and check, DH checks, set_client_DH_params.
  private onServerDhParams(obj: TL.TlObject, now: number): ExchangeStep {
    if (obj._ === 'server_DH_params_fail') {
      this.checkNonces(obj);
      if (!obj.newNonceHash.equals(paramsFailHash(this.newNonce))) {
        throw this.fail('ERR_AUTH_NEW_NONCE_HASH', 'server_DH_params_fail new_nonce_hash mismatch');
      }
      throw this.fail('ERR_AUTH_DH_PARAMS_FAIL', 'the server refused req_DH_params');
    }
    if (obj._ !== 'server_DH_params_ok') {
      throw this.fail('ERR_AUTH_BAD_RESPONSE', `expected server_DH_params_ok, got ${obj._}`);
    }
    this.checkNonces(obj);

    const encrypted = obj.encryptedAnswer;
    if (encrypted.length === 0 || encrypted.length % 16 !== 0) {
      throw this.fail('ERR_AUTH_BAD_RESPONSE', `encrypted_answer of ${encrypted.length} bytes`);
    }
    const { key: tmpKey, iv: tmpIv } = tmpAesKeyIv(this.newNonce, this.serverNonce);
    const answerWithHash = aesIgeDecrypt(encrypted, tmpKey, tmpIv);
    const inner = this.readAnswer(answerWithHash);

    if (inner._ !== 'server_DH_inner_data') {
      throw this.fail('ERR_AUTH_BAD_RESPONSE', `expected server_DH_inner_data, got ${inner._}`);
    }
    this.checkNonces(inner);
    const { dhPrime, g, gA } = inner;
    if (this.options.deferPrimeTest) {
      if (!this.checkParams(() => checkDhParamsKnown(dhPrime, g, gA))) {
        this.keepDhParams(inner, now, tmpKey, tmpIv);
        this.stage = 'primeTest';
        return { kind: 'testPrime', dhPrime, step: 'req_DH_params' };
      }
    } else {
      this.checkParams(() => checkDhParams(dhPrime, g, gA));
    }
    this.keepDhParams(inner, now, tmpKey, tmpIv);
    return this.firstClientDhParams();
  }

  private keepDhParams(
    inner: { g: number; dhPrime: Buffer; gA: Buffer; serverTime: number },
    now: number,
    tmpKey: Buffer,
    tmpIv: Buffer,
  ): void {
    this.nowSec = Math.floor(now / 1000);
    this.timeOffsetSec = inner.serverTime - this.nowSec;
    this.dh = { g: inner.g, dhPrime: inner.dhPrime, gA: inner.gA, tmpKey, tmpIv };
  }

  private firstClientDhParams(): ExchangeStep {
    const next = this.clientDhParams(0n);
    this.stage = 'dhGen';
    return next;
  }

  /**
   * answer_with_hash = SHA1(answer) + answer + 0..15 random bytes. The answer's
   * length is found by decoding it; a decoding failure means the decryption
   * (or the hash) is wrong, and is reported as such.
   */
  private readAnswer(answerWithHash: Buffer): TL.TlObject {
    const answerArea = answerWithHash.subarray(20);
    let obj: unknown;
    let length: number;
    try {
      const reader = new TlReader(answerArea);
      obj = TL.readObject(reader);
      length = reader.pos;
    } catch (err) {
      throw this.fail('ERR_AUTH_ANSWER_HASH', 'the decrypted answer does not decode', err);
    }
    const padding = answerArea.length - length;
    if (padding < 0 || padding > 15) {
      throw this.fail('ERR_AUTH_ANSWER_HASH', `the decrypted answer has ${padding} bytes of padding`);
    }
    if (!sha1(answerArea.subarray(0, length)).equals(answerWithHash.subarray(0, 20))) {
      throw this.fail('ERR_AUTH_ANSWER_HASH', 'SHA1 of the decrypted answer does not match');
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw this.fail('ERR_AUTH_BAD_RESPONSE', 'the decrypted answer is not an object');
    }
    return obj as TL.TlObject;
  }

  /** A fresh b, g_b (range-checked), and set_client_DH_params with `retryId`. */
  private clientDhParams(retryId: bigint): ExchangeStep {
    const dh = this.dh!;
    let gB: Buffer | undefined;
    for (let i = 0; i < B_ATTEMPTS && !gB; i++) {
      this.b = Buffer.from(this.random(256));
      // g^b through a fixed-base table cached per (g, dh_prime): ~4x cheaper than modPow.
      const candidate = dhPublic(dh.g, dh.dhPrime, this.b);
      try {
        // 1 < g_b < p - 1 and 2^(2048-64) <= g_b <= p - 2^(2048-64) (security guidelines).
        checkDhValue(candidate, dh.dhPrime);
        gB = candidate;
      } catch {
        // Another b: a value out of range is astronomically unlikely with a working generator.
      }
    }
    if (!gB) throw this.fail('ERR_AUTH_DH_GB', 'g_b out of range for every b tried');

    const data = TL.serialize({
      _: 'client_DH_inner_data',
      nonce: this.nonce,
      serverNonce: this.serverNonce,
      retryId,
      gB,
    });
    // data_with_hash = SHA1(data) + data + 0..15 random bytes to a multiple of 16.
    const padLength = (16 - ((20 + data.length) % 16)) % 16;
    const plain = Buffer.concat([sha1(data), data, padLength ? this.random(padLength) : Buffer.alloc(0)]);
    const encryptedData = aesIgeEncrypt(plain, dh.tmpKey, dh.tmpIv);
    return {
      kind: 'send',
      step: 'set_client_DH_params',
      body: TL.serialize({
        _: 'set_client_DH_params',
        nonce: this.nonce,
        serverNonce: this.serverNonce,
        encryptedData,
      }),
    };
  }

  // Step 9: dh_gen_ok / dh_gen_retry / dh_gen_fail with their new_nonce_hash checks.
  private onDhGen(obj: TL.TlObject): ExchangeStep {
    if (obj._ !== 'dh_gen_ok' && obj._ !== 'dh_gen_retry' && obj._ !== 'dh_gen_fail') {
      throw this.fail('ERR_AUTH_BAD_RESPONSE', `expected dh_gen_*, got ${obj._}`);
    }
    this.checkNonces(obj);
    const dh = this.dh!;
    // auth_key = g_a^b mod dh_prime, computed here rather than before sending
    // set_client_DH_params so that the request leaves sooner.
    const authKey = modPow(dh.gA, this.b, dh.dhPrime);
    const { auxHash, authKeyId } = authKeyIds(authKey);

    if (obj._ === 'dh_gen_ok') {
      if (!obj.newNonceHash1.equals(newNonceHash(this.newNonce, 1, auxHash))) {
        throw this.fail('ERR_AUTH_NEW_NONCE_HASH', 'dh_gen_ok new_nonce_hash1 mismatch');
      }
      this.stage = 'done';
      const result: AuthKeyResult = {
        authKey,
        authKeyId,
        serverSalt: firstServerSalt(this.newNonce, this.serverNonce),
        timeOffset: this.timeOffsetSec,
      };
      if (this.options.expiresIn !== undefined) result.expiresAt = this.nowSec + this.options.expiresIn;
      return { kind: 'done', result };
    }
    if (obj._ === 'dh_gen_retry') {
      if (!obj.newNonceHash2.equals(newNonceHash(this.newNonce, 2, auxHash))) {
        throw this.fail('ERR_AUTH_NEW_NONCE_HASH', 'dh_gen_retry new_nonce_hash2 mismatch');
      }
      if (this.retries >= (this.options.maxDhGenRetries ?? 3)) {
        throw this.fail('ERR_AUTH_RETRY_LIMIT', `dh_gen_retry after ${this.retries} retries`);
      }
      this.retries++;
      // retry_id = auth_key_aux_hash of the failed attempt, as a long.
      return this.clientDhParams(auxHash.readBigInt64LE(0));
    }
    if (!obj.newNonceHash3.equals(newNonceHash(this.newNonce, 3, auxHash))) {
      throw this.fail('ERR_AUTH_NEW_NONCE_HASH', 'dh_gen_fail new_nonce_hash3 mismatch');
    }
    throw this.fail('ERR_AUTH_DH_GEN_FAIL', 'the server answered dh_gen_fail');
  }
}

// The RSA keys a client may encrypt p_q_inner_data to: resPQ lists the
// fingerprints of the server's keys, the client takes the first it knows
// (core.telegram.org/mtproto/auth_key, step 4). Known keys are Telegram's
// current production and test keys plus any the user adds.
import { createPublicKey } from 'node:crypto';
import { rsaFingerprint } from '../native';
import { TELEGRAM_RSA_KEYS } from './telegram-keys';

export interface RsaPublicKey {
  /** Big-endian, no leading zero byte. */
  modulus: Buffer;
  /** Big-endian, no leading zero byte. */
  exponent: Buffer;
  /** The fingerprint as an unsigned 64-bit value (resPQ lists them signed; compare modulo 2^64). */
  fingerprint: bigint;
}

/** A key given by the user: a PKCS#1 or SPKI PEM, or its numbers. */
export type RsaKeyInput =
  | string
  | { pem: string }
  | { modulus: Buffer | bigint; exponent: Buffer | bigint | number }
  | RsaPublicKey;

/** Which of the built-in Telegram keys to know. */
export type TelegramKeySet = 'current' | 'all' | 'none';

// The keys tdlib ships today (td/telegram/net/PublicRsaKeySharedMain.cpp): one
// production, one test. The others in telegram-keys.ts are older production keys.
const CURRENT_FINGERPRINTS = new Set([0xd09d1d85de64fd85n, 0xb25898df208d2603n]);

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return i === 0 ? b : b.subarray(i);
}

function bigToBuffer(n: bigint): Buffer {
  if (n <= 0n) throw new RangeError('RSA numbers must be positive');
  const hex = n.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

function numberBuffer(v: Buffer | bigint | number): Buffer {
  if (Buffer.isBuffer(v)) return stripZeros(v);
  return bigToBuffer(BigInt(v));
}

/** The unsigned fingerprint of a key (low 64 bits of SHA1 of its TL rsa_public_key). */
export function fingerprintOf(modulus: Buffer, exponent: Buffer): bigint {
  return BigInt.asUintN(64, rsaFingerprint(modulus, exponent));
}

/** Parses a user's key. Throws TypeError/RangeError on malformed input. */
export function parseRsaKey(input: RsaKeyInput): RsaPublicKey {
  if (typeof input === 'string' || 'pem' in input) {
    const pem = typeof input === 'string' ? input : input.pem;
    const type = pem.includes('BEGIN RSA PUBLIC KEY') ? 'pkcs1' : 'spki';
    const jwk = createPublicKey({ key: pem, format: 'pem', type }).export({ format: 'jwk' });
    if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e) throw new TypeError('not an RSA public key');
    const modulus = stripZeros(Buffer.from(jwk.n, 'base64url'));
    const exponent = stripZeros(Buffer.from(jwk.e, 'base64url'));
    return { modulus, exponent, fingerprint: fingerprintOf(modulus, exponent) };
  }
  const modulus = numberBuffer(input.modulus);
  const exponent = numberBuffer(input.exponent);
  const fingerprint = fingerprintOf(modulus, exponent);
  if ('fingerprint' in input && BigInt.asUintN(64, input.fingerprint) !== fingerprint) {
    throw new RangeError('the given fingerprint does not match the key');
  }
  return { modulus, exponent, fingerprint };
}

let builtIn: RsaPublicKey[] | undefined;

/** Telegram's keys, parsed once. */
function telegramKeys(): RsaPublicKey[] {
  if (!builtIn) builtIn = TELEGRAM_RSA_KEYS.map((k) => parseRsaKey(k.pem));
  return builtIn;
}

/** Keys by fingerprint. */
export class RsaKeyring {
  private readonly keys = new Map<bigint, RsaPublicKey>();

  constructor(keys: Iterable<RsaPublicKey> = []) {
    for (const k of keys) this.add(k);
  }

  /** Telegram's keys (`set`) plus the user's. */
  static create(userKeys: readonly RsaKeyInput[] = [], set: TelegramKeySet = 'current'): RsaKeyring {
    const ring = new RsaKeyring();
    if (set !== 'none') {
      for (const k of telegramKeys()) {
        if (set === 'all' || CURRENT_FINGERPRINTS.has(k.fingerprint)) ring.add(k);
      }
    }
    for (const k of userKeys) ring.add(parseRsaKey(k));
    return ring;
  }

  add(key: RsaPublicKey): void {
    this.keys.set(BigInt.asUintN(64, key.fingerprint), key);
  }

  /** The key with this fingerprint (signed or unsigned), if known. */
  get(fingerprint: bigint): RsaPublicKey | undefined {
    return this.keys.get(BigInt.asUintN(64, fingerprint));
  }

  /** The first of the server's fingerprints that names a known key. */
  select(serverFingerprints: readonly bigint[]): RsaPublicKey | undefined {
    for (const fp of serverFingerprints) {
      const key = this.get(fp);
      if (key) return key;
    }
    return undefined;
  }

  get size(): number {
    return this.keys.size;
  }

  fingerprints(): bigint[] {
    return [...this.keys.keys()];
  }
}

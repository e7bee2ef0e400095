// TestDc's RSA key: generated per instance (or given), with what a client needs to
// trust it: modulus, exponent, PKCS#1 PEM and the fingerprint resPQ advertises.

import {
  constants,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
} from 'node:crypto';
import { sha1 } from './crypto';

/** What a client needs to know about a TestDc's RSA key. */
export interface RsaPublicKeyInfo {
  /** n, big-endian. */
  modulus: Buffer;
  /** e, big-endian (65537 = 01 00 01). */
  exponent: Buffer;
  /** PKCS#1 PEM ('-----BEGIN RSA PUBLIC KEY-----'). */
  pem: string;
  /** Unsigned 64-bit fingerprint (the lower 64 bits of SHA1 of the TL-serialized key). */
  fingerprint: bigint;
}

/** A TestDc's RSA key pair. */
export interface TestRsaKey extends RsaPublicKeyInfo {
  /** The private key (node:crypto), for the raw RSA decryption of req_DH_params. */
  privateKey: KeyObject;
}

/** TL `bytes`: length prefix, data, padding to 4 bytes. */
function tlBytes(data: Buffer): Buffer {
  const head =
    data.length < 254
      ? Buffer.from([data.length])
      : Buffer.from([254, data.length & 0xff, (data.length >> 8) & 0xff, data.length >> 16]);
  const pad = (4 - ((head.length + data.length) % 4)) % 4;
  return Buffer.concat([head, data, Buffer.alloc(pad)]);
}

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * The fingerprint of a server key (https://core.telegram.org/mtproto/auth_key: the 64
 * lower-order bits of SHA1(server_public_key), server_public_key being the bare
 * rsa_public_key n:string e:string), as an unsigned 64-bit value.
 */
export function rsaFingerprint(modulus: Buffer, exponent: Buffer): bigint {
  const digest = sha1(tlBytes(stripZeros(modulus)), tlBytes(stripZeros(exponent)));
  return digest.readBigUInt64LE(12);
}

function fromPrivateKey(privateKey: KeyObject): TestRsaKey {
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || !jwk.n || !jwk.e) throw new TypeError('not an RSA private key');
  const modulus = Buffer.from(jwk.n, 'base64url');
  if (modulus.length !== 256)
    throw new RangeError(`TestDc needs a 2048-bit RSA key, got ${modulus.length * 8} bits`);
  const exponent = Buffer.from(jwk.e, 'base64url');
  const pem = createPublicPem(privateKey);
  return { modulus, exponent, pem, fingerprint: rsaFingerprint(modulus, exponent), privateKey };
}

function createPublicPem(privateKey: KeyObject): string {
  // Exported as PKCS#1, the form Telegram publishes its keys in.
  return (createPublicKey(privateKey).export({ type: 'pkcs1', format: 'pem' }) as string).trim();
}

/** A fresh RSA-2048 key (e = 65537). Takes tens to hundreds of milliseconds. */
export function generateTestRsaKey(): TestRsaKey {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 });
  return fromPrivateKey(privateKey);
}

/** A key from a private key in PEM (PKCS#1 or PKCS#8). */
export function testRsaKeyFromPem(privatePem: string): TestRsaKey {
  return fromPrivateKey(createPrivateKey(privatePem));
}

let shared: TestRsaKey | undefined;

/** One key per process, generated on first use: lets many TestDcs start fast. */
export function sharedTestRsaKey(): TestRsaKey {
  shared ??= generateTestRsaKey();
  return shared;
}

/**
 * Raw RSA (c^d mod n) of a number below the modulus given in at most 256 big-endian
 * bytes (a client may drop leading zeros); null when it is not one.
 */
export function rsaDecryptRaw(key: TestRsaKey, data: Buffer): Buffer | null {
  if (data.length > 256) return null;
  const block = data.length === 256 ? data : Buffer.concat([Buffer.alloc(256 - data.length), data]);
  if (Buffer.compare(block, key.modulus) >= 0) return null;
  try {
    return privateDecrypt({ key: key.privateKey, padding: constants.RSA_NO_PADDING }, block);
  } catch {
    return null;
  }
}

// Optional encryption at rest for auth keys: a caller-supplied 32-byte key
// seals each stored auth key with AES-256-GCM, so a leaked database or backup
// holds no usable key. Only the key fields are sealed; ids, salts and the rest
// stay readable for operations.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { SessionKeyDecryptError, SessionRecordError } from './errors';

export interface KeyCipher {
  /** Seals `plain`; `aad` binds the result to its place (session, DC, slot). */
  seal(plain: Buffer, aad: Buffer): Buffer;
  /** Opens what seal() produced with the same `aad`; throws SessionKeyDecryptError otherwise. */
  open(sealed: Buffer, aad: Buffer): Buffer;
}

const FINGERPRINT = 4;
const NONCE = 12;
const TAG = 16;

function fingerprint(key: Buffer): Buffer {
  return createHash('sha256').update('telegram-mt key cipher').update(key).digest().subarray(0, FINGERPRINT);
}

/**
 * AES-256-GCM with a random 96-bit nonce per seal. Layout of a sealed value:
 * key fingerprint (4) ‖ nonce (12) ‖ ciphertext ‖ tag (16). The fingerprint lets
 * `previousKeys` open values sealed before a key rotation; new seals use `key`.
 */
export function aesGcmKeyCipher(key: Buffer, options: { previousKeys?: readonly Buffer[] } = {}): KeyCipher {
  const keys = [key, ...(options.previousKeys ?? [])];
  for (const k of keys) {
    if (k.length !== 32) throw new SessionRecordError('an AES-256-GCM key is 32 bytes');
  }
  const byPrint = new Map(keys.map((k) => [fingerprint(k).toString('hex'), Buffer.from(k)]));
  const current = Buffer.from(key);
  const currentPrint = fingerprint(current);
  return {
    seal(plain, aad) {
      const nonce = randomBytes(NONCE);
      const c = createCipheriv('aes-256-gcm', current, nonce);
      c.setAAD(aad);
      const body = c.update(plain);
      c.final();
      return Buffer.concat([currentPrint, nonce, body, c.getAuthTag()]);
    },
    open(sealed, aad) {
      if (sealed.length < FINGERPRINT + NONCE + TAG) throw new SessionKeyDecryptError('sealed key too short');
      const k = byPrint.get(sealed.subarray(0, FINGERPRINT).toString('hex'));
      if (!k) throw new SessionKeyDecryptError('auth key sealed with a key that is not configured');
      const nonce = sealed.subarray(FINGERPRINT, FINGERPRINT + NONCE);
      const d = createDecipheriv('aes-256-gcm', k, nonce);
      d.setAAD(aad);
      d.setAuthTag(sealed.subarray(sealed.length - TAG));
      const plain = d.update(sealed.subarray(FINGERPRINT + NONCE, sealed.length - TAG));
      try {
        d.final();
      } catch {
        throw new SessionKeyDecryptError('sealed auth key failed authentication (wrong key or tampered)');
      }
      return plain;
    },
  };
}

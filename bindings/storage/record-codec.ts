// The binary form of a SessionRecord: what the SQLite, PostgreSQL and Redis
// adapters store and what a session string carries. The name is not inside
// (it is the storage key). Little-endian, version 1:
//
//   u8 layout version (1) | u8 flags | i32 home dcId | f64 updatedAt (ms) | [i64 userId]
//   u8 key count, then per DC:
//     i32 dcId | u8 key flags | u16 len | auth key (256, or sealed) | u64 salt | f64 timeOffset (s)
//     [temp key: u16 len | key | f64 expiresAt (s) | u64 salt]
//   [u32 len | updatesState as JSON]
//   u32 check: the first 4 bytes of SHA-256 over everything before it
//
// The check catches truncated or mistyped strings and torn storage; it is no
// authentication (a KeyCipher authenticates the sealed keys).
import * as crypto from 'node:crypto';
import { authKeyIdOf } from '../auth/key';
import { SessionDecodeError, SessionRecordError } from './errors';
import type { KeyCipher } from './key-cipher';
import type { DcAuth, SessionRecord, TempAuthKey } from './types';

export const RECORD_LAYOUT_VERSION = 1;
export const AUTH_KEY_BYTES = 256;

const F_USER = 1;
const F_BOT_SET = 2;
const F_BOT = 4;
const F_TEST_SET = 8;
const F_TEST = 16;
const F_UPDATES = 32;
const F_SEALED = 64;
const K_TEMP = 1;

// crypto.hash (Node >= 20.12) is one call instead of a Hash object: a third of the cost.
const oneShot = (crypto as { hash?: (alg: string, data: Buffer, enc: 'buffer') => Buffer }).hash;
const digest = (alg: 'sha1' | 'sha256', data: Buffer): Buffer =>
  oneShot ? oneShot(alg, data, 'buffer') : crypto.createHash(alg).update(data).digest();

function check(bytes: Buffer): Buffer {
  return digest('sha256', bytes).subarray(0, 4);
}

function aad(name: string, dcId: number, slot: 'perm' | 'temp'): Buffer {
  return Buffer.from(`${name}\0${dcId}\0${slot}`);
}

function int32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) {
    throw new SessionRecordError(`${what} must be a 32-bit integer`);
  }
  return v;
}

function key256(key: Buffer, what: string): Buffer {
  if (!Buffer.isBuffer(key) || key.length !== AUTH_KEY_BYTES) {
    throw new SessionRecordError(`${what} must be a Buffer of ${AUTH_KEY_BYTES} bytes`);
  }
  return key;
}

function stored256(key: Buffer): Buffer {
  if (key.length !== AUTH_KEY_BYTES) throw new SessionDecodeError('a stored auth key is not 256 bytes');
  return key;
}

/** Grows as needed; one copy at the end. */
class Writer {
  private buf = Buffer.allocUnsafe(512);
  private pos = 0;
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.room(2);
    this.pos = this.buf.writeUInt16LE(v, this.pos);
  }
  u32(v: number): void {
    this.room(4);
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }
  i32(v: number): void {
    this.room(4);
    this.pos = this.buf.writeInt32LE(v, this.pos);
  }
  f64(v: number): void {
    this.room(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }
  u64(v: bigint): void {
    this.room(8);
    this.pos = this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
  }
  i64(v: bigint): void {
    this.room(8);
    this.pos = this.buf.writeBigInt64LE(v, this.pos);
  }
  bytes(b: Buffer): void {
    this.room(b.length);
    this.pos += b.copy(this.buf, this.pos);
  }
  finish(): Buffer {
    const body = this.buf.subarray(0, this.pos);
    return Buffer.concat([body, check(body)]);
  }
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): number {
    if (this.pos + n > this.buf.length) throw new SessionDecodeError('session data is truncated');
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u8(): number {
    return this.buf[this.need(1)];
  }
  u16(): number {
    return this.buf.readUInt16LE(this.need(2));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.need(4));
  }
  i32(): number {
    return this.buf.readInt32LE(this.need(4));
  }
  f64(): number {
    return this.buf.readDoubleLE(this.need(8));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.need(8));
  }
  i64(): bigint {
    return this.buf.readBigInt64LE(this.need(8));
  }
  bytes(n: number): Buffer {
    const at = this.need(n);
    return Buffer.from(this.buf.subarray(at, at + n));
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

export interface CodecOptions {
  /** Seals the auth keys on encode; needed to decode sealed keys. */
  cipher?: KeyCipher;
}

/** The binary form of `record` (its name only binds sealed keys, it is not stored). */
export function encodeRecord(record: SessionRecord, options: CodecOptions = {}): Buffer {
  const { cipher } = options;
  const w = new Writer();
  const entries = Object.entries(record.authKeys ?? {});
  if (entries.length > 255) throw new SessionRecordError('at most 255 DCs per session');
  let flags = cipher ? F_SEALED : 0;
  if (record.userId !== undefined) flags |= F_USER;
  if (record.isBot !== undefined) flags |= F_BOT_SET | (record.isBot ? F_BOT : 0);
  if (record.testMode !== undefined) flags |= F_TEST_SET | (record.testMode ? F_TEST : 0);
  if (record.updatesState !== undefined) flags |= F_UPDATES;
  w.u8(RECORD_LAYOUT_VERSION);
  w.u8(flags);
  w.i32(int32(record.dcId, 'dcId'));
  w.f64(Number.isFinite(record.updatedAt) ? record.updatedAt : Date.now());
  if (record.userId !== undefined) {
    if (typeof record.userId !== 'bigint' || BigInt.asIntN(64, record.userId) !== record.userId) {
      throw new SessionRecordError('userId must be a signed 64-bit bigint');
    }
    w.i64(record.userId);
  }
  w.u8(entries.length);
  const seal = (key: Buffer, dcId: number, slot: 'perm' | 'temp') =>
    cipher ? cipher.seal(key, aad(record.name, dcId, slot)) : key;
  for (const [dc, auth] of entries) {
    const dcId = int32(Number(dc), 'an authKeys DC id');
    const key = seal(key256(auth.authKey, `authKeys[${dcId}].authKey`), dcId, 'perm');
    w.i32(dcId);
    w.u8(auth.tempKey ? K_TEMP : 0);
    w.u16(key.length);
    w.bytes(key);
    w.u64(auth.serverSalt);
    w.f64(auth.timeOffset ?? 0);
    if (auth.tempKey) {
      const temp = seal(key256(auth.tempKey.authKey, `authKeys[${dcId}].tempKey.authKey`), dcId, 'temp');
      w.u16(temp.length);
      w.bytes(temp);
      w.f64(auth.tempKey.expiresAt);
      w.u64(auth.tempKey.serverSalt);
    }
  }
  if (record.updatesState !== undefined) {
    let json: string;
    try {
      json = JSON.stringify(record.updatesState);
    } catch (err) {
      throw new SessionRecordError(`updatesState is not JSON-serializable: ${(err as Error).message}`);
    }
    const bytes = Buffer.from(json);
    w.u32(bytes.length);
    w.bytes(bytes);
  }
  return w.finish();
}

/** Whether the stored form holds sealed keys (then decoding needs the cipher). */
export function isSealed(data: Buffer): boolean {
  return data.length > 1 && (data[1] & F_SEALED) !== 0;
}

/** The record that encodeRecord produced, under `name`. */
export function decodeRecord(name: string, data: Buffer, options: CodecOptions = {}): SessionRecord {
  if (data.length < 5) throw new SessionDecodeError('session data is truncated');
  const body = data.subarray(0, data.length - 4);
  if (!check(body).equals(data.subarray(data.length - 4))) {
    throw new SessionDecodeError('session data fails its checksum (truncated or altered)');
  }
  const r = new Reader(body);
  const version = r.u8();
  if (version !== RECORD_LAYOUT_VERSION) {
    throw new SessionDecodeError(`unknown session layout version ${version}`);
  }
  const flags = r.u8();
  const sealed = (flags & F_SEALED) !== 0;
  if (sealed && !options.cipher) {
    throw new SessionDecodeError(`session "${name}" has encrypted auth keys: configure its key cipher`);
  }
  const open = (key: Buffer, dcId: number, slot: 'perm' | 'temp') =>
    sealed ? options.cipher!.open(key, aad(name, dcId, slot)) : key;
  const record: SessionRecord = { name, dcId: r.i32(), authKeys: {}, updatedAt: r.f64() };
  if (flags & F_USER) record.userId = r.i64();
  if (flags & F_BOT_SET) record.isBot = (flags & F_BOT) !== 0;
  if (flags & F_TEST_SET) record.testMode = (flags & F_TEST) !== 0;
  const count = r.u8();
  for (let i = 0; i < count; i++) {
    const dcId = r.i32();
    const kflags = r.u8();
    const authKey = stored256(open(r.bytes(r.u16()), dcId, 'perm'));
    const auth: DcAuth = {
      authKey,
      authKeyId: authKeyIdOf(authKey),
      serverSalt: r.u64(),
      timeOffset: r.f64(),
    };
    if (kflags & K_TEMP) {
      const tempKey: TempAuthKey = {
        authKey: stored256(open(r.bytes(r.u16()), dcId, 'temp')),
        expiresAt: r.f64(),
        serverSalt: r.u64(),
      };
      auth.tempKey = tempKey;
    }
    record.authKeys[dcId] = auth;
  }
  if (flags & F_UPDATES) {
    const len = r.u32();
    try {
      record.updatesState = JSON.parse(r.bytes(len).toString('utf8'));
    } catch (err) {
      if (err instanceof SessionDecodeError) throw err;
      throw new SessionDecodeError('stored updatesState is not valid JSON');
    }
  }
  if (!r.done) throw new SessionDecodeError('session data has trailing bytes');
  return record;
}

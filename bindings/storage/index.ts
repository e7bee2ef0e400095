// Session storage: what a session keeps across restarts and processes, the
// adapters that keep it, session strings, and leases (one key, one owner).

export { authKeyIdOf } from '../auth/key';
export type { DriverName } from './drivers';
export {
  SessionDecodeError,
  SessionKeyDecryptError,
  SessionLeaseLostError,
  SessionLockedError,
  SessionRecordError,
  StorageDriverMissingError,
  StorageError,
} from './errors';
export { aesGcmKeyCipher, type KeyCipher } from './key-cipher';
export { type HeldLease, type HoldOptions, holdLease, newOwnerId, renewLeases } from './lease';
export { holdBatched, LeaseRenewer, RENEW_BATCH, type RenewerStats } from './lease-renewer';
export { MemoryStorage, type MemoryStorageOptions } from './memory';
export { applyPatch } from './merge';
export { checkPeer, decodePeer, encodePeer, peerKey, unmarkPeer } from './peer-codec';
export {
  type PgClient,
  type PgPool,
  type PgResult,
  PostgresStorage,
  type PostgresStorageOptions,
} from './postgres';
export {
  AUTH_KEY_BYTES,
  type CodecOptions,
  decodeRecord,
  encodeRecord,
  RECORD_LAYOUT_VERSION,
} from './record-codec';
export { type RedisClient, RedisStorage, type RedisStorageOptions } from './redis';
export {
  type SqliteDatabase,
  type SqliteDriver,
  type SqliteStatement,
  SqliteStorage,
  type SqliteStorageOptions,
} from './sqlite';
export {
  exportStringSession,
  type ImportedSession,
  type ImportOptions,
  importStringSession,
  type ServerAddress,
  STRING_SESSION_PREFIX,
  type StringSessionFormat,
  toGramJsString,
  toTelethonString,
} from './string-session';
export type {
  DcAuth,
  JsonValue,
  Lease,
  LeaseClaim,
  PeerKind,
  RenewResult,
  SaveOptions,
  SessionPatch,
  SessionRecord,
  SessionStorage,
  StoredPeer,
  TempAuthKey,
  UpdatesState,
} from './types';

// What a session must keep across restarts, and the interface every storage
// adapter implements. Auth keys are secrets: nothing here is ever logged.

/** The updates state (updates.getState / updates.getDifference). */
export interface UpdatesState {
  pts: number;
  qts: number;
  date: number;
  seq: number;
}

/** Any JSON value: the updates state may also be kept in a caller's own shape. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A temporary (PFS) key bound to the DC's permanent key. */
export interface TempAuthKey {
  /** 256 bytes. */
  authKey: Buffer;
  /** Unix time (seconds) when the server forgets it. */
  expiresAt: number;
  /** The server salt in use with this key. */
  serverSalt: bigint;
}

/** What one DC's authorization needs. */
export interface DcAuth {
  /** The permanent authorization key, 256 bytes. */
  authKey: Buffer;
  /**
   * auth_key_id: the low 64 bits of SHA-1(authKey), unsigned. Computed on load;
   * a value given on save is ignored (it can always be derived).
   */
  authKeyId?: bigint;
  /** The current server salt, unsigned 64-bit (a negative value is taken modulo 2^64). */
  serverSalt: bigint;
  /** Server time minus local time, in seconds (fractions kept). */
  timeOffset: number;
  tempKey?: TempAuthKey;
}

export interface SessionRecord {
  /** The storage key: unique per session within one storage. */
  name: string;
  /** The session's home DC. */
  dcId: number;
  /** Authorization per DC id (the home DC and any media/file DCs). */
  authKeys: Record<number, DcAuth>;
  /** The logged-in user (or bot), once known. */
  userId?: bigint;
  isBot?: boolean;
  updatesState?: UpdatesState | JsonValue;
  /** Test DCs instead of production. */
  testMode?: boolean;
  /** ms since the epoch of the last save; set by save() when absent. */
  updatedAt: number;
}

/** Users, basic groups and channels (api/peers). */
export type PeerKind = 'user' | 'chat' | 'channel';

/**
 * What a session knows of one peer (issue #14). Keyed by its marked id (`peerKey`: users
 * by id, basic groups by -id, channels by -(10^12 + id), core.telegram.org/api/bots/ids).
 * Access hashes are per account: a session's peers are its own.
 */
export interface StoredPeer {
  kind: PeerKind;
  id: bigint;
  /** Absent for basic groups, and when none was seen. */
  accessHash?: bigint;
  /**
   * The hash came from a min constructor (api/min): it cannot address the peer; `seenIn`
   * can. A full hash is never replaced by a min one (bindings/peers/merge.ts).
   */
  min: boolean;
  /** Lower case, without '@'. */
  username?: string;
  phone?: string;
  bot?: boolean;
  /** Where a min peer was seen: the chat's marked id and a message id there (inputPeer*FromMessage). */
  seenIn?: { key: bigint; msgId: number };
  /** ms since the epoch of the last change. */
  updatedAt: number;
}

/** The fields update() may change. */
export type SessionPatch = Partial<Omit<SessionRecord, 'name'>>;

/** A lease: who owns a stored session and until when. */
export interface Lease {
  name: string;
  owner: string;
  /** ms since the epoch (the storage server's clock for PostgreSQL and Redis). */
  expiresAt: number;
}

/** One lease to renew in a batch: `name` as held by `owner`. */
export interface LeaseClaim {
  name: string;
  owner: string;
}

/**
 * What a batch renewal did with one claim (same order as the claims):
 * `renewed`; `lost` with the error the single renew() would have thrown
 * (SessionLockedError: another owner has it; SessionLeaseLostError: it is gone);
 * or `failed` (a transient error of this claim alone, e.g. the fallback's
 * renew() met a network error: the lease may still be ours).
 */
export type RenewResult =
  | { kind: 'renewed'; lease: Lease }
  | { kind: 'lost'; error: Error }
  | { kind: 'failed'; error: Error };

export interface SaveOptions {
  /**
   * Fencing: write only if this owner holds the session's lease; otherwise the
   * save rejects with SessionLockedError (another owner) or SessionLeaseLostError
   * (no lease). Without it the write is unconditional.
   */
  owner?: string;
}

/**
 * A place where sessions live. Every method is async; every adapter gives the
 * same guarantees: a resolved save() is durable as configured, a record is
 * written whole or not at all, and a lease has at most one owner at a time.
 */
export interface SessionStorage {
  /** The record, or undefined when there is none. */
  load(name: string): Promise<SessionRecord | undefined>;
  /** Several records in one round trip where the backend allows (missing names are absent). */
  loadMany(names: readonly string[]): Promise<Map<string, SessionRecord>>;
  /** Inserts or replaces the whole record. */
  save(record: SessionRecord, options?: SaveOptions): Promise<void>;
  /**
   * Merges `patch` into the stored record atomically (read-modify-write that no
   * concurrent update() interleaves with) and returns the result; undefined when
   * there is no such record.
   */
  update(name: string, patch: SessionPatch, options?: SaveOptions): Promise<SessionRecord | undefined>;
  /** Removes the record (not its lease); true when there was one. */
  delete(name: string): Promise<boolean>;
  /** Names of stored sessions, sorted, optionally only those starting with `prefix`. */
  list(prefix?: string): Promise<string[]>;

  /**
   * Takes the lease for `ttlMs` when it is free, expired, or already this owner's
   * (then it is extended). Otherwise rejects with SessionLockedError.
   */
  acquire(name: string, owner: string, ttlMs: number): Promise<Lease>;
  /**
   * Extends a lease this owner holds. Rejects with SessionLockedError when another
   * owner took it, SessionLeaseLostError when it is gone.
   */
  renew(name: string, owner: string, ttlMs: number): Promise<Lease>;
  /**
   * renew() for many claims in one round trip where the backend allows, with
   * exactly renew()'s rule per claim (only the holder renews; a lease another
   * owner took is never renewed). One result per claim, in order. Rejects only
   * when the whole batch failed (then no claim is known to be renewed).
   * Optional: renewLeases() in lease.ts falls back to renew() per claim.
   */
  renewMany?(claims: readonly LeaseClaim[], ttlMs: number): Promise<RenewResult[]>;
  /** Gives the lease up; false when this owner did not hold it. */
  release(name: string, owner: string): Promise<boolean>;
  /** The current lease, if any and unexpired. */
  lease(name: string): Promise<Lease | undefined>;

  /**
   * Peers of session `name` (issue #14): inserted or replaced whole, by marked id, in one
   * round trip. The caller merged them already (bindings/peers/merge.ts): the adapter
   * keeps what it is given. With `options.owner` the write is fenced as save() is: a late
   * owner's merge (which may hold only a min hash where the new owner stored a full one)
   * never lands over the new owner's.
   */
  savePeers(name: string, peers: readonly StoredPeer[], options?: SaveOptions): Promise<void>;
  /** The stored peers of `name` among these marked ids (missing ones are absent), one round trip. */
  loadPeers(name: string, keys: readonly bigint[]): Promise<Map<bigint, StoredPeer>>;
  /** The peer of `name` with this username (lower case, no '@'), if stored. */
  peerByUsername(name: string, username: string): Promise<StoredPeer | undefined>;
  /** How many peers `name` has stored. */
  countPeers(name: string): Promise<number>;
  /** Removes every peer of `name`; how many there were. delete() leaves peers alone. */
  deletePeers(name: string): Promise<number>;

  /** Frees connections (a driver instance passed in by the caller is left open). */
  close(): Promise<void>;
}

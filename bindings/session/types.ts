// Public types of the session registry (DESIGN.md "The public API").

import type { RsaKeyInput } from '../auth';
import type { KeyMaterial } from '../auth/key';
import type { DcEnvironment } from '../dcs';
import type { UnauthorizedReason } from '../login/unauthorized';
import type { PeerCallOptions, SessionFloodOptions, SessionPeersOptions } from '../peers/types';
import type { SessionStorage } from '../storage/types';
import type * as TL from '../tl';
import type { ProxyErrorCode, ProxyOptions, TransportKind } from '../transport';
import type { DeliveredUpdate, UpdateEngineOptions, UpdateError, UpdateGap } from '../updates';

/** A registry's handle on one session: 's1', 's2', ... (unique within the registry). */
export type SessionId = string;

/** Stable codes of `SessionError` and of `send`'s `{ ok: false }` reasons. */
export type SessionErrorCode =
  | 'SESSION_CLOSED' // closed (by close(), or before the request could be answered)
  | 'NO_SUCH_SESSION' // no session with that id in this registry
  | 'NOT_CONNECTED' // could not be queued (the connection is gone for good)
  | 'BAD_MESSAGE' // the message could not be serialized / is not TL
  | 'BAD_OPTIONS' // open(): unknown DC, bad address or transport options
  | 'CONNECT_FAILED' // open(): the connection or the key exchange failed
  | 'AUTH_KEY_UNKNOWN' // transport error -404: the server does not know the key
  | 'KEY_CHANGED' // import() replaced the key while the request was pending
  | 'TIMEOUT' // call() options.timeoutMs elapsed (the server was told to drop the answer)
  | 'ABORTED' // call() options.signal aborted (the server was told to drop the answer)
  | 'CHAIN_BROKEN' // an earlier call of the same chain failed (the cause names how)
  | 'AUTH_KEY_DUPLICATED' // 406: the server saw the key used from two places at once; the session stopped
  | 'REQUEST_FAILED' // the session gave up re-sending the request (bad_msg_notification)
  | 'ANSWER_DROPPED' // the answer came in a message that could not be read (and the server had the request)
  | 'RESENT_TOO_OFTEN' // the request was sent again (new id or the server's resend request) past the bound
  | 'MIGRATE_FAILED' // a *_MIGRATE_X could not be followed
  | 'SESSION_LOCKED' // open(): the stored session is held by another owner (cause: SessionLockedError)
  | 'LEASE_LOST' // the stored session's lease expired or was taken: the session stopped
  | 'STORAGE_FAILED' // a storage read or write failed (after retries)
  | ProxyErrorCode // open(): PROXY_AUTH_FAILED, PROXY_CONNECT_FAILED, PROXY_PROTOCOL, MTPROXY_REJECTED
  | 'BAD_DC' // transport error -444: the server says the DC id is invalid
  | 'TRANSPORT_FLOOD' // transport error -429 after every retry: too many connections
  | 'BIND_FAILED'; // auth.bindTempAuthKey refused although the server knows the permanent key

/** Errors of the registry itself (RPC errors are TL's RpcError classes). */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

export interface SessionAddress {
  host: string;
  port: number;
}

export interface SessionTransportOptions {
  /** Framing (default 'intermediate'). */
  kind?: TransportKind;
  /** obfuscated2 (implied by `secret`). */
  obfuscated?: boolean;
  /**
   * MTProxy secret (hex or Buffer): 16 bytes, `dd` + 16 bytes, or `ee` + 16 bytes
   * + domain (fake TLS); `dd` and `ee` imply kind 'padded'. `address` is then the MTProxy's.
   */
  secret?: Buffer | string;
}

/** initConnection's parameters (wrapped around the first request of each connection). */
export interface SessionInitOptions {
  apiId: number;
  deviceModel?: string;
  systemVersion?: string;
  appVersion?: string;
  systemLangCode?: string;
  langPack?: string;
  langCode?: string;
}

/** A key to open with (`options.import`): the key material, and the user it is logged in as. */
export interface SessionImport extends KeyMaterial {
  userId?: bigint | number | null;
}

export interface ReconnectOptions {
  /** First backoff ceiling, ms (default 250). Full jitter: delay = random(0, min(cap, base * 2^attempt)). */
  baseMs?: number;
  /** Largest backoff ceiling, ms (default 30000). */
  capMs?: number;
  /** Give up after this many failed attempts in a row (default Infinity): pending calls then fail. */
  maxAttempts?: number;
}

export interface KeepaliveOptions {
  /** ping_delay_disconnect every this many ms (default 60000; 0 disables). */
  intervalMs?: number;
  /** The server closes the connection when no ping renews it within this many seconds (default 75). */
  disconnectDelay?: number;
}

export interface SessionOpenOptions {
  /** An explicit address (e.g. a TestDc's) instead of the DC table. */
  address?: SessionAddress;
  /** 'production' (default) or 'test': which DC table and the +10000 dc id. */
  environment?: DcEnvironment;
  /** Prefer the IPv6 address of the DC table. */
  ipv6?: boolean;
  transport?: SessionTransportOptions;
  /**
   * Connect through a SOCKS5 (RFC 1928/1929) or HTTP CONNECT proxy, for the key
   * exchange and every (re)connection; combines with an MTProxy `secret`.
   * Failures: SessionError PROXY_AUTH_FAILED, PROXY_CONNECT_FAILED, PROXY_PROTOCOL.
   */
  proxy?: ProxyOptions;
  init?: SessionInitOptions;
  /** Extra RSA keys trusted by the key exchange (e.g. TestDc's `rsaPublicKey.pem`). */
  rsaKeys?: readonly RsaKeyInput[];
  /** Open with this key instead of creating one. */
  import?: SessionImport;
  /** FLOOD_WAIT_X with X below this many seconds is waited out and retried (default 0: never). */
  floodWaitThreshold?: number;
  reconnect?: ReconnectOptions;
  keepalive?: KeepaliveOptions;
  /**
   * The whole of opening a connection, ms (default 10000): the key exchange, the
   * connection to each address tried, the first ping and binding, retries included.
   */
  connectTimeoutMs?: number;
  /**
   * How long one frame may take from its first byte to its last, ms (default 30000: 35
   * KB/s for the largest). A server trickling an answer is dropped (FRAME_STALLED) and
   * the connection made again; so is one that sends no byte of an unfinished frame for 5 s.
   */
  frameTimeoutMs?: number;
  /**
   * Updates the iterators (`updates()`, `ordered()`) hold before the consumer counts as
   * behind (default 1000). The socket is read on regardless: RPC answers never wait
   * behind updates. The engine then holds back and refetches later.
   */
  updatesQueueSize?: number;
  /**
   * Raw updates (`updates()` without the engine) held at most (default 10 x
   * updatesQueueSize, at least 10,000); past it they are dropped and counted in an
   * `updatesDropped` event. With `updates.catchUp` nothing is lost.
   */
  updatesQueueLimit?: number;
  /**
   * The update engine: every update once, in order, across reconnects and restarts
   * (bindings/updates; see SessionUpdatesOptions). Off by default: `updates()` then gives
   * the raw `Updates` objects as they come.
   */
  updates?: SessionUpdatesOptions;
  /** Addresses of other DCs (for migration) when not learned from help.getConfig. */
  dcAddresses?: Record<number, SessionAddress>;
  /**
   * Perfect Forward Secrecy (api/pfs): traffic goes under temporary keys bound to the
   * permanent one, renewed before they expire. Default: on when `pool` adds connections
   * (one permanent key then serves several), off otherwise.
   */
  pfs?: boolean | SessionPfsOptions;
  /** Extra connections to the session's DC for file transfers (see SessionPoolOptions). */
  pool?: SessionPoolOptions;
  /**
   * Keep this session in storage under this name (see persist.ts): its stored
   * key is used (no key exchange), a new key is saved before it is used, and
   * the session holds the name's lease while open (a second open is refused
   * with SESSION_LOCKED). The stored home DC wins over `dcId` (after a
   * migration); `address` is then taken as `dcId`'s address.
   */
  name?: string;
  /** Where `name` lives (default: one MemoryStorage per process). */
  storage?: SessionStorage;
  persist?: SessionPersistOptions;
  /**
   * Keep every peer's access hash (bindings/peers): harvested from each result and update,
   * held in an LRU, written to `storage` in batches; `call()` then takes ids and usernames
   * for peers. `true` for the defaults.
   */
  peers?: boolean | SessionPeersOptions;
  /** Client-side flood control (bindings/peers/flood): token buckets, FLOOD_WAIT memory, priorities. `true` for the Bot FAQ's limits. */
  flood?: boolean | SessionFloodOptions;
}

export interface SessionPersistOptions {
  /** Lease length, ms (default 30000): how long a crashed process keeps the session blocked. */
  leaseTtlMs?: number;
  /** Lease renewal period, ms (default leaseTtlMs / 3). */
  renewEveryMs?: number;
  /** The lease owner id (default host:pid:random, unique per open). */
  owner?: string;
  /** Salt and time-offset changes are written at most this often, ms (default 1000). */
  saveDelayMs?: number;
  /** Attempts for an awaited write (a new key, the updates state, the flush on close; default 4). */
  writeAttempts?: number;
  /** First retry delay, ms (default 200; doubles up to 30 s). */
  retryBaseMs?: number;
}

export interface SessionUpdatesOptions {
  /**
   * Run the update engine: pts/qts/seq and channel pts are followed, gaps are filled with
   * getDifference / getChannelDifference (also after reconnects and restarts), duplicates
   * are dropped; the client gets `delivered` and `gap` events and `Session.ordered(id)`
   * iterates them. The committed state (what the application took) is stored.
   */
  catchUp: boolean;
  /**
   * 'auto' (default): an update is taken once `ordered()` asks for the next one (or,
   * when nothing iterates, once the client returned). 'manual': `Session.acknowledge(id,
   * token)` says so (asynchronous processing); until then it is redelivered after a crash.
   */
  ack?: 'auto' | 'manual';
  /** The account is a bot (larger channel differences); learned from a login when not given. */
  isBot?: boolean;
  /** The engine's timings and budgets (bindings/updates/README.md). */
  engine?: Omit<UpdateEngineOptions, 'state' | 'isBot' | 'selfId'>;
}

export interface SessionPfsOptions {
  /** expires_in of each temporary key, seconds (default 86400). */
  expiresInSec?: number;
  /** Renew this long before expiry, seconds (default min(600, expiresInSec / 4)). */
  renewBeforeSec?: number;
  /** Renew up to this much earlier still, at random, so sessions spread out (default min(300, expiresInSec / 8)). */
  jitterSec?: number;
}

/** Connections of one session to its DC besides the main one, each its own MTProto session on the same key. */
export interface SessionPoolOptions {
  /** At most this many connections for uploads (upload.saveFilePart, upload.saveBigFilePart); default 0. */
  upload?: number;
  /** At most this many for downloads (upload.getFile, getFileHashes, getCdnFile...); default 0. */
  download?: number;
  /** An extra connection with nothing pending for this long is closed (default 60000 ms). */
  idleMs?: number;
}

/** Which of a session's connections a call goes on. */
export type ConnectionKind = 'main' | 'upload' | 'download';

export interface CallOptions extends PeerCallOptions {
  /**
   * Reject with SessionError TIMEOUT after this many ms, retries (FLOOD_WAIT, migration)
   * included. A call already sent is dropped: the server is told with rpc_drop_answer.
   */
  timeoutMs?: number;
  /**
   * Abort the call: SessionError ABORTED (cause: the signal's reason). Before the send it
   * leaves the queue; after it, the server is told to drop the answer (rpc_drop_answer).
   */
  signal?: AbortSignal;
  /**
   * Calls with the same chain name run on the server in the order they were made, and
   * settle in that order (invokeAfterMsg; on the main connection). After a call fails,
   * the calls made while it was pending reject with CHAIN_BROKEN (cause: that failure).
   */
  chain?: string;
  /** The connection to use (default: by method, upload.* file parts to 'upload', downloads to 'download'). */
  connection?: ConnectionKind;
  /**
   * Run the call on this DC instead of the session's own (FILE_MIGRATE_X names one for a
   * file): the session connects there on first use (media-only addresses first),
   * authorized as it is at home (auth.exportAuthorization / importAuthorization).
   */
  dc?: number;
  /** `dc` is a CDN DC (upload.fileCdnRedirect): keys from help.getCdnConfig, no authorization. */
  cdn?: boolean;
  /**
   * upload.getFile: a Buffer the answer's bytes are written into, from its start, as they
   * are decrypted (when they fit); the result's `bytes` is then a view of it, and no Buffer
   * is made for them. Leave it alone until the call settles.
   */
  into?: Buffer;
}

export type SendType = 'encrypted' | 'plain';

export interface SendReason {
  code: SessionErrorCode;
  message: string;
}

export type SendResult = { ok: true; messageId: bigint } | { ok: false; reason: SendReason };

/** What `export()` gives: the key material (the permanent key), its DC and user. */
export interface SessionExport extends Required<KeyMaterial> {
  userId: bigint | null;
  dcId: number;
}

/** A session's state (mirrors the seed's struct); carries no key material. */
export interface SessionState {
  sessionId: SessionId;
  dcId: number;
  userId: bigint | null;
  /** Unsigned 64-bit id of the auth key (the key itself is only in `export`). */
  authKeyId: bigint;
  serverSalt: bigint;
  /** MTProto session_id (unsigned). */
  mtpSessionId: bigint;
  seqno: number;
  lastMsgId: bigint;
  initConnectionSent: boolean;
  phoneCodeHash: string | null;
  /** Server time minus local time, seconds. */
  timeOffset: number;
  status: 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'failed';
  pending: number;
}

export interface DisconnectReason {
  code: string;
  message: string;
}

/** What a client is told, tagged by `kind`. */
export type SessionEvent =
  /** A connection is up; `reconnect` when it came back after a drop (pushes may have been lost). */
  | { kind: 'connected'; sessionId: SessionId; dcId: number; reconnect?: boolean }
  | { kind: 'disconnected'; sessionId: SessionId; reason: DisconnectReason }
  | { kind: 'reconnecting'; sessionId: SessionId; attempt: number; delayMs: number }
  | { kind: 'authKeyCreated'; sessionId: SessionId; authKeyId: bigint }
  | { kind: 'saltChanged'; sessionId: SessionId; salt: bigint }
  | { kind: 'migrated'; sessionId: SessionId; fromDc: number; toDc: number }
  | {
      kind: 'tempKeyBound';
      sessionId: SessionId;
      /** The temporary key now in use, and when (unix seconds) it expires. */
      tempAuthKeyId: bigint;
      expiresAt: number;
    }
  | { kind: 'closed'; sessionId: SessionId }
  | {
      kind: 'message';
      sessionId: SessionId;
      msgId: bigint;
      seqno: number;
      body: Buffer;
      /** The decoded object when it decodes. */
      object?: TL.TlObject;
    }
  | {
      kind: 'rpcResult';
      sessionId: SessionId;
      msgId: bigint;
      /** The result as received; an upload.file whose bytes went to the call's `into` has them empty. */
      body: Buffer;
    }
  | { kind: 'rpcError'; sessionId: SessionId; msgId: bigint; code: number; message: string }
  | { kind: 'update'; sessionId: SessionId; update: TL.Types['Updates'] }
  | { kind: 'badData'; sessionId: SessionId; code: string; message: string }
  /**
   * A message `send()` had already resolved with `msgId` was refused with its lost
   * temporary key and sent again as `newMsgId`: its answer names the new id.
   */
  | { kind: 'resent'; sessionId: SessionId; msgId: bigint; newMsgId: bigint }
  /** A message `send()` had handed over could not be sent again after its key was lost. */
  | { kind: 'sendLost'; sessionId: SessionId; msgId: bigint; message: string }
  /**
   * The logged-in key lost its authorization (a call got 401 AUTH_KEY_UNREGISTERED,
   * SESSION_REVOKED, USER_DEACTIVATED...): the session's user id is cleared; nothing logs
   * in again by itself.
   */
  | { kind: 'unauthorized'; sessionId: SessionId; reason: UnauthorizedReason; userId: bigint }
  /**
   * 406 AUTH_KEY_DUPLICATED: the server saw the key used from two places at once. The
   * session stopped for good (calls fail with AUTH_KEY_DUPLICATED); make a new key or stop.
   */
  | { kind: 'authKeyDuplicated'; sessionId: SessionId; code: 'AUTH_KEY_DUPLICATED'; message: string }
  /** Raw updates dropped: `updates()` held `updatesQueueLimit` already (use `updates.catchUp` to lose none). */
  | { kind: 'updatesDropped'; sessionId: SessionId; count: number }
  /** An update, once and in order, with its position (`updates.catchUp`). */
  | { kind: 'delivered'; sessionId: SessionId; update: DeliveredUpdate }
  /** A range the server could not give update by update: refetch it (`updates.catchUp`). */
  | { kind: 'gap'; sessionId: SessionId; gap: UpdateGap }
  /** The update engine met a bad answer or a failing request (it retries; see bindings/updates). */
  | { kind: 'updatesError'; sessionId: SessionId; error: UpdateError }
  /** The stored session's lease was lost: the session stopped sending (calls fail with LEASE_LOST). */
  | { kind: 'leaseLost'; sessionId: SessionId; code: 'LEASE_LOST'; message: string }
  /** A storage write failed; `willRetry` says whether it is tried again. */
  | {
      kind: 'storageError';
      sessionId: SessionId;
      code: 'STORAGE_FAILED';
      message: string;
      attempt: number;
      willRetry: boolean;
    };

export type SessionEventKind = SessionEvent['kind'];
export type SessionEventOf<K extends SessionEventKind> = Extract<SessionEvent, { kind: K }>;

/** A function, an object with a method per kind, or an EventEmitter (`emit(kind, event)`). */
export type SessionClient =
  | ((event: SessionEvent) => void)
  | { emit(kind: string, event: SessionEvent): unknown }
  | { [K in SessionEventKind]?: (event: SessionEventOf<K>) => void };

// Public types of telegram-mt/testing.

import type * as TL from '../tl';
import type { InitConnectionInfo } from './dc-session';
import type { TestRsaKey } from './rsa-key';

export type { InitConnectionInfo } from './dc-session';

/** What a handler knows about the call it answers. */
export interface HandlerContext {
  dcId: number;
  authKeyId: bigint;
  sessionId: bigint;
  /** msg_id of the client's message (the outermost, wrappers included). */
  msgId: bigint;
  /** The method (the innermost query, invokeWithLayer/initConnection/... looked through). */
  method: string;
  /** The user this authorization key is logged in as, if any. */
  userId: bigint | undefined;
  /** Logs the key in (auth.signIn-style handlers) or out (undefined). */
  setUserId(userId: bigint | number | undefined): void;
  /** invokeWithLayer's layer and initConnection's parameters, as last seen in this session. */
  layer: number | undefined;
  initConnection: InitConnectionInfo | undefined;
  /** Throws rpc_error `code` `message` to the client. */
  rpcError(code: number, message: string): never;
  /** Sends `updates` (an Updates object or its bytes) to this session. */
  pushUpdate(updates: TL.Types['Updates'] | Buffer): void;
}

/** A method's handler: returns the result object (or its serialized bytes), or throws rpcError. */
export type Handler<M extends TL.MethodName = TL.MethodName> = (
  request: { _: M } & TL.Params<M>,
  ctx: HandlerContext,
) => TL.Result<M> | Buffer | Promise<TL.Result<M> | Buffer>;

/** Which sessions pushUpdate addresses: an auth key id (all its sessions), a filter, or every session. */
export type SessionSelector =
  | bigint
  | 'all'
  | { authKeyId?: bigint; sessionId?: bigint; userId?: bigint | number };

export interface TestDcOptions {
  /** Default 2. */
  dcId?: number;
  /** How long invokeAfterMsg waits for a named query that has not arrived, ms (then 400 MSG_WAIT_TIMEOUT; default 10000). */
  afterMsgTimeoutMs?: number;
  /**
   * Refuse a request whose random_id the same account already ran with the same method,
   * as Telegram does (500 RANDOM_ID_DUPLICATE, the request not run; counted in
   * `stats.randomIdRepeats`), instead of running it again and counting a duplicate.
   * Default false: tests of the message layer want to see the repeat run.
   */
  refuseRandomIdRepeats?: boolean;
  /** help.getConfig's `expires`: this many seconds ahead (default 3600). */
  configTtlSec?: number;
  /** Addresses help.getConfig lists before the world's own (IPv6, media-only, CDN entries for tests). */
  extraDcOptions?: TestDcOption[];
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /**
   * The RSA key: a key pair, 'shared' (one key per process, generated once: fast starts)
   * or 'generate' (default: a fresh RSA-2048 key for this instance).
   */
  rsaKey?: TestRsaKey | 'shared' | 'generate';
  /**
   * MTProxy secret: then only obfuscated2 connections made with it are accepted. An `ee`
   * secret (0xee, 16 bytes, domain) makes TestDc an MTProxy in fake-TLS mode: every
   * connection starts with a ClientHello for that domain, checked (HMAC, time, replay)
   * and answered before obfuscated2 in TLS records.
   */
  secret?: Buffer;
  /**
   * `ee` mode: how far a ClientHello's timestamp may lag or lead the server's clock
   * (FakeTlsServer's defaults: 1200 s behind, 600 s ahead).
   */
  fakeTlsWindow?: { maxAgeSeconds?: number; maxAheadSeconds?: number };
  /** true: only obfuscated2; false: never; default: either (obfuscated only with a secret). */
  obfuscated?: boolean;
  /** config.test_mode (default false). */
  testMode?: boolean;
  /** Results larger than this many bytes are sent gzip_packed (default 512). */
  gzipAbove?: number;
  /** The server's clock (ms since the epoch); default Date.now. */
  now?: () => number;
  /** Debug log lines (never key material or message contents). */
  log?: (message: string) => void;
  /**
   * Connections one client address may hold open; the first packet of one more is answered
   * with transport error -429 and the connection closed (default: no limit).
   */
  maxConnections?: number;
  /** Answer -444 and close when the obfuscated2 header names another DC (default false). */
  strictDcId?: boolean;
  /** Also listen on a media-only address (help.getConfig lists it with media_only; `dc.mediaPort`). */
  media?: boolean;
  /**
   * A CDN DC (cdn-dc.ts): only upload.getCdnFile, no authorization; its RSA key is what the
   * master DCs' help.getCdnConfig serves. TestWorld's `cdn` option starts one.
   */
  cdn?: boolean;
  /** The update log's sizes: events per difference page, TooLong threshold, events kept (update-log.ts). */
  updateLog?: { sliceSize?: number; tooLongAfter?: number; keep?: number };
  /** The DH prime and generator of key exchanges (default: Telegram's 2048-bit prime, g = 3). */
  dhPrime?: Buffer;
  g?: number;
}

/** Counters of a running TestDc (a live object). */
export interface TestDcStats {
  connections: number;
  activeConnections: number;
  /** Connections made to the media-only address. */
  mediaConnections: number;
  packetsIn: number;
  packetsOut: number;
  authKeysCreated: number;
  handshakeFailures: number;
  lastHandshakeFailure: string | undefined;
  /** Queries run by a handler (built-in or registered). */
  executed: number;
  /**
   * Queries run more than once: under the same (auth key, session, msg_id), or the same
   * request re-sent under a new msg_id, told by its random_id (auth key, method,
   * random_id: Telegram refuses such a repeat with RANDOM_ID_DUPLICATE). Should stay 0.
   */
  duplicates: number;
  /** Repeats refused with RANDOM_ID_DUPLICATE (`refuseRandomIdRepeats`): not run. */
  randomIdRepeats: number;
  /** bad_msg_notification / bad_server_salt sent, by error code. */
  rejected: Record<number, number>;
  /** Messages the message layer dropped (duplicates, bad msg_key, malformed). */
  dropped: number;
  /** Transport errors sent (-404 for an unknown key, -429, -444). */
  transportErrors: number;
  /** Connections refused with -429 (over `maxConnections`). */
  refusedConnections: number;
  /** Answers replaced by an injected error (FLOOD_WAIT, *_MIGRATE...). */
  injectedErrors: number;
  /** Answers sent gzip_packed. */
  gzipped: number;
  /** Calls refused with FLOOD_WAIT_X by the flood limits (`setFloodLimits`). */
  floodWaits: number;
  /** File parts that ran where the message layer decrypted them, without a Buffer of their own (query-bodies.ts). */
  partsInPlace: number;
  /** Of those, the ones running now: 0 whenever TestDc is idle (nothing holds that memory). */
  partsInPlaceRunning: number;
}

/** One query a handler ran. */
export interface Execution {
  authKeyId: bigint;
  sessionId: bigint;
  msgId: bigint;
  method: string;
  /** The query's random_id, if it has one (messages.sendMessage...): what identifies a request across msg_ids. */
  randomId?: string;
  /** Server time (ms). */
  at: number;
}

export interface AuthKeyInfo {
  authKeyId: bigint;
  temp: boolean;
  /** Server time (ms) a temporary key expires at. */
  expiresAt: number | undefined;
  userId: bigint | undefined;
  /** How it was made: 'handshake' (with the inner data and RSA scheme) or 'added'. */
  source: 'handshake' | 'added';
  innerData: string | undefined;
  rsaScheme: 'pad' | 'legacy' | undefined;
  sessions: number;
  /** A temporary key bound with auth.bindTempAuthKey: the permanent key's id. */
  boundTo: bigint | undefined;
}

export interface SessionInfo {
  authKeyId: bigint;
  sessionId: bigint;
  connected: boolean;
  layer: number | undefined;
  initConnection: InitConnectionInfo | undefined;
  answered: number;
}

/** One address of help.getConfig's dc_options. */
export interface TestDcOption {
  dcId: number;
  host: string;
  port: number;
  ipv6?: boolean;
  mediaOnly?: boolean;
  cdn?: boolean;
  static?: boolean;
}

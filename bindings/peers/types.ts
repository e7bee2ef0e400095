// Options of bindings/peers as `Session.open` takes them (`peers`, `flood`) and the
// per-call options it adds (bindings/session/types.ts re-exports them).
import type { PeerCache } from './cache';
import type { FloodPriority } from './flood/controller';
import type { FloodLimits, FloodQueueLimits } from './flood/limits';

/** `open({ peers })`: keep the access hashes of every peer the session sees (issue #14). */
export interface SessionPeersOptions {
  /** The LRU in front of storage (default: the process-wide one, 200,000 entries). */
  cache?: PeerCache;
  /**
   * `call()` takes a marked id, a username, a Peer, a User/Chat object or a StoredPeer where
   * the schema wants an InputPeer, InputUser or InputChannel (default true). An unknown
   * peer rejects with PeerError PEER_UNKNOWN.
   */
  substitute?: boolean;
  /** Ask the server (users.getUsers, channels.getChannels, contacts.resolveUsername) for peers the store lacks (default true). */
  resolve?: boolean;
  /** Changed peers are written at most this long after they changed (default 250 ms). */
  flushDelayMs?: number;
  /** Peers per storage write (default 1000). */
  batchSize?: number;
  /** Changed peers waiting for a write before new changes are dropped (counted; default 100,000). */
  maxPending?: number;
}

/** `open({ flood })`: client-side flood control (issue #14; defaults and their sources: flood/limits.ts). */
export interface SessionFloodOptions {
  /** Rates (default: the Bot FAQ's 30/s per session, 1/s per private chat, 20/min per group) and the sending methods. */
  limits?: Partial<FloodLimits>;
  /** Queue bounds (default 10,000 calls, 1,000 per chat). */
  queue?: Partial<FloodQueueLimits>;
  /**
   * FLOOD_WAITs up to this many seconds are waited out in the queue (default 60); longer
   * ones reject with FloodWaitError. `CallOptions.floodWaitThreshold` overrides it per call.
   */
  maxWaitSeconds?: number;
}

/** What `CallOptions` gains. */
export interface PeerCallOptions {
  /** Flood control's queue order: answers to users 'high', bulk sends 'low' (default 'normal'). */
  priority?: FloodPriority;
  /**
   * FLOOD_WAIT_X with X at most this many seconds is waited out and the call retried;
   * longer ones reject with FloodWaitError (default: `flood.maxWaitSeconds`, else
   * `floodWaitThreshold` of open).
   */
  floodWaitThreshold?: number;
}

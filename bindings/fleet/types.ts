// Public types of the fleet: what a roster entry holds, the workers' and callers'
// options, the typed errors, and the logger hook.

import type { SessionOpenOptions } from '../session/types';

/** Stable codes of `FleetError`. */
export type FleetErrorCode =
  /** The routed call may or may not have run (its owner was lost mid-call) and has no random_id to retry with. */
  | 'OUTCOME_UNKNOWN'
  /** No worker owned the session before the call's deadline (routed calls keep trying until then). */
  | 'NO_OWNER'
  /** A roster or bus operation failed (the storage or Redis is unreachable). */
  | 'FLEET_STORAGE_FAILED'
  /** Bad options or a bad roster entry. */
  | 'BAD_OPTIONS'
  /** The worker or client was stopped. */
  | 'FLEET_CLOSED'
  /** A message on the bus could not be read (another version, or garbage). */
  | 'BAD_MESSAGE';

export class FleetError extends Error {
  override readonly name = 'FleetError';
  constructor(
    readonly code: FleetErrorCode,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
  }
}

/**
 * How a worker opens one session of the roster: Session.open's options that can be
 * stored as data (a DC, an address, the transport, a proxy, PFS, the pool, init, the
 * update engine's settings). Storage, name, lease and the client are the worker's.
 */
export type RosterOpenOptions = Pick<
  SessionOpenOptions,
  | 'address'
  | 'environment'
  | 'ipv6'
  | 'transport'
  | 'proxy'
  | 'init'
  | 'rsaKeys'
  | 'floodWaitThreshold'
  | 'reconnect'
  | 'keepalive'
  | 'connectTimeoutMs'
  | 'dcAddresses'
  | 'pfs'
  | 'pool'
> & {
  /** Run the update engine and append the session's updates to the stream (default true). */
  updates?: boolean;
  /** The account is a bot (default: learned at the first start). */
  isBot?: boolean;
};

/** One session the platform wants running. */
export interface RosterEntry {
  /** The session's storage name (its record and lease go by it). */
  name: string;
  /** The DC to open on when nothing is stored yet. */
  dcId: number;
  options?: RosterOpenOptions;
}

/** A worker as the roster sees it (its heartbeat). */
export interface WorkerInfo {
  id: string;
  /** Sessions it may run. */
  capacity: number;
  /** Sessions it runs (as of its last heartbeat). */
  owned: number;
  /** ms since the epoch (the storage's clock where it has one). */
  startedAt: number;
  beatAt: number;
  expiresAt: number;
  /** Update lag per session (ms) for the sessions that lag, and the largest. */
  lag?: { max: number; sessions: Record<string, number> };
}

/** A session's place in the fleet, for the status view. */
export interface SessionPlacement {
  name: string;
  /** The lease owner (`<workerId>/<claim>`), if a live lease exists. */
  owner?: string;
  worker?: string;
  /** ms until the lease runs out (server clock). */
  leaseLeftMs?: number;
  /** A failed open: the message, and when the session may be claimed again. */
  lastError?: string;
  notBefore?: number;
}

/** Where a log line comes from; nothing is written anywhere unless a logger is given. */
export interface FleetLogger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}

/** The owner id of a claim: the worker id, a slash, a counter (unique per claim). */
export function workerOfOwner(owner: string): string {
  const at = owner.lastIndexOf('/');
  return at < 0 ? owner : owner.slice(0, at);
}

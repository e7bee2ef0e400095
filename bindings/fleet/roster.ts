// The roster: the sessions the platform wants running, the workers alive, and the
// claims that give each session one worker. It lives in the shared storage beside the
// session records and their leases (one adapter per engine: roster-postgres.ts,
// roster-redis.ts, roster-sqlite.ts), because a claim is the session's lease itself:
// taking it in the same statement as the search for unowned sessions is what makes a
// claim atomic (FOR UPDATE SKIP LOCKED, one Lua script, one SQLite write transaction),
// and the lease's fencing then guards every write and every send, as for any stored
// session. Nothing here is a coordinator: each worker asks the storage on its own.

import { FleetError, type RosterEntry, type SessionPlacement, type WorkerInfo } from './types';

/** What a worker says about itself each tick. */
export interface WorkerBeat {
  id: string;
  capacity: number;
  owned: number;
  lag?: WorkerInfo['lag'];
}

export interface ClaimRequest {
  /** Sessions to claim at most (0: heartbeat only). */
  limit: number;
  /** The lease taken for each claim, ms. */
  ttlMs: number;
  /** Claim owners are `<ownerPrefix>.<n>`: unique per claim. */
  ownerPrefix: string;
  /** Names not to claim now (the worker just gave them up: let another take them). */
  skip: readonly string[];
}

export interface ClaimedSession {
  name: string;
  owner: string;
  entry: RosterEntry;
}

export interface TickResult {
  claimed: ClaimedSession[];
  /** The live workers (unexpired heartbeats), this one included. */
  workers: WorkerInfo[];
  /** Sessions in the roster. */
  rosterSize: number;
}

/** The storage side of a fleet (one adapter per engine). */
export interface Roster {
  /** Adds entries (or replaces their options). */
  add(entries: readonly RosterEntry[]): Promise<void>;
  /** Removes entries; the workers running them close them at their next tick. */
  remove(names: readonly string[]): Promise<number>;
  get(name: string): Promise<RosterEntry | undefined>;
  /** Which of `names` are still in the roster. */
  present(names: readonly string[]): Promise<Set<string>>;
  size(): Promise<number>;
  /**
   * One round trip: the worker's heartbeat (alive for `ttlMs`), the live workers, the
   * roster's size, and up to `claim.limit` unowned sessions claimed (their leases taken).
   */
  tick(beat: WorkerBeat, claim: ClaimRequest): Promise<TickResult>;
  /** A session that failed to open is not claimed again before `untilMs` (epoch ms). */
  defer(name: string, untilMs: number, error: string): Promise<void>;
  /** The worker stopped (graceful shutdown): its heartbeat goes at once. */
  leave(workerId: string): Promise<void>;
  workers(): Promise<WorkerInfo[]>;
  placements(): Promise<SessionPlacement[]>;
  close(): Promise<void>;
}

/** Checks a roster entry before it is stored. */
export function checkEntry(e: RosterEntry): RosterEntry {
  if (!e || typeof e.name !== 'string' || e.name.length === 0 || e.name.length > 512)
    throw new FleetError('BAD_OPTIONS', 'a roster entry needs a name (1 to 512 characters)');
  if (!Number.isInteger(e.dcId) || e.dcId < 1 || e.dcId > 0x7fffffff)
    throw new FleetError('BAD_OPTIONS', `roster entry "${e.name}": dcId must be a positive integer`);
  try {
    JSON.stringify(e.options ?? {});
  } catch (err) {
    throw new FleetError('BAD_OPTIONS', `roster entry "${e.name}": options must be JSON`, err);
  }
  return e;
}

/** Options as stored (JSON text); Buffers (MTProxy secrets) go as hex. */
export function encodeOptions(e: RosterEntry): string {
  return JSON.stringify({ dcId: e.dcId, options: e.options ?? {} }, (_k, v) =>
    v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)
      ? Buffer.from(v.data).toString('hex')
      : v,
  );
}

export function decodeEntry(name: string, text: string | null | undefined): RosterEntry {
  const parsed = text ? (JSON.parse(text) as { dcId: number; options?: RosterEntry['options'] }) : null;
  if (!parsed || !Number.isInteger(parsed.dcId))
    throw new FleetError('BAD_MESSAGE', `roster entry "${name}" is not readable`);
  return { name, dcId: parsed.dcId, options: parsed.options ?? {} };
}

/** A worker row as JSON (Redis, SQLite): the same fields as WorkerInfo. */
/** What a heartbeat says of its worker, `now` (local ms), alive for `ttlMs`. */
export function workerInfoOf(beat: WorkerBeat, ttlMs: number, now: number): WorkerInfo {
  return {
    id: beat.id,
    capacity: beat.capacity,
    owned: beat.owned,
    startedAt: now,
    beatAt: now,
    expiresAt: now + ttlMs,
    lag: beat.lag,
  };
}

export function parseWorker(text: string | null | undefined): WorkerInfo | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as WorkerInfo;
  } catch {
    return undefined;
  }
}

export { workerOfOwner } from './types';

// The status view: the live workers, what each owns, the lease ages and the update
// lag per session, read from the roster (any process can ask; nothing is held).

import type { Roster } from './roster';
import type { SessionPlacement, WorkerInfo } from './types';

export interface FleetStatus {
  at: number;
  workers: Array<WorkerInfo & { sessions: number }>;
  sessions: Array<SessionPlacement & { leaseAgeMs?: number; lagMs: number }>;
  /** Sessions with no live lease (waiting for a claim, or deferred after a failed open). */
  unowned: number;
}

/** Reads the status; `leaseTtlMs` (the workers') turns time left into lease age. */
export async function fleetStatus(roster: Roster, leaseTtlMs?: number): Promise<FleetStatus> {
  const [workers, placements] = await Promise.all([roster.workers(), roster.placements()]);
  const counts = new Map<string, number>();
  const lag = new Map<string, number>();
  for (const w of workers) for (const [name, ms] of Object.entries(w.lag?.sessions ?? {})) lag.set(name, ms);
  let unowned = 0;
  const sessions = placements.map((p) => {
    if (p.worker) counts.set(p.worker, (counts.get(p.worker) ?? 0) + 1);
    else unowned++;
    const out: SessionPlacement & { leaseAgeMs?: number; lagMs: number } = {
      ...p,
      lagMs: lag.get(p.name) ?? 0,
    };
    if (leaseTtlMs !== undefined && p.leaseLeftMs !== undefined)
      out.leaseAgeMs = Math.max(0, leaseTtlMs - p.leaseLeftMs);
    return out;
  });
  return {
    at: Date.now(),
    workers: workers.map((w) => ({ ...w, sessions: counts.get(w.id) ?? 0 })),
    sessions,
    unowned,
  };
}

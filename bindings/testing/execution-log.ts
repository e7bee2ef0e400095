// What a DC ran: every execution in order (TestDc.executions), and the check that no query
// ran twice: the same message (a duplicate the message layer let through), or the same
// request under a new msg_id, told by its random_id (a client re-sent a request the server
// had run: what a msg_id key alone cannot see).
//
// It runs on every query, so it is built for the usual case: a session's msg_ids rise, and
// a new one is known new by one comparison with the last. The log is kept in two halves;
// when the newer is full the older goes whole, with the ids it holds (no per-entry removal).

import type { Execution } from './types';

/** How many executions the log keeps at most (the older half goes past it). */
export const EXECUTION_LOG_LIMIT = 100_000;
const HALF = EXECUTION_LOG_LIMIT / 2;

export class ExecutionLog {
  private older = new LogHalf();
  private newer = new LogHalf();

  /** The executions kept, oldest first (between half the limit and the limit). */
  get entries(): Execution[] {
    return [...this.older.entries, ...this.newer.entries];
  }

  /** Records `e`; false when its message or its request ran before. */
  add(e: Execution): boolean {
    // The newer half records it (one lookup each: checked and added at once).
    const first = this.newer.record(e) && !this.older.ran(e);
    // Bounded memory under benchmarks: a msg_id that old is refused anyway (code 16/20).
    if (this.newer.entries.length >= HALF) {
      this.older = this.newer;
      this.newer = new LogHalf();
    }
    return first;
  }
}

/** Executions and what identifies them. */
class LogHalf {
  readonly entries: Execution[] = [];
  /** The msg_ids run, per auth key and session. */
  private readonly messages = new Map<bigint, Map<bigint, MsgIds>>();
  /** The requests run with a random_id (requestKey). */
  private readonly requests = new Set<string>();

  /** Whether this half holds `e`'s message or request. */
  ran(e: Execution): boolean {
    if (this.messages.get(e.authKeyId)?.get(e.sessionId)?.has(e.msgId)) return true;
    return e.randomId !== undefined && this.requests.has(requestKey(e));
  }

  /** Adds `e`; false when this half held its message or its request already. */
  record(e: Execution): boolean {
    this.entries.push(e);
    let sessions = this.messages.get(e.authKeyId);
    if (!sessions) {
      sessions = new Map();
      this.messages.set(e.authKeyId, sessions);
    }
    let ids = sessions.get(e.sessionId);
    if (!ids) {
      ids = new MsgIds();
      sessions.set(e.sessionId, ids);
    }
    let first = ids.add(e.msgId);
    if (e.randomId !== undefined) {
      const request = requestKey(e);
      if (this.requests.has(request)) first = false;
      else this.requests.add(request);
    }
    return first;
  }
}

/** One session's msg_ids: the rising run in a sorted array, any that came late in a set. */
class MsgIds {
  private sorted = new BigUint64Array(64);
  private count = 0;
  private late: Set<bigint> | undefined;

  has(id: bigint): boolean {
    if (this.count === 0 || id > this.sorted[this.count - 1]) return false;
    return this.find(id) || this.late?.has(id) === true;
  }

  /** Adds `id`; false when it was there. */
  add(id: bigint): boolean {
    if (this.count > 0 && id <= this.sorted[this.count - 1]) {
      if (this.find(id) || this.late?.has(id)) return false;
      this.late ??= new Set();
      this.late.add(id);
      return true;
    }
    if (this.count === this.sorted.length) {
      const grown = new BigUint64Array(this.count * 2);
      grown.set(this.sorted);
      this.sorted = grown;
    }
    this.sorted[this.count++] = id;
    return true;
  }

  private find(id: bigint): boolean {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.sorted[mid];
      if (at === id) return true;
      if (at < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }
}

function requestKey(e: Execution): string {
  return `${e.authKeyId}:${e.method}:${e.randomId}`;
}

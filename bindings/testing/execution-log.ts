// What a DC ran: every execution in order (TestDc.executions), and the check that no query
// ran twice: the same message (a duplicate the message layer let through), or the same
// request under a new msg_id, told by its random_id (a client re-sent a request the server
// had run: what a msg_id key alone cannot see).

import type { Execution } from './types';

/** How many executions the log keeps (the oldest tenth goes past it). */
export const EXECUTION_LOG_LIMIT = 100_000;

export class ExecutionLog {
  /** Oldest first. */
  readonly entries: Execution[] = [];
  /** The msg_ids run, per auth key and session: looked up by value, no key string built per query. */
  private readonly messages = new Map<bigint, Map<bigint, Set<bigint>>>();
  /** The requests run with a random_id (requestKey). */
  private readonly requests = new Set<string>();

  /** Records `e`; false when its message or its request ran before. */
  add(e: Execution): boolean {
    let first = true;
    let sessions = this.messages.get(e.authKeyId);
    if (!sessions) {
      sessions = new Map();
      this.messages.set(e.authKeyId, sessions);
    }
    let ids = sessions.get(e.sessionId);
    if (!ids) {
      ids = new Set();
      sessions.set(e.sessionId, ids);
    }
    if (ids.has(e.msgId)) first = false;
    else ids.add(e.msgId);
    if (e.randomId !== undefined) {
      const request = requestKey(e);
      if (this.requests.has(request)) first = false;
      else this.requests.add(request);
    }
    this.entries.push(e);
    // Bounded memory under benchmarks: a msg_id that old is refused anyway (code 16/20).
    if (this.entries.length > EXECUTION_LOG_LIMIT) this.forgetOldest(EXECUTION_LOG_LIMIT / 10);
    return first;
  }

  private forgetOldest(n: number): void {
    for (const old of this.entries.splice(0, n)) {
      const sessions = this.messages.get(old.authKeyId);
      const ids = sessions?.get(old.sessionId);
      if (ids?.delete(old.msgId) && ids.size === 0) {
        sessions!.delete(old.sessionId);
        if (sessions!.size === 0) this.messages.delete(old.authKeyId);
      }
      if (old.randomId !== undefined) this.requests.delete(requestKey(old));
    }
  }
}

function requestKey(e: Execution): string {
  return `${e.authKeyId}:${e.method}:${e.randomId}`;
}

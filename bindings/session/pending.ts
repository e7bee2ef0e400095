// Requests waiting for an answer, keyed by their current msg_id. The session
// re-stamps a request it re-sends (`resent { oldMsgId, newMsgId }`): the entry
// moves to the new id, so a request is settled once whichever id answers.

export interface Pending<T = unknown> {
  /** The request as the caller gave it (decodes its result). */
  request: unknown;
  resolve(value: T): void;
  reject(error: unknown): void;
  timer?: NodeJS.Timeout;
  /** The msg_id it went out under last (unset while it waits to be sent). */
  msgId?: bigint;
}

export class PendingRequests {
  private readonly byId = new Map<bigint, Pending>();

  get size(): number {
    return this.byId.size;
  }

  add(msgId: bigint, p: Pending): void {
    p.msgId = msgId;
    this.byId.set(msgId, p);
  }

  /** Removes and returns the entry of `msgId` (settle it exactly once). */
  take(msgId: bigint): Pending | undefined {
    const p = this.byId.get(msgId);
    if (p) this.byId.delete(msgId);
    return p;
  }

  /** Removes `p` (a timeout, an abort); returns the msg_id it waited under, if it was here. */
  remove(p: Pending): bigint | undefined {
    const id = p.msgId;
    if (id === undefined || this.byId.get(id) !== p) return undefined;
    this.byId.delete(id);
    return id;
  }

  has(msgId: bigint): boolean {
    return this.byId.has(msgId);
  }

  remap(oldId: bigint, newId: bigint): void {
    const p = this.byId.get(oldId);
    if (!p) return;
    this.byId.delete(oldId);
    this.add(newId, p);
  }

  /** Removes every entry and returns them (for close or a key change). */
  drain(): Array<[bigint, Pending]> {
    const all = [...this.byId];
    this.byId.clear();
    return all;
  }
}

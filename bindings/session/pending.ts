// Requests waiting for an answer, keyed by their current msg_id. The session
// re-stamps a request it re-sends (`resent { oldMsgId, newMsgId }`): the entry
// moves to the new id, so a request is settled once whichever id answers.

export interface Pending<T = unknown> {
  /** The request as the caller gave it (decodes its result). */
  request: unknown;
  /** Its serialized body as sent (wrapped in initConnection when it was the first). */
  body: Buffer;
  resolve(value: T): void;
  reject(error: unknown): void;
  timer?: NodeJS.Timeout;
}

export class PendingRequests {
  private readonly byId = new Map<bigint, Pending>();

  get size(): number {
    return this.byId.size;
  }

  add(msgId: bigint, p: Pending): void {
    this.byId.set(msgId, p);
  }

  /** Removes and returns the entry of `msgId` (settle it exactly once). */
  take(msgId: bigint): Pending | undefined {
    const p = this.byId.get(msgId);
    if (p) this.byId.delete(msgId);
    return p;
  }

  /** Removes `p` wherever it is now (a timeout); returns its current msg_id. */
  remove(p: Pending): bigint | undefined {
    for (const [id, q] of this.byId) {
      if (q === p) {
        this.byId.delete(id);
        return id;
      }
    }
    return undefined;
  }

  has(msgId: bigint): boolean {
    return this.byId.has(msgId);
  }

  remap(oldId: bigint, newId: bigint): void {
    const p = this.byId.get(oldId);
    if (!p) return;
    this.byId.delete(oldId);
    this.byId.set(newId, p);
  }

  /** Removes every entry and returns them (for close or a key change). */
  drain(): Array<[bigint, Pending]> {
    const all = [...this.byId];
    this.byId.clear();
    return all;
  }
}

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
  /** Where an upload.file answer may put its bytes (RequestOptions.into). */
  into?: Buffer;
}

/** The sinks of the requests in flight, as MtpLink.receive takes them. */
export type Sinks = readonly [ids: bigint[], sinks: Buffer[]];

export class PendingRequests {
  private readonly byId = new Map<bigint, Pending>();
  /** The entries with a sink (`into`), by msg_id; `sinks()` made from it when it changed. */
  private readonly sinking = new Map<bigint, Buffer>();
  private sinkList: Sinks | null = null;

  get size(): number {
    return this.byId.size;
  }

  add(msgId: bigint, p: Pending): void {
    p.msgId = msgId;
    this.byId.set(msgId, p);
    if (p.into) this.sinkChanged(msgId, p.into);
  }

  /** Removes and returns the entry of `msgId` (settle it exactly once). */
  take(msgId: bigint): Pending | undefined {
    const p = this.byId.get(msgId);
    if (p) this.forget(msgId, p);
    return p;
  }

  /** Removes `p` (a timeout, an abort); returns the msg_id it waited under, if it was here. */
  remove(p: Pending): bigint | undefined {
    const id = p.msgId;
    if (id === undefined || this.byId.get(id) !== p) return undefined;
    this.forget(id, p);
    return id;
  }

  /** The sinks of the requests in flight (null: none), the same arrays until one changes. */
  sinks(): Sinks | null {
    if (this.sinking.size === 0) return null;
    this.sinkList ??= [[...this.sinking.keys()], [...this.sinking.values()]];
    return this.sinkList;
  }

  private forget(msgId: bigint, p: Pending): void {
    this.byId.delete(msgId);
    if (p.into) this.sinkChanged(msgId, null);
  }

  private sinkChanged(msgId: bigint, into: Buffer | null): void {
    if (into) this.sinking.set(msgId, into);
    else this.sinking.delete(msgId);
    this.sinkList = null;
  }

  has(msgId: bigint): boolean {
    return this.byId.has(msgId);
  }

  remap(oldId: bigint, newId: bigint): void {
    const p = this.byId.get(oldId);
    if (!p) return;
    this.forget(oldId, p);
    this.add(newId, p);
  }

  /** Removes every entry and returns them (for close or a key change). */
  drain(): Array<[bigint, Pending]> {
    const all = [...this.byId];
    this.byId.clear();
    this.sinking.clear();
    this.sinkList = null;
    return all;
  }
}

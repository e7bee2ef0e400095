// The per-channel state: applied pts, committed pts, access hash and flags, one slot per
// channel in typed arrays (a column each) with a Map from channel id to slot. Written this
// way rather than one object per channel for the memory budget (100 bytes per channel):
// bench/updates.bench.ts measures it. Channel ids are numbers here: Telegram keeps peer ids
// within 52 bits (core.telegram.org/api/bots/ids), so they are exact as doubles.

export const F_HAS_HASH = 1;
/** Needs a difference (gap given up on, updateChannelTooLong, restart...). */
export const F_STALE = 2;
/** A request for it is in flight. */
export const F_FETCHING = 4;
/** Waiting in the request queue. */
export const F_QUEUED = 8;
/** CHANNEL_UNRESOLVED was reported (once per wait). */
export const F_UNRESOLVED = 16;
/** Its pts is not known yet (channels.getFullChannel asked). */
export const F_NO_PTS = 32;

const FIRST_CAPACITY = 8;

export class ChannelTable {
  private readonly index = new Map<number, number>();
  ids = new Float64Array(0);
  pts = new Int32Array(0);
  committed = new Int32Array(0);
  hashes = new BigInt64Array(0);
  flags = new Uint8Array(0);
  private free: number[] = [];
  /** Slots freed while positions may still name them: reusable once nothing is unacknowledged. */
  private retired: number[] = [];
  private used = 0;

  get size(): number {
    return this.index.size;
  }

  slotOf(id: number): number {
    return this.index.get(id) ?? -1;
  }

  add(id: number, pts: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      if (this.used === this.ids.length) this.grow();
      slot = this.used++;
    }
    this.index.set(id, slot);
    this.ids[slot] = id;
    this.pts[slot] = pts;
    this.committed[slot] = pts;
    this.hashes[slot] = 0n;
    this.flags[slot] = 0;
    return slot;
  }

  remove(slot: number): void {
    this.index.delete(this.ids[slot]);
    this.ids[slot] = -1;
    this.flags[slot] = 0;
    this.retired.push(slot);
  }

  /** Retired slots become reusable (no unacknowledged position names them any more). */
  recycle(): void {
    if (this.retired.length === 0) return;
    this.free.push(...this.retired);
    this.retired = [];
  }

  live(slot: number): boolean {
    return this.ids[slot] >= 0 && this.index.get(this.ids[slot]) === slot;
  }

  setHash(slot: number, hash: bigint): void {
    this.hashes[slot] = hash;
    this.flags[slot] |= F_HAS_HASH;
  }

  /** Live slots, for serialization. */
  *slots(): Generator<number> {
    for (const slot of this.index.values()) yield slot;
  }

  private grow(): void {
    const cap = Math.max(FIRST_CAPACITY, this.ids.length * 2);
    const ids = new Float64Array(cap);
    ids.set(this.ids);
    const pts = new Int32Array(cap);
    pts.set(this.pts);
    const committed = new Int32Array(cap);
    committed.set(this.committed);
    const hashes = new BigInt64Array(cap);
    hashes.set(this.hashes);
    const flags = new Uint8Array(cap);
    flags.set(this.flags);
    this.ids = ids;
    this.pts = pts;
    this.committed = committed;
    this.hashes = hashes;
    this.flags = flags;
  }
}

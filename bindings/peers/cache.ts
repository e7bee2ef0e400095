// The in-process LRU in front of peer storage (issue #14): one per process by default,
// shared by every session's peer store, bounded in entries for all of them together, so
// that 10,000 sessions with 100,000 peers each hold only the most recently used ones.
// Each session has its own table (a Map by marked id: access hashes are per account);
// one doubly linked list through every entry orders them by last use across tables.
// Touching and evicting move pointers; nothing is allocated but a new entry. Keys are the
// marked ids as numbers (exact: ids are below 2^52), which V8 hashes faster than bigints;
// an entry moved to the recent end lately is not moved again on every hit.
import type { StoredPeer } from '../storage/types';

class Entry {
  prev: Entry | null = null;
  next: Entry | null = null;
  /** The cache's tick when it last moved to the recent end. */
  stamp = 0;
  constructor(
    readonly table: PeerTable,
    readonly key: number,
    public peer: StoredPeer,
    /** Made from a min peer on a miss: storage may know a full one (store.ts checks). */
    public unverified: boolean,
  ) {}
}

/** One session's entries. */
export class PeerTable {
  readonly entries = new Map<number, Entry>();
  /** Usernames of the cached entries (kept with them: evicted together). */
  readonly usernames = new Map<string, number>();
  constructor(readonly cache: PeerCache) {}

  get size(): number {
    return this.entries.size;
  }
}

/** Default entries of the process-wide cache: about 50 MB at ~250 bytes an entry (bench/peers.bench.ts). */
export const DEFAULT_CACHE_ENTRIES = 200_000;

export class PeerCache {
  private head: Entry | null = null;
  private tail: Entry | null = null;
  private count = 0;
  private tick = 0;
  /** Hits within this many moves of an entry's last move leave it where it is. */
  private readonly fresh: number;
  evictions = 0;

  constructor(readonly capacity = DEFAULT_CACHE_ENTRIES) {
    if (!(capacity >= 1)) throw new RangeError('a peer cache holds at least one entry');
    this.fresh = capacity >> 2;
  }

  get size(): number {
    return this.count;
  }

  table(): PeerTable {
    return new PeerTable(this);
  }

  /** The peer (and whether it is unverified), marked as just used; undefined on a miss. */
  get(table: PeerTable, key: number): Entry | undefined {
    const e = table.entries.get(key);
    if (e !== undefined && this.tick - e.stamp >= this.fresh) this.touch(e);
    return e;
  }

  private touch(e: Entry): void {
    e.stamp = ++this.tick;
    if (e === this.tail) return;
    this.unlink(e);
    this.append(e);
  }

  /** Sets `table`'s peer at `key`, evicting the least recently used entries past capacity. */
  set(table: PeerTable, key: number, peer: StoredPeer, unverified: boolean): void {
    const e = table.entries.get(key);
    const was = e?.peer.username;
    if (was !== undefined && was !== peer.username && table.usernames.get(was) === key)
      table.usernames.delete(was);
    if (peer.username !== undefined) table.usernames.set(peer.username, key);
    if (e !== undefined) {
      e.peer = peer;
      e.unverified = unverified;
      this.touch(e);
      return;
    }
    const n = new Entry(table, key, peer, unverified);
    n.stamp = ++this.tick;
    table.entries.set(key, n);
    this.append(n);
    this.count++;
    while (this.count > this.capacity && this.head !== null) this.remove(this.head, true);
  }

  /** Forgets every entry of `table` (its session closed). */
  drop(table: PeerTable): void {
    for (const e of table.entries.values()) this.remove(e, false);
  }

  private remove(e: Entry, evicted: boolean): void {
    this.unlink(e);
    e.table.entries.delete(e.key);
    const u = e.peer.username;
    if (u !== undefined && e.table.usernames.get(u) === e.key) e.table.usernames.delete(u);
    this.count--;
    if (evicted) this.evictions++;
  }

  private append(e: Entry): void {
    e.prev = this.tail;
    e.next = null;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  private unlink(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = null;
    e.next = null;
  }
}

export type CacheEntry = Entry;

/** The cache of sessions that are given none. */
export const processPeerCache = new PeerCache();

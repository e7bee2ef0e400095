// One session's peers (issue #14): what every result and update taught it, merged by the
// min rule (merge.ts), held in the shared LRU (cache.ts) and written to the session's
// storage in batches, off the hot path: `observe` only compares and, when something
// changed, marks it; a timer (or a full batch) writes the marked peers in one
// savePeers call, one write in flight at a time.
//
// A peer that falls out of the LRU is still in storage; `get` reads it back. A min peer
// seen on a miss may hide a full one in storage: it is marked unverified, and both the
// write (before it could overwrite the full one) and `get` read storage first.
import { SessionLeaseLostError, SessionLockedError } from '../storage/errors';
import { peerKey } from '../storage/peer-codec';
import type { PeerKind, SessionStorage, StoredPeer } from '../storage/types';
import { type CacheEntry, type PeerCache, type PeerTable, processPeerCache } from './cache';
import { harvest, numberKeyOfObject, type PeerObject, type PeerSink, type SeenIn } from './harvest';
import { isFull, mergePeer } from './merge';

/** The storage side of a store: the peer methods of a SessionStorage, for one session name. */
export type PeerStorage = Pick<SessionStorage, 'savePeers' | 'loadPeers' | 'peerByUsername'>;

export interface PeerStoreOptions {
  /** The LRU (default: one per process, DEFAULT_CACHE_ENTRIES). */
  cache?: PeerCache;
  /** Where peers are kept; without it the LRU is all there is. */
  storage?: PeerStorage;
  /** The session's name in `storage`. */
  name?: string;
  /**
   * The lease owner of a stored session: writes are fenced by it (savePeers' `owner`), and
   * once the lease is another's or gone nothing more is written (what is pending is dropped).
   */
  owner?: string;
  /** Changed peers are written at most this long after they changed (default 250 ms). */
  flushDelayMs?: number;
  /** Peers per savePeers call; a full batch is written at once (default 1000). */
  batchSize?: number;
  /** Changed peers waiting for a write; past it, new ones are counted in `stats.dropped` (default 100,000). */
  maxPending?: number;
  /** A write failed (it is retried with the next batch). */
  onError?: (error: unknown) => void;
  now?: () => number;
}

export interface PeerStoreStats {
  /** Peer objects looked at. */
  seen: number;
  /** ... of which changed what the store knew. */
  changed: number;
  written: number;
  writeErrors: number;
  /** Changes not written because `maxPending` changes were already waiting (storage down). */
  dropped: number;
  /** Peers read back from storage. */
  loaded: number;
}

const KIND_OF: Record<string, PeerKind> = {
  user: 'user',
  chat: 'chat',
  chatForbidden: 'chat',
  channel: 'channel',
  channelForbidden: 'channel',
};

/** The stored form of a peer object as seen now. */
export function storedOf(o: PeerObject, seenIn: SeenIn | undefined, now: number): StoredPeer {
  const kind = KIND_OF[o._];
  const p: StoredPeer = { kind, id: o.id, min: o.min === true, updatedAt: now };
  if (o.accessHash !== undefined) p.accessHash = o.accessHash;
  if (o.username !== undefined) p.username = o.username.toLowerCase();
  if (o.phone !== undefined) p.phone = o.phone;
  if (kind === 'user' && o.bot !== undefined) p.bot = o.bot;
  else if (kind === 'user' && !p.min && o.accessHash !== undefined) p.bot = false;
  if (seenIn !== undefined) p.seenIn = seenIn;
  return p;
}

/** Whether seeing `o` would change nothing in `p` (the common case: checked without allocating). */
function unchanged(p: StoredPeer, o: PeerObject, seenIn: SeenIn | undefined): boolean {
  if (o.min === true) {
    if (isFull(p)) return true;
    return p.min && p.accessHash === o.accessHash && seenIn === undefined;
  }
  if (p.min) return o.accessHash === undefined && o.username === undefined;
  if (o.accessHash !== undefined && o.accessHash !== p.accessHash) return false;
  const u = o.username;
  if (u !== p.username && (u === undefined || u.toLowerCase() !== p.username)) return false;
  if (o.phone !== undefined && o.phone !== p.phone) return false;
  if (o.bot !== undefined && o.bot !== p.bot) return false;
  return true;
}

export class PeerStore {
  readonly stats: PeerStoreStats = { seen: 0, changed: 0, written: 0, writeErrors: 0, dropped: 0, loaded: 0 };
  private readonly cache: PeerCache;
  private readonly table: PeerTable;
  private readonly storage: PeerStorage | undefined;
  private readonly name: string;
  private readonly flushDelayMs: number;
  private readonly batchSize: number;
  private readonly maxPending: number;
  private readonly now: () => number;
  /** Changed peers not yet written, and whether each is unverified. */
  private pending = new Map<bigint, { peer: StoredPeer; unverified: boolean }>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  private closed = false;
  /** A fenced write was refused: the lease is another's, nothing more is written. */
  private fencedOut = false;
  /** The sink `harvest` calls: bound once (no closure per observed object). */
  readonly see: PeerSink = (o, seenIn) => this.seeObject(o, seenIn);

  constructor(private readonly options: PeerStoreOptions = {}) {
    this.cache = options.cache ?? processPeerCache;
    this.table = this.cache.table();
    this.storage = options.storage;
    this.name = options.name ?? '';
    if (this.storage && !this.name) throw new RangeError('a peer store with storage needs the session name');
    this.flushDelayMs = Math.max(0, options.flushDelayMs ?? 250);
    this.batchSize = Math.max(1, options.batchSize ?? 1000);
    this.maxPending = Math.max(1, options.maxPending ?? 100_000);
    this.now = options.now ?? Date.now;
  }

  /** Peers of this session in the LRU now. */
  get cached(): number {
    return this.table.size;
  }

  /** Changed peers waiting to be written. */
  get unwritten(): number {
    return this.pending.size;
  }

  /** Records every peer of a result or an update (synchronous; writes happen later). */
  observe(value: unknown): void {
    harvest(value, this.see);
  }

  private seeObject(o: PeerObject, seenIn: SeenIn | undefined): void {
    this.stats.seen++;
    const e = this.cache.get(this.table, numberKeyOfObject(o));
    if (e !== undefined && unchanged(e.peer, o, seenIn)) return;
    const seen = storedOf(o, seenIn, this.now());
    this.apply(peerKey(seen.kind, seen.id), e, seen);
  }

  /** Merges a peer learned elsewhere (a resolver's answer, a test). */
  put(peer: StoredPeer): void {
    const key = peerKey(peer.kind, peer.id);
    this.apply(key, this.cache.get(this.table, Number(key)), peer);
  }

  private apply(key: bigint, e: CacheEntry | undefined, seen: StoredPeer): void {
    // Closed: its table left the LRU; late results must not bring entries back.
    if (this.closed) return;
    // Evicted from the LRU but not yet written: the pending version is the latest known.
    const was = this.pending.get(key);
    const merged = mergePeer(e?.peer ?? was?.peer, seen);
    if (merged === null) return;
    this.stats.changed++;
    // On a miss, storage may know more than a min or hash-less peer: check before writing.
    const unverified = !isFull(merged) && (e ? e.unverified : (was?.unverified ?? true));
    this.cache.set(this.table, Number(key), merged, unverified);
    if (!this.storage || this.fencedOut) return;
    if (this.pending.size >= this.maxPending && was === undefined) {
      this.stats.dropped++;
      return;
    }
    this.pending.set(key, { peer: merged, unverified });
    this.schedule();
  }

  private schedule(): void {
    if (this.writing) return;
    if (this.pending.size >= this.batchSize) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.writing = this.writeBatches();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.writing ??= this.writeBatches();
    }, this.flushDelayMs);
    this.timer.unref?.();
  }

  /** Writes what is pending, batch by batch; then re-arms if more changed meanwhile. */
  private async writeBatches(): Promise<void> {
    await Promise.resolve();
    try {
      while (this.pending.size > 0) {
        const batch: Array<[bigint, { peer: StoredPeer; unverified: boolean }]> = [];
        for (const item of this.pending) {
          batch.push(item);
          if (batch.length >= this.batchSize) break;
        }
        for (const [key] of batch) this.pending.delete(key);
        try {
          await this.writeBatch(batch);
        } catch (e) {
          this.stats.writeErrors++;
          if (e instanceof SessionLockedError || e instanceof SessionLeaseLostError) {
            // The session is another owner's now: its writes are the ones that count.
            this.fencedOut = true;
            this.stats.dropped += this.pending.size + batch.length;
            this.pending.clear();
            this.options.onError?.(e);
            break;
          }
          // Back in the queue (unless changed since, which is newer), then try later.
          for (const [key, item] of batch) if (!this.pending.has(key)) this.pending.set(key, item);
          this.options.onError?.(e);
          break;
        }
      }
    } finally {
      this.writing = null;
      if (this.pending.size > 0 && !this.closed) this.schedule();
    }
  }

  private async writeBatch(batch: Array<[bigint, { peer: StoredPeer; unverified: boolean }]>): Promise<void> {
    const storage = this.storage as PeerStorage;
    const check = batch.filter(([, item]) => item.unverified).map(([key]) => key);
    const stored = check.length > 0 ? await storage.loadPeers(this.name, check) : undefined;
    const out: StoredPeer[] = [];
    for (const [key, item] of batch) {
      const old = stored?.get(key);
      if (old === undefined) {
        out.push(item.peer);
        continue;
      }
      // What storage had first, then what was seen since.
      const merged = mergePeer(old, item.peer) ?? old;
      this.refresh(key, merged);
      if (merged !== old) out.push(merged);
    }
    if (out.length > 0) {
      const owner = this.options.owner;
      await storage.savePeers(this.name, out, owner === undefined ? undefined : { owner });
    }
    this.stats.written += out.length;
  }

  /** The cached entry, if still cached and not changed since, now verified against storage. */
  private refresh(key: bigint, peer: StoredPeer): void {
    const e = this.table.entries.get(Number(key));
    if (e === undefined) return;
    const merged = mergePeer(peer, e.peer) ?? peer;
    e.peer = merged;
    e.unverified = false;
  }

  /** The peer from the LRU only (no storage read). */
  peek(key: bigint): StoredPeer | undefined {
    return this.cache.get(this.table, Number(key))?.peer;
  }

  /** The peer: from the LRU, else (or when unverified) from storage. */
  async get(key: bigint): Promise<StoredPeer | undefined> {
    const e = this.cache.get(this.table, Number(key));
    if (!this.storage || (e !== undefined && !e.unverified)) return e?.peer;
    const waiting = this.pending.get(key);
    if (e === undefined && waiting !== undefined && !waiting.unverified) return waiting.peer;
    const stored = (await this.storage.loadPeers(this.name, [key])).get(key);
    if (stored === undefined)
      return this.cache.get(this.table, Number(key))?.peer ?? this.pending.get(key)?.peer;
    this.stats.loaded++;
    return this.adopt(key, stored);
  }

  /** A peer read from storage, merged under what was seen since, into the LRU. */
  private adopt(key: bigint, stored: StoredPeer): StoredPeer {
    const now = this.cache.get(this.table, Number(key))?.peer ?? this.pending.get(key)?.peer;
    const merged = now === undefined ? stored : (mergePeer(stored, now) ?? stored);
    this.cache.set(this.table, Number(key), merged, false);
    const waiting = this.pending.get(key);
    if (waiting) waiting.unverified = false;
    return merged;
  }

  /** The peer with this username (any case, with or without '@'), from the LRU or storage. */
  async byUsername(username: string): Promise<StoredPeer | undefined> {
    const u = username.replace(/^@/, '').toLowerCase();
    const key = this.table.usernames.get(u);
    if (key !== undefined) {
      const p = this.cache.get(this.table, key)?.peer;
      if (p?.username === u) return p;
    }
    for (const item of this.pending.values()) if (item.peer.username === u) return item.peer;
    if (!this.storage) return undefined;
    const stored = await this.storage.peerByUsername(this.name, u);
    if (stored === undefined) return undefined;
    this.stats.loaded++;
    return this.adopt(peerKey(stored.kind, stored.id), stored);
  }

  /** Writes everything pending now; rejects when a write fails (what failed stays pending). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.writing) await this.writing;
    if (this.pending.size === 0) return;
    const before = this.stats.writeErrors;
    this.writing = this.writeBatches();
    await this.writing;
    if (this.stats.writeErrors > before) throw new Error(`writing ${this.pending.size} peers failed`);
  }

  /** Writes what is pending and leaves the LRU (the session closed). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      this.cache.drop(this.table);
      this.pending.clear();
    }
  }
}

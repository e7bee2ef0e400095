// The default storage: a Map in this process. Records are kept in their
// encoded form, so a caller mutating a loaded record never changes the stored
// one, and behaviour (validation, key sealing) matches the durable adapters.
import {
  checkClaims,
  checkFence,
  checkOwner,
  checkTtl,
  decideAcquire,
  decideRenew,
  type LeaseRow,
  renewResult,
} from './lease';
import { applyPatch } from './merge';
import { checkPeer, decodePeer, encodePeer, peerKey } from './peer-codec';
import { type CodecOptions, decodeRecord, encodeRecord } from './record-codec';
import type {
  Lease,
  LeaseClaim,
  RenewResult,
  SaveOptions,
  SessionPatch,
  SessionRecord,
  SessionStorage,
  StoredPeer,
} from './types';

/** One session's peers: encoded by marked id (a loaded peer is a copy), and a username index. */
interface PeerTable {
  byKey: Map<bigint, string>;
  byUsername: Map<string, bigint>;
}

export interface MemoryStorageOptions extends CodecOptions {}

export class MemoryStorage implements SessionStorage {
  private readonly records = new Map<string, Buffer>();
  private readonly leases = new Map<string, LeaseRow>();
  private readonly peers = new Map<string, PeerTable>();

  constructor(private readonly options: MemoryStorageOptions = {}) {}

  async load(name: string): Promise<SessionRecord | undefined> {
    const data = this.records.get(name);
    return data && decodeRecord(name, data, this.options);
  }

  async loadMany(names: readonly string[]): Promise<Map<string, SessionRecord>> {
    const out = new Map<string, SessionRecord>();
    for (const name of names) {
      const data = this.records.get(name);
      if (data) out.set(name, decodeRecord(name, data, this.options));
    }
    return out;
  }

  async save(record: SessionRecord, options: SaveOptions = {}): Promise<void> {
    if (options.owner !== undefined) checkOwner(options.owner);
    const data = encodeRecord(record, this.options);
    if (options.owner !== undefined) checkFence(record.name, this.leases.get(record.name), options.owner);
    this.records.set(record.name, data);
  }

  async update(
    name: string,
    patch: SessionPatch,
    options: SaveOptions = {},
  ): Promise<SessionRecord | undefined> {
    if (options.owner !== undefined) checkOwner(options.owner);
    const data = this.records.get(name);
    if (!data) return undefined;
    const next = applyPatch(decodeRecord(name, data, this.options), patch);
    const encoded = encodeRecord(next, this.options);
    if (options.owner !== undefined) checkFence(name, this.leases.get(name), options.owner);
    this.records.set(name, encoded);
    return next;
  }

  async delete(name: string): Promise<boolean> {
    return this.records.delete(name);
  }

  async list(prefix = ''): Promise<string[]> {
    return [...this.records.keys()].filter((n) => n.startsWith(prefix)).sort();
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkOwner(owner);
    const lease = decideAcquire(name, this.leases.get(name), owner, checkTtl(ttlMs), Date.now());
    this.leases.set(name, { owner, expiresAt: lease.expiresAt });
    return lease;
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkOwner(owner);
    const lease = decideRenew(name, this.leases.get(name), owner, checkTtl(ttlMs), Date.now());
    this.leases.set(name, { owner, expiresAt: lease.expiresAt });
    return lease;
  }

  async renewMany(claims: readonly LeaseClaim[], ttlMs: number): Promise<RenewResult[]> {
    checkClaims(claims);
    const ttl = checkTtl(ttlMs);
    const now = Date.now();
    return claims.map((claim) => {
      const result = renewResult(claim, this.leases.get(claim.name), ttl, now);
      if (result.kind === 'renewed')
        this.leases.set(claim.name, { owner: claim.owner, expiresAt: result.lease.expiresAt });
      return result;
    });
  }

  async release(name: string, owner: string): Promise<boolean> {
    checkOwner(owner);
    if (this.leases.get(name)?.owner !== owner) return false;
    return this.leases.delete(name);
  }

  async lease(name: string): Promise<Lease | undefined> {
    const row = this.leases.get(name);
    return row && row.expiresAt > Date.now() ? { name, ...row } : undefined;
  }

  async savePeers(name: string, peers: readonly StoredPeer[], options: SaveOptions = {}): Promise<void> {
    for (const p of peers) checkPeer(p);
    if (options.owner !== undefined) {
      checkOwner(options.owner);
      checkFence(name, this.leases.get(name), options.owner);
    }
    let t = this.peers.get(name);
    if (!t) {
      t = { byKey: new Map(), byUsername: new Map() };
      this.peers.set(name, t);
    }
    for (const p of peers) {
      const key = peerKey(p.kind, p.id);
      const old = t.byKey.get(key);
      if (old !== undefined) {
        const was = decodePeer(old).username;
        if (was !== undefined && t.byUsername.get(was) === key) t.byUsername.delete(was);
      }
      t.byKey.set(key, encodePeer(p));
      if (p.username !== undefined) t.byUsername.set(p.username, key);
    }
  }

  async loadPeers(name: string, keys: readonly bigint[]): Promise<Map<bigint, StoredPeer>> {
    const out = new Map<bigint, StoredPeer>();
    const t = this.peers.get(name);
    if (!t) return out;
    for (const k of keys) {
      const data = t.byKey.get(k);
      if (data !== undefined) out.set(k, decodePeer(data));
    }
    return out;
  }

  async peerByUsername(name: string, username: string): Promise<StoredPeer | undefined> {
    const t = this.peers.get(name);
    const key = t?.byUsername.get(username);
    const data = key === undefined ? undefined : t?.byKey.get(key);
    return data === undefined ? undefined : decodePeer(data);
  }

  async countPeers(name: string): Promise<number> {
    return this.peers.get(name)?.byKey.size ?? 0;
  }

  async deletePeers(name: string): Promise<number> {
    const n = this.peers.get(name)?.byKey.size ?? 0;
    this.peers.delete(name);
    return n;
  }

  async close(): Promise<void> {}
}

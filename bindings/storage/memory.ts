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
import { type CodecOptions, decodeRecord, encodeRecord } from './record-codec';
import type {
  Lease,
  LeaseClaim,
  RenewResult,
  SaveOptions,
  SessionPatch,
  SessionRecord,
  SessionStorage,
} from './types';

export interface MemoryStorageOptions extends CodecOptions {}

export class MemoryStorage implements SessionStorage {
  private readonly records = new Map<string, Buffer>();
  private readonly leases = new Map<string, LeaseRow>();

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

  async close(): Promise<void> {}
}

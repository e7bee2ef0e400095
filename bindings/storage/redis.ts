// Sessions in Redis (`ioredis`, an optional peer), shared by many processes.
//
// One key per session holds the encoded record; a sorted set indexes the names
// for list(). Every write and every lease change is one Lua script, so it is
// atomic on the server: a lease is a key SET to its owner with a PX expiry,
// taken only when absent or already ours, renewed or deleted only by its owner
// (compare-and-pexpire, compare-and-delete). A fenced save checks the lease in
// the same script; update() is a compare-and-set on the record's bytes, retried.
//
// Durability is the server's: a save resolves once Redis has it in memory and,
// with `appendonly yes` + `appendfsync always`, on disk. With the default
// `appendfsync everysec` a crash of the Redis server (not of this process) can
// lose the last second of writes; without AOF, everything since the last RDB.
// Redis Cluster is not supported (the index key and a session's keys differ in slot).
import { loadDriver } from './drivers';
import { SessionLeaseLostError, SessionLockedError } from './errors';
import { checkClaims, checkOwner, checkTtl } from './lease';
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

/** The part of ioredis used here (an ioredis `Redis` instance fits). */
export interface RedisClient {
  /** numberOfKeys null: the caller passes the key count first (a variable number of keys). */
  defineCommand(name: string, definition: { numberOfKeys: number | null; lua: string }): void;
  getBuffer(key: string): Promise<Buffer | null>;
  mgetBuffer(...keys: string[]): Promise<Array<Buffer | null>>;
  zrangebylex(key: string, min: string | Buffer, max: string | Buffer): Promise<string[]>;
  hset(key: string, ...fieldsAndValues: string[]): Promise<number>;
  hget(key: string, field: string): Promise<string | null>;
  hmget(key: string, ...fields: string[]): Promise<Array<string | null>>;
  hlen(key: string): Promise<number>;
  del(...keys: string[]): Promise<number>;
  quit(): Promise<unknown>;
}

export interface RedisStorageOptions extends CodecOptions {
  /** redis://host:port/db (ignored when `client` is given). */
  url?: string;
  /** An existing ioredis client; it stays open on close(). */
  client?: RedisClient;
  /**
   * Key prefix (default 'tmt:'): keys are <prefix>s:<name>, <prefix>l:<name>, <prefix>names, and
   * for peers the hashes <prefix>p:<name> (marked id -> peer) and <prefix>u:<name> (username -> id).
   */
  prefix?: string;
}

// Server time in ms, for expiresAt values that every process reads alike.
const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

// Fencing: ARGV[f] is the owner, or '' for an unconditional write.
// Replies {0} no lease, {1, owner, expiresAt} another owner's.
const FENCE = (f: number, lease = 2) => `
  if ARGV[${f}] ~= '' then
    local cur = redis.call('GET', KEYS[${lease}])
    if not cur then return {0} end
    if cur ~= ARGV[${f}] then ${NOW} return {1, cur, now + redis.call('PTTL', KEYS[${lease}])} end
  end`;

const SCRIPTS = {
  // KEYS: record, lease, index. ARGV: data, name, owner|''.
  tmtSave: `${FENCE(3)}
    redis.call('SET', KEYS[1], ARGV[1])
    redis.call('ZADD', KEYS[3], 0, ARGV[2])
    return {2}`,
  // KEYS: record, lease, index. ARGV: expected data, new data, owner|''. {3} changed, {4} gone.
  tmtSwap: `local old = redis.call('GET', KEYS[1])
    if not old then return {4} end
    if old ~= ARGV[1] then return {3} end
    ${FENCE(3)}
    redis.call('SET', KEYS[1], ARGV[2])
    return {2}`,
  // A fenced savePeers chunk. KEYS: peers, usernames, lease. ARGV: owner, n, then n
  // peer fields (key, value pairs), then username fields (name, key pairs).
  tmtSavePeers: `${FENCE(1, 3)}
    local n = tonumber(ARGV[2])
    redis.call('HSET', KEYS[1], unpack(ARGV, 3, 2 + n))
    if #ARGV > 2 + n then redis.call('HSET', KEYS[2], unpack(ARGV, 3 + n, #ARGV)) end
    return {2}`,
  // KEYS: record, index. ARGV: name.
  tmtDelete: `local n = redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[1])
    return n`,
  // KEYS: lease. ARGV: owner, ttl. {1, expiresAt} taken, {0, owner, expiresAt} held by another.
  tmtAcquire: `local cur = redis.call('GET', KEYS[1])
    ${NOW}
    if (not cur) or cur == ARGV[1] then
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      return {1, now + tonumber(ARGV[2])}
    end
    return {0, cur, now + redis.call('PTTL', KEYS[1])}`,
  // KEYS: lease. ARGV: owner, ttl. {1, expiresAt} renewed, {0} gone, {2, owner, expiresAt} another's.
  tmtRenew: `local cur = redis.call('GET', KEYS[1])
    ${NOW}
    if cur == ARGV[1] then
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      return {1, now + tonumber(ARGV[2])}
    end
    if not cur then return {0} end
    return {2, cur, now + redis.call('PTTL', KEYS[1])}`,
  // tmtRenew over many leases in one script (atomic as a whole). KEYS: leases.
  // ARGV: ttl, then one owner per key. One reply per key, as tmtRenew's.
  tmtRenewMany: `${NOW}
    local ttl = tonumber(ARGV[1])
    local out = {}
    for i, key in ipairs(KEYS) do
      local cur = redis.call('GET', key)
      if cur == ARGV[i + 1] then
        redis.call('PEXPIRE', key, ttl)
        out[i] = {1, now + ttl}
      elseif not cur then
        out[i] = {0}
      else
        out[i] = {2, cur, now + redis.call('PTTL', key)}
      end
    end
    return out`,
  // KEYS: lease. ARGV: owner.
  tmtRelease: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0`,
  // KEYS: lease. {owner, expiresAt} or {}.
  tmtLease: `local cur = redis.call('GET', KEYS[1])
    if not cur then return {} end
    ${NOW}
    return {cur, now + redis.call('PTTL', KEYS[1])}`,
} as const;

type Reply = Array<number | string>;

/** Claims per renewal script. */
const RENEW_CHUNK = 1000;
type Scripted = { [K in keyof typeof SCRIPTS]: (...args: Array<string | number | Buffer>) => Promise<Reply> };

const KEYS: Record<keyof typeof SCRIPTS, number | null> = {
  tmtSave: 3,
  tmtSwap: 3,
  tmtSavePeers: 3,
  tmtDelete: 2,
  tmtAcquire: 1,
  tmtRenew: 1,
  tmtRenewMany: null,
  tmtRelease: 1,
  tmtLease: 1,
};

/**
 * Peers as HSET arguments, 1,000 a chunk: `fields` (marked id, encoded peer) for the
 * peer hash, `names` (username, marked id) for the username hash.
 */
function* peerChunks(peers: readonly StoredPeer[]): Generator<{ fields: string[]; names: string[] }> {
  for (let i = 0; i < peers.length; i += 1000) {
    const fields: string[] = [];
    const names: string[] = [];
    for (let j = i; j < Math.min(peers.length, i + 1000); j++) {
      const x = peers[j];
      const key = peerKey(x.kind, x.id).toString();
      fields.push(key, encodePeer(x));
      if (x.username !== undefined) names.push(x.username, key);
    }
    yield { fields, names };
  }
}

export class RedisStorage implements SessionStorage {
  private readonly client: RedisClient;
  private readonly cmd: Scripted;
  private readonly ownClient: boolean;
  private readonly prefix: string;
  private readonly index: string;

  constructor(private readonly options: RedisStorageOptions = {}) {
    if (options.client) {
      this.client = options.client;
      this.ownClient = false;
    } else {
      const Redis = loadDriver<new (url?: string, opts?: object) => RedisClient>('ioredis');
      // Auto-pipelining: many sessions loading at once share round trips.
      this.client = new Redis(options.url ?? 'redis://127.0.0.1:6379', { enableAutoPipelining: true });
      this.ownClient = true;
    }
    for (const [name, lua] of Object.entries(SCRIPTS)) {
      this.client.defineCommand(name, { numberOfKeys: KEYS[name as keyof typeof SCRIPTS], lua });
    }
    this.cmd = this.client as unknown as Scripted;
    this.prefix = options.prefix ?? 'tmt:';
    this.index = `${this.prefix}names`;
  }

  private rec(name: string): string {
    return `${this.prefix}s:${name}`;
  }

  private lk(name: string): string {
    return `${this.prefix}l:${name}`;
  }

  /** The error for a fence or renew reply: {0} no lease, {1|2, owner, expiresAt} another's. */
  private fenceError(reply: Reply, name: string, owner: string): Error {
    if (reply.length < 3) return new SessionLeaseLostError(name, owner);
    return new SessionLockedError(name, String(reply[1]), Number(reply[2]));
  }

  async load(name: string): Promise<SessionRecord | undefined> {
    const data = await this.client.getBuffer(this.rec(name));
    return data ? decodeRecord(name, data, this.options) : undefined;
  }

  async loadMany(names: readonly string[]): Promise<Map<string, SessionRecord>> {
    const out = new Map<string, SessionRecord>();
    for (let i = 0; i < names.length; i += 1000) {
      const chunk = names.slice(i, i + 1000);
      if (!chunk.length) break;
      const values = await this.client.mgetBuffer(...chunk.map((n) => this.rec(n)));
      values.forEach((data, j) => {
        if (data) out.set(chunk[j], decodeRecord(chunk[j], data, this.options));
      });
    }
    return out;
  }

  async save(record: SessionRecord, options: SaveOptions = {}): Promise<void> {
    if (options.owner !== undefined) checkOwner(options.owner);
    const full = Number.isFinite(record.updatedAt) ? record : { ...record, updatedAt: Date.now() };
    const data = encodeRecord(full, this.options);
    const { name } = record;
    const owner = options.owner ?? '';
    const reply = await this.cmd.tmtSave(this.rec(name), this.lk(name), this.index, data, name, owner);
    if (reply[0] !== 2) throw this.fenceError(reply, name, owner);
  }

  async update(
    name: string,
    patch: SessionPatch,
    options: SaveOptions = {},
  ): Promise<SessionRecord | undefined> {
    if (options.owner !== undefined) checkOwner(options.owner);
    const owner = options.owner ?? '';
    for (;;) {
      const old = await this.client.getBuffer(this.rec(name));
      if (!old) return undefined;
      const next = applyPatch(decodeRecord(name, old, this.options), patch);
      const data = encodeRecord(next, this.options);
      const reply = await this.cmd.tmtSwap(this.rec(name), this.lk(name), this.index, old, data, owner);
      if (reply[0] === 2) return next;
      if (reply[0] === 4) return undefined;
      if (reply[0] !== 3) throw this.fenceError(reply, name, owner);
      // {3}: someone wrote in between; read again and re-apply the patch.
    }
  }

  async delete(name: string): Promise<boolean> {
    const n = (await this.cmd.tmtDelete(this.rec(name), this.index, name)) as unknown as number;
    return n > 0;
  }

  async list(prefix = ''): Promise<string[]> {
    // Names are UTF-8, which never holds a 0xff byte: [prefix .. prefix\xff) is every match.
    const max = Buffer.concat([Buffer.from(`(${prefix}`), Buffer.from([0xff])]);
    const names = await this.client.zrangebylex(this.index, `[${prefix}`, max);
    return names.sort();
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkOwner(owner);
    const reply = await this.cmd.tmtAcquire(this.lk(name), owner, checkTtl(ttlMs));
    if (reply[0] === 1) return { name, owner, expiresAt: Number(reply[1]) };
    throw new SessionLockedError(name, String(reply[1]), Number(reply[2]));
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkOwner(owner);
    const reply = await this.cmd.tmtRenew(this.lk(name), owner, checkTtl(ttlMs));
    if (reply[0] === 1) return { name, owner, expiresAt: Number(reply[1]) };
    throw this.fenceError(reply, name, owner);
  }

  /**
   * One script per chunk of RENEW_CHUNK claims (a script blocks the server while
   * it runs: chunks keep each pause short), all chunks sent at once (pipelined).
   */
  async renewMany(claims: readonly LeaseClaim[], ttlMs: number): Promise<RenewResult[]> {
    checkClaims(claims);
    const ttl = checkTtl(ttlMs);
    const chunks: Array<Promise<RenewResult[]>> = [];
    for (let i = 0; i < claims.length; i += RENEW_CHUNK) {
      const part = claims.slice(i, i + RENEW_CHUNK);
      const keys = part.map((c) => this.lk(c.name));
      const args = [part.length, ...keys, ttl, ...part.map((c) => c.owner)];
      chunks.push(
        this.cmd.tmtRenewMany(...args).then((replies) =>
          (replies as unknown as Reply[]).map((reply, j): RenewResult => {
            const { name, owner } = part[j];
            if (reply[0] === 1)
              return { kind: 'renewed', lease: { name, owner, expiresAt: Number(reply[1]) } };
            return { kind: 'lost', error: this.fenceError(reply, name, owner) };
          }),
        ),
      );
    }
    return (await Promise.all(chunks)).flat();
  }

  async release(name: string, owner: string): Promise<boolean> {
    checkOwner(owner);
    return ((await this.cmd.tmtRelease(this.lk(name), owner)) as unknown as number) > 0;
  }

  async lease(name: string): Promise<Lease | undefined> {
    const reply = await this.cmd.tmtLease(this.lk(name));
    return reply.length ? { name, owner: String(reply[0]), expiresAt: Number(reply[1]) } : undefined;
  }

  private peerHash(name: string): string {
    return `${this.prefix}p:${name}`;
  }

  private usernameHash(name: string): string {
    return `${this.prefix}u:${name}`;
  }

  /**
   * HSET in chunks of 1,000 peers, sent together (ioredis pipelines them). A username
   * index entry is never removed: a lookup checks the peer still has that username.
   */
  async savePeers(name: string, peers: readonly StoredPeer[], options: SaveOptions = {}): Promise<void> {
    for (const peer of peers) checkPeer(peer);
    const owner = options.owner;
    if (owner !== undefined) {
      checkOwner(owner);
      return this.savePeersFenced(name, peers, owner);
    }
    const writes: Array<Promise<unknown>> = [];
    for (const { fields, names } of peerChunks(peers)) {
      writes.push(this.client.hset(this.peerHash(name), ...fields));
      if (names.length) writes.push(this.client.hset(this.usernameHash(name), ...names));
    }
    await Promise.all(writes);
  }

  /** savePeers for `owner`: each chunk of 1,000 in one script that checks the lease first. */
  private async savePeersFenced(name: string, peers: readonly StoredPeer[], owner: string): Promise<void> {
    const writes: Array<Promise<Reply>> = [];
    for (const { fields, names } of peerChunks(peers)) {
      writes.push(
        this.cmd.tmtSavePeers(
          this.peerHash(name),
          this.usernameHash(name),
          this.lk(name),
          owner,
          fields.length,
          ...fields,
          ...names,
        ),
      );
    }
    for (const reply of await Promise.all(writes)) {
      if (reply[0] !== 2) throw this.fenceError(reply, name, owner);
    }
  }

  async loadPeers(name: string, keys: readonly bigint[]): Promise<Map<bigint, StoredPeer>> {
    const out = new Map<bigint, StoredPeer>();
    const reads: Array<Promise<void>> = [];
    // Chunks of 1,000 fields, sent together (pipelined).
    for (let i = 0; i < keys.length; i += 1000) {
      const chunk = keys.slice(i, i + 1000);
      reads.push(
        this.client.hmget(this.peerHash(name), ...chunk.map(String)).then((values) =>
          values.forEach((v, j) => {
            if (v !== null) out.set(chunk[j], decodePeer(v));
          }),
        ),
      );
    }
    await Promise.all(reads);
    return out;
  }

  async peerByUsername(name: string, username: string): Promise<StoredPeer | undefined> {
    const key = await this.client.hget(this.usernameHash(name), username);
    if (key === null) return undefined;
    const v = await this.client.hget(this.peerHash(name), key);
    const peer = v === null ? undefined : decodePeer(v);
    return peer?.username === username ? peer : undefined;
  }

  async countPeers(name: string): Promise<number> {
    return this.client.hlen(this.peerHash(name));
  }

  async deletePeers(name: string): Promise<number> {
    const n = await this.client.hlen(this.peerHash(name));
    await this.client.del(this.peerHash(name), this.usernameHash(name));
    return n;
  }

  async close(): Promise<void> {
    if (this.ownClient) await this.client.quit();
  }
}

// The roster in Redis, beside RedisStorage's keys (same `prefix`): <prefix>roster (a
// sorted set of the names, for scanning in order), <prefix>roster:data (a hash: name ->
// open options), <prefix>roster:defer (name -> "notBefore|error" after a failed open),
// <prefix>workers (a sorted set: worker id by heartbeat expiry) and <prefix>worker:<id>
// (its heartbeat, with a PX expiry). A tick is one Lua script, atomic on the server:
// the heartbeat, the live workers, and claims: from the worker's cursor on, each name
// whose lease key (<prefix>l:<name>, RedisStorage's) is absent gets it SET to the claim
// owner with PX, as RedisStorage.acquire would. Redis Cluster is not supported (as for
// RedisStorage: the keys of one tick live in many slots).

import type { RedisClient } from '../storage/redis';
import {
  type ClaimedSession,
  type ClaimRequest,
  checkEntry,
  decodeEntry,
  encodeOptions,
  parseWorker,
  type Roster,
  type TickResult,
  type WorkerBeat,
} from './roster';
import { type RosterEntry, type SessionPlacement, type WorkerInfo, workerOfOwner } from './types';

/** The part of ioredis used here (an ioredis `Redis` instance fits). */
export interface RedisRosterClient extends RedisClient {
  hget(key: string, field: string): Promise<string | null>;
  hmget(key: string, ...fields: string[]): Promise<Array<string | null>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  zadd(key: string, ...args: Array<string | number>): Promise<unknown>;
  zrem(key: string, ...members: string[]): Promise<number>;
  zcard(key: string): Promise<number>;
  zrange(key: string, start: number, stop: number): Promise<string[]>;
  del(...keys: string[]): Promise<number>;
}

export interface RedisRosterOptions {
  client: RedisRosterClient;
  /** RedisStorage's prefix (default 'tmt:'). */
  prefix?: string;
  /** Names a tick looks at for unowned sessions at most (default 10,000): the script's time bound. */
  scanPerTick?: number;
}

const NOW = `local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000)`;

// KEYS: roster zset, data hash, defer hash, workers zset, this worker's key.
// ARGV: worker id, worker json, ttl, limit, scan, cursor, owner prefix, key prefix, skip...
// Returns {roster size, next cursor, {worker json...}, {name, owner, options, ...}}.
const TICK = `${NOW}
  local ttl = tonumber(ARGV[3])
  redis.call('SET', KEYS[5], ARGV[2], 'PX', ttl)
  redis.call('ZADD', KEYS[4], now + ttl, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
  local live = redis.call('ZRANGE', KEYS[4], 0, -1)
  local infos = {}
  for _, id in ipairs(live) do
    local v = redis.call('GET', ARGV[8] .. 'worker:' .. id)
    if v then infos[#infos + 1] = v end
  end
  local n = redis.call('ZCARD', KEYS[1])
  local limit = tonumber(ARGV[4])
  local cursor = tonumber(ARGV[6])
  local claimed = {}
  if limit > 0 and n > 0 then
    local skip = {}
    for i = 9, #ARGV do skip[ARGV[i]] = true end
    if cursor >= n then cursor = 0 end
    local names = redis.call('ZRANGE', KEYS[1], cursor, cursor + tonumber(ARGV[5]) - 1)
    local got = 0
    for _, name in ipairs(names) do
      cursor = cursor + 1
      if got >= limit then cursor = cursor - 1 break end
      local lease = ARGV[8] .. 'l:' .. name
      if not skip[name] and redis.call('EXISTS', lease) == 0 then
        local d = redis.call('HGET', KEYS[3], name)
        local later = d and tonumber(string.match(d, '^(%d+)')) or 0
        if later <= now then
          got = got + 1
          local owner = ARGV[7] .. '.' .. got
          redis.call('SET', lease, owner, 'PX', ttl)
          claimed[#claimed + 1] = name
          claimed[#claimed + 1] = owner
          claimed[#claimed + 1] = redis.call('HGET', KEYS[2], name) or ''
        end
      end
    end
  end
  return {n, cursor, infos, claimed}`;

// KEYS: roster zset, data hash, defer hash. ARGV: name, options json ... (pairs).
const ADD = `for i = 1, #ARGV, 2 do
    redis.call('ZADD', KEYS[1], 0, ARGV[i])
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    redis.call('HDEL', KEYS[3], ARGV[i])
  end
  return #ARGV / 2`;

// KEYS: roster zset, data hash, defer hash. ARGV: names.
const REMOVE = `local n = 0
  for i = 1, #ARGV do
    n = n + redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i])
    redis.call('HDEL', KEYS[3], ARGV[i])
  end
  return n`;

// KEYS: lease keys. {owner, pttl} per key ('' and -2 when absent).
const LEASES = `local out = {}
  for i, k in ipairs(KEYS) do
    out[#out + 1] = redis.call('GET', k) or ''
    out[#out + 1] = redis.call('PTTL', k)
  end
  return out`;

type Scripted = {
  tmtFleetTick(...args: Array<string | number>): Promise<[number, number, string[], string[]]>;
  tmtFleetAdd(...args: Array<string | number>): Promise<number>;
  tmtFleetRemove(...args: Array<string | number>): Promise<number>;
  tmtFleetLeases(...args: Array<string | number>): Promise<Array<string | number>>;
};

export class RedisRoster implements Roster {
  private readonly c: RedisRosterClient;
  private readonly cmd: Scripted;
  private readonly p: string;
  private readonly zset: string;
  private readonly data: string;
  private readonly deferred: string;
  private readonly live: string;
  /** Where this process's next claim scan starts (spread: workers do not scan in step). */
  private cursor = Math.floor(Math.random() * 1_000_000);
  private readonly scan: number;

  constructor(options: RedisRosterOptions) {
    this.c = options.client;
    this.p = options.prefix ?? 'tmt:';
    this.zset = `${this.p}roster`;
    this.data = `${this.p}roster:data`;
    this.deferred = `${this.p}roster:defer`;
    this.live = `${this.p}workers`;
    this.scan = Math.max(1, options.scanPerTick ?? 10_000);
    this.c.defineCommand('tmtFleetTick', { numberOfKeys: 5, lua: TICK });
    this.c.defineCommand('tmtFleetAdd', { numberOfKeys: 3, lua: ADD });
    this.c.defineCommand('tmtFleetRemove', { numberOfKeys: 3, lua: REMOVE });
    this.c.defineCommand('tmtFleetLeases', { numberOfKeys: null, lua: LEASES });
    this.cmd = this.c as unknown as Scripted;
  }

  async add(entries: readonly RosterEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 1000) {
      const args: string[] = [];
      for (const e of entries.slice(i, i + 1000)) args.push(checkEntry(e).name, encodeOptions(e));
      await this.cmd.tmtFleetAdd(this.zset, this.data, this.deferred, ...args);
    }
  }

  async remove(names: readonly string[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < names.length; i += 1000)
      n += await this.cmd.tmtFleetRemove(this.zset, this.data, this.deferred, ...names.slice(i, i + 1000));
    return n;
  }

  async get(name: string): Promise<RosterEntry | undefined> {
    const v = await this.c.hget(this.data, name);
    return v === null ? undefined : decodeEntry(name, v);
  }

  async present(names: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < names.length; i += 1000) {
      const part = names.slice(i, i + 1000);
      if (!part.length) break;
      const vals = await this.c.hmget(this.data, ...part);
      vals.forEach((v, j) => {
        if (v !== null) out.add(part[j]);
      });
    }
    return out;
  }

  size(): Promise<number> {
    return this.c.zcard(this.zset);
  }

  async tick(beat: WorkerBeat, claim: ClaimRequest): Promise<TickResult> {
    const info: WorkerInfo = {
      id: beat.id,
      capacity: beat.capacity,
      owned: beat.owned,
      startedAt: 0,
      beatAt: Date.now(),
      expiresAt: Date.now() + claim.ttlMs,
      lag: beat.lag,
    };
    const [n, cursor, infos, flat] = await this.cmd.tmtFleetTick(
      this.zset,
      this.data,
      this.deferred,
      this.live,
      `${this.p}worker:${beat.id}`,
      beat.id,
      JSON.stringify(info),
      claim.ttlMs,
      Math.max(0, claim.limit),
      this.scan,
      this.cursor,
      claim.ownerPrefix,
      this.p,
      ...claim.skip,
    );
    this.cursor = Number(cursor);
    const claimed: ClaimedSession[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const name = String(flat[i]);
      claimed.push({ name, owner: String(flat[i + 1]), entry: decodeEntry(name, String(flat[i + 2])) });
    }
    const workers = infos.map((s) => parseWorker(String(s))).filter((w): w is WorkerInfo => !!w);
    return { claimed, workers, rosterSize: Number(n) };
  }

  async defer(name: string, untilMs: number, error: string): Promise<void> {
    await this.c.hset(this.deferred, name, `${Math.floor(untilMs)}|${error.slice(0, 500)}`);
  }

  async leave(workerId: string): Promise<void> {
    await this.c.zrem(this.live, workerId);
    await this.c.del(`${this.p}worker:${workerId}`);
  }

  async workers(): Promise<WorkerInfo[]> {
    const ids = await this.c.zrange(this.live, 0, -1);
    const out: WorkerInfo[] = [];
    for (const id of ids) {
      const w = parseWorker(
        await (this.c as unknown as { get(k: string): Promise<string | null> }).get(`${this.p}worker:${id}`),
      );
      if (w) out.push(w);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async placements(): Promise<SessionPlacement[]> {
    const names = await this.c.zrange(this.zset, 0, -1);
    const out: SessionPlacement[] = [];
    for (let i = 0; i < names.length; i += 1000) {
      const part = names.slice(i, i + 1000);
      const flat = await this.cmd.tmtFleetLeases(part.length, ...part.map((n) => `${this.p}l:${n}`));
      const defers = await this.c.hmget(this.deferred, ...part);
      part.forEach((name, j) => {
        const p: SessionPlacement = { name };
        const owner = String(flat[2 * j]);
        const pttl = Number(flat[2 * j + 1]);
        if (owner && pttl > 0) {
          p.owner = owner;
          p.worker = workerOfOwner(owner);
          p.leaseLeftMs = pttl;
        }
        const d = defers[j];
        if (d) {
          const bar = d.indexOf('|');
          p.notBefore = Number(d.slice(0, bar));
          p.lastError = d.slice(bar + 1);
        }
        out.push(p);
      });
    }
    return out;
  }

  async close(): Promise<void> {}
}

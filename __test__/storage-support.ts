// Shared by the storage suites: records made from a seed, and the adapters
// under test against the real servers that scripts/services.sh starts
// (TMT_PG_URL, TMT_REDIS_URL). Without them the server suites skip locally;
// on CI (CI=true) a missing server is a failure, never a silent skip.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  type CodecOptions,
  MemoryStorage,
  PostgresStorage,
  RedisStorage,
  type SessionRecord,
  type SessionStorage,
  SqliteStorage,
} from '../bindings/storage';

export const PG_URL = process.env.TMT_PG_URL;
export const REDIS_URL = process.env.TMT_REDIS_URL;

if (process.env.CI && (!PG_URL || !REDIS_URL)) {
  throw new Error(
    'CI must run the storage suites against real servers: eval "$(bash scripts/services.sh)" first',
  );
}

/** Deterministic bytes from a seed (SHA-256 in counter mode). */
export function seeded(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i * 32 < length; i++) {
    createHash('sha256')
      .update(`${seed}/${i}`)
      .digest()
      .copy(out, i * 32);
  }
  return out;
}

/** A full record whose every field derives from `seed`, so a reader can check it is intact. */
export function recordFor(name: string, seed = name): SessionRecord {
  const b = seeded(seed, 64);
  const dcId = 1 + (b[0] % 5);
  const other = 1 + ((dcId + 1) % 5);
  return {
    name,
    dcId,
    authKeys: {
      [dcId]: {
        authKey: seeded(`${seed}/key`, 256),
        serverSalt: b.readBigUInt64LE(8),
        timeOffset: b.readInt8(16),
      },
      [other]: {
        authKey: seeded(`${seed}/media`, 256),
        serverSalt: b.readBigUInt64LE(24),
        timeOffset: 0,
        tempKey: { authKey: seeded(`${seed}/temp`, 256), expiresAt: 1_800_000_000, serverSalt: 7n },
      },
    },
    userId: BigInt(b.readUInt32LE(32)) + 1n,
    isBot: (b[36] & 1) === 1,
    updatesState: { pts: b.readUInt16LE(40), qts: 0, date: 1_700_000_000, seq: b[42] },
    testMode: false,
    updatedAt: 1_700_000_000_000 + b.readUInt16LE(44),
  };
}

/** Strips what load() adds (authKeyId), for deepEqual against the saved record. */
export function comparable(record: SessionRecord | undefined): SessionRecord | undefined {
  if (!record) return record;
  const authKeys: SessionRecord['authKeys'] = {};
  for (const [dc, auth] of Object.entries(record.authKeys)) {
    const { authKeyId: _, ...rest } = auth;
    authKeys[Number(dc)] = rest;
  }
  return { ...record, authKeys };
}

export const unique = (what: string) => `${what}_${process.pid}_${randomBytes(4).toString('hex')}`;

export interface Adapter {
  kind: 'memory' | 'sqlite' | 'postgres' | 'redis';
  available: boolean;
  /** A fresh, empty storage (its own table, file or key prefix). */
  create(options?: CodecOptions): SessionStorage;
  /** A second storage on the same data (another connection, same table/file/prefix). */
  reopen(storage: SessionStorage, options?: CodecOptions): SessionStorage;
}

const made = new WeakMap<SessionStorage, { table?: string; path?: string; prefix?: string }>();

export const adapters: Adapter[] = [
  {
    kind: 'memory',
    available: true,
    create: (o = {}) => new MemoryStorage(o),
    reopen: (s) => s, // one process-local map: the same object is the only way in
  },
  {
    kind: 'sqlite',
    available: true,
    create(o = {}) {
      const path = join(mkdtempSync(join(tmpdir(), 'tmt-sqlite-')), 'sessions.db');
      const s = new SqliteStorage({ path, ...o });
      made.set(s, { path });
      return s;
    },
    reopen(s, o = {}) {
      const { path } = made.get(s)!;
      const r = new SqliteStorage({ path: path!, ...o });
      made.set(r, { path });
      return r;
    },
  },
  {
    kind: 'postgres',
    available: Boolean(PG_URL),
    create(o = {}) {
      const table = unique('t').toLowerCase();
      const s = new PostgresStorage({ connectionString: PG_URL, table, poolSize: 4, ...o });
      made.set(s, { table });
      return s;
    },
    reopen(s, o = {}) {
      const { table } = made.get(s)!;
      const r = new PostgresStorage({ connectionString: PG_URL, table, poolSize: 4, ...o });
      made.set(r, { table });
      return r;
    },
  },
  {
    kind: 'redis',
    available: Boolean(REDIS_URL),
    create(o = {}) {
      const prefix = `${unique('t')}:`;
      const s = new RedisStorage({ url: REDIS_URL, prefix, ...o });
      made.set(s, { prefix });
      return s;
    },
    reopen(s, o = {}) {
      const { prefix } = made.get(s)!;
      const r = new RedisStorage({ url: REDIS_URL, prefix, ...o });
      made.set(r, { prefix });
      return r;
    },
  },
];

/** Where a storage keeps its data (for child processes to open the same). */
export function whereOf(s: SessionStorage): { table?: string; path?: string; prefix?: string } {
  return made.get(s) ?? {};
}

/** Closes `s` and removes what it stored (tables, keys, file). */
export async function dispose(s: SessionStorage): Promise<void> {
  const where = made.get(s) ?? {};
  await s.close();
  if (where.path) rmSync(dirname(where.path), { recursive: true, force: true });
  if (where.table && PG_URL) {
    const { Client } = require('pg') as {
      Client: new (
        o: object,
      ) => { connect(): Promise<void>; query(q: string): Promise<unknown>; end(): Promise<void> };
    };
    const c = new Client({ connectionString: PG_URL });
    await c.connect();
    for (const t of ['', '_leases', '_schema', '_peers'])
      await c.query(`DROP TABLE IF EXISTS "${where.table}${t}"`);
    await c.end();
  }
  if (where.prefix && REDIS_URL) {
    const Redis = require('ioredis') as typeof import('ioredis').Redis;
    const r = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${where.prefix}*`, 'COUNT', 1000);
      if (keys.length) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await r.quit();
  }
}

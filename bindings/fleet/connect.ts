// One call to set a fleet up on its engines: the session storage, the roster beside it,
// and, with Redis, the bus for routed calls and the update streams. PostgreSQL or Redis
// for workers on many machines; SQLite for workers on one machine (routed calls and
// update streams then still need a Redis URL).

import { loadDriver } from '../storage/drivers';
import { type PgPool, PostgresStorage } from '../storage/postgres';
import { RedisStorage } from '../storage/redis';
import { SqliteStorage } from '../storage/sqlite';
import type { SessionStorage } from '../storage/types';
import { type BusRedis, RedisBus } from './bus';
import type { Roster } from './roster';
import { PostgresRoster } from './roster-postgres';
import { RedisRoster, type RedisRosterClient } from './roster-redis';
import { SqliteRoster } from './roster-sqlite';
import { RedisUpdateStream, type StreamRedis } from './stream';

export type FleetConfig =
  | {
      kind: 'postgres';
      connectionString: string;
      table?: string;
      poolSize?: number;
      redisUrl?: string;
      prefix?: string;
      shards?: number;
    }
  | { kind: 'redis'; url: string; prefix?: string; shards?: number }
  | { kind: 'sqlite'; path: string; table?: string; redisUrl?: string; prefix?: string; shards?: number };

export interface FleetConnection {
  storage: SessionStorage;
  roster: Roster;
  /** With Redis: routed calls. */
  bus?: RedisBus;
  /** With Redis: the update streams. */
  updates?: RedisUpdateStream;
  /** The Redis connection for commands, if any (a stream reader needs one of its own). */
  redis?: unknown;
  close(): Promise<void>;
}

type AnyRedis = RedisRosterClient & BusRedis & StreamRedis;

function redisClient(url: string): AnyRedis {
  const Redis = loadDriver<new (url: string, o: object) => AnyRedis>('ioredis');
  // Commands from many sessions at once share round trips.
  return new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
}

export async function connectFleet(config: FleetConfig): Promise<FleetConnection> {
  const redisUrl = config.kind === 'redis' ? config.url : config.redisUrl;
  const redis = redisUrl ? redisClient(redisUrl) : undefined;
  const prefix = config.prefix ?? 'tmt:';
  let storage: SessionStorage;
  let roster: Roster;
  let pool: PgPool | undefined;
  if (config.kind === 'postgres') {
    const pg = loadDriver<{ Pool: new (o: object) => PgPool }>('pg');
    pool = new pg.Pool({ connectionString: config.connectionString, max: config.poolSize ?? 10 });
    pool.on?.('error', () => {});
    storage = new PostgresStorage({ pool, table: config.table });
    roster = new PostgresRoster({ pool, table: config.table, storage });
  } else if (config.kind === 'redis') {
    storage = new RedisStorage({ client: redis!, prefix });
    roster = new RedisRoster({ client: redis!, prefix });
  } else {
    storage = new SqliteStorage({ path: config.path, table: config.table });
    roster = new SqliteRoster({ path: config.path, table: config.table, storage });
  }
  const bus = redis ? new RedisBus({ client: redis, prefix }) : undefined;
  const updates = redis ? new RedisUpdateStream({ client: redis, prefix, shards: config.shards }) : undefined;
  return {
    storage,
    roster,
    bus,
    updates,
    redis,
    async close() {
      await bus?.close();
      await roster.close();
      await storage.close();
      await pool?.end();
      await redis?.quit().catch(() => {});
    },
  };
}

// The storages the storage benches compare: memory, SQLite files (one per
// variant), and PostgreSQL / Redis when TMT_PG_URL / TMT_REDIS_URL are set
// (eval "$(bash scripts/services.sh)"). Each subject makes storages over the
// same data (a "reopen") and drops that data afterwards.
import { join } from 'node:path';
import {
  MemoryStorage,
  PostgresStorage,
  RedisStorage,
  type SessionStorage,
  SqliteStorage,
  type SqliteStorageOptions,
} from '../dist/storage';

export interface StorageSubject {
  name: string;
  /** A storage over this subject's data (memory: always the same map). */
  make(): SessionStorage;
  /** Drops what the bench stored (tables, keys); the SQLite files go with `dir`. */
  cleanup(): Promise<void>;
}

export interface SqliteVariant {
  name: string;
  file: string;
  options?: Omit<SqliteStorageOptions, 'path'>;
}

/** `tag` keeps the PostgreSQL table and Redis prefix apart from other runs. */
export function storageSubjects(
  dir: string,
  tag: string,
  sqlite: SqliteVariant[] = [{ name: 'sqlite', file: `${tag}.db` }],
): StorageSubject[] {
  const memory = new MemoryStorage();
  const none = async () => {};
  const list: StorageSubject[] = [{ name: 'memory', make: () => memory, cleanup: none }];
  for (const v of sqlite) {
    list.push({
      name: v.name,
      make: () => new SqliteStorage({ path: join(dir, v.file), ...v.options }),
      cleanup: none,
    });
  }
  const table = `bench_${tag}_${process.pid}`;
  const pgUrl = process.env.TMT_PG_URL;
  if (pgUrl) {
    list.push({
      name: 'postgres',
      make: () => new PostgresStorage({ connectionString: pgUrl, table }),
      cleanup: async () => {
        const s = new PostgresStorage({ connectionString: pgUrl, table });
        const pool = (s as unknown as { pool: { query(q: string): Promise<unknown> } }).pool;
        for (const t of ['', '_leases', '_schema', '_peers'])
          await pool.query(`DROP TABLE IF EXISTS "${table}${t}"`);
        await s.close();
      },
    });
  } else console.log('  (TMT_PG_URL not set: postgres skipped)');
  const redisUrl = process.env.TMT_REDIS_URL;
  if (redisUrl) {
    const prefix = `bench-${tag}:${process.pid}:`;
    list.push({
      name: 'redis',
      make: () => new RedisStorage({ url: redisUrl, prefix }),
      cleanup: async () => {
        const s = new RedisStorage({ url: redisUrl, prefix });
        await Promise.all((await s.list()).map((n) => s.delete(n)));
        await s.close();
      },
    });
  } else console.log('  (TMT_REDIS_URL not set: redis skipped)');
  return list;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function inFlight<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

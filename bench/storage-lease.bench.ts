// Lease renewal for N stored sessions (default 10,000; TMT_BENCH_LEASE_N) in
// each adapter: one renewal round, i.e. every lease renewed once, done
//  - one by one: renew() per lease, 64 in flight (what per-session timers add
//    up to, granted more concurrency than they would have), and
//  - batched: renewMany() in batches of 500, 4 in flight (what LeaseRenewer
//    does), and as one renewMany() of all N.
// Printed: rounds per second (ratio against one by one), wall time per round,
// and storage calls per round. At the default TTL (30 s, renewed every
// 10 s) one round is what 10 s of renewals cost. PostgreSQL and Redis rows need
// TMT_PG_URL / TMT_REDIS_URL (eval "$(bash scripts/services.sh)").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RENEW_BATCH } from '../bindings/session/lease-renewer';
import {
  type LeaseClaim,
  MemoryStorage,
  PostgresStorage,
  RedisStorage,
  type SessionStorage,
  SqliteStorage,
} from '../bindings/storage';
import { type Measured, report } from './harness';

const N = Number(process.env.TMT_BENCH_LEASE_N ?? 10_000);
const TTL = 30_000;
const REPEATS = 3;

async function inFlight<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** The best of REPEATS runs, in ms. */
async function bestMs(fn: () => Promise<void>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    await fn();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

interface Subject {
  name: string;
  storage: SessionStorage;
  cleanup: () => Promise<void>;
}

function subjects(dir: string): Subject[] {
  const table = `bench_lease_${process.pid}`;
  const list: Subject[] = [{ name: 'memory', storage: new MemoryStorage(), cleanup: async () => {} }];
  const sqlite = new SqliteStorage({ path: join(dir, 'lease.db') });
  list.push({ name: 'sqlite', storage: sqlite, cleanup: () => sqlite.close() });
  const pgUrl = process.env.TMT_PG_URL;
  if (pgUrl) {
    const pg = new PostgresStorage({ connectionString: pgUrl, table });
    list.push({
      name: 'postgres',
      storage: pg,
      cleanup: async () => {
        const pool = (pg as unknown as { pool: { query(q: string): Promise<unknown> } }).pool;
        for (const t of ['', '_leases', '_schema']) await pool.query(`DROP TABLE IF EXISTS "${table}${t}"`);
        await pg.close();
      },
    });
  } else console.log('  (TMT_PG_URL not set: postgres skipped)');
  const redisUrl = process.env.TMT_REDIS_URL;
  if (redisUrl) {
    const prefix = `bench-lease:${process.pid}:`;
    const redis = new RedisStorage({ url: redisUrl, prefix });
    list.push({
      name: 'redis',
      storage: redis,
      cleanup: async () => {
        const claims = Array.from({ length: N }, (_, i) => `s${i}`);
        await inFlight(claims, 64, (n) => redis.release(n, 'bench'));
        await redis.close();
      },
    });
  } else console.log('  (TMT_REDIS_URL not set: redis skipped)');
  return list;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tmt-bench-lease-'));
  const claims: LeaseClaim[] = Array.from({ length: N }, (_, i) => ({ name: `s${i}`, owner: 'bench' }));
  const batches: LeaseClaim[][] = [];
  for (let i = 0; i < N; i += RENEW_BATCH) batches.push(claims.slice(i, i + RENEW_BATCH));
  try {
    for (const { name, storage: s, cleanup } of subjects(dir)) {
      try {
        await inFlight(claims, 64, (c) => s.acquire(c.name, c.owner, TTL));
        const one = await bestMs(() => inFlight(claims, 64, (c) => s.renew(c.name, c.owner, TTL)));
        const batched = await bestMs(() =>
          inFlight(batches, 4, async (b) => {
            const r = await s.renewMany!(b, TTL);
            if (r.some((x) => x.kind !== 'renewed')) throw new Error('a bench lease was not renewed');
          }),
        );
        const whole = await bestMs(async () => {
          await s.renewMany!(claims, TTL);
        });
        // Storage calls (statements / scripts); ioredis pipelines concurrent calls, so
        // Redis's one-by-one calls share fewer network round trips than that.
        const trips = (n: number) => (name === 'memory' ? 'no I/O' : `${n} call${n === 1 ? '' : 's'}`);
        const redisTrips = Math.ceil(N / 1000);
        const rows: Measured[] = [
          { name: `${name}: renew() one by one`, opsPerSec: 1000 / one },
          { name: `${name}: renewMany() x${batches.length} of ${RENEW_BATCH}`, opsPerSec: 1000 / batched },
          { name: `${name}: renewMany() of all ${N}`, opsPerSec: 1000 / whole },
        ];
        report(`lease renewal round, ${N} leases, ${name} (rounds/s)`, rows, rows[0].name);
        console.log(
          `  per round: one by one ${one.toFixed(1)} ms (${trips(N)}); ` +
            `batches ${batched.toFixed(1)} ms (${trips(batches.length)}); ` +
            `one call ${whole.toFixed(1)} ms (${trips(name === 'redis' ? redisTrips : 1)})`,
        );
        console.log(
          `  at TTL 30 s (a round every 10 s): ${(N / 10).toFixed(0)} storage calls/s one by one, ` +
            `${(batches.length / 10).toFixed(1)}/s batched; a round lasts ${((one / 10_000) * 100).toFixed(2)}% vs ` +
            `${((batched / 10_000) * 100).toFixed(2)}% of its 10 s`,
        );
      } finally {
        await cleanup();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A fleet of worker processes against a TestDc in this process, with real PostgreSQL and
// Redis: 3 workers run 2,000 sessions (roster and leases in PostgreSQL, updates out on
// Redis Streams); TestDc pushes updates to every account while one worker is SIGKILLed.
// Every one of its sessions runs elsewhere within the lease TTL plus a claim interval
// (plus the time to open them), no session is ever held by two workers (the workers'
// ownership log, and the DC's own record: a key's requests never come from an earlier
// owner's MTProto session once a later one has run), and every update the DC pushed
// reaches the stream at least once. The same with the roster in Redis and in SQLite, at
// a smaller scale.
import test from 'ava';
import type { FleetConfig } from '../bindings';
import { TestDc } from '../bindings/testing';
import {
  balanced,
  connectFleet,
  exclusive,
  holdings,
  overlaps,
  readStreams,
  seed,
  sleep,
  startWorker,
  until,
  type WorkerProcess,
} from './fleet-support';
import { dispose, PG_URL, REDIS_URL, unique } from './storage-support';

const TTL = 4000;
const INTERVAL = 1000;

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared' });
});
test.after.always(async () => {
  await dc?.stop();
});

function configFor(kind: 'postgres' | 'redis' | 'sqlite'): FleetConfig {
  const prefix = `${unique('fl')}:`;
  if (kind === 'postgres')
    return {
      kind,
      connectionString: PG_URL!,
      table: unique('fl').toLowerCase(),
      redisUrl: REDIS_URL,
      prefix,
    };
  if (kind === 'redis') return { kind, url: REDIS_URL!, prefix };
  const { mkdtempSync } = require('node:fs') as typeof import('node:fs');
  const { join } = require('node:path') as typeof import('node:path');
  const { tmpdir } = require('node:os') as typeof import('node:os');
  return {
    kind,
    path: join(mkdtempSync(join(tmpdir(), 'tmt-fleet-')), 'fleet.db'),
    redisUrl: REDIS_URL,
    prefix,
  };
}

async function scenario(
  t: import('ava').ExecutionContext,
  kind: 'postgres' | 'redis' | 'sqlite',
  sessions: number,
  rounds: number,
) {
  const fleet = configFor(kind);
  const conn = await connectFleet(fleet);
  const workers: WorkerProcess[] = [];
  let reading = true;
  let reader: Promise<number> | undefined;
  try {
    // With Redis the sessions run PFS: a takeover reuses the stored temporary keys.
    const pfs = kind === 'redis';
    const seeded = await seed(conn, dc, sessions, 'f', { pfs });
    for (const id of ['w1', 'w2', 'w3'])
      workers.push(
        startWorker(fleet, dc, `${id}-${process.pid}`, { leaseTtlMs: TTL, claimIntervalMs: INTERVAL }),
      );
    await Promise.all(workers.map((w) => w.line(/^ready /)));
    const all = () => {
      let n = 0;
      for (const held of holdings(workers).values()) n += held.size;
      return n;
    };
    const spread = await until(() => all() === sessions, 'every session open', 60_000);
    const even = await until(() => balanced(workers, sessions), 'the fair shares', 60_000);
    t.log(`${sessions} sessions open over 3 workers in ${spread} ms, even ${even} ms later`);

    const got = new Map<string, Set<number>>();
    reader = readStreams(fleet, REDIS_URL!, got, () => !reading);
    const expected = new Map<string, number[]>();
    const push = () => {
      for (const name of seeded.names) {
        const e = dc.updates.newMessage(seeded.userOf.get(name)!, { text: 'x' });
        expected.set(name, [...(expected.get(name) ?? []), e.end]);
      }
    };
    for (let r = 0; r < rounds; r++) {
      push();
      await sleep(200);
    }
    // Mid-traffic: the first worker dies.
    const victim = workers[0];
    const lost = [...holdings(workers).get(victim.id)!];
    const lostLeases = workers.map((w) => w.lines.filter((l) => l.startsWith('lost ')).length);
    t.log(
      `held at SIGKILL: ${[...holdings(workers).values()].map((h) => h.size).join(', ')}; leases lost so far: ${lostLeases.join(', ')}`,
    );
    const keysBefore = dc.stats.authKeysCreated;
    victim.p.kill('SIGKILL');
    victim.killedAt = Date.now();
    await victim.exited;
    for (let r = 0; r < rounds; r++) {
      push();
      await sleep(200);
    }
    const survivors = workers.slice(1);
    const movedIn = await until(
      () => {
        const held = holdings(survivors);
        return lost.every((n) => [...held.values()].some((s) => s.has(n)));
      },
      'the dead worker’s sessions open elsewhere',
      TTL + INTERVAL + 30_000,
    );
    const openedMs = Date.now() - victim.killedAt;
    // Claimed once the lease lapsed, at the next claim tick, or the one after when a loaded
    // machine made the first late (CI under the full suite: 6.5 s with TTL 4 s and ticks of
    // 1 s); within two TTLs, so a failover that waited for another lease still fails. The
    // opens follow (their time is the benchmark's business).
    const claimedAt = lost.map((n) => claimTime(survivors, n));
    const claimMs = Math.max(...claimedAt) - victim.killedAt;
    t.log(
      `${lost.length} sessions of the killed worker claimed elsewhere ${claimMs} ms and open ${openedMs} ms after SIGKILL`,
    );
    const claimBound = TTL + 2 * INTERVAL + 2000;
    if (claimMs > claimBound) t.log(survivors.map((w) => w.stderr().slice(-3000)).join('\n'));
    t.true(claimMs <= claimBound, `claimed ${claimMs} ms after SIGKILL`);
    if (pfs) t.is(dc.stats.authKeysCreated, keysBefore, 'the takeover made no key exchange');
    void movedIn;

    const missing = () =>
      seeded.names.filter((n) => {
        const seen = got.get(n);
        return !seen || !expected.get(n)!.every((p) => seen.has(p));
      });
    try {
      await until(() => missing().length === 0, 'every pushed update in the stream', 60_000);
    } catch (e) {
      const held = holdings(survivors);
      for (const n of missing().slice(0, 5)) {
        const who = [...held].filter(([, set]) => set.has(n)).map(([w]) => w);
        t.log(`${n}: expected ${expected.get(n)} got ${[...(got.get(n) ?? [])]} held by ${who}`);
        for (const w of workers) for (const l of w.lines) if (l.includes(` ${n} `)) t.log(`  ${w.id}: ${l}`);
        t.log(`  killed at ${victim.killedAt}`);
      }
      t.log(survivors.map((w) => w.stderr().slice(-2000)).join('\n'));
      throw e;
    }
    t.deepEqual(overlaps(workers), [], 'no session held by two workers at once (ownership log)');
    // The DC's view: per key, once a later owner's MTProto session ran a request, the
    // earlier one never runs another.
    const lastSession = new Map<bigint, bigint>();
    const retired = new Map<bigint, Set<bigint>>();
    const keys = new Set(seeded.keyOf.values());
    const interleaved: string[] = [];
    for (const x of dc.executions()) {
      if (!keys.has(x.authKeyId)) continue;
      const prev = lastSession.get(x.authKeyId);
      if (prev === x.sessionId) continue;
      const gone = retired.get(x.authKeyId) ?? new Set<bigint>();
      if (gone.has(x.sessionId)) interleaved.push(`${x.authKeyId}: ${x.method}`);
      if (prev !== undefined) gone.add(prev);
      retired.set(x.authKeyId, gone);
      lastSession.set(x.authKeyId, x.sessionId);
    }
    t.deepEqual(interleaved, [], 'the DC never saw an earlier owner run after a later one');
    t.is(dc.stats.duplicates, 0);
  } finally {
    reading = false;
    await reader?.catch(() => 0);
    for (const w of workers) if (w.killedAt === undefined) w.send('stop');
    await Promise.all(
      workers.map((w) => Promise.race([w.exited, sleep(15_000).then(() => w.p.kill('SIGKILL'))])),
    );
    await conn.close();
    await cleanup(fleet);
  }
}

/** When a survivor claimed `name` last (ms). */
function claimTime(workers: readonly WorkerProcess[], name: string): number {
  let at = 0;
  for (const w of workers)
    for (const l of w.lines) {
      const m = l.match(/^claimed (\S+) \S+ (\d+)$/);
      if (m && m[1] === name) at = Math.max(at, Number(m[2]));
    }
  return at;
}

async function cleanup(fleet: FleetConfig): Promise<void> {
  // The storage suites' disposal covers the sessions' tables and keys; the roster's go too.
  if (fleet.kind === 'postgres') {
    const { Client } = require('pg') as typeof import('pg');
    const c = new Client({ connectionString: PG_URL });
    await c.connect();
    for (const s of ['', '_leases', '_schema', '_roster', '_workers'])
      await c.query(`DROP TABLE IF EXISTS "${fleet.table}${s}"`);
    await c.end();
  }
  if (fleet.kind === 'sqlite') {
    const { rmSync } = require('node:fs') as typeof import('node:fs');
    const { dirname } = require('node:path') as typeof import('node:path');
    rmSync(dirname(fleet.path), { recursive: true, force: true });
  }
  if (fleet.prefix) {
    const { RedisStorage } = require('../bindings') as typeof import('../bindings');
    void RedisStorage;
    const Redis = require('ioredis') as typeof import('ioredis').Redis;
    const r = new Redis(REDIS_URL!);
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${fleet.prefix}*`, 'COUNT', 1000);
      if (keys.length) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await r.quit();
  }
  void dispose;
}

const servers = Boolean(PG_URL && REDIS_URL);
(servers ? test.serial : test.skip)('postgres: 2,000 sessions over 3 workers, SIGKILL one mid-traffic', (t) =>
  exclusive(() => scenario(t, 'postgres', 2000, 3)),
);
(servers ? test.serial : test.skip)(
  'redis: 300 sessions with PFS over 3 workers, SIGKILL one mid-traffic (temporary keys reused)',
  (t) => scenario(t, 'redis', 300, 3),
);
(servers ? test.serial : test.skip)('sqlite: 300 sessions over 3 workers, SIGKILL one mid-traffic', (t) =>
  exclusive(() => scenario(t, 'sqlite', 300, 3)),
);

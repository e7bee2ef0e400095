// The fleet (bindings/fleet): worker processes (demo/fleet-worker.ts) against a TestDc in
// this process, everything in a redis-server the bench starts for itself (installed by
// scripts/services.sh).
//  1. claim and open rate of one worker (2,000 stored sessions), beside opening the same
//     number of stored sessions directly with Session.open in this process;
//  2. failover: 1,000 sessions over 3 workers (lease TTL 3 s, ticks every 0.5 s), one
//     SIGKILLed: per session, the time from SIGKILL until a routed call to it is answered
//     again; p50 and p99 (target: TTL + 2 s at p99);
//  3. routed calls/s (FleetClient.call from this process, 64 in flight, to 100 sessions of
//     one worker) beside direct Session.call on 100 sessions of this process (target 30%);
//  4. 10,000 sessions over 4 workers: memory per session (workers' RSS growth) and storage
//     calls per second at steady state (Redis commands processed, all clients), beside
//     what one call per session per renewal period would cost.
// TMT_BENCH_FLEET_N scales step 4 (default 10,000); TMT_BENCH_FLEET_STEPS=open,failover,
// routed,steady picks steps.
import { randomBytes } from 'node:crypto';
import { ask, holdings, ownRedis, seed, startWorker, type WorkerProcess } from '../__test__/fleet-support';
import {
  connectFleet,
  FleetClient,
  type FleetConfig,
  type FleetConnection,
  RedisStorage,
  SessionRegistry,
} from '../bindings';
import { TestDc } from '../bindings/testing';
import { type Measured, opsPerSecondAsync, report } from './harness';

/** A redis-server of the bench's own (its command counts are the fleet's alone). */
let REDIS: string | undefined;
const BIG = Number(process.env.TMT_BENCH_FLEET_N ?? 10_000);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(done: () => boolean, ms: number): Promise<number> {
  const start = Date.now();
  while (!done()) {
    if (Date.now() - start > ms) throw new Error('timed out');
    await sleep(25);
  }
  return Date.now() - start;
}

const opened = (workers: WorkerProcess[]) => [...holdings(workers).values()].reduce((a, h) => a + h.size, 0);

async function withFleet<T>(fn: (fleet: FleetConfig, conn: FleetConnection) => Promise<T>): Promise<T> {
  const fleet: FleetConfig = {
    kind: 'redis',
    url: REDIS!,
    prefix: `bench${randomBytes(4).toString('hex')}:`,
  };
  const conn = await connectFleet(fleet);
  try {
    return await fn(fleet, conn);
  } finally {
    const r = conn.redis as {
      scan(...a: unknown[]): Promise<[string, string[]]>;
      del(...k: string[]): Promise<number>;
    };
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${fleet.prefix}*`, 'COUNT', 5000);
      if (keys.length) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await conn.close();
  }
}

async function stopAll(workers: WorkerProcess[]): Promise<void> {
  for (const w of workers) if (w.killedAt === undefined) w.send('stop');
  await Promise.all(
    workers.map((w) => Promise.race([w.exited, sleep(30_000).then(() => w.p.kill('SIGKILL'))])),
  );
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function openRate(dc: TestDc): Promise<void> {
  const n = 2000;
  const rows: Measured[] = [];
  await withFleet(async (fleet, conn) => {
    const s = await seed(conn, dc, n, 'open');
    void s;
    const w = startWorker(fleet, dc, `open-${process.pid}`, {
      leaseTtlMs: 30_000,
      claimIntervalMs: 500,
      capacity: n,
    });
    await w.line(/^ready /);
    const ms = await waitFor(() => opened([w]) === n, 120_000);
    rows.push({ name: `fleet worker: claim + open (${n})`, opsPerSec: (n * 1000) / ms });
    await stopAll([w]);
  });
  await withFleet(async (_fleet, conn) => {
    const s = await seed(conn, dc, n, 'direct');
    const reg = new SessionRegistry();
    const start = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < n; i += 32) {
      const part = await Promise.all(
        s.names.slice(i, i + 32).map((name) =>
          reg.open(dc.dcId, undefined, {
            address: { host: dc.host, port: dc.port },
            rsaKeys: [dc.rsaPublicKey.pem],
            init: { apiId: 1 },
            name,
            storage: conn.storage,
            updates: { catchUp: true, isBot: true },
          }),
        ),
      );
      ids.push(...part);
    }
    rows.push({ name: `Session.open, stored (${n})`, opsPerSec: (n * 1000) / (Date.now() - start) });
    await Promise.all(ids.map((id) => reg.close(id)));
  });
  report('claim and open rate per worker (sessions/s; one worker, 32 opens at a time)', rows, rows[1].name);
}

async function failover(dc: TestDc): Promise<void> {
  const n = 1000;
  const ttl = 3000;
  await withFleet(async (fleet, conn) => {
    const s = await seed(conn, dc, n, 'fo');
    const workers = ['a', 'b', 'c'].map((id) =>
      startWorker(fleet, dc, `${id}-${process.pid}`, { leaseTtlMs: ttl, claimIntervalMs: 500 }),
    );
    await Promise.all(workers.map((w) => w.line(/^ready /)));
    await waitFor(() => opened(workers) === n, 120_000);
    await sleep(3000); // settled (shedding done)
    const victim = workers[0];
    const lost = [...holdings(workers).get(victim.id)!];
    const client = new FleetClient({ storage: conn.storage, bus: conn.bus!, timeoutMs: 60_000 });
    await client.call(s.names[0], 'help.getNearestDc', {});
    victim.p.kill('SIGKILL');
    const killed = Date.now();
    victim.killedAt = killed;
    const times = await Promise.all(
      lost.map(async (name) => {
        // help.getNearestDc is safe to repeat: an OUTCOME_UNKNOWN (a request the dead
        // worker's subscription took before Redis saw it go) is simply asked again.
        for (;;) {
          try {
            await client.call(name, 'help.getNearestDc', {});
            return Date.now() - killed;
          } catch (e) {
            if ((e as { code?: string }).code !== 'OUTCOME_UNKNOWN') throw e;
          }
        }
      }),
    );
    times.sort((a, b) => a - b);
    console.log(
      `\nfailover (${lost.length} sessions of a SIGKILLed worker, lease TTL ${ttl} ms, ticks 500 ms): ` +
        `answering again after p50 ${pct(times, 50)} ms, p99 ${pct(times, 99)} ms, max ${times.at(-1)} ms ` +
        `(target p99 <= TTL + 2000 = ${ttl + 2000} ms: ${pct(times, 99) <= ttl + 2000 ? 'met' : 'missed'})`,
    );
    await client.close();
    await stopAll(workers);
  });
}

async function routed(dc: TestDc): Promise<void> {
  const n = 100;
  const rows: Measured[] = [];
  await withFleet(async (fleet, conn) => {
    const s = await seed(conn, dc, n, 'rt');
    const w = startWorker(fleet, dc, `rt-${process.pid}`, { leaseTtlMs: 30_000, claimIntervalMs: 500 });
    await w.line(/^ready /);
    await waitFor(() => opened([w]) === n, 60_000);
    const client = new FleetClient({ storage: conn.storage, bus: conn.bus! });
    let i = 0;
    const call = () => client.call(s.names[i++ % n], 'help.getNearestDc', {});
    await opsPerSecondAsync(call, 500, 64);
    rows.push({
      name: 'routed FleetClient.call (64 in flight)',
      opsPerSec: await opsPerSecondAsync(call, 3000, 64),
    });
    await client.close();
    await stopAll([w]);
  });
  await withFleet(async (_fleet, conn) => {
    const s = await seed(conn, dc, n, 'dir');
    const reg = new SessionRegistry();
    const ids = await Promise.all(
      s.names.map((name) =>
        reg.open(dc.dcId, undefined, {
          address: { host: dc.host, port: dc.port },
          rsaKeys: [dc.rsaPublicKey.pem],
          init: { apiId: 1 },
          name,
          storage: conn.storage,
        }),
      ),
    );
    let i = 0;
    const call = () => reg.call(ids[i++ % n], 'help.getNearestDc', {});
    await opsPerSecondAsync(call, 500, 64);
    rows.push({
      name: 'direct Session.call (64 in flight)',
      opsPerSec: await opsPerSecondAsync(call, 3000, 64),
    });
    await Promise.all(ids.map((id) => reg.close(id)));
  });
  report('routed calls against direct calls, same machine (target >= 0.30x)', rows, rows[1].name);
}

async function steadyState(dc: TestDc): Promise<void> {
  const ttl = 15_000;
  await withFleet(async (fleet, conn) => {
    await seed(conn, dc, BIG, 'big');
    const workers = [1, 2, 3, 4].map((i) =>
      startWorker(fleet, dc, `big${i}-${process.pid}`, {
        leaseTtlMs: ttl,
        claimIntervalMs: 5000,
        capacity: BIG,
      }),
    );
    await Promise.all(workers.map((w) => w.line(/^ready /)));
    const idle = await Promise.all(workers.map((w) => ask<{ rss: number }>(w, 'stats')));
    const spread = await waitFor(() => opened(workers) === BIG, 600_000);
    // Settled: shedding over, every lease renewed in step.
    await waitFor(
      () => [...holdings(workers).values()].every((h) => Math.abs(h.size - BIG / 4) <= BIG * 0.03),
      300_000,
    ).catch(() => {});
    await sleep(ttl);
    type Stats = {
      renewBatches: number;
      rss: number;
      sessions: number;
      storageCalls: Record<string, number>;
    };
    const sum = (s: Stats) => Object.values(s.storageCalls).reduce((a, b) => a + b, 0);
    const window = 3 * (ttl / 3);
    const stats0 = await Promise.all(workers.map((w) => ask<Stats>(w, 'stats')));
    await sleep(window);
    const stats1 = await Promise.all(workers.map((w) => ask<Stats>(w, 'stats')));
    // Every storage and roster call the workers made (a batched renewal of 2,500 leases is
    // one call: Redis takes it as scripts of 1,000, pipelined in one round trip).
    const calls = stats1.reduce((a, s, i) => a + sum(s) - sum(stats0[i]), 0) / (window / 1000);
    const kinds = new Map<string, number>();
    stats1.forEach((s, i) => {
      for (const [k, v] of Object.entries(s.storageCalls))
        kinds.set(k, (kinds.get(k) ?? 0) + v - (stats0[i].storageCalls[k] ?? 0));
    });
    const grown = stats1.reduce((a, s, i) => a + (s.rss - idle[i].rss), 0);
    const sessions = stats1.reduce((a, s) => a + s.sessions, 0);
    const batches = stats1.reduce((a, s, i) => a + s.renewBatches - stats0[i].renewBatches, 0);
    const perSession = BIG / (ttl / 3 / 1000);
    console.log(
      `\n${BIG} sessions over 4 workers (spread in ${spread} ms; lease TTL ${ttl} ms, renewals every ${ttl / 3} ms, ticks every 5 s):` +
        `\n  memory per session: ${(grown / sessions / 1024).toFixed(1)} KiB RSS (workers' growth over ${sessions} sessions)` +
        `\n  storage calls at steady state: ${calls.toFixed(2)}/s for the fleet, ${(calls / 4).toFixed(2)}/s per worker` +
        ` (renewal calls: ${batches} in ${window / 1000} s = ${(batches / 4 / (window / (ttl / 3))).toFixed(2)} per worker per period;` +
        ` by kind: ${[...kinds]
          .filter(([, v]) => v > 0)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})` +
        `\n  a renewal per session per period would be ${perSession.toFixed(0)}/s: ${(perSession / Math.max(calls, 0.01)).toFixed(0)}x more`,
    );
    await stopAll(workers);
  });
}

export async function run(): Promise<void> {
  let redis: Awaited<ReturnType<typeof ownRedis>>;
  try {
    redis = await ownRedis();
  } catch {
    console.log('fleet: skipped (no redis-server: bash scripts/services.sh installs it)');
    return;
  }
  REDIS = redis.url;
  void RedisStorage;
  const dc = await TestDc.start({ rsaKey: 'shared' });
  try {
    const steps = { open: openRate, failover, routed, steady: steadyState };
    const only = process.env.TMT_BENCH_FLEET_STEPS?.split(',') ?? Object.keys(steps);
    for (const [name, step] of Object.entries(steps)) if (only.includes(name)) await step(dc);
  } finally {
    await dc.stop();
    redis.p.kill('SIGKILL');
    require('node:fs').rmSync(redis.dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  run().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

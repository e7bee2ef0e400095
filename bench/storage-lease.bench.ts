// Lease renewal for N stored sessions (default 10,000; TMT_BENCH_LEASE_N) in
// each adapter: one renewal round, i.e. every lease renewed once, done
//  - one by one: renew() per lease, 64 in flight (what per-session timers add
//    up to, granted more concurrency than they would have), and
//  - batched: renewMany() in batches of 500, 4 in flight (what LeaseRenewer
//    does), and as one renewMany() of all N.
// Printed: rounds per second (ratio against one by one), wall time per round,
// and storage calls per round. At the default TTL (30 s, renewed every
// 10 s) one round is what 10 s of renewals cost. Then the steady state: N
// leases held for 6 s at a 9 s TTL through per-lease holdLease() timers and
// through LeaseRenewer, counting storage calls per second. PostgreSQL and Redis rows need
// TMT_PG_URL / TMT_REDIS_URL (eval "$(bash scripts/services.sh)").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HeldLease, holdLease, type LeaseClaim, type SessionStorage } from '../dist/storage';
import { LeaseRenewer, RENEW_BATCH } from '../dist/storage/lease-renewer';
import { type Measured, report } from './harness';
import { inFlight, storageSubjects } from './storage-subjects';

const N = Number(process.env.TMT_BENCH_LEASE_N ?? 10_000);
const TTL = 30_000;
const REPEATS = 3;

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

/** Steady state: N leases held for two periods; storage calls per second and leases lost. */
const HOLD_TTL = 9000;
const HOLD_MS = 6000;

async function steady(s: SessionStorage, batched: boolean): Promise<{ callsPerSec: number; lost: number }> {
  let calls = 0;
  // Counts calls on the way through; everything else goes to the real storage.
  const counted = new Proxy(s, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (key !== 'renew' && key !== 'renewMany') return typeof v === 'function' ? v.bind(target) : v;
      return (...args: unknown[]) => {
        calls++;
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const renewer = new LeaseRenewer(counted);
  const held: HeldLease[] = [];
  await inFlight(
    Array.from({ length: N }, (_, i) => `h${i}`),
    64,
    async (name) => {
      const o = { ttlMs: HOLD_TTL, owner: 'bench' };
      held.push(batched ? await renewer.hold(name, o) : await holdLease(counted, name, o));
    },
  );
  calls = 0;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, HOLD_MS));
  const callsPerSec = (calls * 1000) / (performance.now() - start);
  const lost = held.filter((h) => h.lost).length;
  await inFlight(held, 64, (h) => h.release());
  return { callsPerSec, lost };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tmt-bench-lease-'));
  const claims: LeaseClaim[] = Array.from({ length: N }, (_, i) => ({ name: `s${i}`, owner: 'bench' }));
  const batches: LeaseClaim[][] = [];
  for (let i = 0; i < N; i += RENEW_BATCH) batches.push(claims.slice(i, i + RENEW_BATCH));
  try {
    for (const subject of storageSubjects(dir, 'lease')) {
      const name = subject.name;
      const s = subject.make();
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
        for (const batched of [false, true]) {
          const r = await steady(s, batched);
          console.log(
            `  held ${N} for ${HOLD_MS / 1000} s at TTL ${HOLD_TTL / 1000} s, ` +
              `${batched ? 'LeaseRenewer' : 'holdLease() timers'}: ` +
              `${r.callsPerSec.toFixed(1)} storage calls/s, ${r.lost} lost`,
          );
        }
      } finally {
        await s.close();
        await subject.cleanup();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

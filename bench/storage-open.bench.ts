// Opening stored sessions through the real Session.open path (issue #6): for
// N sessions (default 10,000; TMT_BENCH_OPEN_N) kept in each adapter, the time
// to (1) take the lease and load the record, and (2) open: lease + load +
// connect with the stored key to a TestDc (in another process, a fresh one
// per phase) and wait for its pong, no handshake; then close all (final
// write + lease release). The baseline, measured in the same run (first and
// last; the faster counts), opens the same number of keys with
// options.import (no storage). PostgreSQL and Redis rows need TMT_PG_URL /
// TMT_REDIS_URL (eval "$(bash scripts/services.sh)").
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SessionRegistry } from '../dist/session';
import { holdLease, type SessionStorage } from '../dist/storage';
import { type Measured, report } from './harness';
import { type DcControl, forkedDc, type PreparedKey } from './session-dc';
import { inFlight, storageSubjects } from './storage-subjects';

const N = Number(process.env.TMT_BENCH_OPEN_N ?? 10_000);
const IN_FLIGHT = 256;
/** Between phases: the DC finishes closing the last phase's connections. */
const SETTLE_MS = 3000;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

interface Row {
  name: string;
  leaseLoad: number;
  open: number;
  close: number;
}

async function openAll(dc: DcControl, keys: PreparedKey[], storage?: SessionStorage): Promise<Row> {
  const reg = new SessionRegistry();
  const ids: string[] = [];
  let created = 0;
  const client = (e: { kind: string }) => {
    if (e.kind === 'authKeyCreated') created++;
  };
  const base = {
    address: { host: dc.info.host, port: dc.info.port },
    rsaKeys: [dc.info.pem],
    transport: { kind: 'abridged' as const },
  };
  const open = await seconds(() =>
    inFlight(keys, IN_FLIGHT, async (key, i) => {
      const options = storage
        ? { ...base, storage, name: `open-${i}` }
        : { ...base, import: { authKey: key.authKey, serverSalt: key.salt, userId: key.userId } };
      ids.push(await reg.open(2, client, options));
    }),
  );
  if (created !== 0 || ids.length !== keys.length)
    throw new Error(`${created} handshakes, ${ids.length} open`);
  const close = await seconds(() => inFlight(ids, IN_FLIGHT, (id) => reg.close(id)));
  return { name: storage ? 'stored' : 'import', leaseLoad: 0, open, close };
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tmt-bench-open-'));
  const rows: Row[] = [];
  // Each phase gets a fresh TestDc (server-side sessions of earlier phases would weigh on later ones).
  const withDc = async <T>(fn: (dc: DcControl, keys: PreparedKey[]) => Promise<T>): Promise<T> => {
    await settle();
    const dc = await forkedDc();
    try {
      return await fn(dc, await dc.addKeys(N));
    } finally {
      await dc.stop();
    }
  };
  try {
    console.log(
      `  ${N} sessions, TestDc in another process (a fresh one per phase), ${IN_FLIGHT} opens in flight`,
    );
    const baseline = await withDc(async (dc, keys) => {
      await openAll(dc, keys.slice(0, Math.min(N, 500))); // warm-up (JIT), not reported
      return openAll(dc, keys);
    });
    for (const subject of storageSubjects(dir, 'open')) {
      const row = await withDc(async (dc, keys) => {
        const s = subject.make();
        await inFlight(keys, IN_FLIGHT, (key, i) =>
          s.save({
            name: `open-${i}`,
            dcId: 2,
            authKeys: { 2: { authKey: key.authKey, serverSalt: key.salt, timeOffset: 0 } },
            userId: BigInt(key.userId),
            updatedAt: Date.now(),
          }),
        );
        const names = keys.map((_, i) => `open-${i}`);
        const leaseLoad = await seconds(() =>
          inFlight(names, IN_FLIGHT, async (name) => {
            const lease = await holdLease(s, name, { ttlMs: 60_000 });
            if (!(await s.load(name))) throw new Error(`${name} missing`);
            await lease.release();
          }),
        );
        await settle();
        const opened = await openAll(dc, keys, s);
        await s.close();
        await subject.cleanup();
        return { ...opened, name: subject.name, leaseLoad };
      });
      rows.push(row);
    }
    // The baseline again at the end (drift on a shared machine): the faster of the two counts.
    const again = await withDc((dc, keys) => openAll(dc, keys));
    rows.unshift({
      name: 'import (no storage)',
      leaseLoad: 0,
      open: Math.min(baseline.open, again.open),
      close: Math.min(baseline.close, again.close),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const r of rows) {
    const ms = (x: number) => `${(x * 1000).toFixed(0).padStart(6)} ms`;
    console.log(
      `  ${r.name.padEnd(20)} lease+load ${r.leaseLoad ? ms(r.leaseLoad) : '       -'}   ` +
        `open ${ms(r.open)}   close ${ms(r.close)}`,
    );
  }
  const rate = (pick: (r: Row) => number) => (r: Row) =>
    ({ name: r.name, opsPerSec: N / pick(r) }) as Measured;
  report(
    `take the lease and load ${N} stored sessions, sessions/s`,
    rows.filter((r) => r.leaseLoad).map(rate((r) => r.leaseLoad)),
    'memory',
  );
  report(
    `Session.open ${N} sessions from storage (stored key, no handshake), sessions/s`,
    rows.map(rate((r) => r.open)),
    'import (no storage)',
  );
  report(
    `Session.close ${N} stored sessions (flush + release), sessions/s`,
    rows.map(rate((r) => r.close)),
    'import (no storage)',
  );
}

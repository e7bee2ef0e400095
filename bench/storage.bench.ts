// Session storage: time to save 10,000 sessions and to open (load) them again,
// per adapter, beside the in-memory adapter measured in the same run.
// Loads are timed two ways: one load() per session, 64 in flight (as a
// registry opening its sessions would), and one loadMany() for all of them.
// PostgreSQL and Redis rows need TMT_PG_URL / TMT_REDIS_URL
// (eval "$(bash scripts/services.sh)"); without them those rows are skipped.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionRecord } from '../dist/storage';
import { type Measured, report } from './harness';
import { inFlight, storageSubjects } from './storage-subjects';

const N = 10_000;
const IN_FLIGHT = 64;

function record(name: string): SessionRecord {
  return {
    name,
    dcId: 2,
    authKeys: { 2: { authKey: randomBytes(256), serverSalt: 0x1234_5678_9abc_def0n, timeOffset: 1 } },
    userId: 123_456_789n,
    isBot: true,
    updatesState: { pts: 100, qts: 0, date: 1_700_000_000, seq: 5 },
    updatedAt: Date.now(),
  };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tmt-bench-'));
  const subjects = storageSubjects(dir, 'load', [
    { name: 'sqlite (synchronous=full)', file: 'full.db' },
    { name: 'sqlite (synchronous=normal)', file: 'normal.db', options: { synchronous: 'normal' } },
  ]);

  const names = Array.from({ length: N }, (_, i) => `bench-${i}`);
  const records = new Map(names.map((n) => [n, record(n)]));
  const saves: Measured[] = [];
  const loads: Measured[] = [];
  const bulk: Measured[] = [];
  try {
    for (const subject of subjects) {
      const s = subject.make();
      await s.list(); // connect and create tables outside the timing
      const save = await time(() => inFlight(names, IN_FLIGHT, (n) => s.save(records.get(n)!)));
      await s.close();
      // Open from storage: a fresh storage object, as after a restart.
      const fresh = subject.make();
      await fresh.list();
      let found = 0;
      const load = await time(() =>
        inFlight(names, IN_FLIGHT, async (n) => {
          if (await fresh.load(n)) found++;
        }),
      );
      const many = await time(async () => {
        found += (await fresh.loadMany(names)).size;
      });
      if (found !== 2 * N) throw new Error(`${subject.name}: found ${found} of ${2 * N}`);
      await fresh.close();
      await subject.cleanup();
      console.log(
        `  ${subject.name.padEnd(28)} save ${(save * 1000).toFixed(0).padStart(6)} ms   ` +
          `load ${(load * 1000).toFixed(0).padStart(6)} ms   loadMany ${(many * 1000).toFixed(0).padStart(6)} ms`,
      );
      saves.push({ name: subject.name, opsPerSec: N / save });
      loads.push({ name: subject.name, opsPerSec: N / load });
      bulk.push({ name: subject.name, opsPerSec: N / many });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  report(`save ${N} sessions (${IN_FLIGHT} in flight), sessions/s`, saves, 'memory');
  report(`open ${N} sessions: load() each (${IN_FLIGHT} in flight), sessions/s`, loads, 'memory');
  report(`open ${N} sessions: one loadMany(), sessions/s`, bulk, 'memory');
}

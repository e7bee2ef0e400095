// Redis, holding the whole fleet (records, leases, roster, bus, streams), stops for 10
// seconds (SIGSTOP of a Redis server of this test's own, so no other suite notices):
// the workers' sessions stop sending once their leases lapse (the DC sees nothing from
// them until Redis is back), and afterwards they are claimed and opened again and every
// update the DC pushed, before, during and after the outage, reaches the stream.
import { rmSync } from 'node:fs';
import test from 'ava';
import type { FleetConfig } from '../bindings';
import { TestDc } from '../bindings/testing';
import {
  balanced,
  connectFleet,
  exclusive,
  holdings,
  overlaps,
  ownRedis,
  readStreams,
  seed,
  sleep,
  startWorker,
  until,
  type WorkerProcess,
} from './fleet-support';
import { REDIS_URL } from './storage-support';

const TTL = 3000;

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared' });
});
test.after.always(async () => {
  await dc?.stop();
});

(REDIS_URL ? test.serial : test.skip)(
  'Redis stopped for 10 s: sessions stop sending when their leases lapse, then resume with nothing lost',
  (t) => exclusive(() => outage(t)),
);

async function outage(t: import('ava').ExecutionContext): Promise<void> {
  const redis = await ownRedis();
  const fleet: FleetConfig = { kind: 'redis', url: redis.url, prefix: 'fo:' };
  const conn = await connectFleet(fleet);
  const workers: WorkerProcess[] = [];
  let reading = true;
  let reader: Promise<number> | undefined;
  try {
    const n = 60;
    const seeded = await seed(conn, dc, n, 'out');
    for (const id of ['a', 'b'])
      workers.push(startWorker(fleet, dc, `${id}-${process.pid}`, { leaseTtlMs: TTL, claimIntervalMs: 500 }));
    await Promise.all(workers.map((w) => w.line(/^ready /)));
    const total = () => [...holdings(workers).values()].reduce((a, h) => a + h.size, 0);
    await until(() => total() === n, 'every session open', 60_000);
    await until(() => balanced(workers, n), 'the fair shares', 60_000);
    const got = new Map<string, Set<number>>();
    reader = readStreams(fleet, redis.url, got, () => !reading);
    const expected = new Map<string, number[]>();
    const push = () => {
      for (const name of seeded.names) {
        const e = dc.updates.newMessage(seeded.userOf.get(name)!, { text: 'x' });
        expected.set(name, [...(expected.get(name) ?? []), e.end]);
      }
    };
    push();
    await sleep(500);

    const stoppedAt = Date.now();
    redis.p.kill('SIGSTOP');
    await sleep(1000);
    push(); // during the outage: the sessions still up get them, but cannot append
    await sleep(9000);
    const resumedAt = Date.now();
    redis.p.kill('SIGCONT');
    // Every session stopped on its own when its lease lapsed.
    const lostLines = workers.flatMap((w) => w.lines.filter((l) => l.startsWith('lost ')));
    t.is(new Set(lostLines.map((l) => l.split(' ')[1])).size, n, 'every session found its lease lost');
    const keys = new Set(seeded.keyOf.values());
    const quietFrom = stoppedAt + TTL + 300;
    const during = dc
      .executions()
      .filter((x) => keys.has(x.authKeyId) && x.at >= quietFrom && x.at < resumedAt);
    t.deepEqual(
      during.map((x) => x.method),
      [],
      'nothing sent between the leases lapsing and Redis coming back',
    );

    await until(() => total() === n, 'every session open again', 60_000);
    push();
    const missing = () =>
      seeded.names.filter((name) => {
        const seen = got.get(name);
        return !seen || !expected.get(name)!.every((p) => seen.has(p));
      });
    await until(() => missing().length === 0, 'every update in the stream', 60_000);
    t.deepEqual(overlaps(workers), []);
  } finally {
    reading = false;
    redis.p.kill('SIGCONT');
    await reader?.catch(() => 0);
    for (const w of workers) w.send('stop');
    await Promise.all(
      workers.map((w) => Promise.race([w.exited, sleep(15_000).then(() => w.p.kill('SIGKILL'))])),
    );
    await conn.close();
    redis.p.kill('SIGKILL');
    rmSync(redis.dir, { recursive: true, force: true });
  }
}

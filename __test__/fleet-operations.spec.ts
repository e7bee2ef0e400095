// The fleet in operation, worker processes against a TestDc in this process, roster and
// everything else in Redis: routed calls across an ownership move (a random_id request
// is retried on the new owner and runs once; one without is OUTCOME_UNKNOWN; a graceful
// move loses nothing), a worker frozen past its leases (SIGSTOP) that sends nothing new
// on waking and gives its sessions up, and a worker joining: ownership evens out with a
// bounded number of moves.
import test from 'ava';
import { FleetClient, type FleetConfig, FleetError, RpcError } from '../bindings';
import { TestDc } from '../bindings/testing';
import {
  balanced,
  connectFleet,
  exclusive,
  holdings,
  overlaps,
  seed,
  sleep,
  startWorker,
  until,
  type WorkerProcess,
} from './fleet-support';
import { REDIS_URL, unique } from './storage-support';

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', refuseRandomIdRepeats: true });
});
test.after.always(async () => {
  await dc?.stop();
});

const it = (title: string, fn: (t: import('ava').ExecutionContext) => Promise<void>) =>
  (REDIS_URL ? test.serial : test.skip)(title, (t) => exclusive(() => fn(t)));

/** The client's clock (ms) when it stamped `msgId`. */
const msgIdTimeMs = (msgId: bigint) =>
  Number(msgId >> 32n) * 1000 + Number(((BigInt.asUintN(64, msgId) & 0xffffffffn) * 1000n) >> 32n);

async function setUp(n: number, count: number, s: { ttl: number; interval: number; moves?: number }) {
  const fleet: FleetConfig = { kind: 'redis', url: REDIS_URL!, prefix: `${unique('fo')}:` };
  const conn = await connectFleet(fleet);
  const seeded = await seed(conn, dc, n, 'fo');
  const workers: WorkerProcess[] = [];
  const add = (i: number) => {
    const w = startWorker(fleet, dc, `w${i}-${process.pid}-${unique('')}`, {
      leaseTtlMs: s.ttl,
      claimIntervalMs: s.interval,
      maxMovesPerTick: s.moves,
    });
    workers.push(w);
    return w;
  };
  for (let i = 0; i < count; i++) add(i);
  await Promise.all(workers.map((w) => w.line(/^ready /)));
  const total = () => [...holdings(workers).values()].reduce((a, h) => a + h.size, 0);
  await until(() => total() === n, 'every session open', 60_000);
  await until(() => balanced(workers, n), 'the fair shares', 60_000);
  const close = async () => {
    for (const w of workers) if (w.killedAt === undefined) w.send('stop');
    await Promise.all(
      workers.map((w) => Promise.race([w.exited, sleep(15_000).then(() => w.p.kill('SIGKILL'))])),
    );
    const Redis = require('ioredis') as typeof import('ioredis').Redis;
    const r = new Redis(REDIS_URL!);
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${fleet.prefix}*`, 'COUNT', 1000);
      if (keys.length) await r.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    await r.quit();
    await conn.close();
  };
  return { fleet, conn, seeded, workers, add, close };
}

it('routed calls: a random_id call in flight when its owner dies runs once; one without is OUTCOME_UNKNOWN', async (t) => {
  const f = await setUp(20, 2, { ttl: 3000, interval: 500 });
  const client = new FleetClient({ storage: f.conn.storage, bus: f.conn.bus!, timeoutMs: 20_000 });
  try {
    const send = (name: string, randomId: bigint) =>
      client.call(name, 'messages.sendMessage', { peer: { _: 'inputPeerSelf' }, message: 'hi', randomId });
    // Steady: every session answers, from this process, wherever it runs.
    let next = 1n;
    const steady = await Promise.all(f.seeded.names.map((n) => send(n, next++)));
    t.is(steady.length, 20);
    t.is((await client.call(f.seeded.names[0], 'help.getNearestDc', {})).thisDc, dc.dcId);

    // Calls the victim has run but not answered (answers held back), then SIGKILL.
    const victim = f.workers[0];
    const mine = [...holdings(f.workers).get(victim.id)!].slice(0, 5);
    t.true(mine.length > 0);
    dc.delayReplies(60_000);
    const ids = mine.map(() => next++);
    const sends = mine.map((n, i) =>
      send(n, ids[i]).then(
        (v) => ({ ok: true as const, v }),
        (e: unknown) => ({ ok: false as const, e }),
      ),
    );
    const plain = mine.map((n) =>
      client.call(n, 'help.getNearestDc', {}).then(
        () => 'answered',
        (e: unknown) => (e instanceof FleetError ? e.code : String(e)),
      ),
    );
    const ran = (rid: bigint) =>
      dc.executions('messages.sendMessage').some((x) => x.randomId === String(rid));
    await until(() => ids.every(ran), 'the victim ran the calls', 10_000);
    await until(
      () => dc.executions('help.getNearestDc').length >= mine.length + 1,
      'the victim ran the plain calls',
      10_000,
    );
    victim.p.kill('SIGKILL');
    victim.killedAt = Date.now();
    await victim.exited;
    dc.clearFaults();

    const outcomes = await Promise.all(sends);
    for (const o of outcomes) {
      // Retried on the new owner with the same random_id: the server refuses the repeat
      // unrun (it ran once, on the dead owner).
      t.false(o.ok);
      t.true(o.e instanceof RpcError && o.e.errorMessage === 'RANDOM_ID_DUPLICATE', String(o.e));
    }
    t.true(client.retries.randomId >= mine.length, 'retried on the new owner');
    t.deepEqual(
      await Promise.all(plain),
      mine.map(() => 'OUTCOME_UNKNOWN'),
    );
    for (const rid of ids) {
      t.is(dc.executions('messages.sendMessage').filter((x) => x.randomId === String(rid)).length, 1);
    }
    t.is(dc.stats.duplicates, 0);
    t.true(dc.stats.randomIdRepeats >= mine.length);

    // A graceful move (the owner stops) while calls are in flight: every call answered.
    const other = f.workers[1];
    f.add(2);
    await f.workers[2].line(/^ready /);
    const moving = f.seeded.names.map((n) => send(n, next++));
    other.send('stop');
    const results = await Promise.allSettled(moving);
    t.deepEqual(
      results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason)),
      [],
    );
    t.deepEqual(overlaps(f.workers), []);
  } finally {
    dc.clearFaults();
    await client.close();
    await f.close();
  }
});

it('a worker frozen past its leases sends nothing new on waking and gives its sessions up', async (t) => {
  const ttl = 2000;
  const f = await setUp(40, 2, { ttl, interval: 400 });
  try {
    const [frozen, other] = f.workers;
    const had = [...holdings(f.workers).get(frozen.id)!];
    t.true(had.length > 0);
    const from = frozen.lines.length;
    const stoppedAt = Date.now();
    frozen.p.kill('SIGSTOP');
    await until(
      () => had.every((n) => holdings([other]).get(other.id)!.has(n)),
      'the other worker runs them',
      ttl * 6,
    );
    const takenAt = dc.now();
    await sleep(500);
    const wokenAt = Date.now();
    frozen.p.kill('SIGCONT');
    // It gives every session up (each lease found lost), and goes on as a worker.
    await until(
      () => had.every((n) => frozen.lines.slice(from).some((l) => l.startsWith(`lost ${n} `))),
      'the woken worker giving its sessions up',
      10_000,
    );
    // The DC's record: what the frozen worker's MTProto sessions ran after the takeover
    // was stamped before the freeze (writes under way at SIGSTOP), nothing later.
    const keys = new Set(had.map((n) => f.seeded.keyOf.get(n)!));
    const newest = new Map<bigint, bigint>();
    for (const x of dc.executions()) if (keys.has(x.authKeyId)) newest.set(x.authKeyId, x.sessionId);
    const midpoint = (stoppedAt + wokenAt) / 2;
    const late = dc
      .executions()
      .filter((x) => keys.has(x.authKeyId) && x.sessionId !== newest.get(x.authKeyId) && x.at >= takenAt);
    t.deepEqual(
      late.filter((x) => msgIdTimeMs(x.msgId) >= midpoint).map((x) => x.method),
      [],
      'nothing stamped after the freeze ran',
    );
    // (The frozen worker's own log says "lost" only on waking: the DC's record above is the
    // check of what it did in between.)
    t.true(late.length <= had.length, 'at most one write under way per session at SIGSTOP');
  } finally {
    await f.close();
  }
});

it('a worker joins: ownership evens out within ±10% of the fair share, with bounded moves', async (t) => {
  const n = 300;
  const moves = 15;
  const f = await setUp(n, 2, { ttl: 3000, interval: 500, moves });
  try {
    // Settled first: two workers near half each.
    await until(
      () => [...holdings(f.workers).values()].every((h) => Math.abs(h.size - n / 2) <= n * 0.05),
      'two workers even',
      60_000,
    );
    const before = f.workers.map((w) => w.lines.length);
    const joinedAt = Date.now();
    f.add(2);
    const share = n / 3;
    const took = await until(
      () => [...holdings(f.workers).values()].every((h) => Math.abs(h.size - share) <= share * 0.1),
      'three workers within 10% of the fair share',
      60_000,
    );
    t.log(`even within ±10% ${took} ms after the join (${Date.now() - joinedAt} ms)`);
    const shed = f.workers
      .slice(0, 2)
      .map((w, i) => w.lines.slice(before[i]).filter((l) => l.startsWith('closed ')).length);
    const total = shed.reduce((a, b) => a + b, 0);
    t.log(`sessions moved: ${shed.join(' + ')} = ${total} (the new worker's share is ${share})`);
    t.true(total <= share * 1.2, `moves bounded: ${total}`);
    // Per tick: at most `moves` a worker (spans of its "closed" lines).
    for (const [i, w] of f.workers.slice(0, 2).entries()) {
      const at = w.lines
        .slice(before[i])
        .filter((l) => l.startsWith('closed '))
        .map((l) => Number(l.split(' ')[3]));
      const ticks = Math.max(1, Math.ceil((Math.max(...at, 0) - Math.min(...at, 0)) / 500) + 1);
      t.true(at.length <= ticks * moves, `worker ${i}: ${at.length} moves over ${ticks} ticks`);
    }
    t.deepEqual(overlaps(f.workers), []);
  } finally {
    await f.close();
  }
});

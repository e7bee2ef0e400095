// The shared timer wheel of the session drivers (bindings/session/timers.ts):
// owners wake in due order, once; cancelled alarms never fire; a dead head keeps
// nothing alive.

import test from 'ava';
import { TimerWheel, type Wakeable } from '../bindings/session/timers';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `done()` holds (a loaded machine delays timers; no test asserts timing). */
async function until(done: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await sleep(10);
}

test('owners wake in due order, each once, and cancelled ones never', async (t) => {
  const wheel = new TimerWheel();
  const woke: string[] = [];
  const owner = (name: string): Wakeable => ({ wake: () => void woke.push(name) });
  const now = Date.now();
  wheel.add(owner('c'), now + 60);
  wheel.add(owner('a'), now + 10);
  const cancelled = wheel.add(owner('x'), now + 20);
  wheel.add(owner('b'), now + 30);
  wheel.cancel(cancelled);
  await until(() => woke.length >= 3);
  await sleep(30);
  t.deepEqual(woke, ['a', 'b', 'c']);
  t.is(wheel.size, 0);
});

test('an owner may re-schedule from wake, and a throwing owner does not stop the others', async (t) => {
  const wheel = new TimerWheel();
  let ticks = 0;
  const again: Wakeable = {
    wake: (now) => {
      if (++ticks < 3) wheel.add(again, now + 5);
    },
  };
  let other = 0;
  wheel.add(
    {
      wake: () => {
        throw new Error('boom');
      },
    },
    Date.now(),
  );
  wheel.add({ wake: () => void other++ }, Date.now());
  wheel.add(again, Date.now() + 5);
  await until(() => ticks >= 3 && other >= 1);
  await sleep(30);
  t.is(ticks, 3);
  t.is(other, 1);
});

test('random schedules come out sorted', async (t) => {
  const wheel = new TimerWheel();
  const got: number[] = [];
  const base = Date.now() + 20;
  const offsets = Array.from({ length: 200 }, () => Math.floor(Math.random() * 50));
  const alarms = offsets.map((o) => wheel.add({ wake: () => void got.push(o) }, base + o));
  // Cancel every third one.
  const kept = offsets.filter((_, i) => i % 3 !== 0);
  alarms.forEach((a, i) => {
    if (i % 3 === 0) wheel.cancel(a);
  });
  await sleep(150);
  t.deepEqual(
    got,
    [...kept].sort((a, b) => a - b),
  );
});

test('keepalive through the wheel: an idle session pings its DC every interval, and stops once closed', async (t) => {
  const { SessionRegistry } = await import('../bindings');
  const { TestDc } = await import('../bindings/testing');
  const { randomBytes } = await import('node:crypto');
  const dc = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
  try {
    const authKey = randomBytes(256);
    const { salt } = dc.addAuthKey(authKey, { userId: 7 });
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, {
      address: { host: dc.host, port: dc.port },
      rsaKeys: [dc.rsaPublicKey.pem],
      import: { authKey, serverSalt: salt, userId: 7 },
      keepalive: { intervalMs: 100 },
    });
    const before = dc.stats.packetsIn;
    const start = Date.now();
    await until(() => dc.stats.packetsIn - before >= 3);
    const elapsed = Date.now() - start;
    const pings = dc.stats.packetsIn - before;
    t.true(pings >= 3, `${pings} packets after ${elapsed} ms at one ping per 100 ms`);
    await reg.close(id);
    const closed = dc.stats.packetsIn;
    await sleep(250);
    t.is(dc.stats.packetsIn, closed, 'no ping after close');
  } finally {
    await dc.stop();
  }
});

// The update engine wired into sessions (`updates: { catchUp: true }`) over real sockets
// against TestDc: ordered updates through `Session.ordered()` and `delivered` events,
// 10,000 updates with 20% of pushes lost, reordered and duplicated; back-pressure that
// never blocks RPC answers; a restart from the stored committed state redelivering
// exactly what was not taken.

import test from 'ava';
import { MemoryStorage, type SessionEvent, SessionRegistry } from '../bindings';
import type { OrderedUpdate } from '../bindings/session';
import { TestDc } from '../bindings/testing';
import type { DeliveredUpdate } from '../bindings/updates';
import { API, compare, faultyStream, seenOfDelivered, until, warmUp } from './updates-scenario';

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', updateLog: { sliceSize: 100 } });
});
test.after.always(async () => {
  await dc?.stop();
});

const options = (extra: object = {}) => ({
  address: { host: dc.host, port: dc.port },
  rsaKeys: [dc.rsaPublicKey.pem],
  init: { apiId: API.apiId },
  reconnect: { baseMs: 20, capMs: 200 },
  updates: { catchUp: true },
  ...extra,
});

/** Reads `ordered()` into `into` until the session closes. */
function drain(reg: SessionRegistry, id: string, into: DeliveredUpdate[]): Promise<void> {
  return (async () => {
    for await (const u of reg.ordered(id)) if (u.kind === 'update') into.push(u);
  })();
}

test.serial(
  '10,000 updates, 20% of pushes lost, reordered, duplicated: each once, in order, through ordered()',
  async (t) => {
    const bot = dc.accounts.addBot();
    const reg = new SessionRegistry();
    const events: SessionEvent[] = [];
    const id = await reg.open(2, (e) => e.kind !== 'rpcResult' && events.push(e), options());
    await reg.loginBot(id, bot.token as string, API);
    const delivered: DeliveredUpdate[] = [];
    const reading = drain(reg, id, delivered);
    const warm = warmUp(dc, bot.id, 50);
    t.true(await until(() => compare(warm.expected, seenOfDelivered(delivered)).exact, 10_000), 'warm-up');
    delivered.length = 0;
    const { expected, stats } = faultyStream(
      dc,
      bot.id,
      { drop: 0.2, duplicate: 0.1, reorderWindow: 16, seed: 7, dropConnectionsEvery: 4000 },
      { count: 10_000, channels: warm.channels, qtsShare: 0.02 },
    );
    // The last pushes may be lost with nothing after them to show it: a reconnect tells.
    await new Promise((r) => setTimeout(r, 200));
    dc.dropConnections();
    const done = await until(
      () => compare(expected, seenOfDelivered(delivered)).delivered === 10_000,
      60_000,
    );
    const result = compare(expected, seenOfDelivered(delivered));
    t.log(
      `pushes ${JSON.stringify(stats)}; differences: ${dc.executions('updates.getDifference').length} common, ${dc.executions('updates.getChannelDifference').length} channel`,
    );
    t.true(done, JSON.stringify(result));
    t.like(result, { delivered: 10_000, missing: 0, duplicates: 0, outOfOrderBoxes: 0, exact: true });
    // The client heard the same updates (`delivered`), and no raw `update` events.
    t.is(events.filter((e) => e.kind === 'delivered').length >= 10_000, true);
    t.false(events.some((e) => e.kind === 'update'));
    await reg.close(id);
    await reading;
  },
);

test.serial(
  'back-pressure: a consumer that does not read holds the updates, RPC answers keep coming',
  async (t) => {
    const bot = dc.accounts.addBot();
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, options({ updatesQueueSize: 50 }));
    await reg.loginBot(id, bot.token as string, API);
    const iterator = reg.ordered(id)[Symbol.asyncIterator]();
    // Nobody reads while 2,000 updates come.
    const { expected } = faultyStream(dc, bot.id, {}, { count: 2000, channels: [] });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => reg.call(id, 'help.getNearestDc', {}, { timeoutMs: 3000 })),
    );
    t.is(answers.length, 20);
    t.true(Date.now() - started < 3000, 'answered while the updates wait');
    // Now read them all: each once, in order.
    const delivered: DeliveredUpdate[] = [];
    const done = until(() => compare(expected, seenOfDelivered(delivered)).delivered === 2000, 30_000);
    (async () => {
      for (;;) {
        const r = await iterator.next();
        if (r.done) return;
        if ((r.value as OrderedUpdate).kind === 'update') delivered.push(r.value as DeliveredUpdate);
      }
    })();
    t.true(await done);
    t.like(compare(expected, seenOfDelivered(delivered)), { missing: 0, duplicates: 0, outOfOrderBoxes: 0 });
    await reg.close(id);
  },
);

test.serial(
  'a restart resumes from the committed state: only what was not taken comes again, nothing is lost',
  async (t) => {
    const bot = dc.accounts.addBot();
    const storage = new MemoryStorage();
    const stored = options({ name: `bot-${bot.id}`, storage, persist: { saveDelayMs: 10 } });
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, { ...stored, updates: { catchUp: true, ack: 'manual' } });
    await reg.loginBot(id, bot.token as string, API);
    const first: DeliveredUpdate[] = [];
    const reading = (async () => {
      for await (const u of reg.ordered(id)) if (u.kind === 'update') first.push(u);
    })();
    const a = faultyStream(dc, bot.id, {}, { count: 300, channels: [] });
    t.true(await until(() => first.length >= 300, 10_000));
    // The application took the first 200 only (manual acknowledgement), then stops.
    const taken = first[199];
    reg.acknowledge(id, taken.token);
    await reg.close(id);
    await reading;
    // While it is down, 100 more.
    const b = faultyStream(dc, bot.id, {}, { count: 100, channels: [] });
    const reg2 = new SessionRegistry();
    const id2 = await reg2.open(2, undefined, stored);
    const second: DeliveredUpdate[] = [];
    const reading2 = drain(reg2, id2, second);
    const both = new Map([['common', [...a.expected.get('common')!, ...b.expected.get('common')!]]]);
    t.true(await until(() => compare(b.expected, seenOfDelivered(second)).delivered === 100, 10_000));
    const redelivered = second.filter((u) => (u.pts ?? 0) <= (first.at(-1)?.pts ?? 0));
    t.is(redelivered[0]?.pts, (taken.pts ?? 0) + 1, 'resumes right after the last taken update');
    t.is(redelivered.length, first.length - 200, 'exactly the updates not taken come again');
    t.like(compare(both, seenOfDelivered([...first.slice(0, 200), ...second])), {
      missing: 0,
      duplicates: 0,
    });
    await reg2.close(id2);
    await reading2;
  },
);

test('ordered() needs the engine; updates() is the raw stream without it', async (t) => {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, options({ updates: undefined }));
  t.throws(() => reg.ordered(id), { message: /updates: \{ catchUp: true \}/ });
  t.truthy(reg.updates(id));
  await reg.close(id);
  const id2 = await reg.open(2, undefined, options());
  t.throws(() => reg.updates(id2), { message: /ordered/ });
  await reg.close(id2);
});

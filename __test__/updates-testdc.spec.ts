// The update engine over real sockets: a bot session against TestDc through the public
// Session API, the engine run by UpdateDriver (its requests made with Session.call, the
// session's `update` events pushed into it, reconnects told to it). 10,000 updates across
// the common box and 50 channels, with 20% of the pushes dropped, the rest reordered and
// duplicated, and every connection dropped now and then: each arrives exactly once and in
// order. Also RPC results that move pts (sendMessage, deleteMessages) and a restart from
// the committed state.

import test from 'ava';
import { SessionRegistry, type TL } from '../bindings';
import { TestDc } from '../bindings/testing';
import { type DeliveredUpdate, UpdateDriver, type UpdateDriverOptions } from '../bindings/updates';
import { API, compare, faultyStream, seenOfDelivered, until, warmUp } from './updates-scenario';

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', updateLog: { sliceSize: 100 } });
});
test.after.always(async () => {
  await dc?.stop();
});

/** A logged-in bot session whose updates and reconnects feed an UpdateDriver. */
async function botWithEngine(options: Partial<UpdateDriverOptions> = {}) {
  const bot = dc.accounts.addBot();
  const reg = new SessionRegistry();
  const delivered: DeliveredUpdate[] = [];
  let driver: UpdateDriver | undefined;
  let connects = 0;
  const id = await reg.open(
    2,
    (e) => {
      if (e.kind === 'update') driver?.push(e.update);
      else if (e.kind === 'connected' && ++connects > 1) driver?.connectionRestored();
    },
    {
      address: { host: dc.host, port: dc.port },
      rsaKeys: [dc.rsaPublicKey.pem],
      init: { apiId: API.apiId },
      reconnect: { baseMs: 20, capMs: 200 },
    },
  );
  await reg.loginBot(id, bot.token!, API);
  driver = new UpdateDriver({
    isBot: true,
    call: (method, params) => reg.call(id, method, params as never),
    onUpdate: (u) => delivered.push(u),
    ...options,
  });
  driver.start();
  await driver.settled();
  return { bot, reg, id, driver, delivered };
}

test.serial(
  '10,000 updates over 50 channels and the common box, 20% of pushes lost, reordered, duplicated: each once, in order',
  async (t) => {
    const { bot, reg, id, driver, delivered } = await botWithEngine();
    try {
      const warm = warmUp(dc, bot.id, 50);
      t.true(
        await until(() => compare(warm.expected, seenOfDelivered(delivered)).exact, 10_000),
        'warm-up delivered',
      );
      delivered.length = 0;
      const callsBefore = { ...driver.calls };
      const started = Date.now();
      const { expected, stats: pushStats } = faultyStream(
        dc,
        bot.id,
        { drop: 0.2, duplicate: 0.1, reorderWindow: 16, seed: 42, dropConnectionsEvery: 4000 },
        { count: 10_000, channels: warm.channels, qtsShare: 0.02 },
      );
      // The last pushes may be lost with nothing after them to show it: a reconnect tells.
      await new Promise((r) => setTimeout(r, 200));
      dc.dropConnections();
      const done = await until(
        () => compare(expected, seenOfDelivered(delivered)).delivered === 10_000,
        60_000,
      );
      await driver.settled();
      const result = compare(expected, seenOfDelivered(delivered));
      const calls = Object.fromEntries(
        Object.entries(driver.calls).map(([k, v]) => [k, v - (callsBefore[k] ?? 0)]),
      );
      t.log(`pushes: ${JSON.stringify(pushStats)}`);
      t.log(
        `recovered in ${Date.now() - started} ms with ${JSON.stringify(calls)}; engine ${JSON.stringify(driver.engine.stats)}`,
      );
      t.true(done, JSON.stringify(result));
      t.like(result, {
        expected: 10_000,
        delivered: 10_000,
        missing: 0,
        duplicates: 0,
        outOfOrderBoxes: 0,
        exact: true,
      });
      t.true(pushStats.dropped > 1500, 'a fifth of the pushes were dropped');
      t.true((calls['updates.getDifference'] ?? 0) >= 1);
      t.is(driver.engine.unacknowledged, 0);
      const stored = driver.engine.committedState()!;
      t.is(stored.pts, dc.updates.log.account(bot.id).pts);
      for (const c of warm.channels) t.is(stored.channels[String(c.id)]?.pts, c.pts);
    } finally {
      driver.stop();
      await reg.close(id);
    }
  },
);

test.serial(
  'updatesTooLong instead of pushes and sessions forgotten mid-stream: still each once, in order',
  async (t) => {
    const { bot, reg, id, driver, delivered } = await botWithEngine();
    try {
      const warm = warmUp(dc, bot.id, 10);
      t.true(await until(() => compare(warm.expected, seenOfDelivered(delivered)).exact, 10_000));
      delivered.length = 0;
      const { expected, count, stats } = faultyStream(
        dc,
        bot.id,
        { drop: 0.1, tooLong: 0.02, duplicate: 0.05, reorderWindow: 4, forgetSessionsEvery: 700, seed: 7 },
        { count: 2000, channels: warm.channels, qtsShare: 0.05 },
      );
      dc.dropConnections();
      await until(() => compare(expected, seenOfDelivered(delivered)).delivered === count, 30_000);
      await driver.settled();
      t.log(`pushes ${JSON.stringify(stats)}; calls ${JSON.stringify(driver.calls)}`);
      t.true(stats.tooLong > 0);
      t.like(compare(expected, seenOfDelivered(delivered)), { missing: 0, duplicates: 0, exact: true });
    } finally {
      driver.stop();
      await reg.close(id);
    }
  },
);

test.serial(
  'RPC results move pts: sendMessage (updateShortSentMessage, updates) and deleteMessages (affectedMessages)',
  async (t) => {
    const { bot, reg, id, driver, delivered } = await botWithEngine();
    try {
      const channel = dc.updates.addChannel({ members: [bot.id] });
      driver.engine.setChannel(channel.id, { pts: channel.pts, accessHash: channel.accessHash }, Date.now());
      const call = async <M extends TL.MethodName>(method: M, params: TL.Params<M>) => {
        const r = await reg.call(id, method, params);
        driver.rpcResult(params, r);
        return r;
      };
      const friend = dc.accounts.addUser({ phone: `+1555${Date.now() % 1e7}` });
      const toUser = { _: 'inputPeerUser' as const, userId: friend.id, accessHash: friend.accessHash };
      const sent = await call('messages.sendMessage', { peer: toUser, message: 'one', randomId: 1n });
      t.is(sent._, 'updateShortSentMessage');
      await call('messages.deleteMessages', { id: [1] });
      const inChannel = {
        _: 'inputPeerChannel' as const,
        channelId: channel.id,
        accessHash: channel.accessHash,
      };
      t.is(
        (await call('messages.sendMessage', { peer: inChannel, message: 'two', randomId: 2n }))._,
        'updates',
      );
      dc.updates.newMessage(bot.id, { text: 'pushed' });
      t.true(await until(() => delivered.length >= 4, 5000));
      await driver.settled();
      t.deepEqual(
        delivered.map((d) => [d.source, d.update._, d.box]),
        [
          ['result', 'updateNewMessage', 'common'],
          ['result', 'updateMessageID', 'common'],
          ['result', 'updateNewChannelMessage', channel.id],
          ['push', 'updateNewMessage', 'common'],
        ],
      );
      t.like(delivered[0].update, { message: { message: 'one', peerId: { userId: friend.id } } });
      t.is(driver.calls['updates.getDifference'] ?? 0, 0, 'no gap: the results carried their pts');
      t.like(driver.engine.committedState(), { pts: dc.updates.log.account(bot.id).pts });
    } finally {
      driver.stop();
      await reg.close(id);
    }
  },
);

test.serial(
  'a restart from the committed state redelivers what was not acknowledged, and nothing else',
  async (t) => {
    const { bot, reg, id, driver, delivered } = await botWithEngine({ autoAck: false });
    try {
      const channel = dc.updates.addChannel({ members: [bot.id] });
      driver.engine.setChannel(channel.id, { pts: channel.pts, accessHash: channel.accessHash }, Date.now());
      for (let i = 0; i < 6; i++) {
        dc.updates.newMessage(bot.id, { text: `c${i}` });
        dc.updates.newChannelMessage(channel, { text: `ch${i}` });
      }
      t.true(await until(() => delivered.length === 12, 5000));
      // The application took the first seven.
      driver.acknowledge(delivered[6].token);
      const stored = JSON.parse(JSON.stringify(driver.engine.committedState()));
      driver.stop();
      const taken = seenOfDelivered(delivered.slice(0, 7));
      const again: DeliveredUpdate[] = [];
      const restarted = new UpdateDriver({
        state: stored,
        isBot: true,
        call: (method, params) => reg.call(id, method, params as never),
        onUpdate: (u) => again.push(u),
      });
      restarted.start();
      t.true(await until(() => again.length >= 5, 5000));
      await restarted.settled();
      restarted.stop();
      const redelivered = seenOfDelivered(again);
      const all = seenOfDelivered(delivered);
      for (const [box, ids] of all) {
        const before = taken.get(box) ?? [];
        t.deepEqual(
          redelivered.get(box) ?? [],
          ids.slice(before.length),
          `box ${box}: exactly the unacknowledged`,
        );
      }
    } finally {
      await reg.close(id);
    }
  },
);

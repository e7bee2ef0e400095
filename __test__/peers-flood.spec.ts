// Flood control over real sockets (issue #14), with TestDc's Telegram-like limits
// (bench/peers-burst.ts: the Bot FAQ's 30/s per bot, 1/s per private chat, 20/min per
// group, run 100 times faster). A bot sends 10,000 messages to 500 chats at once:
// - with flood control: zero FLOOD_WAITs, every send delivered (the time is logged; the
//   rate target is `npm run bench peers`'s to check: no timed assertions here);
// - without it (FLOOD_WAITs waited out by the session): every send still arrives, after
//   the FLOOD_WAITs counted here.
// And a FLOOD_WAIT one call drew holds back the next calls to that chat, not the others.

import test from 'ava';
import { AT_RATE_MS, BURST_FLOOD_OPTIONS, burstBot, OPTIMUM_MS, runBurst } from '../bench/peers-burst';
import { SessionRegistry } from '../bindings';
import { TestDc } from '../bindings/testing';

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared' });
});
test.after.always(async () => {
  await dc?.stop();
});

test.serial('10,000 sends to 500 chats under Telegram-like limits: zero FLOOD_WAITs', async (t) => {
  const r = await runBurst(dc, { flood: BURST_FLOOD_OPTIONS }, 'low');
  t.deepEqual(r.failed, []);
  t.is(r.floodWaits, 0);
  t.log(
    `with flood control: ${r.ms.toFixed(0)} ms (server span ${r.serverSpanMs} ms), 0 FLOOD_WAITs; ` +
      `at the limit's rate ${AT_RATE_MS.toFixed(0)} ms, optimum with the burst ${OPTIMUM_MS.toFixed(0)} ms`,
  );
});

test.serial(
  'the same burst without flood control: every send arrives after the FLOOD_WAITs it draws',
  async (t) => {
    const r = await runBurst(dc, { floodWaitThreshold: 60 });
    t.deepEqual(r.failed, []);
    t.true(r.floodWaits > 0);
    t.log(`without flood control: ${r.ms.toFixed(0)} ms, ${r.floodWaits} FLOOD_WAITs`);
  },
);

test.serial(
  'a FLOOD_WAIT one call drew holds back the next calls to that chat, not the others',
  async (t) => {
    const reg = new SessionRegistry();
    const { id, chats } = await burstBot(dc, reg, { flood: true });
    try {
      dc.floodWait('messages.sendMessage', 2, 1);
      const [a, b] = [chats[0], chats[1]];
      const first = reg.call(
        id,
        'messages.sendMessage',
        { peer: a, message: 'one', randomId: 1n },
        { floodWaitThreshold: 5 },
      );
      await new Promise((r) => setTimeout(r, 100));
      const t0 = Date.now();
      // Another chat goes now; the same chat waits out the remembered FLOOD_WAIT (no second one drawn).
      await reg.call(id, 'messages.sendMessage', { peer: b, message: 'two', randomId: 2n });
      const other = Date.now() - t0;
      const before = dc.stats.injectedErrors;
      const third = await reg.call(
        id,
        'messages.sendMessage',
        { peer: a, message: 'three', randomId: 3n },
        { floodWaitThreshold: 5 },
      );
      t.true(Date.now() - t0 >= 1500, 'waited for the remembered FLOOD_WAIT');
      t.true(other < Date.now() - t0, 'the other chat did not wait for it');
      await first;
      t.is(third._, 'updateShortSentMessage');
      t.is(dc.stats.injectedErrors, before, 'no second FLOOD_WAIT drawn');
      // Above the caller's threshold: FloodWaitError with its seconds.
      dc.floodWait('messages.sendMessage', 30, 1);
      const e = await t.throwsAsync(
        reg.call(
          id,
          'messages.sendMessage',
          { peer: chats[2], message: 'x', randomId: 4n },
          { floodWaitThreshold: 10 },
        ),
      );
      t.is((e as { seconds?: number }).seconds, 30);
    } finally {
      await reg.close(id);
    }
  },
);

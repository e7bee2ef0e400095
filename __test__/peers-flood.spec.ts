// Flood control over real sockets (issue #14). TestDc gets Telegram's limits for bots as
// the Bot FAQ gives them (30 sends a second per bot, one a second per private chat, 20 a
// minute per group), run 100 times faster so that the test takes seconds: 3,000/s per
// bot, 100/s per chat, 2,000/min per group, each with a burst of one second's (one
// minute's) worth. A bot sends 10,000 messages to 500 chats (250 users, 250 groups) at once:
// - with flood control (the same limits, the session's burst 5% under the server's):
//   zero FLOOD_WAITs, at 95%+ of the limit's rate (10,000 / 3,000 per second = 3.33 s;
//   logged beside the optimum with the server's whole burst spent at once, 2.33 s);
// - without it (FLOOD_WAITs waited out by the session): every send still arrives, after
//   the FLOOD_WAITs counted here.

import test from 'ava';
import { type FloodPriority, SessionRegistry, type TL } from '../bindings';
import { TestDc, telegramBotLimits } from '../bindings/testing';
import { API } from './updates-scenario';

const SPEED = 100;
const RATE = 30 * SPEED;
const SENDS = 10_000;

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared' });
});
test.after.always(async () => {
  await dc?.stop();
});

let phones = 0;

/** A bot in 250 groups, and 250 users: 500 chats as InputPeers. */
async function setup(reg: SessionRegistry, options: Record<string, unknown>) {
  const bot = dc.accounts.addBot();
  const id = await reg.open(2, undefined, {
    address: { host: dc.host, port: dc.port },
    rsaKeys: [dc.rsaPublicKey.pem],
    init: { apiId: API.apiId },
    ...options,
  });
  await reg.loginBot(id, bot.token!, API);
  const chats: TL.Types['InputPeer'][] = [];
  for (let i = 0; i < 250; i++) {
    const u = dc.accounts.addUser({
      phone: `+1777${process.pid % 1000}${String(++phones).padStart(6, '0')}`,
    });
    chats.push({ _: 'inputPeerUser', userId: u.id, accessHash: u.accessHash });
    const g = dc.updates.addChannel({ members: [bot.id] });
    chats.push({ _: 'inputPeerChannel', channelId: g.id, accessHash: g.accessHash });
  }
  return { id, chats };
}

async function burst(
  reg: SessionRegistry,
  id: string,
  chats: TL.Types['InputPeer'][],
  priority?: FloodPriority,
) {
  const started = performance.now();
  const calls = Array.from({ length: SENDS }, (_, i) =>
    reg.call(
      id,
      'messages.sendMessage',
      { peer: chats[i % chats.length], message: `bulk ${i}`, randomId: BigInt(i + 1) },
      { priority },
    ),
  );
  const queuedMs = performance.now() - started;
  const results = await Promise.allSettled(calls);
  return {
    ms: performance.now() - started,
    queuedMs,
    failed: results.filter((r) => r.status === 'rejected'),
  };
}

test.serial(
  '10,000 sends to 500 chats under Telegram-like limits: zero FLOOD_WAITs at 95%+ of the allowed rate',
  async (t) => {
    dc.setFloodLimits(telegramBotLimits(SPEED));
    const flood = dc.stats.floodWaits;
    const reg = new SessionRegistry();
    const { id, chats } = await setup(reg, {
      flood: {
        limits: {
          global: { count: RATE, perMs: 1000, burst: RATE * 0.95 },
          user: { count: SPEED, perMs: 1000 },
          group: { count: 20 * SPEED, perMs: 60_000 },
        },
        queue: { maxQueued: 20_000 },
      },
    });
    try {
      const { ms, queuedMs, failed } = await burst(reg, id, chats, 'low');
      t.log(`the 10,000 calls were made in ${queuedMs.toFixed(0)} ms`);
      const ex = dc
        .executions('messages.sendMessage')
        .slice(-SENDS)
        .map((e) => e.at);
      const hist: number[] = [];
      for (const at of ex)
        hist[Math.floor((at - ex[0]) / 250)] = (hist[Math.floor((at - ex[0]) / 250)] ?? 0) + 1;
      t.log(`server: first..last ${ex.at(-1)! - ex[0]} ms; per 250 ms: ${hist.join(' ')}`);
      t.deepEqual(failed, []);
      t.is(dc.stats.floodWaits - flood, 0, 'no FLOOD_WAIT');
      // The limit's rate: 10,000 sends at 3,000/s take 3.33 s. The fastest the server allows
      // with its one-second burst spent at once: (10,000 - 3,000) / 3,000/s = 2.33 s.
      const atRate = (SENDS / RATE) * 1000;
      const fastest = ((SENDS - RATE) / RATE) * 1000;
      t.log(
        `with flood control: ${ms.toFixed(0)} ms, 0 FLOOD_WAITs: ${((atRate / ms) * 100).toFixed(0)}% of the limit's rate, ` +
          `${((fastest / ms) * 100).toFixed(0)}% of the burst-and-rate optimum (${fastest.toFixed(0)} ms)`,
      );
      t.true(
        atRate / ms >= 0.95,
        `${ms.toFixed(0)} ms: ${((atRate / ms) * 100).toFixed(1)}% of the allowed rate`,
      );
    } finally {
      await reg.close(id);
      dc.setFloodLimits(null);
    }
  },
);

test.serial(
  'the same burst without flood control: every send arrives after the FLOOD_WAITs it draws',
  async (t) => {
    dc.setFloodLimits(telegramBotLimits(SPEED));
    const flood = dc.stats.floodWaits;
    const reg = new SessionRegistry();
    const { id, chats } = await setup(reg, { floodWaitThreshold: 60 });
    try {
      const { ms, failed } = await burst(reg, id, chats);
      const waits = dc.stats.floodWaits - flood;
      t.log(
        `without flood control: ${ms.toFixed(0)} ms, ${waits} FLOOD_WAITs, ${failed.length} sends failed`,
      );
      t.true(waits > 0);
    } finally {
      await reg.close(id);
      dc.setFloodLimits(null);
    }
  },
);

test.serial(
  'a FLOOD_WAIT one call drew holds back the next calls to that chat, not the others',
  async (t) => {
    const reg = new SessionRegistry();
    const { id, chats } = await setup(reg, { flood: true });
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
      t.true(Date.now() - t0 < 1000);
      const before = dc.stats.injectedErrors;
      const third = await reg.call(
        id,
        'messages.sendMessage',
        { peer: a, message: 'three', randomId: 3n },
        { floodWaitThreshold: 5 },
      );
      t.true(Date.now() - t0 >= 1500, 'waited for the remembered FLOOD_WAIT');
      await first;
      t.is(third._, 'updateShortSentMessage');
      t.is(dc.stats.injectedErrors, before);
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

// The burst of issue #14, shared by __test__/peers-flood.spec.ts (zero FLOOD_WAITs) and
// bench/peers.bench.ts (the time): a bot on TestDc sends 10,000 messages to 500 chats (250
// users, 250 groups) at once, under Telegram's limits for bots as the Bot FAQ gives them
// (30/s per bot, 1/s per private chat, 20/min per group) run `SPEED` times faster so that
// it takes seconds: 3,000/s, 100/s per chat, 2,000/min per group.
import { type FloodPriority, SessionRegistry, type TL } from '../dist';
import { type TestDc, telegramBotLimits } from '../dist/testing';

export const SPEED = 100;
export const RATE = 30 * SPEED;
export const SENDS = 10_000;
const API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };

/** Flood control with TestDc's limits; the session's burst 5% under the server's. */
export const BURST_FLOOD_OPTIONS = {
  limits: {
    global: { count: RATE, perMs: 1000, burst: RATE * 0.95 },
    user: { count: SPEED, perMs: 1000 },
    group: { count: 20 * SPEED, perMs: 60_000 },
  },
  queue: { maxQueued: 20_000 },
};

export interface BurstResult {
  ms: number;
  /** FLOOD_WAITs TestDc answered during the burst. */
  floodWaits: number;
  failed: unknown[];
  /** Time from the server's first execution to its last. */
  serverSpanMs: number;
}

let phones = 0;

/** A logged-in bot in 250 groups, with 250 users: 500 chats as InputPeers. */
export async function burstBot(dc: TestDc, reg: SessionRegistry, options: Record<string, unknown>) {
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
    const phone = `+1777${process.pid % 1000}${String(++phones).padStart(6, '0')}`;
    const u = dc.accounts.addUser({ phone });
    chats.push({ _: 'inputPeerUser', userId: u.id, accessHash: u.accessHash });
    const g = dc.updates.addChannel({ members: [bot.id] });
    chats.push({ _: 'inputPeerChannel', channelId: g.id, accessHash: g.accessHash });
  }
  return { id, chats };
}

/** The burst under TestDc's Telegram-like limits, with the session options given. */
export async function runBurst(
  dc: TestDc,
  options: Record<string, unknown>,
  priority?: FloodPriority,
): Promise<BurstResult> {
  dc.setFloodLimits(telegramBotLimits(SPEED));
  const reg = new SessionRegistry();
  const { id, chats } = await burstBot(dc, reg, options);
  const waits = dc.stats.floodWaits;
  try {
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: SENDS }, (_, i) =>
        reg.call(
          id,
          'messages.sendMessage',
          { peer: chats[i % chats.length], message: `bulk ${i}`, randomId: BigInt(i + 1) },
          { priority },
        ),
      ),
    );
    const ms = performance.now() - started;
    const at = dc
      .executions('messages.sendMessage')
      .slice(-SENDS)
      .map((e) => e.at);
    return {
      ms,
      floodWaits: dc.stats.floodWaits - waits,
      failed: results.filter((r) => r.status === 'rejected'),
      serverSpanMs: at.at(-1)! - at[0],
    };
  } finally {
    await reg.close(id);
    dc.setFloodLimits(null);
  }
}

/** The limit's rate: SENDS at RATE. The optimum with the server's one-second burst spent at once. */
export const AT_RATE_MS = (SENDS / RATE) * 1000;
export const OPTIMUM_MS = ((SENDS - RATE) / RATE) * 1000;

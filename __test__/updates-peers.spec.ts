// Two independent clients through the catch-up scenario of updates-testdc.spec.ts against
// TestDc: Telethon (Python, its own update state machine), which fetches differences and
// so shows that TestDc's getState / getDifference / getChannelDifference behave like
// Telegram's for a client we did not write; and GramJS, which has no gap recovery
// (its catchUp() is a TODO), to count what such a client loses.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import test from 'ava';
import { Api, TelegramClient } from 'telegram';
import { Raw } from 'telegram/events';
import { Logger, LogLevel } from 'telegram/extensions/Logger';
import { StringSession } from 'telegram/sessions';
import { TestDc } from '../bindings/testing';
import { toTestPorts, trust } from './gramjs-support';
import { API, compare, faultyStream, type Seen, see, until, warmUp } from './updates-scenario';

const UPDATES = 10_000;
const CHANNELS = 50;
const FAULTS = { drop: 0.2, duplicate: 0.1, reorderWindow: 16, seed: 42 };

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', updateLog: { sliceSize: 100 } });
  trust(dc.rsaPublicKey);
});
test.after.always(async () => {
  await dc?.stop();
});

/** Telethon in a child process, answering line commands (updates-telethon.py). */
class Telethon {
  private readonly lines: string[] = [];
  private waiting: ((line: string) => void) | undefined;
  private stderr = '';
  constructor(readonly p: ChildProcessWithoutNullStreams) {
    createInterface({ input: p.stdout }).on('line', (line) => {
      const w = this.waiting;
      this.waiting = undefined;
      if (w) w(line);
      else this.lines.push(line);
    });
    p.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d).slice(-4000);
    });
  }
  static start(token: string): Telethon {
    const dir = mkdtempSync(join(tmpdir(), 'testdc-'));
    const pem = join(dir, 'key.pem');
    writeFileSync(pem, dc.rsaPublicKey.pem);
    const p = spawn('python3', [join(__dirname, 'updates-telethon.py'), String(dc.port), '2', pem, token], {
      env: { ...process.env, PYTHONPATH: join(__dirname, '..', '.tmp', 'pydeps') },
    });
    return new Telethon(p);
  }
  line(ms = 30_000): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`telethon said nothing: ${this.stderr}`)), ms);
      this.waiting = (line) => {
        clearTimeout(timer);
        resolve(line);
      };
    });
  }
  send(command: string): void {
    this.p.stdin.write(`${command}\n`);
  }
  async report(): Promise<Seen> {
    this.send('report');
    return new Map(Object.entries(JSON.parse(await this.line()) as Record<string, number[]>));
  }
}

/** Warm-up, then the faulty stream; returns what the log made in the faulty part. */
async function runScenario(botId: bigint, seenNow: () => Promise<Seen>): Promise<Seen> {
  const warm = warmUp(dc, botId, CHANNELS);
  await until(() => false, 0);
  for (let i = 0; i < 200 && !compare(warm.expected, await seenNow()).exact; i++)
    await new Promise((r) => setTimeout(r, 50));
  return faultyStream(dc, botId, FAULTS, { count: UPDATES, channels: warm.channels, qtsShare: 0.02 })
    .expected;
}

test.serial('Telethon catches up against TestDc with a fifth of the pushes dropped', async (t) => {
  const bot = dc.accounts.addBot();
  const telethon = Telethon.start(bot.token!);
  try {
    t.is(await telethon.line(), 'ready');
    const expected = await runScenario(bot.id, () => telethon.report());
    await new Promise((r) => setTimeout(r, 1000));
    telethon.send('catchup');
    t.is(await telethon.line(), 'caught');
    // Telethon applies a difference's state before its other_updates, so the positioned
    // updates there (the bot's qts updates, updateBotStopped) count as seen and are dropped
    // (messagebox.py apply_difference_type); its messages come in new_messages and are kept.
    // So its pts boxes (common and channels) must be whole; its qts losses are reported.
    const messages = new Map([...expected].filter(([box]) => box !== 'qts'));
    let result = compare(messages, await telethon.report());
    for (let i = 0; i < 60 && result.missing > 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      result = compare(messages, await telethon.report());
    }
    const qts = compare(new Map([['qts', expected.get('qts') ?? []]]), await telethon.report());
    t.log(`Telethon, messages: ${JSON.stringify(result)}; qts updates: ${JSON.stringify(qts)}`);
    t.log(`TestDc answered ${JSON.stringify(methodCounts())}`);
    t.like(result, { missing: 0, duplicates: 0, outOfOrderBoxes: 0 });
    t.true(dc.executions('updates.getDifference').length > 0);
    t.true(dc.executions('updates.getChannelDifference').length > 0);
  } finally {
    telethon.send('quit');
    telethon.p.kill();
  }
});

function methodCounts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of ['updates.getState', 'updates.getDifference', 'updates.getChannelDifference'])
    out[m] = dc.executions(m).length;
  return out;
}

test.serial('GramJS through the same scenario: what a client without gap recovery loses', async (t) => {
  const bot = dc.accounts.addBot();
  const session = new StringSession('');
  session.setDC(2, '127.0.0.1', 80);
  const client = new TelegramClient(session, API.apiId, API.apiHash, {
    connection: toTestPorts(() => dc.port),
    connectionRetries: 3,
    retryDelay: 100,
    autoReconnect: false,
    baseLogger: new Logger(LogLevel.NONE),
  });
  const seen: Seen = new Map();
  client.addEventHandler((u: Api.TypeUpdate | Api.TypeUpdates) => {
    if (u instanceof Api.UpdateNewMessage || u instanceof Api.UpdateNewChannelMessage) {
      const m = u.message as Api.Message;
      const box = m.peerId instanceof Api.PeerChannel ? m.peerId.channelId.toString() : 'common';
      see(seen, box, m.id);
    } else if (u instanceof Api.UpdateShortMessage || u instanceof Api.UpdateShortChatMessage)
      see(seen, 'common', u.id);
    else if (u instanceof Api.UpdateBotStopped) see(seen, 'qts', u.qts);
  }, new Raw({}));
  try {
    await client.start({ botAuthToken: bot.token! });
    const expected = await runScenario(bot.id, async () => seen);
    // GramJS's catchUp() is a TODO: what it has after the pushes is all it gets.
    await until(() => false, 2000);
    const result = compare(expected, seen);
    t.log(`GramJS: ${JSON.stringify(result)}`);
    t.true(result.missing > 0, 'the dropped pushes are lost for good');
    t.is(result.delivered + result.missing, UPDATES);
  } finally {
    await client.destroy();
  }
});

// The update engine across a crash, with SQLite, PostgreSQL and Redis: a bot process takes
// ordered updates and is SIGKILLed mid-stream; restarted from the stored committed state,
// it gets every update at least once, and the updates it gets again are exactly those
// after the committed position: nothing is lost.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import test from 'ava';
import { TestDc } from '../bindings/testing';
import { parseUpdatesState } from '../bindings/updates';
import { scoped, sleep } from './session-storage-support';
import { adapters, unique, whereOf } from './storage-support';

const CHILD = join(__dirname, 'session-updates-child.ts');
const TTL = 1500;

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared' });
});
test.after.always(async () => {
  await dc?.stop();
});

interface Got {
  box: string;
  pts: number;
  messageId: number;
}

function child(kind: string, where: object, name: string, token?: string) {
  const config = { name, host: dc.host, port: dc.port, pem: dc.rsaPublicKey.pem, ttlMs: TTL, token };
  const p: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, kind, JSON.stringify(where), JSON.stringify(config)],
    { stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
  );
  const got: Got[] = [];
  let ready = false;
  let buf = '';
  let err = '';
  p.stderr?.on('data', (d) => (err += d));
  p.stdout?.on('data', (d) => {
    buf += d;
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line === 'ready') ready = true;
      const m = line.match(/^got (\S+) (\d+) (\d+)$/);
      if (m) got.push({ box: m[1], pts: Number(m[2]), messageId: Number(m[3]) });
    }
  });
  const exited = new Promise<void>((r) => p.on('close', () => r()));
  const until = async (done: () => boolean, what: string, ms = 20_000) => {
    const end = Date.now() + ms;
    while (!done()) {
      if (Date.now() > end || p.exitCode !== null) throw new Error(`child: no ${what} (${err})`);
      await sleep(20);
    }
  };
  return { p, got, exited, ready: () => until(() => ready, 'ready'), until };
}

for (const kind of ['sqlite', 'postgres', 'redis'] as const) {
  const a = adapters.find((x) => x.kind === kind)!;
  const it = a.available ? test.serial : test.skip;

  it(`${kind}: SIGKILL mid-stream, restart: every update at least once, again exactly those not committed`, async (t) => {
    const s = scoped(a);
    t.teardown(() => s.dispose());
    await s.storage.list();
    const bot = dc.accounts.addBot();
    const name = unique('updates');
    const first = child(kind, whereOf(s.storage), name, bot.token);
    await first.ready();
    const sent: number[] = [];
    for (let i = 0; i < 600; i++)
      sent.push(messageIdOf(dc.updates.newMessage(bot.id, { text: `m${i}` }).update));
    await first.until(() => first.got.length >= 300, '300 updates');
    // Mid-stream with something committed: on a loaded machine the first write of the
    // committed state can still be on its way to the store when 300 updates are in.
    for (const end = Date.now() + 10_000; Date.now() < end; await sleep(20)) {
      if ((await s.storage.load(name))?.updatesState != null) break;
    }
    first.p.kill('SIGKILL');
    await first.exited;
    // What the crashed process had committed.
    const committed = parseUpdatesState((await s.storage.load(name))?.updatesState);
    t.true(committed.pts > 0, 'something was committed');
    const seenBefore = new Set(first.got.map((g) => g.pts));
    for (let i = 0; i < 100; i++)
      sent.push(messageIdOf(dc.updates.newMessage(bot.id, { text: `n${i}` }).update));
    await sleep(TTL + 300); // the dead owner's lease runs out
    const second = child(kind, whereOf(s.storage), name);
    await second.until(() => second.got.some((g) => g.messageId === sent.at(-1)), 'the last update', 30_000);
    second.p.kill('SIGKILL');
    await second.exited;
    const all = new Set([...first.got, ...second.got].map((g) => g.messageId));
    t.deepEqual(
      sent.filter((id) => !all.has(id)),
      [],
      'none lost',
    );
    const again = second.got.filter((g) => seenBefore.has(g.pts)).map((g) => g.pts);
    const expected = first.got.filter((g) => g.pts > committed.pts).map((g) => g.pts);
    t.deepEqual(again, expected, 'redelivered: exactly what was past the committed state');
    t.log(`first run took ${first.got.length}, committed pts ${committed.pts}, redelivered ${again.length}`);
  });
}

function messageIdOf(u: { message?: unknown }): number {
  return (u.message as { id: number }).id;
}

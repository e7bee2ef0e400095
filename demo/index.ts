// npm run demo [-- --sessions 500]: telegram-mt end to end on loopback. Starts the
// embedded TestDc, opens N sessions through the public Session API (each creating
// its auth key by a real handshake), sends calls (help.getConfig, then
// messages.sendMessage answered by a handler registered on TestDc), has TestDc push
// updates to every session, prints a summary and closes everything: the process
// then exits by itself.
import { Session, type SessionClient, type SessionId, type TL } from '../bindings';
import { TestDc } from '../bindings/testing';
import { type DemoOptions, parseArgs } from './args';
import { Progress } from './progress';
import { kib, type Memory, memory, percentile, rate } from './stats';

/** Runs `task(i)` for i in 0..count-1, at most `limit` at a time. */
async function pool(count: number, limit: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
}

/** A TestDc that answers messages.sendMessage the way Telegram does for a plain text. */
async function startDc(): Promise<TestDc> {
  const dc = await TestDc.start({ dcId: 2, rsaKey: 'shared' });
  let pts = 0;
  dc.handle('messages.sendMessage', (req) => {
    if (!req.message) throw new Error('MESSAGE_EMPTY');
    pts++;
    return {
      _: 'updateShortSentMessage' as const,
      out: true,
      id: pts,
      pts,
      ptsCount: 1,
      date: Math.floor(dc.now() / 1000),
    };
  });
  return dc;
}

/** An incoming private message, as Telegram pushes it. */
function incoming(n: number, date: number): TL.Types['Updates'] {
  return {
    _: 'updateShortMessage',
    id: 1000 + n,
    userId: 777000n,
    message: `update ${n} from TestDc`,
    pts: 1000 + n,
    ptsCount: 1,
    date,
  };
}

interface Figures {
  keysMs: number;
  callsMs: number;
  calls: number;
  latencies: number[];
  updatesMs: number;
  updates: number;
  memBefore: Memory;
  memAfter: Memory;
}

async function run(o: DemoOptions, dc: TestDc, ids: SessionId[]): Promise<Figures> {
  let updates = 0;
  let onUpdate = () => {};
  const client: SessionClient = {
    update: () => {
      updates++;
      onUpdate();
    },
  };
  const options = {
    address: { host: dc.host, port: dc.port },
    rsaKeys: [dc.rsaPublicKey.pem],
    init: { apiId: 12345, deviceModel: 'telegram-mt demo', appVersion: '0.1.0' },
  };

  // 1. Sessions, each creating its auth key with TestDc (a real handshake). The
  // memory baseline is taken after the first one: loading code and first-use
  // allocations are not a per-session cost.
  let t = performance.now();
  const keysBar = new Progress('sessions + keys', o.sessions);
  ids.push(await Session.open(dc.dcId, client, options));
  keysBar.tick();
  const memBefore = await memory();
  await pool(o.sessions - 1, o.concurrency, async () => {
    ids.push(await Session.open(dc.dcId, client, options));
    keysBar.tick();
  });
  const keysMs = performance.now() - t;
  keysBar.finish(`${rate(o.sessions, keysMs)} keys`);

  // 2. Calls: every session at once, each sending its calls one after the other.
  const perSession = 1 + o.calls;
  const latencies: number[] = [];
  const callsBar = new Progress('calls', o.sessions * perSession);
  const timed = async <T>(p: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    const result = await p();
    latencies.push(performance.now() - start);
    callsBar.tick();
    return result;
  };
  t = performance.now();
  await Promise.all(
    ids.map(async (id, i) => {
      const config = await timed(() => Session.call(id, 'help.getConfig', {}));
      if (config.thisDc !== dc.dcId)
        throw new Error(`session ${id}: help.getConfig names DC ${config.thisDc}`);
      for (let k = 0; k < o.calls; k++) {
        const sent = await timed(() =>
          Session.call(id, 'messages.sendMessage', {
            peer: { _: 'inputPeerSelf' },
            message: `hello ${k} from session ${i}`,
            randomId: BigInt(i) * 1_000_000n + BigInt(k),
          }),
        );
        if (sent._ !== 'updateShortSentMessage') throw new Error(`session ${id}: unexpected ${sent._}`);
      }
    }),
  );
  const callsMs = performance.now() - t;
  callsBar.finish(`${rate(latencies.length, callsMs)} calls`);

  // 3. Updates pushed by TestDc to every session, counted by the client notification.
  const expected = o.sessions * o.updates;
  const updatesBar = new Progress('updates', expected);
  t = performance.now();
  const allArrived = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`only ${updates} of ${expected} updates arrived within 20 s`)),
      20_000,
    );
    const check = () => {
      updatesBar.tick(0);
      if (updates >= expected) {
        clearTimeout(timer);
        resolve();
      }
    };
    onUpdate = () => {
      updatesBar.tick();
      check();
    };
    check();
  });
  for (let n = 0; n < o.updates; n++) {
    const reached = dc.pushUpdate('all', incoming(n, Math.floor(dc.now() / 1000)));
    if (reached < o.sessions) throw new Error(`pushUpdate reached ${reached} of ${o.sessions} sessions`);
  }
  await allArrived;
  const updatesMs = performance.now() - t;
  updatesBar.finish(`${rate(updates, updatesMs)} updates`);

  return {
    keysMs,
    callsMs,
    calls: latencies.length,
    latencies,
    updatesMs,
    updates,
    memBefore,
    memAfter: await memory(),
  };
}

function summary(o: DemoOptions, f: Figures): void {
  const ms = (x: number) => `${x.toFixed(2)} ms`;
  const heapExt = (m: Memory) => m.heap + m.external;
  // Over the sessions opened after the baseline (all but the first).
  const n = o.sessions - 1;
  const perHeap = (heapExt(f.memAfter) - heapExt(f.memBefore)) / n;
  const perRss = (f.memAfter.rss - f.memBefore.rss) / n;
  console.log('\nsummary');
  console.log(`  sessions        ${o.sessions} open, ${o.sessions} auth keys created with TestDc`);
  console.log(`  keys            ${rate(o.sessions, f.keysMs)} (${o.concurrency} handshakes at a time)`);
  console.log(
    `  calls           ${f.calls} in ${(f.callsMs / 1000).toFixed(2)} s: ${rate(f.calls, f.callsMs)}, ` +
      `latency p50 ${ms(percentile(f.latencies, 50))}, p99 ${ms(percentile(f.latencies, 99))}`,
  );
  console.log(`  updates         ${f.updates} received: ${rate(f.updates, f.updatesMs)}`);
  if (o.sessions < 2) {
    console.log('  memory/session  (needs --sessions 2 or more: the baseline is taken after the first)');
    return;
  }
  console.log(
    `  memory/session  heap+external ${kib(perHeap)}, RSS ${kib(perRss)}, sum ${kib(perHeap + perRss)}` +
      ' (after a full GC; client and TestDc sides, both in this process)',
  );
  // Measured here: RSS grows by ~20 MiB over the first ~100 handshakes of a process, then
  // stays flat (allocator high-water mark, not a leak), which dominates small runs.
  console.log(
    "                  RSS includes the handshakes' one-off high-water mark; idle sessions alone:" +
      ' npx tsx bench/index.ts memory',
  );
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--fleet')) {
    // The fleet demo (demo/fleet.ts): its own options are --sessions only.
    const at = argv.indexOf('--sessions');
    const sessions = at >= 0 ? Number(argv[at + 1]) : 1000;
    if (!Number.isInteger(sessions) || sessions < 3)
      throw new Error('--fleet --sessions needs an integer >= 3');
    const { runFleetDemo } = await import('./fleet');
    await runFleetDemo(sessions);
    return;
  }
  const o = parseArgs(argv);
  const dc = await startDc();
  console.log(
    `telegram-mt demo: TestDc (DC ${dc.dcId}) on ${dc.host}:${dc.port}; ${o.sessions} sessions, ` +
      `${1 + o.calls} calls and ${o.updates} updates each`,
  );
  const ids: SessionId[] = [];
  try {
    summary(o, await run(o, dc, ids));
  } finally {
    await Promise.all(ids.map((id) => Session.close(id)));
    await dc.stop();
  }
  // Closed sockets release their handles on the next turns of the event loop.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  // stdout's own handle and file-system requests in flight (e.g. a loader's cache) are not the demo's.
  const left = process
    .getActiveResourcesInfo()
    .filter((r) => !['TTYWrap', 'PipeWrap', 'FSReqCallback'].includes(r));
  if (left.length) console.log(`  note: still open after closing: ${left.join(', ')}`);
  else console.log(`  closed ${ids.length} sessions and TestDc; nothing left open`);
}

main().catch((err) => {
  console.error(`\ndemo failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
  // Whatever is still open must not keep a failed demo alive.
  setTimeout(() => process.exit(1), 1000).unref();
});

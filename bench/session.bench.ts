// Calls per second through the public Session API against TestDc, beside two peers
// against the same TestDc: GramJS (npm `telegram`) and mtcute (@mtcute/node, the
// fastest TypeScript client; bench/mtcute-peer.ts points it at TestDc), with TestDc in
// this process and in a forked one (fairer: the server's CPU is not the client's).
// With TestDc forked, the limit sits in the same table: a raw node:net echo of
// 128-byte messages between the same two processes, one at a time, is the most
// sequential round trips per second this machine allows.
//
// The per-message cost of the native hot path (MtpLink transmit/receive, one call
// each, on one link and across 1,000) is bench/link.bench.ts:
// `npx tsx bench/index.ts link`. Memory per idle session is bench/memory.bench.ts.
//
// The call is help.getNearestDc: GramJS speaks layer 198, mtcute 227 and TestDc 223,
// and its constructor is the same in all. Every client uses a key registered with
// dc.addAuthKey (no handshakes; those are bench/handshake.bench.ts).

import { connect } from 'node:net';
import { Session } from '../dist';
import { type GramClient, gramjsClient, gramjsNearestDc } from './gramjs-peer';
import { cpuMsOf, type Measured, medianOf, report } from './harness';
import { type MtcuteClient, mtcuteClient, mtcuteNearestDc } from './mtcute-peer';
import { type DcControl, forkedDc, inProcessDc, type PreparedKey } from './session-dc';

const MANY = 1000;
const PEER_MANY = 100;
const IN_FLIGHT = 100;
const MS = 3500;
const ROUNDS = 7;
const ECHO_BYTES = 128;

/** This process's CPU time in µs (all threads). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * With TestDc forked, this process runs only the clients: its CPU time per call
 * is the client's own cost, steady on a shared machine where wall-clock rates
 * swing with the load (and, for sequential calls, include TestDc's time and two
 * process wake-ups per call).
 */
const cpuPerCall = new Map<string, number[]>();
/** TestDc's CPU time per call (forked: its process, from /proc), by row. */
const dcCpuPerCall = new Map<string, number[]>();
/** The forked TestDc's process, while one is measured. */
let dcPid: number | undefined;

type Call = (worker: number) => Promise<unknown>;

/** Calls per second: `workers` loops, each awaiting `call(i)` (i = its worker index) back to back. */
async function callRate(call: Call, workers: number, ms: number, cpuKey: string): Promise<number> {
  // Warm-up: one round on every worker.
  await Promise.all(Array.from({ length: workers }, (_, i) => call(i)));
  let done = 0;
  const cpu0 = cpuNow();
  const dc0 = cpuMsOf(dcPid);
  const start = performance.now();
  const end = start + ms;
  await Promise.all(
    Array.from({ length: workers }, async (_, i) => {
      while (performance.now() < end) {
        await call(i);
        done++;
      }
    }),
  );
  const rate = (done * 1000) / (performance.now() - start);
  cpuPerCall.set(cpuKey, [...(cpuPerCall.get(cpuKey) ?? []), (cpuNow() - cpu0) / done]);
  dcCpuPerCall.set(cpuKey, [...(dcCpuPerCall.get(cpuKey) ?? []), ((cpuMsOf(dcPid) - dc0) * 1000) / done]);
  return rate;
}

async function openOurs(
  dc: DcControl,
  keys: PreparedKey[],
): Promise<{ ids: unknown[]; close: () => Promise<void> }> {
  const ids: unknown[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    const batch = keys.slice(i, i + 100);
    ids.push(
      ...(await Promise.all(
        batch.map((key) =>
          Session.open(dc.info.dcId, undefined, {
            address: { host: dc.info.host, port: dc.info.port },
            rsaKeys: [dc.info.pem],
            import: { authKey: key.authKey, serverSalt: key.salt, userId: key.userId },
            transport: { kind: 'abridged' },
          }),
        ),
      )),
    );
  }
  return { ids, close: async () => void (await Promise.all(ids.map((id) => Session.close(id as never)))) };
}

/** Opens peer clients 25 at a time (a burst of hundreds of sockets is not the point). */
async function openPeers<C>(keys: PreparedKey[], open: (key: PreparedKey) => Promise<C>): Promise<C[]> {
  const clients: C[] = [];
  for (let i = 0; i < keys.length; i += 25)
    clients.push(...(await Promise.all(keys.slice(i, i + 25).map(open))));
  return clients;
}

/** One round trip of ECHO_BYTES through a raw socket to the echo server, one at a time. */
async function echoClient(port: number): Promise<{ call: () => Promise<void>; close: () => void }> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const message = Buffer.alloc(ECHO_BYTES, 7);
  let owed = 0;
  let answered: (() => void) | undefined;
  socket.on('data', (chunk) => {
    owed -= chunk.length;
    if (owed <= 0 && answered) {
      const done = answered;
      answered = undefined;
      done();
    }
  });
  return {
    call: () =>
      new Promise<void>((resolve) => {
        answered = resolve;
        owed += ECHO_BYTES;
        socket.write(message);
      }),
    close: () => socket.destroy(),
  };
}

type Contestant = [name: string, call: Call, workers: number];

/**
 * The contestants measured in alternating short rounds (ROUNDS each, median and
 * range kept), so that drift on a shared machine hits all alike and the ratios hold.
 */
async function alternating(contestants: Contestant[]): Promise<Measured[]> {
  const rounds = contestants.map((): number[] => []);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [name, call, workers]] of contestants.entries()) {
      rounds[i].push(await callRate(call, workers, MS / ROUNDS, name));
    }
  }
  return contestants.map(([name], i) => medianOf(name, rounds[i]));
}

const SEQ = {
  gramjs: 'GramJS 1 client, sequential',
  mtcute: 'mtcute 1 client, sequential',
  ours: 'telegram-mt 1 session, sequential',
  echo: `raw TCP echo, ${ECHO_BYTES} B, sequential`,
};
const FLIGHT = {
  gramjs: `GramJS 1 client, ${IN_FLIGHT} at once`,
  mtcute: `mtcute 1 client, ${IN_FLIGHT} at once`,
  ours: `telegram-mt 1 session, ${IN_FLIGHT} at once`,
};
const MANY_ROWS = {
  gramjs: `GramJS ${PEER_MANY} clients, 1 each`,
  mtcute: `mtcute ${PEER_MANY} clients, 1 each`,
  ours: `telegram-mt ${PEER_MANY} sessions, 1 each`,
};

async function against(dc: DcControl): Promise<void> {
  const forked = dc.where === 'in another process';
  const rows: Measured[] = [];
  cpuPerCall.clear();
  dcCpuPerCall.clear();
  dcPid = forked ? dc.pid : undefined;
  const gClients: GramClient[] = [];
  const mClients: MtcuteClient[] = [];
  const oursOpen: Array<Awaited<ReturnType<typeof openOurs>>> = [];
  let echo: Awaited<ReturnType<typeof echoClient>> | undefined;
  try {
    // One client of each first, alone in this process: the single-session rows
    // measure one session, not the start-up traffic (acks, timers) of a thousand
    // others, which this process's CPU time would count too.
    const gKeys = await dc.addKeys(PEER_MANY);
    const mKeys = await dc.addKeys(PEER_MANY);
    gClients.push(await gramjsClient(dc.info, gKeys[0]));
    mClients.push(await mtcuteClient(dc.info, mKeys[0]));
    oursOpen.push(await openOurs(dc, await dc.addKeys(1)));
    const ids = [...oursOpen[0].ids];
    const g = (i: number) => gramjsNearestDc(gClients[i]);
    const m = (i: number) => mtcuteNearestDc(mClients[i]);
    const o = (i: number) => Session.call(ids[i] as never, 'help.getNearestDc', {});
    const sequential: Contestant[] = [
      [SEQ.gramjs, g, 1],
      [SEQ.mtcute, m, 1],
      [SEQ.ours, o, 1],
    ];
    if (forked) {
      echo = await echoClient(await dc.startEcho());
      sequential.push([SEQ.echo, echo.call, 1]);
    }
    rows.push(...(await alternating(sequential)));
    rows.push(
      ...(await alternating([
        [FLIGHT.gramjs, () => g(0), IN_FLIGHT],
        [FLIGHT.mtcute, () => m(0), IN_FLIGHT],
        [FLIGHT.ours, () => o(0), IN_FLIGHT],
      ])),
    );
    gClients.push(...(await openPeers(gKeys.slice(1), (k) => gramjsClient(dc.info, k))));
    mClients.push(...(await openPeers(mKeys.slice(1), (k) => mtcuteClient(dc.info, k))));
    oursOpen.push(await openOurs(dc, await dc.addKeys(MANY - 1)));
    ids.push(...oursOpen[1].ids);
    rows.push(
      ...(await alternating([
        [MANY_ROWS.gramjs, g, PEER_MANY],
        [MANY_ROWS.mtcute, m, PEER_MANY],
        [MANY_ROWS.ours, o, PEER_MANY],
      ])),
    );
    const manyName = `telegram-mt ${MANY} sessions, 1 each`;
    rows.push({ name: manyName, opsPerSec: await callRate(o, ids.length, MS, manyName) });
  } catch (err) {
    console.log(`  failed: ${(err as Error).stack ?? err}`);
  } finally {
    echo?.close();
    await Promise.all(gClients.map((c) => c.destroy()));
    await Promise.all(mClients.map((c) => c.destroy()));
    for (const o of oursOpen) await o.close();
  }

  report(
    `help.getNearestDc calls/s, TestDc ${dc.where}, TCP abridged (mtcute: intermediate); ` +
      `median and range of ${ROUNDS} alternating rounds`,
    rows,
    SEQ.gramjs,
  );
  const pick = (name: string) => rows.find((r) => r.name === name)?.opsPerSec ?? Number.NaN;
  const x = (a: string, b: string) => (pick(a) / pick(b)).toFixed(2);
  if (forked) {
    console.log('  client CPU per call (this process only; median of the rounds):');
    const cpu = (name: string) => median(cpuPerCall.get(name) ?? [Number.NaN]);
    for (const set of [SEQ, FLIGHT, MANY_ROWS]) {
      console.log(
        `    ${set.ours.padEnd(36)} ${cpu(set.ours).toFixed(1).padStart(7)} us   ` +
          `mtcute ${cpu(set.mtcute).toFixed(1).padStart(7)} us (${(cpu(set.ours) / cpu(set.mtcute)).toFixed(2)} of it)   ` +
          `GramJS ${cpu(set.gramjs).toFixed(1).padStart(7)} us (${(cpu(set.ours) / cpu(set.gramjs)).toFixed(2)})`,
      );
    }
    const dcCpu = (name: string) => median(dcCpuPerCall.get(name) ?? [Number.NaN]);
    console.log(
      `  TestDc CPU per sequential call (its process): for telegram-mt ${dcCpu(SEQ.ours).toFixed(1)} us, ` +
        `mtcute ${dcCpu(SEQ.mtcute).toFixed(1)} us, GramJS ${dcCpu(SEQ.gramjs).toFixed(1)} us; ` +
        `the echo server ${dcCpu(SEQ.echo).toFixed(1)} us per round trip, this process ${cpu(SEQ.echo).toFixed(1)} us`,
    );
    // With calls in flight the two processes take turns on whole batches (a packet of
    // answers, then one of calls): the rate is about 1 / (client CPU + TestDc CPU) per call.
    console.log(
      `  TestDc CPU per call, ${IN_FLIGHT} at once: for telegram-mt ${dcCpu(FLIGHT.ours).toFixed(1)} us, ` +
        `mtcute ${dcCpu(FLIGHT.mtcute).toFixed(1)} us; ${PEER_MANY} clients: for telegram-mt ` +
        `${dcCpu(MANY_ROWS.ours).toFixed(1)} us, mtcute ${dcCpu(MANY_ROWS.mtcute).toFixed(1)} us`,
    );
    console.log(
      `  the limit: one session's sequential calls run at ${x(SEQ.ours, SEQ.echo)} of the raw TCP echo ` +
        `(mtcute ${x(SEQ.mtcute, SEQ.echo)}, GramJS ${x(SEQ.gramjs, SEQ.echo)}; target: 0.6); ` +
        `client CPU per sequential call ${(cpu(SEQ.ours) / cpu(SEQ.mtcute)).toFixed(2)} of mtcute's (target: at most 0.25)`,
    );
  }
  console.log(
    `  telegram-mt vs mtcute: ${x(SEQ.ours, SEQ.mtcute)}x sequentially, ${x(FLIGHT.ours, FLIGHT.mtcute)}x with ` +
      `${IN_FLIGHT} at once (target: 3x), ${x(MANY_ROWS.ours, MANY_ROWS.mtcute)}x with ${PEER_MANY} clients; ` +
      `vs GramJS: ${x(SEQ.ours, SEQ.gramjs)}x, ${x(FLIGHT.ours, FLIGHT.gramjs)}x, ${x(MANY_ROWS.ours, MANY_ROWS.gramjs)}x`,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(): Promise<void> {
  console.log(
    'transmit/receive per message through MtpLink (a call each, 1 link and 1,000): bench/link.bench.ts',
  );
  // BENCH_DC=forked or BENCH_DC=in-process runs one half alone.
  const only = process.env.BENCH_DC;
  const starts = [inProcessDc, forkedDc].filter(
    (_, i) => !only || only === (i === 0 ? 'in-process' : 'forked'),
  );
  for (const start of starts) {
    const dc = await start();
    try {
      await against(dc);
    } finally {
      await dc.stop();
    }
  }
}

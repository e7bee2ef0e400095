// Calls per second through the public Session API against TestDc, beside GramJS
// (npm `telegram`) against the same TestDc, with TestDc in this process and in a
// forked one (fairer: the server's CPU is not the client's).
//
// The per-message cost of the native hot path (MtpLink transmit/receive, one call
// each, on one link and across 1,000) is bench/link.bench.ts:
// `npx tsx bench/index.ts link`. Memory per idle session is bench/memory.bench.ts.
//
// The call is help.getNearestDc: GramJS speaks layer 198 and TestDc layer 223, and
// its constructor is the same in both. Every client uses a key registered with
// dc.addAuthKey (no handshakes; those are bench/handshake.bench.ts).

import { Session } from '../bindings';
import { type Measured, report } from './harness';
import {
  type DcControl,
  forkedDc,
  type GramClient,
  gramjsClient,
  gramjsNearestDc,
  inProcessDc,
  type PreparedKey,
} from './session-dc';

const MANY = 1000;
const GRAMJS_MANY = 100;
const IN_FLIGHT = 100;
const MS = 3500;
const ROUNDS = 7;

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

/** Calls per second: `workers` loops, each awaiting `call(i)` (i = its worker index) back to back. */
async function callRate(
  call: (worker: number) => Promise<unknown>,
  workers: number,
  ms = MS,
  cpuKey?: string,
): Promise<number> {
  // Warm-up: one round on every worker.
  await Promise.all(Array.from({ length: workers }, (_, i) => call(i)));
  let done = 0;
  const cpu0 = cpuNow();
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
  if (cpuKey) cpuPerCall.set(cpuKey, [...(cpuPerCall.get(cpuKey) ?? []), (cpuNow() - cpu0) / done]);
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * GramJS and telegram-mt measured in alternating short rounds (ROUNDS each, median
 * kept), so that drift on a shared machine hits both alike and the ratio holds.
 */
async function paired(
  gramjs: [name: string, call: (worker: number) => Promise<unknown>, workers: number],
  ours: [name: string, call: (worker: number) => Promise<unknown>, workers: number],
): Promise<Measured[]> {
  const g: number[] = [];
  const o: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    g.push(await callRate(gramjs[1], gramjs[2], MS / ROUNDS, gramjs[0]));
    o.push(await callRate(ours[1], ours[2], MS / ROUNDS, ours[0]));
  }
  return [
    { name: gramjs[0], opsPerSec: median(g) },
    { name: ours[0], opsPerSec: median(o) },
  ];
}

async function against(dc: DcControl): Promise<void> {
  const rows: Measured[] = [];
  cpuPerCall.clear();
  const gClients: GramClient[] = [];
  const oursOpen: Array<Awaited<ReturnType<typeof openOurs>>> = [];
  try {
    // One client of each first, alone in this process: the single-session rows
    // measure one session, not the start-up traffic (acks, timers) of a thousand
    // others, which this process's CPU time would count too.
    const gKeys = await dc.addKeys(GRAMJS_MANY);
    gClients.push(await gramjsClient(dc.info, gKeys[0]));
    oursOpen.push(await openOurs(dc, await dc.addKeys(1)));
    const ids = [...oursOpen[0].ids];
    const g = (i: number) => gramjsNearestDc(gClients[i]);
    const o = (i: number) => Session.call(ids[i] as never, 'help.getNearestDc', {});
    rows.push(
      ...(await paired(['GramJS 1 client, sequential', g, 1], ['telegram-mt 1 session, sequential', o, 1])),
    );
    rows.push(
      ...(await paired(
        [`GramJS 1 client, ${IN_FLIGHT} at once`, () => g(0), IN_FLIGHT],
        [`telegram-mt 1 session, ${IN_FLIGHT} at once`, () => o(0), IN_FLIGHT],
      )),
    );
    const rest = gKeys.slice(1);
    for (let i = 0; i < rest.length; i += 25) {
      gClients.push(...(await Promise.all(rest.slice(i, i + 25).map((k) => gramjsClient(dc.info, k)))));
    }
    oursOpen.push(await openOurs(dc, await dc.addKeys(MANY - 1)));
    ids.push(...oursOpen[1].ids);
    rows.push(
      ...(await paired(
        [`GramJS ${GRAMJS_MANY} clients, 1 each`, g, GRAMJS_MANY],
        [`telegram-mt ${GRAMJS_MANY} sessions, 1 each`, o, GRAMJS_MANY],
      )),
    );
    rows.push({ name: `telegram-mt ${MANY} sessions, 1 each`, opsPerSec: await callRate(o, ids.length) });
  } catch (err) {
    console.log(`  failed: ${(err as Error).stack ?? err}`);
  } finally {
    await Promise.all(gClients.map((c) => c.destroy()));
    for (const o of oursOpen) await o.close();
  }

  const base = 'GramJS 1 client, sequential';
  report(
    `help.getNearestDc calls/s, TestDc ${dc.where}, TCP abridged (median of ${ROUNDS} alternating rounds)`,
    rows,
    base,
  );
  if (dc.where === 'in another process') {
    console.log('  client CPU per call (this process only; median of the rounds):');
    const cpu = (name: string) => median(cpuPerCall.get(name) ?? [Number.NaN]);
    for (const [g, o] of [
      ['GramJS 1 client, sequential', 'telegram-mt 1 session, sequential'],
      [`GramJS 1 client, ${IN_FLIGHT} at once`, `telegram-mt 1 session, ${IN_FLIGHT} at once`],
    ]) {
      console.log(
        `    ${o.padEnd(36)} ${cpu(o).toFixed(1).padStart(7)} us   ${g}: ${cpu(g).toFixed(1).padStart(7)} us   ` +
          `${(cpu(g) / cpu(o)).toFixed(1)}x less`,
      );
    }
  }
  const pick = (name: string) => rows.find((r) => r.name === name)?.opsPerSec ?? Number.NaN;
  const x = (ours: string, gramjs: string) => (pick(ours) / pick(gramjs)).toFixed(1);
  console.log(
    `  one session: ${x('telegram-mt 1 session, sequential', base)}x GramJS sequentially, ` +
      `${x(`telegram-mt 1 session, ${IN_FLIGHT} at once`, `GramJS 1 client, ${IN_FLIGHT} at once`)}x with ${IN_FLIGHT} at once (target: 5x); ` +
      `${GRAMJS_MANY} sessions: ${x(`telegram-mt ${GRAMJS_MANY} sessions, 1 each`, `GramJS ${GRAMJS_MANY} clients, 1 each`)}x GramJS's ${GRAMJS_MANY} clients`,
  );
}

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

// Calls per second through the public Session API against TestDc, beside GramJS
// (npm `telegram`) against the same TestDc, with TestDc in this process and in a
// forked one (fairer: the server's CPU is not the client's).
//
// The per-message cost of the native hot path (MtpLink transmit/receive, one call
// each and transmitAll/receiveAll across 1,000 links) is bench/link.bench.ts:
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
const MS = 2000;

/** Calls per second: `workers` loops, each awaiting `call(i)` (i = its worker index) back to back. */
async function callRate(
  call: (worker: number) => Promise<unknown>,
  workers: number,
  ms = MS,
): Promise<number> {
  // Warm-up: one round on every worker.
  await Promise.all(Array.from({ length: workers }, (_, i) => call(i)));
  let done = 0;
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
  return (done * 1000) / (performance.now() - start);
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

async function against(dc: DcControl): Promise<void> {
  const rows: Measured[] = [];
  const notes: string[] = [];

  // GramJS: one client, then GRAMJS_MANY clients.
  const gKeys = await dc.addKeys(GRAMJS_MANY);
  const gClients: GramClient[] = [];
  try {
    for (let i = 0; i < gKeys.length; i += 25) {
      gClients.push(...(await Promise.all(gKeys.slice(i, i + 25).map((k) => gramjsClient(dc.info, k)))));
    }
    const one = gClients[0];
    rows.push({
      name: 'GramJS 1 client, sequential',
      opsPerSec: await callRate(() => gramjsNearestDc(one), 1),
    });
    rows.push({
      name: `GramJS 1 client, ${IN_FLIGHT} at once`,
      opsPerSec: await callRate(() => gramjsNearestDc(one), IN_FLIGHT),
    });
    rows.push({
      name: `GramJS ${GRAMJS_MANY} clients, 1 each`,
      opsPerSec: await callRate((i) => gramjsNearestDc(gClients[i]), gClients.length),
    });
  } catch (err) {
    notes.push(`GramJS failed: ${(err as Error).message}`);
  } finally {
    await Promise.all(gClients.map((c) => c.destroy()));
  }

  // telegram-mt: one session, then MANY sessions.
  const ours = await openOurs(dc, await dc.addKeys(MANY));
  try {
    const call = (i: number) => Session.call(ours.ids[i] as never, 'help.getNearestDc', {});
    rows.push({ name: 'telegram-mt 1 session, sequential', opsPerSec: await callRate(() => call(0), 1) });
    rows.push({
      name: `telegram-mt 1 session, ${IN_FLIGHT} at once`,
      opsPerSec: await callRate(() => call(0), IN_FLIGHT),
    });
    rows.push({
      name: `telegram-mt ${GRAMJS_MANY} sessions, 1 each`,
      opsPerSec: await callRate(call, GRAMJS_MANY),
    });
    rows.push({
      name: `telegram-mt ${MANY} sessions, 1 each`,
      opsPerSec: await callRate(call, ours.ids.length),
    });
  } catch (err) {
    notes.push(`telegram-mt failed: ${(err as Error).message}`);
  } finally {
    await ours.close();
  }

  const base = rows.find((r) => r.name.startsWith('GramJS 1 client, seq'))?.name ?? '';
  report(`help.getNearestDc calls/s, TestDc ${dc.where}, TCP abridged`, rows, base);
  const pick = (prefix: string) => rows.find((r) => r.name.startsWith(prefix))?.opsPerSec;
  const [g1, o1, gN, oN] = [
    pick('GramJS 1 client, seq'),
    pick('telegram-mt 1 session, seq'),
    pick(`GramJS 1 client, ${IN_FLIGHT}`),
    pick(`telegram-mt 1 session, ${IN_FLIGHT}`),
  ];
  if (g1 && o1 && gN && oN) {
    console.log(
      `  one session: ${(o1 / g1).toFixed(1)}x GramJS sequentially, ${(oN / gN).toFixed(1)}x with ${IN_FLIGHT} at once (target: 5x)`,
    );
  }
  const g100 = pick(`GramJS ${GRAMJS_MANY} clients`);
  const o100 = pick(`telegram-mt ${GRAMJS_MANY} sessions`);
  if (g100 && o100)
    console.log(`  ${GRAMJS_MANY} sessions: ${(o100 / g100).toFixed(1)}x GramJS's ${GRAMJS_MANY} clients`);
  for (const n of notes) console.log(`  ${n}`);
}

export async function run(): Promise<void> {
  console.log(
    'transmit/receive per message through MtpLink (1 call and batched over 1,000): bench/link.bench.ts',
  );
  for (const start of [inProcessDc, forkedDc]) {
    const dc = await start();
    try {
      await against(dc);
    } finally {
      await dc.stop();
    }
  }
}

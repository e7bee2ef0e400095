// Memory per idle open session, its socket included: telegram-mt's Session beside
// GramJS's TelegramClient and mtcute's TelegramClient (@mtcute/node, in-memory storage,
// updates off; bench/mtcute-peer.ts). TestDc runs in this process; each client runs in a
// forked process of its own started with --expose-gc, so neither the server's
// memory nor the other library's shows in the figure.
//
// The child first opens WARM sessions the same way (module loading, JIT, and the
// allocator and V8 heap growing to the peak of an opening burst are one-time
// costs, not per-session ones), takes a baseline after a forced GC, opens N more
// on pre-made keys (dc.addAuthKey + options.import: no handshakes), makes
// `calls` calls on each, and reports the deltas / N twice: just after the last
// call (0.5 s) and once idle (IDLE_MS later: the session's records of what it
// sent live 30 s; an idle session wakes once to drop them). The baseline is taken
// IDLE_MS after the warm-up for the same reason.
//
// After many calls, RSS also holds what V8 and glibc keep for reuse after the
// traffic (young generation, free chunks): memory of the process's peak rate,
// not of the sessions. heapUsed + external are what the sessions themselves hold
// on the JS side; their native state is small (MtpLink ~1 KiB, 2 KiB of received
// msg_ids once 256 arrived, 1 KiB of future salts).
//
// The figure is the RSS delta: it is all the memory the process gained (the V8
// heap and external memory are inside it, shown beside it as a breakdown).
// Earlier versions printed heap + external + RSS, counting the heap twice.

import { fork } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { Session } from '../dist';
import { gramjsClient, gramjsNearestDc } from './gramjs-peer';
import { mtcuteClient, mtcuteNearestDc } from './mtcute-peer';
import { type DcInfo, inProcessDc, type PreparedKey } from './session-dc';

const OURS = 1000;
const GRAMJS = 100;
const MTCUTE = 100;
/** Calls per session in the "busy" run (past the 256-id window of received msg_ids). */
const BUSY_CALLS = 300;
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 32_000);

interface Delta {
  heap: number;
  /** V8 heap committed (heapTotal): used or kept for reuse. */
  heapTotal: number;
  external: number;
  rss: number;
}

interface Deltas {
  count: number;
  /** 0.5 s after the last call. */
  settled: Delta;
  /** IDLE_MS after the last call. */
  idle: Delta;
}

interface ChildJob {
  who: 'ours' | 'gramjs' | 'mtcute' | 'socket';
  dc: DcInfo;
  /** The first `warm` keys open the warm-up sessions. */
  warm: number;
  calls: number;
  keys: Array<{ authKey: string; salt: string; userId: number }>;
}

/** After full GCs, with the turns of the event loop between them that napi finalizers (native buffers) need. */
async function snapshot() {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  gc?.();
  return process.memoryUsage();
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Opens the sessions of `job` in this (child) process and returns the deltas. */
async function measure(job: ChildJob): Promise<Deltas> {
  const keys: PreparedKey[] = job.keys.map((k) => ({
    authKey: Buffer.from(k.authKey, 'hex'),
    salt: BigInt(k.salt),
    userId: k.userId,
  }));
  const warm = keys.slice(0, job.warm);
  const rest = keys.slice(job.warm);
  const openers = {
    ours: () => oursOpener(job.dc),
    gramjs: async () => peerOpener((key) => gramjsClient(job.dc, key), gramjsNearestDc),
    mtcute: async () => peerOpener((key) => mtcuteClient(job.dc, key), mtcuteNearestDc),
    socket: async () => socketOpener(job.dc),
  };
  const opener = await openers[job.who]();
  // 50 at a time: the figure is about idle sessions, not a connection storm.
  const openAll = async (list: PreparedKey[]) => {
    const opened: Array<() => Promise<unknown>> = [];
    for (let i = 0; i < list.length; i += 50)
      opened.push(...(await Promise.all(list.slice(i, i + 50).map(opener.open))));
    // Then `calls` calls on each (one at a time per session, all sessions at once).
    await Promise.all(
      opened.map(async (call) => {
        for (let c = 0; c < job.calls; c++) await call();
      }),
    );
  };
  await openAll(warm);
  // The baseline is idle too: V8 and the allocator give memory back after a while,
  // and a baseline taken sooner would credit that to the new sessions.
  await settle(IDLE_MS);
  const before = await snapshot();
  await openAll(rest);
  await settle(500);
  const settled = await snapshot();
  await settle(IDLE_MS);
  const idle = await snapshot();
  const delta = (after: NodeJS.MemoryUsage): Delta => ({
    heap: after.heapUsed - before.heapUsed,
    heapTotal: after.heapTotal - before.heapTotal,
    external: after.external - before.external,
    rss: after.rss - before.rss,
  });
  await opener.closeAll();
  return { count: rest.length, settled: delta(settled), idle: delta(idle) };
}

interface Opener {
  /** Opens (and checks with one call) a session; returns a function making one more call. */
  open: (key: PreparedKey) => Promise<() => Promise<unknown>>;
  closeAll: () => Promise<void>;
}

async function oursOpener(dc: DcInfo): Promise<Opener> {
  const ids: unknown[] = [];
  return {
    open: async (key) => {
      const id = await Session.open(dc.dcId, undefined, {
        address: { host: dc.host, port: dc.port },
        rsaKeys: [dc.pem],
        import: { authKey: key.authKey, serverSalt: key.salt, userId: key.userId },
      });
      // An idle session is a connected one: one round trip proves it.
      await Session.call(id, 'help.getNearestDc', {});
      ids.push(id);
      return () => Session.call(id, 'help.getNearestDc', {});
    },
    closeAll: async () => {
      await Promise.all(ids.map((id) => Session.close(id as never)));
    },
  };
}

/** The floor: a bare node:net socket to TestDc, nothing sent. */
function socketOpener(dc: DcInfo): Opener {
  const sockets: Socket[] = [];
  return {
    open: (_key) =>
      new Promise((resolve, reject) => {
        const s = connect(dc.port, dc.host, () => resolve(async () => {}));
        s.once('error', reject);
        sockets.push(s);
      }),
    closeAll: async () => {
      for (const s of sockets) s.destroy();
    },
  };
}

/** A peer library's clients: `connect` opens one, `call` makes one help.getNearestDc. */
function peerOpener<C extends { destroy(): Promise<void> }>(
  connect: (key: PreparedKey) => Promise<C>,
  call: (client: C) => Promise<unknown>,
): Opener {
  const clients: C[] = [];
  return {
    open: async (key) => {
      const c = await connect(key);
      await call(c);
      clients.push(c);
      return () => call(c);
    },
    closeAll: async () => {
      await Promise.all(clients.map((c) => c.destroy()));
    },
  };
}

async function childMain(): Promise<void> {
  process.once('message', (job: ChildJob) => {
    measure(job).then(
      (delta) => process.send?.({ delta }, () => process.exit(0)),
      (err: Error) => process.send?.({ error: err.stack ?? String(err) }, () => process.exit(1)),
    );
  });
}

if (process.argv.includes('--memory-child')) void childMain();

/** Runs `who` in a fresh --expose-gc process (`warm` sessions, then the rest of `keys`); null (and a note) if it failed. */
async function inChild(
  who: ChildJob['who'],
  dc: DcInfo,
  keys: PreparedKey[],
  warm: number,
  calls = 0,
): Promise<Deltas | null> {
  const child = fork(__filename, ['--memory-child'], { execArgv: ['--expose-gc', '--import', 'tsx'] });
  const job: ChildJob = {
    who,
    dc,
    warm,
    calls,
    keys: keys.map((k) => ({
      authKey: k.authKey.toString('hex'),
      salt: k.salt.toString(),
      userId: k.userId,
    })),
  };
  child.send(job);
  const reply = await new Promise<{ delta?: Deltas; error?: string }>((resolve) => {
    child.once('message', (m) => resolve(m as never));
    child.once('exit', (code) => resolve({ error: `child exited with ${code}` }));
  });
  if (reply.error) console.log(`  ${who}: failed: ${reply.error.split('\n')[0]}`);
  return reply.delta ?? null;
}

const kib = (b: number) => `${(b / 1024).toFixed(1).padStart(7)} KiB`;

export async function run(): Promise<void> {
  const dc = await inProcessDc();
  try {
    const warm = (n: number) => Math.max(1, Math.floor(n / 5));
    // The children run at once (memory does not depend on timing; the idle wait is shared).
    const [ours, busy, gramjs, mtcute, socket] = await Promise.all([
      dc.addKeys(warm(OURS) + OURS).then((k) => inChild('ours', dc.info, k, warm(OURS))),
      dc.addKeys(warm(OURS) + OURS).then((k) => inChild('ours', dc.info, k, warm(OURS), BUSY_CALLS)),
      dc.addKeys(warm(GRAMJS) + GRAMJS).then((k) => inChild('gramjs', dc.info, k, warm(GRAMJS))),
      dc.addKeys(warm(MTCUTE) + MTCUTE).then((k) => inChild('mtcute', dc.info, k, warm(MTCUTE))),
      dc.addKeys(warm(OURS) + OURS).then((k) => inChild('socket', dc.info, k, warm(OURS))),
    ]);
    console.log(
      `\nmemory per idle open session, socket included (RSS delta per session after ${warm(OURS)} warm-up ` +
        `sessions; GC forced; TestDc in another process)`,
    );
    console.log(
      `  ${''.padEnd(40)} ${'RSS 0.5 s'.padStart(11)} ${`RSS ${IDLE_MS / 1000} s`.padStart(11)} ${'heap used'.padStart(11)} ${'committed'.padStart(11)} ${'external'.padStart(11)}`,
    );
    const rows = [
      [`telegram-mt Session, 1 call (${OURS})`, ours],
      [`telegram-mt Session, ${BUSY_CALLS} calls (${OURS})`, busy],
      [`GramJS TelegramClient, 1 call (${GRAMJS})`, gramjs],
      [`mtcute TelegramClient, 1 call (${MTCUTE})`, mtcute],
      [`bare node:net socket (${OURS})`, socket],
    ] as const;
    for (const [name, d] of rows) {
      if (!d) continue;
      const per = (x: number) => x / d.count;
      console.log(
        `  ${name.padEnd(40)} ${kib(per(d.settled.rss))} ${kib(per(d.idle.rss))} ${kib(per(d.idle.heap))} ${kib(per(d.idle.heapTotal))} ${kib(per(d.idle.external))}`,
      );
    }
    if (ours && gramjs) {
      const per = (d: Deltas) => d.idle.rss / d.count;
      const ofMtcute = mtcute ? `, ${(per(ours) / per(mtcute)).toFixed(3)} of mtcute's` : '';
      console.log(
        `  telegram-mt uses 1/${(per(gramjs) / per(ours)).toFixed(1)} of GramJS's memory per session${ofMtcute} ` +
          `(target: under 30 KiB per idle session: ${(per(ours) / 1024).toFixed(1)} KiB; ` +
          `after ${BUSY_CALLS} calls: ${busy ? (per(busy) / 1024).toFixed(1) : '?'} KiB)`,
      );
    }
  } finally {
    await dc.stop();
  }
}

// Memory per idle open session, its socket included: telegram-mt's Session beside
// GramJS's TelegramClient. TestDc runs in this process; each client runs in a
// forked process of its own started with --expose-gc, so neither the server's
// memory nor the other library's shows in the figure. The child opens one
// session first (module loading, JIT and first-use allocations are not
// per-session costs), takes a baseline after a forced GC, opens N more on
// pre-made keys (dc.addAuthKey + options.import: no handshakes), lets them
// settle, forces GC again and reports (heap + external) and RSS deltas / N.

import { fork } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { Session } from '../bindings';
import { type DcInfo, gramjsClient, gramjsNearestDc, inProcessDc, type PreparedKey } from './session-dc';

const OURS = 1000;
const GRAMJS = 100;

interface Delta {
  heap: number;
  external: number;
  rss: number;
  count: number;
}

interface ChildJob {
  who: 'ours' | 'gramjs' | 'socket';
  dc: DcInfo;
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
async function measure(job: ChildJob): Promise<Delta> {
  const keys: PreparedKey[] = job.keys.map((k) => ({
    authKey: Buffer.from(k.authKey, 'hex'),
    salt: BigInt(k.salt),
    userId: k.userId,
  }));
  const [first, ...rest] = keys;
  const opener =
    job.who === 'ours'
      ? await oursOpener(job.dc)
      : job.who === 'gramjs'
        ? gramjsOpener(job.dc)
        : socketOpener(job.dc);
  await opener.open(first);
  await settle(200);
  const before = await snapshot();
  // 50 at a time: the figure is about idle sessions, not a connection storm.
  for (let i = 0; i < rest.length; i += 50) await Promise.all(rest.slice(i, i + 50).map(opener.open));
  await settle(500);
  const after = await snapshot();
  const delta = {
    heap: after.heapUsed - before.heapUsed,
    external: after.external - before.external,
    rss: after.rss - before.rss,
    count: rest.length,
  };
  await opener.closeAll();
  return delta;
}

interface Opener {
  open: (key: PreparedKey) => Promise<void>;
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
      new Promise<void>((resolve, reject) => {
        const s = connect(dc.port, dc.host, () => resolve());
        s.once('error', reject);
        sockets.push(s);
      }),
    closeAll: async () => {
      for (const s of sockets) s.destroy();
    },
  };
}

function gramjsOpener(dc: DcInfo): Opener {
  const clients: Array<{ destroy(): Promise<void> }> = [];
  return {
    open: async (key) => {
      const c = await gramjsClient(dc, key);
      await gramjsNearestDc(c);
      clients.push(c);
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

/** Runs `who` with `count` sessions in a fresh --expose-gc process; null (and a note) if it failed. */
async function inChild(who: ChildJob['who'], dc: DcInfo, keys: PreparedKey[]): Promise<Delta | null> {
  const child = fork(__filename, ['--memory-child'], { execArgv: ['--expose-gc', '--import', 'tsx'] });
  const job: ChildJob = {
    who,
    dc,
    keys: keys.map((k) => ({
      authKey: k.authKey.toString('hex'),
      salt: k.salt.toString(),
      userId: k.userId,
    })),
  };
  child.send(job);
  const reply = await new Promise<{ delta?: Delta; error?: string }>((resolve) => {
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
    const ours = await inChild('ours', dc.info, await dc.addKeys(OURS + 1));
    const gramjs = await inChild('gramjs', dc.info, await dc.addKeys(GRAMJS + 1));
    const socket = await inChild('socket', dc.info, await dc.addKeys(OURS + 1));
    console.log('\nmemory per idle open session (socket included; GC forced; TestDc in another process)');
    console.log(
      `  ${''.padEnd(28)} ${'heap+external'.padStart(13)} ${'RSS'.padStart(11)} ${'sum'.padStart(11)}`,
    );
    for (const [name, d] of [
      [`telegram-mt Session (${OURS})`, ours],
      [`GramJS TelegramClient (${GRAMJS})`, gramjs],
      [`bare node:net socket (${OURS})`, socket],
    ] as const) {
      if (!d) continue;
      const he = (d.heap + d.external) / d.count;
      const rss = d.rss / d.count;
      console.log(`  ${name.padEnd(28)} ${kib(he).padStart(13)} ${kib(rss)} ${kib(he + rss)}`);
    }
    if (ours && gramjs) {
      const per = (d: Delta) => (d.heap + d.external + d.rss) / d.count;
      console.log(
        `  telegram-mt uses 1/${(per(gramjs) / per(ours)).toFixed(1)} of GramJS's memory per session ` +
          `(target: under 30 KiB per idle session: ${(per(ours) / 1024).toFixed(1)} KiB)`,
      );
    }
  } finally {
    await dc.stop();
  }
}

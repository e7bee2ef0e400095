// Figures for issue #12, printed, not asserted (timings belong in no test): what the
// hostile inputs cost a client's message layer (native MtpLink without a transport, client role) and
// its TL reader. Run it against this build, and against an older native module and
// TL runtime to compare:
//   npx tsx __test__/hostile-measure.ts [--native path/to/module.node] [--tl path/to/tl/index.js]
// Each case runs in a child process of its own (fresh peak RSS; the msg_copy case
// under `ulimit -s 8192`, where the old recursive receive path died).
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const nativePath = opt('--native') ?? `${__dirname}/../index.js`;
const tlPath = opt('--tl') ?? `${__dirname}/../bindings/tl`;
const role = opt('--case');

// biome-ignore lint/suspicious/noExplicitAny: either build's module, used by its documented names
const native: any = require(nativePath);
// biome-ignore lint/suspicious/noExplicitAny: as above
const TL: any = require(tlPath);

const KEY = Buffer.alloc(256, 7);
const SID = 0x1122334455667788n;
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
let lastId = 0n;
const serverId = () => {
  const id = native.mtpMsgIdAt(Date.now()) | 1n;
  lastId = id > lastId ? id : lastId + 4n;
  return lastId;
};
const seal = (body: Buffer, msgId = serverId()) =>
  native.encryptMessage(
    KEY,
    Buffer.concat([u64(0n), u64(SID), u64(msgId), u32(1), u32(body.length), body]),
    true,
  ) as Buffer;
// MtpLink takes whole packets when made without a transport; older builds called that MtpSession.
const Session = native.MtpSession ?? native.MtpLink;
const client = () => new Session(KEY, { sessionId: SID, timeOffset: 0, autoFutureSalts: false });
const kinds = (events: Array<{ kind: string; reason?: string }>) =>
  events.map((e) => (e.kind === 'dropped' ? `dropped:${e.reason}` : e.kind)).join(',');
const rssMiB = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const peakMiB = () => Math.round(process.resourceUsage().maxRSS / 1024);

function nestedCopies(levels: number, inner: Buffer): Buffer {
  const first = serverId();
  for (let i = 0; i < levels; i++) serverId();
  const out = Buffer.alloc(levels * 20 + inner.length);
  for (let i = 0; i < levels; i++) {
    out.writeUInt32LE(0xe06046b2, i * 20);
    out.writeBigUInt64LE(first + 4n * BigInt(i), i * 20 + 4);
    out.writeUInt32LE(1, i * 20 + 12);
    out.writeUInt32LE((levels - i - 1) * 20 + inner.length, i * 20 + 16);
  }
  inner.copy(out, levels * 20);
  return out;
}

function cases(): void {
  switch (role) {
    case 'copy': {
      const depth = Number(opt('--depth'));
      const s = client();
      const ev = s.receive(seal(nestedCopies(depth, u32(0x12345678))), Date.now()).events;
      console.log(`survived: ${kinds(ev).slice(0, 60)}`);
      return;
    }
    case 'gzip': {
      // 30 layers, each inflating to just under 16 MiB: the next layer, then zeros.
      let body = u32(0x12345678);
      for (let i = 0; i < 30; i++) {
        const layer = Buffer.alloc((16 << 20) - 4096);
        body.copy(layer);
        body = TL.gzipPack(layer);
      }
      const packet = seal(body);
      const s = client();
      const base = rssMiB();
      const t0 = performance.now();
      const ev = s.receive(packet, Date.now()).events;
      const ms = performance.now() - t0;
      console.log(
        `${body.length} bytes on the wire: ${kinds(ev)}; peak RSS ${peakMiB() - base} MiB over ${base} MiB, ${ms.toFixed(0)} ms`,
      );
      return;
    }
    case 'salts': {
      const s = client();
      const control = client();
      const ask = s.enqueue(Buffer.concat([u32(0xb921bd04), u32(64)]), Date.now());
      s.transmit(Date.now());
      const nowS = Math.floor(Date.now() / 1000);
      const n = 1_000_000;
      const body = Buffer.alloc(20 + 16 * n);
      body.writeUInt32LE(0xae500895, 0);
      body.writeBigUInt64LE(ask, 4);
      body.writeInt32LE(nowS, 12);
      body.writeUInt32LE(n, 16);
      for (let i = 0; i < n; i++) {
        const since = nowS - 3600 + 60 * ((i * 7919) % n);
        body.writeInt32LE(since, 20 + 16 * i);
        body.writeInt32LE(since + 3600, 24 + 16 * i);
        body.writeBigUInt64LE(BigInt(i), 28 + 16 * i);
      }
      const packet = seal(body);
      // A call's transmit (enqueue, transmit, then cancel: nothing stays in flight).
      type Sess = {
        enqueue: (b: Buffer, n: number) => bigint;
        transmit: (n: number) => unknown;
        cancel: (id: bigint) => boolean;
      };
      const calls = (sess: Sess) => {
        const t = performance.now();
        for (let i = 0; i < 5000; i++) {
          const id = sess.enqueue(u32(0x1234), Date.now());
          sess.transmit(Date.now());
          sess.cancel(id);
        }
        return (performance.now() - t) / 5000;
      };
      const t0 = performance.now();
      s.receive(packet, Date.now());
      const receiveMs = performance.now() - t0;
      calls(control);
      const plain = calls(control);
      const salted = calls(s);
      console.log(
        `receive ${receiveMs.toFixed(0)} ms (packet ${packet.length} bytes); then a call's transmit costs ${(salted * 1000).toFixed(1)} us, ${(salted / plain).toFixed(1)}x a session without salts (${(plain * 1000).toFixed(1)} us)`,
      );
      return;
    }
    case 'tl': {
      const element = TL.gzipPack(
        TL.gzipPack(
          TL.serialize({ _: 'fileHash', offset: 0n, limit: 1, hash: Buffer.alloc((16 << 20) - 64) }),
        ),
      );
      const vector = Buffer.concat([
        u32(0x1cb5c415),
        u32(150),
        ...Array.from({ length: 150 }, () => element),
      ]);
      const base = rssMiB();
      const t0 = performance.now();
      let outcome: string;
      try {
        TL.deserialize(vector);
        outcome = 'decoded';
      } catch (e) {
        outcome = (e as { code?: string }).code ?? String(e);
      }
      console.log(
        `${vector.length} bytes: ${outcome} after ${(performance.now() - t0).toFixed(0)} ms, peak RSS ${peakMiB() - base} MiB over ${base} MiB`,
      );
      return;
    }
  }
}

function run(name: string, extra: string[], ulimit = ''): string {
  const self = [process.execPath, '--require', 'tsx/cjs', __filename, ...args, '--case', name, ...extra];
  const r = spawnSync('bash', ['-c', `${ulimit}exec "$@"`, 'bash', ...self], { encoding: 'utf8' });
  const out = (r.stdout || '').trim();
  return r.signal
    ? `killed by ${r.signal}`
    : r.status === 0
      ? out
      : `exit ${r.status}: ${out} ${r.stderr.slice(-200)}`;
}

if (role) {
  cases();
} else {
  console.log(`native: ${nativePath}\nTL: ${tlPath}`);
  for (const depth of [10_000, 12_500, 15_000, 30_000, 100_000]) {
    console.log(
      `msg_copy x ${depth} (8 MiB stack): ${run('copy', ['--depth', String(depth)], 'ulimit -s 8192; ')}`,
    );
  }
  console.log(`gzip_packed x 30 layers of 16 MiB: ${run('gzip', [])}`);
  console.log(`future_salts x 1,000,000: ${run('salts', [])}`);
  console.log(`TL vector of 150 doubly packed fileHash (16 MiB each): ${run('tl', [])}`);
}

// TransportConnection over real loopback sockets against a server written
// here (net.Server + the native TransportCodec in the server role): packets
// of every size echo back intact over every transport (plain, obfuscated2,
// MTProxy secrets), quick acks, and every failure has its typed error and
// leaves no socket or timer behind.
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import test from 'ava';
import { TransportCodec, type TransportOptions } from '../bindings';
import {
  TransportConnection,
  TransportConnectionError,
  type TransportConnectOptions,
  type TransportHandlers,
} from '../bindings/transport';

type Kind = 'abridged' | 'intermediate' | 'padded' | 'full';
const SECRET = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

const SETUPS: Array<{ name: string; client: Partial<TransportConnectOptions>; server: TransportOptions }> = [
  ...(['abridged', 'intermediate', 'padded', 'full'] as Kind[]).map((kind) => ({
    name: kind,
    client: { kind },
    server: { role: 'server' as const, obfuscated: false },
  })),
  ...(['abridged', 'intermediate', 'padded'] as Kind[]).map((kind) => ({
    name: `${kind}+obfuscated2`,
    client: { kind, obfuscated: true, dcId: 2 },
    server: { role: 'server' as const, obfuscated: true },
  })),
  {
    name: 'intermediate+mtproxy (hex secret)',
    client: { kind: 'intermediate', secret: SECRET.toString('hex'), dcId: -4 },
    server: { role: 'server', secret: SECRET },
  },
  {
    name: 'padded+dd-mtproxy',
    client: { kind: 'padded', secret: Buffer.concat([Buffer.of(0xdd), SECRET]), dcId: 10002 },
    server: { role: 'server', secret: Buffer.concat([Buffer.of(0xdd), SECRET]) },
  },
];

interface PeerServer {
  port: number;
  sockets: Set<Socket>;
  close(): Promise<void>;
}

/** A server whose `onPacket` answers through `reply` (framed by the server codec). */
async function peerServer(
  options: TransportOptions,
  onPacket: (
    packet: Buffer,
    reply: (p: Buffer) => void,
    socket: Socket,
    codec: TransportCodec,
    quickAck: boolean,
  ) => void,
): Promise<PeerServer> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const codec = new TransportCodec(options);
    socket.on('data', (chunk) => {
      let events: ReturnType<TransportCodec['decode']>;
      try {
        events = codec.decode(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const e of events) {
        if (e.kind === 'packet') {
          // Padded intermediate may keep up to 12 bytes of padding: our packets are 4-aligned
          // and carry their length, so trim to it.
          const len = e.data.readUInt32LE(0);
          onPacket(
            e.data.subarray(4, 4 + len),
            (p) => socket.write(codec.encode(p)),
            socket,
            codec,
            e.quickAck,
          );
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A packet of `n` payload bytes carrying its own length first (4-aligned). */
function lengthPrefixed(n: number): Buffer {
  const p = randomBytes(4 + n);
  p.writeUInt32LE(n, 0);
  return p;
}

/** Our kind of resources: TCP sockets and timers (not the stdio pipes ava and tsx open lazily). */
const handles = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout');

/** Whether `cond` becomes true within 500 ms (sockets close a few ticks after destroy). */
async function settles(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 50 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

/** Connects with handlers that collect packets and the close reason. */
async function client(port: number, extra: Partial<TransportConnectOptions>, borrow = false) {
  const packets: Buffer[] = [];
  const waiters: Array<() => void> = [];
  let closed: { error: TransportConnectionError | null } | undefined;
  const handlers: TransportHandlers = {
    borrowPackets: borrow,
    onPacket: (p) => {
      packets.push(borrow ? Buffer.from(p) : p);
      for (const w of waiters.splice(0)) w();
    },
    onClose: (error) => {
      closed = { error };
      for (const w of waiters.splice(0)) w();
    },
  };
  const conn = await TransportConnection.connect({ host: '127.0.0.1', port, ...extra }, handlers);
  const until = async (cond: () => boolean) => {
    while (!cond()) await new Promise<void>((r) => waiters.push(r));
  };
  return { conn, packets, until, closed: () => closed };
}

for (const setup of SETUPS) {
  test.serial(`${setup.name}: packets of every size echo back in order`, async (t) => {
    const server = await peerServer(setup.server, (p, reply) => {
      const out = Buffer.allocUnsafe(4 + p.length);
      out.writeUInt32LE(p.length, 0);
      p.copy(out, 4);
      reply(out);
    });
    const before = handles();
    const c = await client(server.port, setup.client, setup.name.includes('padded'));
    // Sizes up to past the 64 KiB shared scratch (it grows), and a batch through sendMany.
    const sizes = [4, 8, 124, 508, 512, 1020, 4096, 65532, 70000 * 4, 12];
    const sent = sizes.map(lengthPrefixed);
    for (const p of sent.slice(0, 6)) c.conn.send(p);
    c.conn.sendMany(sent.slice(6));
    await c.until(() => c.packets.length >= sent.length);
    for (let i = 0; i < sent.length; i++) {
      const got = c.packets[i];
      const len = got.readUInt32LE(0);
      t.deepEqual(got.subarray(4, 4 + len), sent[i].subarray(4), `packet ${i} (${sizes[i]} bytes)`);
    }
    c.conn.close();
    t.true(c.conn.closed);
    t.is(c.closed()?.error, null);
    t.is(c.conn.closeReason, null);
    c.conn.close(); // idempotent
    const err = t.throws(() => c.conn.send(Buffer.alloc(4)), { instanceOf: TransportConnectionError });
    t.is(err?.code, 'ERR_TRANSPORT_CLOSED');
    // Checked before the server closes (which would close the client's socket too).
    t.true(
      await settles(() => handles().length <= before.length),
      `no socket or timer left: ${before} -> ${handles()}`,
    );
    await server.close();
  });
}

test.serial('quick ack: the server sees the request and the client gets the token', async (t) => {
  const server = await peerServer({ role: 'server' }, (_p, _reply, socket, codec, quickAck) => {
    if (quickAck) socket.write(codec.quickAckAnswer(0x1234567));
  });
  const tokens: number[] = [];
  const conn = await TransportConnection.connect(
    { host: '127.0.0.1', port: server.port, kind: 'intermediate', obfuscated: true },
    { onPacket: () => {}, onQuickAck: (token) => tokens.push(token) },
  );
  conn.send(lengthPrefixed(8), true);
  while (tokens.length === 0) await new Promise((r) => setTimeout(r, 5));
  t.is(tokens[0] & 0x7fffffff, 0x1234567);
  conn.close();
  await server.close();
});

test.serial('a transport error code from the server closes with ERR_TRANSPORT_SERVER_CODE', async (t) => {
  for (const code of [-404, -429, -444]) {
    const server = await peerServer({ role: 'server' }, (_p, reply) => {
      const b = Buffer.alloc(4);
      b.writeInt32LE(code);
      reply(b);
    });
    const c = await client(server.port, { kind: 'abridged', obfuscated: true });
    c.conn.send(lengthPrefixed(4));
    await c.until(() => c.closed() !== undefined);
    const err = c.closed()?.error;
    t.is(err?.code, 'ERR_TRANSPORT_SERVER_CODE');
    t.is(err?.transportCode, code);
    t.true(c.conn.closed);
    await server.close();
  }
});

test.serial(
  'a corrupt stream (bad CRC) closes with ERR_TRANSPORT_PROTOCOL; a peer close with ERR_TRANSPORT_CLOSED',
  async (t) => {
    const server = await peerServer({ role: 'server' }, (p, _reply, socket) => {
      if (p.length === 4) {
        // A full-transport frame: len, seqno, payload, CRC (wrong).
        const frame = Buffer.alloc(16);
        frame.writeUInt32LE(16, 0);
        frame.writeUInt32LE(0, 4);
        frame.writeUInt32LE(0xdeadbeef, 12);
        socket.write(frame);
      } else {
        socket.end();
      }
    });
    const bad = await client(server.port, { kind: 'full' });
    bad.conn.send(lengthPrefixed(4));
    await bad.until(() => bad.closed() !== undefined);
    t.is(bad.closed()?.error?.code, 'ERR_TRANSPORT_PROTOCOL');
    t.is((bad.closed()?.error?.cause as { code?: string } | undefined)?.code, 'ERR_TRANSPORT_BAD_CRC');

    const ended = await client(server.port, { kind: 'full' });
    ended.conn.send(lengthPrefixed(8));
    await ended.until(() => ended.closed() !== undefined);
    t.is(ended.closed()?.error?.code, 'ERR_TRANSPORT_CLOSED');
    await server.close();
  },
);

test.serial(
  'connect: refused, bad options, aborted, and timeout (a listener that never accepts)',
  async (t) => {
    const before = handles();
    // Refused: a port just released.
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    const refused = await t.throwsAsync(
      TransportConnection.connect({ host: '127.0.0.1', port }, { onPacket: () => {} }),
      { instanceOf: TransportConnectionError },
    );
    t.is(refused?.code, 'ERR_TRANSPORT_CONNECT');
    t.is(refused?.syscallCode, 'ECONNREFUSED');

    // Bad options come from the codec, before any socket.
    const badSecret = await t.throwsAsync(
      TransportConnection.connect(
        { host: '127.0.0.1', port, kind: 'full', secret: SECRET },
        { onPacket: () => {} },
      ),
    );
    t.regex((badSecret as { code?: string }).code ?? '', /^ERR_TRANSPORT_/);
    await t.throwsAsync(
      TransportConnection.connect({ host: '127.0.0.1', port, secret: 'xyz' }, { onPacket: () => {} }),
      {
        instanceOf: TypeError,
      },
    );

    // A listener whose accept queue is full: connect hangs until our timeout.
    const blocked = await unacceptingListener();
    try {
      const start = Date.now();
      const timeout = await t.throwsAsync(
        TransportConnection.connect(
          { host: '127.0.0.1', port: blocked.port, connectTimeoutMs: 150 },
          { onPacket: () => {} },
        ),
        { instanceOf: TransportConnectionError },
      );
      t.is(timeout?.code, 'ERR_TRANSPORT_CONNECT_TIMEOUT');
      t.true(Date.now() - start < 1000);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 20);
      const aborted = await t.throwsAsync(
        TransportConnection.connect(
          { host: '127.0.0.1', port: blocked.port, signal: ac.signal },
          { onPacket: () => {} },
        ),
        { instanceOf: TransportConnectionError },
      );
      t.is(aborted?.code, 'ERR_TRANSPORT_ABORTED');
      const already = await t.throwsAsync(
        TransportConnection.connect(
          { host: '127.0.0.1', port: blocked.port, signal: ac.signal },
          { onPacket: () => {} },
        ),
      );
      t.is((already as TransportConnectionError).code, 'ERR_TRANSPORT_ABORTED');
    } finally {
      await blocked.stop();
    }
    await new Promise((r) => setImmediate(r));
    t.true(
      await settles(() => handles().length <= before.length),
      `no socket or timer left: ${before} -> ${handles()}`,
    );
  },
);

/**
 * A listening socket that never accepts, with its accept queue filled: a
 * worker thread listens (backlog 1) and blocks its event loop; fillers from
 * here fill the kernel's queue, so a later SYN goes unanswered.
 */
async function unacceptingListener(): Promise<{ port: number; stop(): Promise<void> }> {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const server = require('node:net').createServer();
    server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
      parentPort.postMessage(server.address().port);
      Atomics.wait(workerData, 0, 0, 30000);
      server.close();
    });
  `,
    { eval: true, workerData: flag },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  const fillers = [0, 1, 2, 3, 4].map(() => createConnection(port, '127.0.0.1').on('error', () => {}));
  await new Promise((r) => setTimeout(r, 50));
  return {
    port,
    stop: async () => {
      for (const f of fillers) f.destroy();
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      await worker.terminate();
    },
  };
}

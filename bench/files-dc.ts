// For files.bench.ts: a TestWorld (DC 2 and a CDN DC) in a forked process (its own event
// loop and CPU, as a real DC would be), with keys registered there without handshakes,
// files stored there (random bytes in its memory), and a raw TCP sink and source for the
// loopback baseline. Each request is one IPC message answered by one.

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { TestWorld } from '../dist/testing';
import { forkChild } from './child';

export interface FilesDcInfo {
  host: string;
  port: number;
  dcId: number;
  pem: string;
  modulusHex: string;
  exponentHex: string;
  fingerprint: string;
  /** Raw TCP: a sink that counts and answers one byte after `n` bytes, a source that sends `n` bytes. */
  sinkPort: number;
  sourcePort: number;
}

export interface StoredDoc {
  id: string;
  accessHash: string;
  fileReference: string;
  size: number;
  dcId: number;
}

type Request = { addKeys: number } | { putFile: { size: number; cdn: boolean } } | { clearUploads: true };

export interface FilesDcControl {
  info: FilesDcInfo;
  /** The DC process (its CPU time is in /proc/<pid>/stat on Linux). */
  pid: number | undefined;
  addKeys(n: number): Promise<Array<{ authKey: Buffer; salt: bigint; userId: number }>>;
  putFile(size: number, cdn: boolean): Promise<StoredDoc>;
  clearUploads(): Promise<void>;
  stop(): Promise<void>;
}

export async function forkedFilesDc(): Promise<FilesDcControl> {
  const child = forkChild(__filename, '--bench-files-child', 'the TestDc child');
  const ask = <T>(req: Request) => child.ask<T>(req);
  const info = await child.next<FilesDcInfo>();
  return {
    info,
    pid: child.pid,
    addKeys: async (n) =>
      (
        await ask<{ keys: Array<{ authKey: string; salt: string; userId: number }> }>({ addKeys: n })
      ).keys.map((k) => ({
        authKey: Buffer.from(k.authKey, 'hex'),
        salt: BigInt(k.salt),
        userId: k.userId,
      })),
    putFile: (size, cdn) => ask<StoredDoc>({ putFile: { size, cdn } }),
    clearUploads: async () => void (await ask<unknown>({ clearUploads: true })),
    stop: child.stop,
  };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );
}

async function childMain(): Promise<void> {
  const world = await TestWorld.start({ dcs: [2], rsaKey: 'shared', cdn: {} });
  // Uploaded parts are checked and counted, not kept: the bench never reads them back, and
  // 64 MiB per upload in this heap made V8 collect it in full every few megabytes for the
  // rest of the run (TestDc then spent ~2 ms/MB more on every case after the uploads).
  world.files.keepUploadedBytes = false;
  const dc = world.dc(2);
  // Raw TCP: the sink reads the count (8 bytes) then that many bytes, and answers one byte.
  const sink = createServer((s) => {
    let want = -1;
    let got = 0;
    s.on('data', (d: Buffer) => {
      if (want < 0) {
        want = Number(d.readBigUInt64LE(0));
        got += d.length - 8;
      } else got += d.length;
      if (got >= want) s.write(Buffer.alloc(1));
    });
  });
  // The source reads the count and sends that many bytes.
  const chunk = randomBytes(512 * 1024);
  const source = createServer((s) => {
    s.once('data', (d: Buffer) => {
      let left = Number(d.readBigUInt64LE(0));
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
        }
      };
      pump();
    });
  });
  const [sinkPort, sourcePort] = [await listen(sink), await listen(source)];
  let nextUser = 5000;
  process.on('message', (m: Request) => {
    if ('addKeys' in m) {
      const keys = [];
      for (let i = 0; i < m.addKeys; i++) {
        const authKey = randomBytes(256);
        const userId = nextUser++;
        const { salt } = dc.addAuthKey(authKey, { userId });
        keys.push({ authKey: authKey.toString('hex'), salt: salt.toString(), userId });
      }
      process.send?.({ keys });
    } else if ('putFile' in m) {
      // Random bytes held in memory: serving them costs the DC nothing but the protocol.
      const f = world.files.put(randomBytes(m.putFile.size), { dcId: 2, cdn: m.putFile.cdn });
      process.send?.({
        id: f.id.toString(),
        accessHash: f.accessHash.toString(),
        fileReference: f.fileReference.toString('hex'),
        size: m.putFile.size,
        dcId: 2,
      } satisfies StoredDoc);
    } else if ('clearUploads' in m) {
      world.files.clearUploads();
      process.send?.({});
    }
  });
  process.on('disconnect', () => {
    sink.close();
    source.close();
    void world.stop();
  });
  const k = world.rsaPublicKey;
  process.send?.({
    host: dc.host,
    port: dc.port,
    dcId: dc.dcId,
    pem: k.pem,
    modulusHex: k.modulus.toString('hex'),
    exponentHex: k.exponent.toString('hex'),
    fingerprint: k.fingerprint.toString(),
    sinkPort,
    sourcePort,
  } satisfies FilesDcInfo);
}

if (process.argv.includes('--bench-files-child')) void childMain();

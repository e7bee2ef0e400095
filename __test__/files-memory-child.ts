// The client side of files-memory.spec.ts, in a process of its own so that its memory is
// only the client's: opens a session with the key the test registered, downloads the file
// to a path, samples the resident set size, and prints one JSON line.
//   node --require tsx/cjs files-memory-child.ts '<json: host, port, pem, key, salt, userId, location, size, path>'

import { SessionRegistry } from '../bindings';

interface Args {
  host: string;
  port: number;
  pem: string;
  key: string;
  salt: string;
  userId: number;
  location: { id: string; accessHash: string; fileReference: string };
  size: number;
  path: string;
  warmPath: string;
}

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]) as Args;
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, {
    address: { host: a.host, port: a.port },
    rsaKeys: [a.pem],
    import: { authKey: Buffer.from(a.key, 'hex'), serverSalt: BigInt(a.salt), userId: a.userId },
    pool: { download: 4 },
  });
  const location = {
    _: 'inputDocumentFileLocation' as const,
    id: BigInt(a.location.id),
    accessHash: BigInt(a.location.accessHash),
    fileReference: Buffer.from(a.location.fileReference, 'hex'),
    thumbSize: '',
  };
  // Warm up (code, connections, the native module's buffers), then measure from there.
  await reg.download(id, location, { to: a.warmPath, length: 16 << 20 });
  const base = process.memoryUsage().rss;
  let peak = base;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, 10);
  const started = Date.now();
  const r = await reg.download(id, location, { to: a.path, size: a.size, onProgress: sample });
  const ms = Date.now() - started;
  clearInterval(timer);
  sample();
  await reg.close(id);
  process.stdout.write(`${JSON.stringify({ base, peak, ms, bytes: r.bytes })}\n`);
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ failed: String((e as Error)?.stack ?? e) })}\n`);
  process.exit(1);
});

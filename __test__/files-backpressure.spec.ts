// An upload whose writes the kernel cannot take at once: a proxy between the session and
// DC 2 reads the session's bytes in short bursts with pauses, so the socket buffers fill
// and writes complete later. A large frame is framed in a shared scratch that a write
// still holding it must give up (socket-glue.ts): were it reused, a later part would
// overwrite one not yet sent. Every byte must arrive as it was.

import { randomBytes } from 'node:crypto';
import net from 'node:net';
import test from 'ava';
import { frameScratch } from '../bindings/session/socket-glue';
import { botSession, filesWorld, locationOf, MIB, sameBytes, uploadMedia } from './files-support';

/** A TCP proxy to `port` that lets the client's bytes through `burst` at a time, `pauseMs` apart. */
function throttlingProxy(port: number, burst: number, pauseMs: number): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    upstream.on('data', (d) => client.write(d));
    let since = 0;
    client.on('data', (d) => {
      upstream.write(d);
      since += d.length;
      if (since < burst) return;
      since = 0;
      client.pause();
      setTimeout(() => client.resume(), pauseMs);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('an upload whose writes wait in the socket: every part arrives intact', async (t) => {
  const world = await filesWorld();
  const proxy = await throttlingProxy(world.dc(2).port, 1 * MIB, 40);
  const { reg, id } = await botSession(world, {
    address: { host: '127.0.0.1', port: (proxy.address() as net.AddressInfo).port },
  });
  try {
    const data = randomBytes(24 * MIB + 12_345);
    const before = frameScratch.get();
    // A wide window: more in flight than the socket buffers hold.
    const doc = await reg.upload(id, data, { window: 32, use: uploadMedia(reg, id) });
    t.not(frameScratch.get(), before, 'some write kept the scratch (the case under test happened)');
    sameBytes(t, await reg.download(id, locationOf(doc), { size: data.length }), data, 'uploaded');
  } finally {
    await reg.close(id);
    proxy.close();
    await world.stop();
  }
});

// Proof with a second real peer: Telethon (Python), which still encrypts p_q_inner_data
// with the legacy RSA scheme. `npm test` installs it into .tmp/pydeps first
// (scripts/install-peers.sh).

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { TestDc } from '../bindings/testing';

const pythonEnv = { ...process.env, PYTHONPATH: join(__dirname, '..', '.tmp', 'pydeps') };

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('python3', [join(__dirname, 'testdc-telethon.py'), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: pythonEnv,
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => p.kill(), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`telethon exited with ${code}: ${err.slice(-2000)}`));
    });
  });
}

test('Telethon (legacy RSA, p_q_inner_data) creates a key and calls TestDc', async (t) => {
  const dc = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
  try {
    dc.handle('updates.getState', () => ({
      _: 'updates.state',
      pts: 77,
      qts: 0,
      date: 1,
      seq: 0,
      unreadCount: 0,
    }));
    const dir = mkdtempSync(join(tmpdir(), 'testdc-'));
    const pem = join(dir, 'key.pem');
    writeFileSync(pem, dc.rsaPublicKey.pem);
    const got = JSON.parse((await run([String(dc.port), '2', pem])).trim().split('\n').at(-1)!);
    t.is(got.thisDc, 2);
    t.deepEqual(got.dcOptions, [[2, '127.0.0.1', dc.port]]);
    t.is(got.pts, 77);
    const key = dc.authKeys().at(-1)!;
    t.like(key, { source: 'handshake', innerData: 'p_q_inner_data', rsaScheme: 'legacy' });
    t.is(dc.authKey(key.authKeyId)!.toString('hex'), got.authKey);
    t.is(dc.stats.duplicates, 0);
    // Telethon starts with salt 0 rather than new_nonce ^ server_nonce: one bad_server_salt,
    // as Telegram would send. Nothing else is refused.
    t.deepEqual(Object.keys(dc.stats.rejected), Object.keys(dc.stats.rejected).length ? ['48'] : []);
    t.true((dc.stats.rejected[48] ?? 0) <= 1);
  } finally {
    await dc.stop();
  }
});

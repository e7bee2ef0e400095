// Session strings: ours round-trips and refuses damage; GramJS's and Telethon's
// are checked against independent writers and readers: GramJS's own
// StringSession (node_modules/telegram) both ways, and Telethon's layout
// written by Python's struct and base64 modules (struct '>B{n}sH256s', the
// format string of telethon/sessions/string.py), and Telethon's own
// StringSession both ways (`npm test` installs Telethon into .tmp/pydeps).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { AuthKey } from 'telegram/crypto/AuthKey';
import { StringSession } from 'telegram/sessions';
import {
  exportStringSession,
  importStringSession,
  type SessionRecord,
  STRING_SESSION_PREFIX,
  toGramJsString,
  toTelethonString,
} from '../bindings/storage';
import { comparable, recordFor } from './storage-support';

function keyOnly(dcId: number, authKey: Buffer): SessionRecord {
  return { name: 'k', dcId, authKeys: { [dcId]: { authKey, serverSalt: 0n, timeOffset: 0 } }, updatedAt: 0 };
}

test('our string round-trips a full record, named on import', (t) => {
  const r = recordFor('full');
  const s = exportStringSession(r);
  t.true(s.startsWith(STRING_SESSION_PREFIX));
  t.regex(s, /^T1[A-Za-z0-9_-]+$/);
  const back = importStringSession(s, 'full');
  t.is(back.format, 'telegram-mt');
  t.deepEqual(comparable(back.record), r);
  t.is(importStringSession(s, 'renamed').record.name, 'renamed');
});

test('our string refuses every changed character and truncation', (t) => {
  const s = exportStringSession(keyOnly(2, randomBytes(256)));
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 2; i < s.length; i += 7) {
    const c = alphabet[(alphabet.indexOf(s[i]) + 1) % 64];
    const bad = s.slice(0, i) + c + s.slice(i + 1);
    // The last character may carry only padding bits: then the bytes are unchanged.
    if (Buffer.from(bad.slice(2), 'base64url').equals(Buffer.from(s.slice(2), 'base64url'))) continue;
    t.throws(() => importStringSession(bad, 'x'), undefined, `char ${i}`);
  }
  for (const n of [2, 10, 100, s.length - 1]) t.throws(() => importStringSession(s.slice(0, n), 'x'));
  t.throws(() => importStringSession(`${s.slice(0, 50)}!${s.slice(51)}`, 'x'));
  t.throws(() => importStringSession('2abc', 'x'));
});

test('sealed string sessions need the same cipher', async (t) => {
  const { aesGcmKeyCipher } = await import('../bindings/storage');
  const cipher = aesGcmKeyCipher(randomBytes(32));
  const r = recordFor('sealed');
  const s = exportStringSession(r, { cipher });
  t.deepEqual(comparable(importStringSession(s, 'sealed', { cipher }).record), r);
  t.throws(() => importStringSession(s, 'sealed'));
});

test('GramJS StringSession.save() output imports with its DC, address, port and key', async (t) => {
  for (const [dcId, host, port] of [
    [2, '149.154.167.51', 443],
    [4, '2001:67c:4e8:f004::a', 443],
    [1, 'example.org', 8443],
  ] as const) {
    const key = randomBytes(256);
    const gram = new StringSession('');
    gram.setDC(dcId, host, port);
    const ak = new AuthKey();
    await ak.setKey(key);
    gram.authKey = ak;
    const s = gram.save();
    const got = importStringSession(s, 'g');
    t.is(got.format, 'gramjs');
    t.deepEqual(got.address, { host, port });
    t.is(got.record.dcId, dcId);
    t.deepEqual(got.record.authKeys[dcId].authKey, key);
    t.is(got.record.authKeys[dcId].serverSalt, 0n);
    // Our writer gives back GramJS's exact string.
    t.is(toGramJsString(got.record, got.address), s);
  }
});

test('GramJS StringSession reads what toGramJsString and toTelethonString write', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }),
      fc.ipV4(),
      fc.integer({ min: 1, max: 0x7fff }), // GramJS reads the port as a signed int16
      fc.uint8Array({ minLength: 256, maxLength: 256 }),
      async (dcId, ip, port, bytes) => {
        const key = Buffer.from(bytes);
        const record = keyOnly(dcId, key);
        for (const s of [
          toGramJsString(record, { host: ip, port }),
          toTelethonString(record, { host: ip, port }),
        ]) {
          const gram = new StringSession(s);
          await gram.load();
          t.is(gram.dcId, dcId);
          t.is(gram.serverAddress, ip);
          t.is(gram.port, port);
          t.deepEqual(gram.getAuthKey(dcId)!.getKey(), key);
        }
      },
    ),
    { numRuns: 50 },
  );
});

function python(): string | undefined {
  for (const bin of ['python3', 'python']) {
    try {
      execFileSync(bin, ['-c', 'import struct, base64, ipaddress'], { stdio: 'ignore' });
      return bin;
    } catch {}
  }
  return undefined;
}
const py = python();
// Python is on every machine this project supports (CI's included); Telethon comes from
// scripts/install-peers.sh, which `npm test` runs first.
if (!py) throw new Error('python3 is needed for the Telethon layout checks');
const pyTest = test;

/** Telethon's StringSession.save() layout, written by Python's struct module. */
function telethonByPython(dcId: number, ip: string, port: number, key: Buffer): string {
  const code = `
import base64, ipaddress, struct, sys
dc, ip, port, key = int(sys.argv[1]), ipaddress.ip_address(sys.argv[2]).packed, int(sys.argv[3]), bytes.fromhex(sys.argv[4])
print('1' + base64.urlsafe_b64encode(struct.pack('>B{}sH256s'.format(len(ip)), dc, ip, port, key)).decode('ascii'))`;
  return execFileSync(py!, ['-c', code, String(dcId), ip, String(port), key.toString('hex')])
    .toString()
    .trim();
}

pyTest('Telethon strings (IPv4 and IPv6) as Python writes them: import and byte-exact export', (t) => {
  for (const [dcId, ip, port] of [
    [2, '149.154.167.51', 443],
    [4, '2001:67c:4e8:f004::a', 443],
    [5, '91.108.56.128', 65535],
    [3, '::1', 80],
    [1, '1:0:0:2::3', 443],
  ] as const) {
    const key = randomBytes(256);
    const s = telethonByPython(dcId, ip, port, key);
    t.is(s.length, ip.includes(':') ? 369 : 353);
    const got = importStringSession(s, 't');
    t.is(got.format, 'telethon');
    t.deepEqual(got.address, { host: ip, port });
    t.deepEqual(got.record.authKeys[dcId].authKey, key);
    t.is(toTelethonString(got.record, got.address), s);
  }
});

test('the format can be forced, and a test DC address marks testMode', (t) => {
  const key = randomBytes(256);
  const record = keyOnly(2, key);
  const thon = toTelethonString(record, { host: '149.154.167.40', port: 443 });
  t.true(importStringSession(thon, 'x').record.testMode);
  t.is(importStringSession(thon, 'x', { format: 'telethon' }).format, 'telethon');
  t.throws(() => importStringSession(thon, 'x', { format: 'gramjs' }));
  t.throws(() => importStringSession(thon, 'x', { format: 'telegram-mt' }));
  const gram = toGramJsString(record);
  t.is(importStringSession(gram, 'x').address?.host, '149.154.167.51');
  t.is(importStringSession(gram, 'x').record.testMode, undefined);
  t.throws(() => toTelethonString(record, { host: 'example.org', port: 443 }));
  t.throws(() => importStringSession(toGramJsString(keyOnly(2, Buffer.alloc(256))), 'x'));
});

const pythonEnv = { ...process.env, PYTHONPATH: join(__dirname, '..', '.tmp', 'pydeps') };
function hasTelethon(): boolean {
  if (!py) return false;
  try {
    execFileSync(py, ['-c', 'import telethon.sessions'], { stdio: 'ignore', env: pythonEnv });
    return true;
  } catch {
    return false;
  }
}
if (!hasTelethon()) throw new Error('Telethon is missing: run bash scripts/install-peers.sh');
const telethonTest = test;

telethonTest("Telethon's own StringSession: its save() imports here, our export loads there", (t) => {
  const cases = [
    [2, '149.154.167.51', 443],
    [4, '2001:67c:4e8:f004::a', 443],
    [1, '10.0.0.1', 8443],
  ] as const;
  const keys = cases.map(() => randomBytes(256));
  const save = `
import sys
from telethon.sessions import StringSession
from telethon.crypto import AuthKey
s = StringSession()
s.set_dc(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
s.auth_key = AuthKey(bytes.fromhex(sys.argv[4]))
print(s.save())`;
  const load = `
import sys
from telethon.sessions import StringSession
s = StringSession(sys.argv[1])
print(s.dc_id, s.server_address, s.port, s.auth_key.key.hex())`;
  cases.forEach(([dcId, ip, port], i) => {
    const saved = execFileSync(py!, ['-c', save, String(dcId), ip, String(port), keys[i].toString('hex')], {
      env: pythonEnv,
    })
      .toString()
      .trim();
    const got = importStringSession(saved, 't');
    t.is(got.format, 'telethon');
    t.deepEqual(got.address, { host: ip, port });
    t.deepEqual(got.record.authKeys[dcId].authKey, keys[i]);

    const ours = toTelethonString(keyOnly(dcId, keys[i]), { host: ip, port });
    t.is(ours, saved);
    const read = execFileSync(py!, ['-c', load, ours], { env: pythonEnv }).toString().trim();
    t.is(read, `${dcId} ${ip} ${port} ${keys[i].toString('hex')}`);
  });
});

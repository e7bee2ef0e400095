// Connection pools and transport errors over real sockets against TestDc: uploads and
// downloads on their own connections (each its own MTProto session on the same key, a
// temporary key by default), least load, idle connections closed, a renewal moving the
// pool to a new key; -429 on the tenth connection then success after backoff, -429 while
// reconnecting, -444 as a typed error without a reconnection loop.

import test from 'ava';
import { type SessionError, type SessionEvent, SessionRegistry } from '../bindings';
import { FloodCounter, floodDelay } from '../bindings/session/transport-errors';
import { TestDc } from '../bindings/testing';

let dc: TestDc;

test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
  dc.handle('upload.saveFilePart', async (req) => {
    await new Promise((r) => setTimeout(r, 30 + (req.filePart % 5) * 10));
    return true;
  });
  dc.handle('upload.getFile', () => ({
    _: 'upload.file' as const,
    type: { _: 'storage.filePartial' as const },
    mtime: 0,
    bytes: Buffer.alloc(16, 1),
  }));
});
test.after.always(async () => {
  await dc?.stop();
});

const opts = (extra: object = {}) => ({
  address: { host: dc.host, port: dc.port },
  rsaKeys: [dc.rsaPublicKey.pem],
  init: { apiId: 1 },
  reconnect: { baseMs: 10, capMs: 100 },
  ...extra,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const part = (reg: SessionRegistry, id: string, n: number) =>
  reg.call(id, 'upload.saveFilePart', { fileId: 1n, filePart: n, bytes: Buffer.alloc(8) });

/** Sessions (server side) that ran `method` since `from` executions. */
function sessionsOf(method: string, from: number): Map<bigint, number> {
  const m = new Map<bigint, number>();
  for (const e of dc.executions().slice(from))
    if (e.method === method) m.set(e.sessionId, (m.get(e.sessionId) ?? 0) + 1);
  return m;
}

test.serial('uploads and downloads go on their own connections, on the same temporary key', async (t) => {
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  const from = dc.executions().length;
  const id = await reg.open(2, (e) => events.push(e), opts({ pool: { upload: 1, download: 1 } }));
  t.true(
    events.some((e) => e.kind === 'tempKeyBound'),
    'PFS is on by default when one key serves several connections',
  );
  const main = reg.state(id).mtpSessionId;
  await part(reg, id, 0);
  const file = await reg.call(id, 'upload.getFile', {
    location: {
      _: 'inputDocumentFileLocation',
      id: 1n,
      accessHash: 2n,
      fileReference: Buffer.alloc(0),
      thumbSize: '',
    },
    offset: 0n,
    limit: 4096,
  });
  t.is(file._, 'upload.file');
  await reg.call(id, 'help.getNearestDc', {});
  await reg.call(id, 'help.getConfig', {}, { connection: 'download' });
  const ex = dc.executions().slice(from);
  const up = ex.find((e) => e.method === 'upload.saveFilePart');
  const down = ex.find((e) => e.method === 'upload.getFile');
  const other = ex.find((e) => e.method === 'help.getNearestDc');
  const explicit = ex.find((e) => e.method === 'help.getConfig');
  if (!up || !down || !other || !explicit) return t.fail('every call ran');
  t.is(other.sessionId, main);
  t.not(up.sessionId, main);
  t.not(down.sessionId, main);
  t.not(up.sessionId, down.sessionId);
  t.is(explicit.sessionId, down.sessionId, 'CallOptions.connection');
  // One temporary key under all three sessions, bound to the permanent key.
  t.is(new Set([up, down, other].map((e) => e.authKeyId)).size, 1);
  t.is(dc.authKeys().find((k) => k.authKeyId === up.authKeyId)?.boundTo, reg.state(id).authKeyId);
  const initOn = dc.sessions().filter((s) => s.authKeyId === up.authKeyId && s.initConnection);
  t.is(initOn.length, 3, 'initConnection on each connection');
  await reg.close(id);
  await sleep(50);
  t.false(
    dc.sessions().some((s) => s.authKeyId === up.authKeyId && s.connected),
    'close() closes every connection',
  );
});

test.serial('pfs: false: the extra connections run on the permanent key, each its own session', async (t) => {
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  const id = await reg.open(2, (e) => events.push(e), opts({ pool: { upload: 1 }, pfs: false }));
  t.false(events.some((e) => e.kind === 'tempKeyBound'));
  const from = dc.executions().length;
  await part(reg, id, 0);
  const st = reg.state(id);
  const run = dc
    .executions()
    .slice(from)
    .find((e) => e.method === 'upload.saveFilePart');
  t.is(run?.authKeyId, st.authKeyId);
  t.not(run?.sessionId, st.mtpSessionId);
  await reg.close(id);
});

test.serial('least load: parts spread over the upload connections; idle ones close', async (t) => {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, opts({ pool: { upload: 2, idleMs: 300 } }));
  const active = dc.stats.activeConnections;
  // The first upload opens one connection; while it is busy a second one opens.
  await part(reg, id, 0);
  t.is(dc.stats.activeConnections, active + 1);
  await Promise.all([1, 2, 3, 4].map((n) => part(reg, id, n)));
  t.is(dc.stats.activeConnections, active + 2);
  const from = dc.executions().length;
  await Promise.all(Array.from({ length: 20 }, (_, n) => part(reg, id, n)));
  const per = [...sessionsOf('upload.saveFilePart', from).values()];
  t.is(per.length, 2, 'both upload connections carried parts');
  t.true(Math.min(...per) >= 8, `spread ${per.join('/')}`);
  t.false(
    sessionsOf('upload.saveFilePart', from).has(reg.state(id).mtpSessionId),
    'none on the main connection',
  );
  // Idle for longer than idleMs: the extra connections close, the main one stays.
  for (let i = 0; i < 40 && dc.stats.activeConnections > active; i++) await sleep(50);
  t.is(dc.stats.activeConnections, active);
  t.is(reg.state(id).status, 'connected');
  // And open again on demand.
  await part(reg, id, 7);
  t.is(dc.stats.activeConnections, active + 1);
  await reg.close(id);
});

test.serial('state().pending counts the requests of every connection of the pool', async (t) => {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, opts({ pool: { upload: 1 } }));
  await part(reg, id, 0); // the upload connection is open
  t.is(reg.state(id).pending, 0);
  const parts = [1, 2, 3, 4, 5, 6].map((n) => part(reg, id, n));
  const main = reg.call(id, 'help.getConfig', {});
  t.is(reg.state(id).pending, 7, 'six parts on the upload connection, one call on the main one');
  await Promise.all([...parts, main]);
  t.is(reg.state(id).pending, 0);
  await reg.close(id);
});

test.serial('a renewal moves the whole pool to the new temporary key', async (t) => {
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  t.timeout(30_000);
  const pfs = { expiresInSec: 6, renewBeforeSec: 3, jitterSec: 0.2 };
  const id = await reg.open(2, (e) => events.push(e), opts({ pool: { upload: 1 }, pfs }));
  const from = dc.executions().length;
  await part(reg, id, 1);
  for (let i = 0; i < 120 && events.filter((e) => e.kind === 'tempKeyBound').length < 2; i++) await sleep(50);
  await part(reg, id, 2);
  const runs = dc
    .executions()
    .slice(from)
    .filter((e) => e.method === 'upload.saveFilePart');
  t.is(runs.length, 2);
  t.not(runs[0].authKeyId, runs[1].authKeyId, 'the second part went under the new key');
  t.not(runs[0].sessionId, runs[1].sessionId);
  const keys = dc.authKeys().filter((k) => k.boundTo === reg.state(id).authKeyId);
  t.deepEqual(
    keys.map((k) => k.authKeyId),
    [runs[1].authKeyId],
  );
  await reg.close(id);
});

test('-429 backoff: growing, jittered, counted', (t) => {
  const f = new FloodCounter();
  t.is(f.hit(0), 4);
  t.is(f.hit(1000), 5);
  t.is(f.hit(200_000), 4, 'a -429 long after the last starts over');
  t.is(f.total, 3);
  const o = { baseMs: 100, capMs: 60_000 };
  t.is(
    floodDelay(1, o, () => 1),
    1600,
  );
  t.is(
    floodDelay(1, o, () => 0),
    400,
    'at least a quarter of the ceiling',
  );
  t.is(
    floodDelay(3, o, () => 1),
    6400,
  );
  t.is(
    floodDelay(20, o, () => 1),
    60_000,
  );
});

test.serial('-429 on the tenth connection, then success after backoff', async (t) => {
  const limited = await TestDc.start({ rsaKey: 'shared', dcId: 2, maxConnections: 9 });
  try {
    const reg = new SessionRegistry();
    const o = {
      address: { host: limited.host, port: limited.port },
      init: { apiId: 1 },
      reconnect: { baseMs: 20, capMs: 200 },
    };
    const keys = Array.from({ length: 10 }, (_, i) => Buffer.alloc(256, i + 1));
    for (const k of keys) limited.addAuthKey(k, { salt: 5n });
    const ids: string[] = [];
    for (const k of keys.slice(0, 9))
      ids.push(await reg.open(2, undefined, { ...o, import: { authKey: k, serverSalt: 5n } }));
    t.is(limited.stats.activeConnections, 9);
    const events: SessionEvent[] = [];
    const tenth = reg.open(2, (e) => events.push(e), { ...o, import: { authKey: keys[9], serverSalt: 5n } });
    for (let i = 0; i < 100 && limited.stats.refusedConnections === 0; i++) await sleep(10);
    t.true(limited.stats.refusedConnections >= 1, 'the tenth connection got -429');
    await sleep(100);
    await reg.close(ids[0]);
    const id = await tenth;
    t.is((await reg.call(id, 'help.getNearestDc', {})).thisDc, 2);
    t.is(limited.stats.activeConnections, 9);
    // A key exchange refused with -429 is tried again too.
    const refused = limited.stats.refusedConnections;
    const fresh = reg.open(2, undefined, { ...o, rsaKeys: [limited.rsaPublicKey.pem] });
    for (let i = 0; i < 100 && limited.stats.refusedConnections === refused; i++) await sleep(10);
    t.true(limited.stats.refusedConnections > refused, 'the key exchange got -429');
    await reg.close(ids[1]);
    const created = await fresh;
    t.is((await reg.call(created, 'help.getNearestDc', {})).thisDc, 2);
    t.is(limited.stats.authKeysCreated, 1);
    for (const x of reg.list()) await reg.close(x);
  } finally {
    await limited.stop();
  }
});

test.serial('-429 while reconnecting: the session backs off and comes back; nothing lost', async (t) => {
  const limited = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
  try {
    const reg = new SessionRegistry();
    const events: SessionEvent[] = [];
    const o = {
      address: { host: limited.host, port: limited.port },
      init: { apiId: 1 },
      reconnect: { baseMs: 10, capMs: 100 },
    };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const k = Buffer.alloc(256, 40 + i);
      limited.addAuthKey(k, { salt: 5n });
      ids.push(await reg.open(2, (e) => events.push(e), { ...o, import: { authKey: k, serverSalt: 5n } }));
    }
    limited.limitConnections(2);
    limited.dropConnections();
    const calls = ids.map((id) => reg.call(id, 'help.getNearestDc', {}));
    for (let i = 0; i < 100 && limited.stats.refusedConnections === 0; i++) await sleep(10);
    t.true(limited.stats.refusedConnections >= 1);
    await sleep(200);
    limited.limitConnections(undefined);
    for (const r of await Promise.all(calls)) t.is(r.thisDc, 2);
    t.true(events.some((e) => e.kind === 'badData' && e.code === 'TRANSPORT_429'));
    for (const id of ids) t.is(reg.state(id).status, 'connected');
    for (const id of ids) await reg.close(id);
  } finally {
    await limited.stop();
  }
});

test.serial('-444: the DC id is refused: BAD_DC, no reconnection loop', async (t) => {
  const strict = await TestDc.start({ rsaKey: 'shared', dcId: 2, strictDcId: true });
  try {
    const reg = new SessionRegistry();
    const o = {
      address: { host: strict.host, port: strict.port },
      rsaKeys: [strict.rsaPublicKey.pem],
      init: { apiId: 1 },
      transport: { obfuscated: true },
      reconnect: { baseMs: 10, capMs: 50 },
    };
    // The right DC gets in.
    const ok = await reg.open(2, undefined, o);
    await reg.close(ok);
    // DC 3's header to DC 2: the key exchange is refused.
    const e1 = await t.throwsAsync(reg.open(3, undefined, o));
    t.is((e1 as SessionError).code, 'BAD_DC');
    // With a key: the session's own connection is refused, once.
    const k = Buffer.alloc(256, 99);
    strict.addAuthKey(k);
    const before = strict.stats.connections;
    const e2 = await t.throwsAsync(reg.open(3, undefined, { ...o, import: { authKey: k, serverSalt: 1n } }));
    t.is((e2 as SessionError).code, 'BAD_DC');
    await sleep(300);
    t.is(strict.stats.connections, before + 1, 'no reconnection loop');
    t.is(reg.size, 0);
  } finally {
    await strict.stop();
  }
});

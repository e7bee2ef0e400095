// The session registry against TestDc over real sockets: open/call/close,
// export/import (in this process and in a child), close during pending calls,
// FLOOD_WAIT, client notification in its three forms, bad data, state.

import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import test from 'ava';
import { AttemptLimiter, SessionError, type SessionEvent, SessionRegistry, TL } from '../bindings';
import { backoffDelay } from '../bindings/session/reconnect';
import { TestDc } from '../bindings/testing';

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
  // A slow method: answers after `ms` (tests of pending calls).
  dc.handle('help.getNearestDc', async (_req, ctx) => {
    await new Promise((r) => setTimeout(r, 300));
    return { _: 'nearestDc' as const, country: 'XX', thisDc: ctx.dcId, nearestDc: ctx.dcId };
  });
});
test.after.always(async () => {
  await dc?.stop();
});

const opts = () => ({
  address: { host: dc.host, port: dc.port },
  rsaKeys: [dc.rsaPublicKey.pem],
  init: { apiId: 1 },
  reconnect: { baseMs: 20, capMs: 200 },
});

test.serial('open, call, state, close', async (t) => {
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  const keysBefore = dc.stats.authKeysCreated;
  const id = await reg.open(2, (e) => events.push(e), opts());
  t.is(dc.stats.authKeysCreated, keysBefore + 1);
  t.deepEqual(
    events.map((e) => e.kind),
    ['authKeyCreated', 'connected'],
  );
  const config = await reg.call(id, 'help.getConfig', {});
  t.is(config.thisDc, 2);
  const st = reg.state(id);
  t.is(st.dcId, 2);
  t.true(st.initConnectionSent);
  t.is(st.status, 'connected');
  t.is(st.pending, 0);
  t.true(st.seqno > 0);
  t.false(JSON.stringify(st, (_, v) => (typeof v === 'bigint' ? `${v}` : v)).includes('authKey"'));
  const info = dc.sessions().find((x) => x.sessionId === st.mtpSessionId);
  t.is(info?.layer, TL.LAYER, 'initConnection went inside invokeWithLayer');
  t.true(events.some((e) => e.kind === 'rpcResult'));
  await reg.close(id);
  t.is(events.at(-1)?.kind, 'closed');
  t.is(reg.size, 0);
  await t.throwsAsync(reg.call(id, 'help.getConfig', {}), {
    instanceOf: SessionError,
    message: /no open session/,
  });
  const sent = await reg.send(id, { _: 'help.getConfig' });
  t.deepEqual(sent, { ok: false, reason: { code: 'SESSION_CLOSED', message: `no open session ${id}` } });
});

test('open fails with a typed error and leaves nothing behind', async (t) => {
  const reg = new SessionRegistry();
  const err = await t.throwsAsync(
    reg.open(2, undefined, { ...opts(), address: { host: '127.0.0.1', port: 1 }, connectTimeoutMs: 2000 }),
  );
  t.true(err instanceof SessionError);
  t.is((err as SessionError).code, 'CONNECT_FAILED');
  t.is(reg.size, 0);
  const bad = await t.throwsAsync(reg.open(9, undefined, {}));
  t.is((bad as SessionError).code, 'BAD_OPTIONS');
  // An imported key the DC does not know: -404 is a typed error, not a new key.
  const unknown = await t.throwsAsync(
    reg.open(2, undefined, { ...opts(), import: { authKey: Buffer.alloc(256, 7), serverSalt: 1n } }),
  );
  t.is((unknown as SessionError).code, 'AUTH_KEY_UNKNOWN');
});

test('send: encrypted resolves with the msg_id, its answer comes to the client; typed failures', async (t) => {
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  const id = await reg.open(2, (e) => events.push(e), opts());
  const r = await reg.send(id, { _: 'help.getConfig' });
  if (!r.ok) return t.fail(r.reason.message);
  t.is(typeof r.messageId, 'bigint');
  while (!events.some((e) => e.kind === 'rpcResult' && e.msgId === r.messageId))
    await new Promise((x) => setTimeout(x, 10));
  const bytes = await reg.send(id, TL.serialize({ _: 'help.getNearestDc' }));
  t.true(bytes.ok);
  const bad = await reg.send(id, { _: 'no.suchMethod' } as never);
  t.false(bad.ok);
  if (!bad.ok) t.is(bad.reason.code, 'BAD_MESSAGE');
  const short = await reg.send(id, Buffer.alloc(3));
  t.false(short.ok);
  if (!short.ok) t.is(short.reason.code, 'BAD_MESSAGE');
  // plain: req_pq_multi answered with resPQ, as a message event.
  const nonce = Buffer.alloc(16, 9);
  const plain = await reg.send(id, { _: 'req_pq_multi', nonce }, 'plain');
  t.true(plain.ok);
  for (let i = 0; i < 200 && !events.some((e) => e.kind === 'message' && e.object?._ === 'resPQ'); i++)
    await new Promise((x) => setTimeout(x, 10));
  const resPQ = events.find((e) => e.kind === 'message' && e.object?._ === 'resPQ');
  t.truthy(resPQ);
  await reg.close(id);
});

test('close() during pending calls settles each with SESSION_CLOSED', async (t) => {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, opts());
  const calls = Array.from({ length: 20 }, () => reg.call(id, 'help.getNearestDc', {}));
  await new Promise((r) => setTimeout(r, 50));
  t.is(reg.state(id).pending, 20);
  await reg.close(id);
  const settled = await Promise.allSettled(calls);
  for (const s of settled) {
    t.is(s.status, 'rejected');
    if (s.status === 'rejected') {
      t.true(s.reason instanceof SessionError);
      t.is(s.reason.code, 'SESSION_CLOSED');
    }
  }
});

test('call timeout is a typed error', async (t) => {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, opts());
  const err = await t.throwsAsync(reg.call(id, 'help.getNearestDc', {}, { timeoutMs: 50 }));
  t.is((err as SessionError).code, 'TIMEOUT');
  t.is(reg.state(id).pending, 0);
  await reg.close(id);
});

test.serial('export then import into a fresh registry reuses the key: no new handshake', async (t) => {
  const a = new SessionRegistry();
  const id = await a.open(2, undefined, opts());
  const exported = a.export(id);
  t.is(exported.authKey.length, 256);
  t.is(exported.dcId, 2);
  await a.close(id);
  const keysBefore = dc.stats.authKeysCreated;
  const b = new SessionRegistry();
  const events: string[] = [];
  const id2 = await b.open(2, (e) => events.push(e.kind), { ...opts(), import: exported });
  t.is((await b.call(id2, 'help.getConfig', {})).thisDc, 2);
  t.is(dc.stats.authKeysCreated, keysBefore, 'no key exchange');
  t.false(events.includes('authKeyCreated'));
  // import() replaces the key of an open session.
  const c = new SessionRegistry();
  const other = await c.open(2, undefined, opts());
  const otherKey = c.export(other);
  await b.import(id2, 5n, otherKey.authKey, otherKey.serverSalt);
  t.deepEqual(b.export(id2).authKey, otherKey.authKey);
  t.is(b.state(id2).userId, 5n);
  t.is((await b.call(id2, 'help.getConfig', {})).thisDc, 2);
  await b.close(id2);
  await c.close(other);
});

test.serial('export then import in a child process: no new handshake', async (t) => {
  const a = new SessionRegistry();
  const id = await a.open(2, undefined, opts());
  const e = a.export(id);
  await a.close(id);
  const keysBefore = dc.stats.authKeysCreated;
  const script = `
    const { SessionRegistry } = require('./bindings');
    (async () => {
      const reg = new SessionRegistry();
      const id = await reg.open(2, undefined, {
        address: { host: '${dc.host}', port: ${dc.port} },
        import: { authKey: Buffer.from('${e.authKey.toString('hex')}', 'hex'), serverSalt: ${e.serverSalt}n, timeOffset: ${e.timeOffset} },
      });
      const c = await reg.call(id, 'help.getConfig', {});
      console.log('thisDc=' + c.thisDc);
      await reg.close(id);
    })().catch((err) => { console.error(err); process.exit(1); });`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ['--import', 'tsx', '-e', script],
      { cwd: process.cwd() },
      (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)),
    ),
  );
  t.regex(out, /thisDc=2/);
  t.is(dc.stats.authKeysCreated, keysBefore);
});

test('FLOOD_WAIT: waited out below the threshold, a FloodWaitError above it', async (t) => {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, { ...opts(), floodWaitThreshold: 2 });
  dc.floodWait('help.getConfig', 1);
  const started = Date.now();
  t.is((await reg.call(id, 'help.getConfig', {})).thisDc, 2);
  t.true(Date.now() - started >= 900);
  dc.floodWait('help.getConfig', 5);
  const err = await t.throwsAsync(reg.call(id, 'help.getConfig', {}));
  t.is(err?.constructor.name, 'FloodWaitError');
  t.is((err as unknown as { seconds: number }).seconds, 5);
  await reg.close(id);
});

test('client notification: function, handler object, EventEmitter, a throwing client', async (t) => {
  const reg = new SessionRegistry();
  const fnEvents: string[] = [];
  const id = await reg.open(2, (e) => fnEvents.push(e.kind), opts());
  await reg.call(id, 'help.getConfig', {});
  t.true(fnEvents.includes('connected') && fnEvents.includes('rpcResult'));

  const objEvents: string[] = [];
  reg.setClient(id, {
    rpcResult: (e) => objEvents.push(`${e.kind}`),
    update: (e) => objEvents.push(`update:${e.update._}`),
    message: (e) => objEvents.push(`message:${e.object?._}`),
  });
  await reg.call(id, 'help.getConfig', {});
  const st = reg.state(id);
  dc.pushUpdate({ sessionId: st.mtpSessionId }, { _: 'updatesTooLong' });
  for (let i = 0; i < 100 && !objEvents.includes('update:updatesTooLong'); i++)
    await new Promise((r) => setTimeout(r, 10));
  t.true(objEvents.includes('rpcResult'));
  t.true(objEvents.includes('update:updatesTooLong'));
  t.true(objEvents.includes('message:updatesTooLong'), 'the message event carries the decoded object');

  const emitter = new EventEmitter();
  const emitted: string[] = [];
  emitter.on('rpcResult', () => emitted.push('rpcResult'));
  emitter.on('closed', () => emitted.push('closed'));
  reg.setClient(id, emitter);
  await reg.call(id, 'help.getConfig', {});
  t.deepEqual(emitted, ['rpcResult']);

  const reported: string[] = [];
  reg.setClient(id, (e) => {
    if (e.kind === 'badData') return void reported.push(e.code);
    throw new Error('client bug');
  });
  t.is((await reg.call(id, 'help.getConfig', {})).thisDc, 2, 'a throwing client does not break the session');
  t.true(reported.includes('CLIENT_THREW'));
  reg.setClient(id, emitter);
  await reg.close(id);
  t.deepEqual(emitted, ['rpcResult', 'closed']);
});

test('updates(): an async iterator of decoded updates', async (t) => {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, { ...opts(), updatesQueueSize: 4 });
  const it = reg.updates(id)[Symbol.asyncIterator]();
  const st = reg.state(id);
  for (let i = 0; i < 10; i++)
    dc.pushUpdate(
      { sessionId: st.mtpSessionId },
      { _: 'updateShort', update: { _: 'updateConfig' }, date: i },
    );
  const got: number[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await it.next();
    if (!r.done && r.value._ === 'updateShort') got.push(r.value.date);
  }
  t.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await reg.close(id);
  t.true((await it.next()).done);
});

// Concurrent again: an unfinished frame that stalls drops the connection (FRAME_STALLED,
// the cause of an old hang), and the garbage goes to this test's connection only.
test('bad data (garbage frames) is reported as an event; the session recovers', async (t) => {
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  const id = await reg.open(2, (e) => events.push(e), opts());
  await reg.call(id, 'help.getConfig', {});
  dc.sendGarbage({ framed: true, length: 64, target: { sessionId: reg.state(id).mtpSessionId } });
  await new Promise((r) => setTimeout(r, 100));
  // The session may be on a new connection by now: select it again.
  dc.sendGarbage({ framed: false, length: 64, target: { sessionId: reg.state(id).mtpSessionId } });
  await new Promise((r) => setTimeout(r, 100));
  t.is((await reg.call(id, 'help.getConfig', {})).thisDc, 2);
  t.true(
    events.some((e) => e.kind === 'badData'),
    'reported',
  );
  await reg.close(id);
});

test('-404 on an open session: a typed error and event, no new key', async (t) => {
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  const id = await reg.open(2, (e) => events.push(e), opts());
  await reg.call(id, 'help.getConfig', {});
  const pending = reg.call(id, 'help.getNearestDc', {});
  await new Promise((r) => setTimeout(r, 20));
  dc.removeAuthKey(reg.state(id).authKeyId);
  const next = reg.call(id, 'help.getConfig', {});
  for (const p of [pending, next]) {
    const err = await t.throwsAsync(p);
    t.is((err as SessionError).code, 'AUTH_KEY_UNKNOWN');
  }
  const d = events.find((e) => e.kind === 'disconnected');
  t.is(d?.kind === 'disconnected' ? d.reason.code : undefined, 'AUTH_KEY_UNKNOWN');
  t.is(reg.state(id).status, 'failed');
  t.false(events.some((e) => e.kind === 'reconnecting'));
  t.is(events.filter((e) => e.kind === 'authKeyCreated').length, 1);
  await reg.close(id);
});

test('backoff is full jitter under an exponential ceiling; the limiter bounds attempts per address', async (t) => {
  t.is(
    backoffDelay(0, { baseMs: 100 }, () => 0.999),
    99,
  );
  t.is(
    backoffDelay(3, { baseMs: 100 }, () => 0.5),
    400,
  );
  t.is(
    backoffDelay(40, { baseMs: 100, capMs: 1000 }, () => 0.999),
    999,
  );
  t.is(
    backoffDelay(5, {}, () => 0),
    0,
  );
  const limiter = new AttemptLimiter(2);
  let active = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const release = await limiter.acquire(i % 2 ? 'a:1' : 'b:1');
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
      release();
      release(); // idempotent
    }),
  );
  t.is(peak, 4, 'two per address, two addresses');
  const again = await limiter.acquire('a:1');
  again();
});

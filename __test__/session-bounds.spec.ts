// Time and space bounds of a session against hostile or silent servers (issue #12): a
// trickled answer cannot hold a call (the frame's time counts from its first byte, and
// bytes alone keep no connection alive), connectTimeoutMs bounds all of open(), raw
// updates past their limit are dropped and counted while RPC answers flow, and a `ping`
// call resolves with its pong.

import { createServer } from 'node:net';
import test from 'ava';
import { type SessionError, type SessionEvent, SessionRegistry, type TL } from '../bindings';
import { TestDc } from '../bindings/testing';
import { HostileServer, hostileBodies } from '../bindings/testing/hostile-server';

test('a trickled answer: dropped when the frame is not whole in time, the call is answered after the reconnect', async (t) => {
  const server = await HostileServer.start();
  const events: SessionEvent[] = [];
  const reg = new SessionRegistry();
  const id = await reg.open(2, (e) => events.push(e), {
    address: { host: server.host, port: server.port },
    import: server.importOptions,
    frameTimeoutMs: 1000,
    reconnect: { baseMs: 10, capMs: 50 },
  });
  t.teardown(async () => {
    await reg.close(id).catch(() => {});
    await server.close();
  });
  let trickled: bigint | null = null;
  server.onQuery = (q, s) => {
    // On the new connection the server has the answer to give again (as a DC re-sends
    // unacknowledged answers to a session that comes back).
    if (q.method === 'msgs_state_req' && trickled !== null) {
      s.answer(trickled, { _: 'nearestDc', country: 'OK', thisDc: 2, nearestDc: 2 });
      return false;
    }
    if (q.method !== 'help.getNearestDc') return false;
    if (trickled === null) {
      trickled = q.msgId;
      // One byte every 50 ms: each byte comes well within the 5 s stall, but the frame
      // would take over 10 s.
      s.trickle(
        s.seal(hostileBodies.rpcResult(q.msgId, { _: 'nearestDc', country: 'SL', thisDc: 2, nearestDc: 2 })),
        50,
      );
      return true;
    }
    s.answer(q.msgId, { _: 'nearestDc', country: 'OK', thisDc: 2, nearestDc: 2 });
    return true;
  };
  const started = Date.now();
  const answer = await reg.call(id, 'help.getNearestDc', {}, { timeoutMs: 8000 });
  const took = Date.now() - started;
  t.is(answer.country, 'OK', 'asked again after the connection was dropped');
  t.true(took < 4000, `settled in ${took} ms`);
  t.true(events.some((e) => e.kind === 'badData' && e.code === 'FRAME_STALLED'));
});

test('connectTimeoutMs bounds the whole open() against a server that never answers', async (t) => {
  // Reads what comes and never answers.
  const silent = createServer((s) => s.resume());
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => silent.close(() => r())));
  const port = (silent.address() as { port: number }).port;
  const reg = new SessionRegistry();
  const started = Date.now();
  const err = await t.throwsAsync<SessionError>(
    reg.open(2, undefined, { address: { host: '127.0.0.1', port }, connectTimeoutMs: 1000 }),
  );
  const took = Date.now() - started;
  t.is(err?.code, 'CONNECT_FAILED');
  // Three key-exchange attempts used to take three times the setting.
  t.true(took < 1600, `took ${took} ms`);
});

test('raw updates past the limit are dropped and counted; RPC answers keep flowing', async (t) => {
  const dc = await TestDc.start({ rsaKey: 'shared' });
  t.teardown(() => dc.stop());
  const events: SessionEvent[] = [];
  const reg = new SessionRegistry();
  const id = await reg.open(2, (e) => e.kind === 'updatesDropped' && events.push(e), {
    address: { host: dc.host, port: dc.port },
    rsaKeys: [dc.rsaPublicKey.pem],
    updatesQueueSize: 10,
    updatesQueueLimit: 50,
  });
  const updates = reg.updates(id);
  const mtp = reg.state(id).mtpSessionId;
  for (let i = 0; i < 200; i++)
    dc.pushUpdate({ sessionId: mtp }, { _: 'updateShort', update: { _: 'updateConfig' }, date: i });
  t.is((await reg.call(id, 'help.getNearestDc', {}, { timeoutMs: 3000 })).thisDc, 2);
  const dropped = () => events.reduce((n, e) => n + (e.kind === 'updatesDropped' ? e.count : 0), 0);
  while (dropped() < 150) await new Promise((r) => setTimeout(r, 20));
  t.is(dropped(), 150);
  const it = updates[Symbol.asyncIterator]();
  const first = await it.next();
  t.is(
    !first.done && first.value._ === 'updateShort' ? first.value.date : -1,
    0,
    'the first ones kept, in order',
  );
  await reg.close(id);
});

test('Session.call(id, "ping") resolves with the pong', async (t) => {
  const dc = await TestDc.start({ rsaKey: 'shared' });
  t.teardown(() => dc.stop());
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, {
    address: { host: dc.host, port: dc.port },
    rsaKeys: [dc.rsaPublicKey.pem],
  });
  const pong = (await reg.call(id, 'ping' as TL.MethodName, { pingId: 77n } as never, {
    timeoutMs: 3000,
  })) as {
    _: string;
    pingId: bigint;
  };
  t.is(pong._, 'pong');
  t.is(pong.pingId, 77n);
  await reg.close(id);
});

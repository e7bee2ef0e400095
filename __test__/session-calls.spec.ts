// The call API (issue #18) over real sockets against TestDc: AbortSignal before and
// after the send and timeouts (rpc_drop_answer: nothing is decoded after), ordered
// chains (invokeAfterMsg) through drops and reconnects, a failed link breaking the
// calls after it, 406 AUTH_KEY_DUPLICATED stopping the session, and extra pool
// connections asking for no updates (invokeWithoutUpdates).

import test from 'ava';
import { type SessionError, type SessionEvent, SessionRegistry, TL } from '../bindings';
import { rpcError, TestDc } from '../bindings/testing';

let dc: TestDc;
/** random_id -> how many times the handler ran it, and the order runs finished in. */
const runs = new Map<bigint, number>();
const order: bigint[] = [];

test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', dcId: 2, afterMsgTimeoutMs: 3000 });
  dc.handle('messages.sendMessage', async (req) => {
    runs.set(req.randomId, (runs.get(req.randomId) ?? 0) + 1);
    // The message text says how long to take (ms): later calls may be quicker, so
    // without ordering they would finish first.
    await new Promise((r) => setTimeout(r, Number(req.message) || 0));
    order.push(req.randomId);
    if (req.message === 'fail') rpcError(400, 'MESSAGE_EMPTY');
    return { _: 'updateShortSentMessage' as const, out: true, id: 1, pts: 1, ptsCount: 1, date: 0 };
  });
});
test.after.always(async () => {
  await dc?.stop();
});

const opts = (extra: object = {}) => ({
  address: { host: dc.host, port: dc.port },
  rsaKeys: [dc.rsaPublicKey.pem],
  init: { apiId: 1 },
  reconnect: { baseMs: 10, capMs: 50 },
  ...extra,
});

let nextRandom = 1n << 40n;
const send = (reg: SessionRegistry, id: string, message: string, options = {}) => {
  const randomId = nextRandom++;
  return {
    randomId,
    done: reg.call(id, 'messages.sendMessage', { peer: { _: 'inputPeerSelf' }, message, randomId }, options),
  };
};

/** rpcResult events whose body is one of the rpc_drop_answer answers. */
function dropAnswers(events: SessionEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.kind !== 'rpcResult') continue;
    try {
      const o = TL.deserialize(e.body) as { _: string };
      if (o._.startsWith('rpc_answer_')) out.push(o._);
    } catch {}
  }
  return out;
}

test.serial('abort before the send: the call leaves the queue, nothing reaches the server', async (t) => {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, opts());
  const ac = new AbortController();
  const call = send(reg, id, '0', { signal: ac.signal });
  ac.abort(new Error('not wanted'));
  const err = await t.throwsAsync<SessionError>(call.done);
  t.is(err?.code, 'ABORTED');
  t.is((err?.cause as Error | undefined)?.message, 'not wanted');
  await reg.call(id, 'help.getNearestDc', {});
  t.is(runs.get(call.randomId), undefined, 'never ran');
  // An aborted signal refuses at once.
  t.is((await t.throwsAsync<SessionError>(send(reg, id, '0', { signal: ac.signal }).done))?.code, 'ABORTED');
  await reg.close(id);
});

test.serial(
  'abort after the send: rpc_drop_answer, the server drops the running answer, nothing is decoded',
  async (t) => {
    const reg = new SessionRegistry();
    const events: SessionEvent[] = [];
    const id = await reg.open(2, (e) => events.push(e), opts());
    const ac = new AbortController();
    const call = send(reg, id, '400', { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    t.is(runs.get(call.randomId), 1, 'running on the server');
    ac.abort();
    t.is((await t.throwsAsync<SessionError>(call.done))?.code, 'ABORTED');
    await new Promise((r) => setTimeout(r, 600));
    t.deepEqual(dropAnswers(events), ['rpc_answer_dropped_running']);
    // The call's own answer never came (the server dropped it): only the drop's answer did.
    t.is(events.filter((e) => e.kind === 'rpcResult').length, 1);
    await reg.close(id);
  },
);

test.serial('a timeout drops the answer the same way', async (t) => {
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  const id = await reg.open(2, (e) => events.push(e), opts());
  const call = send(reg, id, '500', { timeoutMs: 150 });
  t.is((await t.throwsAsync<SessionError>(call.done))?.code, 'TIMEOUT');
  await new Promise((r) => setTimeout(r, 600));
  t.deepEqual(dropAnswers(events), ['rpc_answer_dropped_running']);
  await reg.close(id);
});

test.serial('timeoutMs bounds the call, FLOOD_WAIT retries included', async (t) => {
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, opts({ floodWaitThreshold: 10 }));
  dc.floodWait('help.getNearestDc', 1, 5);
  const started = Date.now();
  const err = await t.throwsAsync<SessionError>(reg.call(id, 'help.getNearestDc', {}, { timeoutMs: 1500 }));
  const took = Date.now() - started;
  // Waiting 1 s twice cannot fit in 1.5 s: the FLOOD_WAIT comes back instead of a wait past the deadline.
  t.true(err?.name === 'FloodWaitError' || err?.code === 'TIMEOUT', String(err));
  t.true(took < 1500 + 300, `took ${took} ms`);
  dc.clearFaults();
  await reg.close(id);
});

test.serial(
  'a chain of 100 calls with drops and reconnects: run in order, each once, settled in order',
  async (t) => {
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, opts());
    const from = order.length;
    dc.dropConnections({ afterPackets: 7 });
    const calls = Array.from({ length: 100 }, (_, i) => send(reg, id, String((i * 37) % 23), { chain: 'c' }));
    const settled: bigint[] = [];
    await Promise.all(calls.map((c) => c.done.then(() => settled.push(c.randomId))));
    const want = calls.map((c) => c.randomId);
    t.deepEqual(order.slice(from), want, 'run in order');
    t.true(
      want.every((r) => runs.get(r) === 1),
      'each ran once',
    );
    t.deepEqual(settled, want, 'settled in order');
    dc.clearFaults();
    await reg.close(id);
  },
);

test.serial(
  'a failed link fails the calls after it (CHAIN_BROKEN names the cause); later calls start afresh',
  async (t) => {
    const reg = new SessionRegistry();
    const id = await reg.open(2, undefined, opts());
    const a = send(reg, id, '50', { chain: 'k' });
    const b = send(reg, id, 'fail', { chain: 'k' });
    const c = send(reg, id, '0', { chain: 'k' });
    const d = send(reg, id, '0', { chain: 'k' });
    await a.done;
    const eb = await t.throwsAsync(b.done);
    t.is((eb as { errorMessage?: string }).errorMessage, 'MESSAGE_EMPTY');
    for (const x of [c, d]) {
      const e = await t.throwsAsync<SessionError>(x.done);
      t.is(e?.code, 'CHAIN_BROKEN');
      t.is((e?.cause as { errorMessage?: string } | undefined)?.errorMessage, 'MESSAGE_EMPTY');
      t.is(runs.get(x.randomId), undefined, 'the server refused it unrun');
    }
    const e2 = send(reg, id, '0', { chain: 'k' });
    await t.notThrowsAsync(e2.done);
    await reg.close(id);
  },
);

test.serial(
  '406 AUTH_KEY_DUPLICATED during traffic: a typed event, every call fails, no new connection',
  async (t) => {
    const reg = new SessionRegistry();
    const events: SessionEvent[] = [];
    const id = await reg.open(2, (e) => events.push(e), opts());
    const slow = send(reg, id, '300');
    await new Promise((r) => setTimeout(r, 50));
    dc.keyDuplicated('help.getNearestDc');
    const connections = dc.stats.connections;
    const err = await t.throwsAsync<SessionError>(reg.call(id, 'help.getNearestDc', {}));
    t.is(err?.code, 'AUTH_KEY_DUPLICATED');
    t.is((await t.throwsAsync<SessionError>(slow.done))?.code, 'AUTH_KEY_DUPLICATED');
    t.is(events.filter((e) => e.kind === 'authKeyDuplicated').length, 1);
    t.is(
      (await t.throwsAsync<SessionError>(reg.call(id, 'help.getNearestDc', {})))?.code,
      'AUTH_KEY_DUPLICATED',
    );
    await new Promise((r) => setTimeout(r, 300));
    t.is(dc.stats.connections, connections, 'no reconnection');
    t.false(events.some((e) => e.kind === 'reconnecting'));
    t.is(reg.state(id).status, 'failed');
    await reg.close(id);
  },
);

test.serial(
  'extra pool connections send invokeWithoutUpdates: updates come once, on the main connection',
  async (t) => {
    const reg = new SessionRegistry();
    const updates: SessionEvent[] = [];
    const id = await reg.open(
      2,
      (e) => e.kind === 'update' && updates.push(e),
      opts({ pool: { download: 2 }, pfs: false }),
    );
    dc.handle('upload.getFile', () => ({
      _: 'upload.file' as const,
      type: { _: 'storage.filePartial' as const },
      mtime: 0,
      bytes: Buffer.alloc(16),
    }));
    const part = () =>
      reg.call(id, 'upload.getFile', {
        location: {
          _: 'inputDocumentFileLocation',
          id: 1n,
          accessHash: 1n,
          fileReference: Buffer.alloc(0),
          thumbSize: '',
        },
        offset: 0n,
        limit: 4096,
      });
    await Promise.all([part(), part(), part()]);
    await reg.call(id, 'help.getNearestDc', {});
    const sessions = dc.sessions().filter((s) => s.authKeyId === reg.state(id).authKeyId);
    t.true(sessions.length >= 2, 'extra connections opened');
    const n = dc.pushUpdate(reg.state(id).authKeyId, { _: 'updatesTooLong' });
    t.is(n, 1, 'only the main session is subscribed');
    await new Promise((r) => setTimeout(r, 200));
    t.is(updates.length, 1);
    await reg.close(id);
  },
);

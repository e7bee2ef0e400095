// TestDc's encrypted sessions checked with hand-made packets (every header field chosen
// here, encryption written out over node:crypto): what a strict server answers to each
// rule a client can break, and the service messages it answers itself.

import { randomBytes } from 'node:crypto';
import test from 'ava';
import { TL } from '../bindings';
import { mtpMsgIdAt } from '../bindings/native';
import { TestDc } from '../bindings/testing';
import { clientHandshake, expectedQuickAck, RawSession, sealFromClient, TestClient } from './testdc-helpers';

let dc: TestDc;
let authKey: Buffer;
let salt: bigint;

test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared' });
  const c = await TestClient.open(dc.port);
  const k = await clientHandshake(c, dc.rsaPublicKey);
  c.close();
  authKey = k.authKey;
  salt = k.salt;
});
test.after.always(async () => {
  await dc?.stop();
});

async function session(kind: 'abridged' | 'intermediate' | 'padded' | 'full' = 'intermediate') {
  const c = await TestClient.open(dc.port, { kind });
  return new RawSession(c, authKey, salt);
}

const ping = (id: bigint) => TL.serialize({ _: 'ping', pingId: id });
const signed = (v: bigint) => BigInt.asIntN(64, v);

test.serial(
  'the first salt works; new_session_created comes first, then pong; content is acknowledged',
  async (t) => {
    const s = await session();
    const sent = s.send({ body: ping(77n) });
    const created = await s.until((o) => o._ === 'new_session_created');
    t.is(created.obj.firstMsgId, signed(sent.msgId));
    t.is(BigInt.asUintN(64, created.obj.serverSalt as bigint), salt);
    t.is(created.msgId % 4n, 3n, 'not a response: 3 mod 4');
    const pong = await s.until((o) => o._ === 'pong');
    t.is(pong.obj.msgId, signed(sent.msgId));
    t.is(pong.obj.pingId, 77n);
    t.is(BigInt.asUintN(64, pong.msgId) % 4n, 1n, 'a response: 1 mod 4');
    t.true(s.received.indexOf(created) < s.received.indexOf(pong));
    const ack = await s.until((o) => o._ === 'msgs_ack', 3000);
    t.deepEqual(ack.obj.msgIds, [signed(sent.msgId)]);
    t.is(ack.seqno % 2, 0, 'acks are not content-related');
    s.client.close();
  },
);

test.serial('a wrong salt gets bad_server_salt with the current salt; nothing runs', async (t) => {
  const s = await session();
  const executed = dc.stats.executed;
  const bad = s.send({ body: TL.serialize({ _: 'help.getNearestDc' }), salt: salt ^ 1n });
  const n = await s.notice(bad.msgId);
  t.is(n._, 'bad_server_salt');
  t.is(n.errorCode, 48);
  t.is(BigInt.asUintN(64, n.newServerSalt!), salt);
  t.is(n.badMsgSeqno, bad.seqno);
  t.is(dc.stats.executed, executed);
  t.false(
    s.received.some((r) => r.obj._ === 'new_session_created'),
    'a refused message opens nothing',
  );
  const good = s.send({ body: TL.serialize({ _: 'help.getNearestDc' }) });
  const res = await s.until((o) => o._ === 'rpc_result' && o.reqMsgId === signed(good.msgId));
  const nearest = TL.deserializeResult('help.getNearestDc', res.obj.result as Buffer);
  t.is(nearest.thisDc, dc.dcId);
  t.is(dc.stats.executed, executed + 1);
  s.client.close();
});

test.serial('msg_id checks: 16 too low, 17 too high, 18 not divisible by 4', async (t) => {
  const s = await session();
  const now = Date.now();
  const cases: Array<[bigint, number]> = [
    [mtpMsgIdAt(now - 400_000), 16],
    [mtpMsgIdAt(now + 60_000), 17],
    [mtpMsgIdAt(now) + 2n, 18],
  ];
  for (const [msgId, code] of cases) {
    s.send({ msgId, body: ping(1n) });
    const n = await s.notice(msgId);
    t.is(n._, 'bad_msg_notification');
    t.is(n.errorCode, code);
  }
  // The notification's own msg_id carries the server time (clients fix their clock from it).
  const note = s.received.find((r) => r.obj._ === 'bad_msg_notification')!;
  t.true(Math.abs(Number(BigInt.asUintN(64, note.msgId) >> 32n) - Math.floor(Date.now() / 1000)) <= 2);
  t.true(
    (dc.stats.rejected[16] ?? 0) >= 1 &&
      (dc.stats.rejected[17] ?? 0) >= 1 &&
      (dc.stats.rejected[18] ?? 0) >= 1,
  );
  s.client.close();
});

test.serial(
  'a duplicate is not run twice and is acknowledged again; a container reusing an id gets 19',
  async (t) => {
    const s = await session();
    const executed = dc.stats.executed;
    const body = TL.serialize({ _: 'help.getNearestDc' });
    const first = s.send({ body });
    await s.until((o) => o._ === 'rpc_result' && o.reqMsgId === signed(first.msgId));
    s.send({ body, msgId: first.msgId, seqno: first.seqno });
    // The container reuses the id of a message already received.
    const inner = s.msgId();
    const container = TL.serialize({
      _: 'msg_container',
      messages: [
        { _: 'mt_message', msgId: inner, seqno: s.seqno(), body: TL.serialize({ _: 'ping', pingId: 5n }) },
      ],
    });
    s.send({ msgId: first.msgId, seqno: s.seqno(false), body: container });
    const n = await s.notice(first.msgId);
    t.is(n.errorCode, 19);
    t.is(dc.stats.executed, executed + 1, 'the duplicate did not run');
    t.is(dc.stats.duplicates, 0);
    s.client.close();
  },
);

test.serial('seqno checks: 34 odd for an ack, 35 even for a query, 32 too low, 33 too high', async (t) => {
  const s = await session();
  const opened = s.send({ body: ping(1n) }); // seqno 1
  await s.until((o) => o._ === 'pong');
  const ack = TL.serialize({ _: 'msgs_ack', msgIds: [1n] });
  const a = s.send({ body: ack, seqno: 3 });
  t.is((await s.notice(a.msgId)).errorCode, 34);
  const b = s.send({ body: ping(2n), seqno: 2 });
  t.is((await s.notice(b.msgId)).errorCode, 35);
  // Lower than the message before it (seqno 1 was content-related: the next must be above).
  const c = s.send({ body: ping(3n), seqno: 1 });
  t.is((await s.notice(c.msgId)).errorCode, 32);
  // Move ahead, then send an older id with a higher seqno than that newer message.
  const later = s.msgId();
  const older = later - 4n * 1000n;
  s.send({ body: ping(4n), msgId: later, seqno: 3 });
  await s.until((o) => o._ === 'pong' && o.pingId === 4n);
  const d = s.send({ body: ping(5n), msgId: older > opened.msgId ? older : opened.msgId + 4n, seqno: 5 });
  t.is((await s.notice(d.msgId)).errorCode, 33);
  s.client.close();
});

test.serial(
  'containers: contents run, an inner id above the container is 64, gzip_packed is opened',
  async (t) => {
    const s = await session();
    const ids = [s.msgId(), s.msgId()];
    const gz = TL.gzipPack(TL.serialize({ _: 'ping', pingId: 22n }));
    const container = TL.serialize({
      _: 'msg_container',
      messages: [
        { _: 'mt_message', msgId: ids[0], seqno: s.seqno(), body: ping(21n) },
        { _: 'mt_message', msgId: ids[1], seqno: s.seqno(), body: gz },
      ],
    });
    s.send({ body: container, seqno: s.seqno(false) });
    await s.until((o) => o._ === 'pong' && o.pingId === 21n);
    await s.until((o) => o._ === 'pong' && o.pingId === 22n);
    const cid = s.msgId();
    const bad = TL.serialize({
      _: 'msg_container',
      messages: [{ _: 'mt_message', msgId: cid + 4n, seqno: s.seqno(), body: ping(23n) }],
    });
    const c = s.send({ msgId: cid, body: bad, seqno: s.seqno(false) });
    t.is((await s.notice(c.msgId)).errorCode, 64);
    s.client.close();
  },
);

test.serial('get_future_salts lists salts valid now and later; each is accepted in its window', async (t) => {
  const s = await session();
  s.send({ body: TL.serialize({ _: 'get_future_salts', num: 3 }) });
  const r = await s.until((o) => o._ === 'future_salts');
  const salts = r.obj.salts as Array<{ validSince: number; validUntil: number; salt: bigint }>;
  t.is(salts.length, 3);
  const now = Math.floor(Date.now() / 1000);
  t.true(salts[0].validSince <= now && salts[0].validUntil > now);
  t.is(BigInt.asUintN(64, salts[0].salt), salt);
  for (let i = 1; i < 3; i++) t.true(salts[i].validSince > salts[i - 1].validSince);
  // A salt not valid yet is refused with the current one.
  const later = s.send({ body: ping(9n), salt: BigInt.asUintN(64, salts[2].salt) });
  t.is((await s.notice(later.msgId)).errorCode, 48);
  s.client.close();
});

test.serial('destroy_session: ok for another session, none for an unknown one', async (t) => {
  const a = await session();
  a.send({ body: ping(1n) });
  await a.until((o) => o._ === 'pong');
  const b = await session();
  b.send({ body: TL.serialize({ _: 'destroy_session', sessionId: a.sessionId }) });
  const ok = await b.until((o) => o._.startsWith('destroy_session'));
  t.is(ok.obj._, 'destroy_session_ok');
  b.send({ body: TL.serialize({ _: 'destroy_session', sessionId: 12345n }) });
  await b.until((o) => o._ === 'destroy_session_none');
  t.false(dc.sessions().some((x) => x.sessionId === a.sessionId));
  a.client.close();
  b.client.close();
});

test.serial('an unknown auth key gets -404 and the connection closes', async (t) => {
  const c = await TestClient.open(dc.port);
  const other = randomBytes(256);
  c.send(
    sealFromClient(other, {
      salt: 1n,
      sessionId: 1n,
      msgId: mtpMsgIdAt(Date.now()),
      seqno: 1,
      body: ping(1n),
    }),
  );
  const e = await c.next();
  t.deepEqual(e, { kind: 'transportError', code: -404 });
  t.is(await c.next(2000), null);
  c.close();
});

test.serial('a packet that does not decrypt is ignored; the connection lives on', async (t) => {
  const s = await session();
  const p = sealFromClient(authKey, {
    salt,
    sessionId: s.sessionId,
    msgId: s.msgId(),
    seqno: s.seqno(),
    body: ping(1n),
  });
  p[40] ^= 1;
  const dropped = dc.stats.dropped;
  s.client.send(p);
  s.send({ body: ping(2n) });
  await s.until((o) => o._ === 'pong' && o.pingId === 2n);
  t.false(s.received.some((r) => r.obj._ === 'pong' && r.obj.pingId === 1n));
  t.true(dc.stats.dropped > dropped);
  s.client.close();
});

for (const kind of ['abridged', 'intermediate', 'padded', 'full'] as const) {
  // obfuscated2 has no tag for the full transport.
  for (const obfuscated of kind === 'full' ? [false] : [false, true]) {
    test.serial(`transport ${kind}${obfuscated ? ' + obfuscated2' : ''} carries a session`, async (t) => {
      const c = await TestClient.open(dc.port, { kind, obfuscated, dcId: dc.dcId });
      const s = new RawSession(c, authKey, salt);
      for (let i = 0; i < 3; i++) {
        s.send({ body: ping(BigInt(i + 100)) });
        await s.until((o) => o._ === 'pong' && o.pingId === BigInt(i + 100));
      }
      const pongs = s.received.filter((r) => r.obj._ === 'pong').map((r) => r.obj.pingId);
      t.deepEqual(pongs, [100n, 101n, 102n]);
      c.close();
    });
  }
}

test.serial('garbage never crashes it: random bytes, truncated frames, bad plain messages', async (t) => {
  for (let i = 0; i < 30; i++) {
    const c = await TestClient.open(dc.port);
    const junk = randomBytes(1 + ((i * 37) % 300));
    c.socket.write(i % 3 === 0 ? junk : c.codec.encode(junk.subarray(0, junk.length & ~3 || 4)));
    await c.next(50);
    c.close();
  }
  // Still serving.
  const s = await session();
  s.send({ body: ping(1n) });
  const pong = await s.until((o) => o._ === 'pong');
  t.is(pong.obj.pingId, 1n, 'the pong answers our ping');
  s.client.close();
});

for (const kind of ['abridged', 'intermediate', 'padded'] as const) {
  test.serial(`a quick-ack request is confirmed with its token (${kind})`, async (t) => {
    const c = await TestClient.open(dc.port, { kind, obfuscated: kind === 'padded', dcId: 2 });
    const s = new RawSession(c, authKey, salt);
    const p = sealFromClient(authKey, {
      salt,
      sessionId: s.sessionId,
      msgId: s.msgId(),
      seqno: s.seqno(),
      body: ping(5n),
    });
    c.socket.write(c.codec.encode(p, true));
    const e = await c.next();
    t.deepEqual(e, { kind: 'quickAck', token: expectedQuickAck(authKey, p) });
    await s.until((o) => o._ === 'pong');
    c.close();
  });
}

test.serial('invokeAfterMsg waits for the named query; rpc_drop_answer drops a running one', async (t) => {
  dc.handle('help.getPromoData', async () => {
    await new Promise((r) => setTimeout(r, 200));
    return { _: 'help.promoDataEmpty', expires: 1 };
  });
  try {
    const s = await session();
    const slow = s.send({ body: TL.serialize({ _: 'help.getPromoData' }) });
    const after = s.send({
      body: TL.serialize({ _: 'invokeAfterMsg', msgId: slow.msgId, query: { _: 'help.getNearestDc' } }),
    });
    await s.until((o) => o._ === 'rpc_result' && o.reqMsgId === signed(after.msgId));
    const order = s.received.filter((r) => r.obj._ === 'rpc_result').map((r) => r.obj.reqMsgId);
    t.deepEqual(order, [signed(slow.msgId), signed(after.msgId)]);

    const doomed = s.send({ body: TL.serialize({ _: 'help.getPromoData' }) });
    const drop = s.send({ body: TL.serialize({ _: 'rpc_drop_answer', reqMsgId: doomed.msgId }) });
    const r = await s.until((o) => o._ === 'rpc_result' && o.reqMsgId === signed(drop.msgId));
    t.like(TL.deserializeResult('rpc_drop_answer', r.obj.result as Buffer), {
      _: 'rpc_answer_dropped_running',
    });
    await new Promise((res) => setTimeout(res, 400));
    s.send({ body: ping(1n) });
    await s.until((o) => o._ === 'pong');
    t.false(s.received.some((x) => x.obj._ === 'rpc_result' && x.obj.reqMsgId === signed(doomed.msgId)));
    // Answered, and the answer not acknowledged (this raw client sends no acks): dropped.
    const answer = s.received.find((x) => x.obj._ === 'rpc_result' && x.obj.reqMsgId === signed(slow.msgId));
    const unacked = s.send({ body: TL.serialize({ _: 'rpc_drop_answer', reqMsgId: slow.msgId }) });
    const d = await s.until((o) => o._ === 'rpc_result' && o.reqMsgId === signed(unacked.msgId));
    t.like(TL.deserializeResult('rpc_drop_answer', d.obj.result as Buffer), {
      _: 'rpc_answer_dropped',
      msgId: answer?.msgId,
      seqNo: answer?.seqno,
      bytes: 12 + ((answer?.obj.result as Buffer | undefined)?.length ?? Number.NaN),
    });
    t.is((answer?.seqno ?? 0) % 2, 1, 'an answer is content-related: an odd seq_no');
    // Acknowledged answers (here: `after`'s) are the server's no more: unknown.
    const acked = s.received.find((x) => x.obj._ === 'rpc_result' && x.obj.reqMsgId === signed(after.msgId));
    s.send({ body: TL.serialize({ _: 'msgs_ack', msgIds: [acked?.msgId ?? 0n] }), seqno: s.seqno(false) });
    const unknown = s.send({ body: TL.serialize({ _: 'rpc_drop_answer', reqMsgId: after.msgId }) });
    const u = await s.until((o) => o._ === 'rpc_result' && o.reqMsgId === signed(unknown.msgId));
    t.like(TL.deserializeResult('rpc_drop_answer', u.obj.result as Buffer), { _: 'rpc_answer_unknown' });
    s.client.close();
  } finally {
    dc.unhandle('help.getPromoData');
  }
});

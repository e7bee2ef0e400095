// TestDc with the project's own message layer (MtpLink without a transport, client mode) over real
// sockets and TransportCodec: recovery from what the strict server refuses, the service
// messages, containers, gzip, initConnection, pushed updates, and the run-time faults.

import test from 'ava';
import { TL } from '../bindings';
import { rpcError as dcRpcError, TestDc, TestWorld } from '../bindings/testing';
import { bindingMessage, clientHandshake, RawSession, SessionDriver, TestClient } from './testdc-helpers';

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared', dcId: 2 });
});
test.after.always(async () => {
  await dc?.stop();
});

/** A fresh key by the full exchange, and a session over a new connection. */
async function open(kind: 'abridged' | 'intermediate' | 'padded' | 'full' = 'intermediate', timeOffset = 0) {
  const c = await TestClient.open(dc.port, { kind });
  const k = await clientHandshake(c, dc.rsaPublicKey);
  return { s: new SessionDriver(c, k.authKey, { salt: k.salt, timeOffset }), key: k };
}

test.serial('help.getConfig names this DC and its address; new_session_created first', async (t) => {
  const { s } = await open();
  const config = await s.call({ _: 'help.getConfig' });
  t.is(config.thisDc, 2);
  t.deepEqual(
    config.dcOptions.map((o) => [o.id, o.ipAddress, o.port]),
    [[2, '127.0.0.1', dc.port]],
  );
  t.true(Math.abs(config.date - Date.now() / 1000) < 5);
  t.true(
    s.events.findIndex((e) => e.kind === 'sessionCreated') <
      s.events.findIndex((e) => e.kind === 'rpcResult'),
  );
  s.client.close();
});

test.serial('invokeWithLayer(initConnection(...)) is unwrapped and recorded per session', async (t) => {
  const { s, key } = await open();
  const nearest = await s.call({
    _: 'invokeWithLayer',
    layer: TL.LAYER,
    query: {
      _: 'initConnection',
      apiId: 777,
      deviceModel: 'dev',
      systemVersion: 'sys',
      appVersion: '1.2',
      systemLangCode: 'en',
      langPack: '',
      langCode: 'en',
      query: { _: 'help.getNearestDc' },
    },
  });
  t.is((nearest as TL.Objects['nearestDc']).thisDc, 2);
  const info = dc.sessions().find((x) => x.authKeyId === key.authKeyId)!;
  t.is(info.layer, TL.LAYER);
  t.like(info.initConnection, { apiId: 777, deviceModel: 'dev', appVersion: '1.2', langCode: 'en' });
  t.is(info.sessionId, s.mtp.sessionId);
  s.client.close();
});

test.serial(
  'a wrong salt is repaired by bad_server_salt; badServerSalt(n) rejects the next n packets',
  async (t) => {
    const { s, key } = await open();
    s.mtp.salt = key.salt ^ 0xffn;
    const before = dc.stats.rejected[48] ?? 0;
    t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
    t.is(s.mtp.salt, key.salt);
    t.is(dc.stats.rejected[48], before + 1);
    dc.badServerSalt(2);
    t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
    t.is(dc.stats.rejected[48], before + 3);
    t.not(s.mtp.salt, key.salt, 'the client adopted the new salt');
    s.client.close();
  },
);

for (const [skew, code] of [
  [-400, 16],
  [120, 17],
] as const) {
  test.serial(`a client clock ${skew} s off gets ${code} and fixes itself`, async (t) => {
    const { s } = await open('intermediate', skew * 1000);
    const before = dc.stats.rejected[code] ?? 0;
    t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
    t.true(s.events.some((e) => e.kind === 'timeFixed'));
    t.true(Math.abs(s.mtp.timeOffset) < 2000);
    t.true((dc.stats.rejected[code] ?? 0) > before);
    s.client.close();
  });
}

test.serial(
  'a server clock skewed by skewClock is followed by the client (16/17 the other way)',
  async (t) => {
    const { s } = await open();
    dc.skewClock(500);
    try {
      t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
      t.true(Math.abs(s.mtp.timeOffset - 500_000) < 2000, 'the client now runs on the server clock');
    } finally {
      dc.skewClock(0);
      s.client.close();
    }
  },
);

test.serial('a seqno counter moved back gets 32 and recovers', async (t) => {
  const { s } = await open();
  await s.call({ _: 'help.getNearestDc' });
  await s.call({ _: 'help.getNearestDc' });
  s.mtp.seqno = 0;
  const before = dc.stats.rejected[32] ?? 0;
  t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
  t.is(dc.stats.rejected[32], before + 1);
  s.client.close();
});

test.serial('ping/pong; ping_delay_disconnect closes the connection after its delay', async (t) => {
  const { s } = await open();
  const id = s.mtp.enqueuePing(99n, Date.now());
  s.flush();
  const pong = await s.waitFor((e) => e.kind === 'pong');
  t.like(pong, { kind: 'pong', msgId: id, pingId: 99n });
  s.mtp.enqueuePing(100n, Date.now(), 1);
  s.flush();
  await s.waitFor((e) => e.kind === 'pong' && e.pingId === 100n);
  const t0 = Date.now();
  t.is(await s.client.next(3000), null);
  t.true(s.client.closed);
  t.true(Date.now() - t0 > 500, 'not before its delay');
});

test.serial('several requests in one container; all answered; get_future_salts', async (t) => {
  const { s } = await open();
  const ids = [1, 2, 3].map(() => s.mtp.enqueue(TL.serialize({ _: 'help.getNearestDc' }), Date.now()));
  const salts = s.mtp.enqueue(TL.serialize({ _: 'get_future_salts', num: 4 }), Date.now());
  const out = s.mtp.transmit(Date.now());
  const packets = out.packets ?? [];
  t.is(packets.length, 1, 'one packet: a container');
  for (const p of packets) s.client.send(p);
  for (const id of ids) await s.waitFor((e) => e.kind === 'rpcResult' && e.reqMsgId === id);
  const fs = await s.waitFor((e) => e.kind === 'futureSalts');
  t.is((fs as { salts: unknown[] }).salts.length, 4);
  await s.waitFor((e) => e.kind === 'rpcResult' && e.reqMsgId === salts);
  s.client.close();
});

test.serial('large results go gzip_packed and arrive whole', async (t) => {
  const users = Array.from({ length: 40 }, (_, i) => ({
    _: 'user' as const,
    id: BigInt(1000 + i),
    firstName: `user number ${i}`,
    lastName: 'of the gzip test',
  }));
  dc.handle('users.getUsers', () => users);
  const { s } = await open();
  const got = await s.call({ _: 'users.getUsers', id: [{ _: 'inputUserSelf' }] });
  t.is(got.length, 40);
  t.is((got[39] as TL.Objects['user']).firstName, 'user number 39');
  t.true(dc.stats.gzipped > 0);
  s.client.close();
});

test.serial('pushUpdate reaches the selected sessions', async (t) => {
  const a = await open();
  const b = await open();
  await a.s.call({ _: 'help.getNearestDc' });
  await b.s.call({ _: 'help.getNearestDc' });
  const update: TL.Objects['updateShort'] = {
    _: 'updateShort',
    update: { _: 'updateDcOptions', dcOptions: [] },
    date: 1,
  };
  t.is(dc.pushUpdate(a.key.authKeyId, update), 1);
  const got = await a.s.waitFor((e) => e.kind === 'message');
  t.like(TL.deserialize((got as { body: Buffer }).body), { _: 'updateShort', date: 1 });
  t.is(dc.pushUpdate({ sessionId: b.s.mtp.sessionId }, update), 1);
  await b.s.waitFor((e) => e.kind === 'message');
  t.false(a.s.events.filter((e) => e.kind === 'message').length > 1);
  a.s.client.close();
  b.s.client.close();
});

test.serial('FLOOD_WAIT and *_MIGRATE for the next calls of a method, then normal', async (t) => {
  const { s } = await open();
  dc.floodWait('help.getNearestDc', 7);
  dc.migrate('help.getNearestDc', 'PHONE', 3, 2);
  const e1 = await t.throwsAsync(s.call({ _: 'help.getNearestDc' }));
  t.like(e1, { code: 420, message: 'FLOOD_WAIT_7' });
  for (let i = 0; i < 2; i++) {
    const e = await t.throwsAsync(s.call({ _: 'help.getNearestDc' }));
    t.like(e, { code: 303, message: 'PHONE_MIGRATE_3' });
  }
  t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
  s.client.close();
});

test.serial('reorderReplies sends held answers newest first; delayReplies holds them', async (t) => {
  const { s } = await open();
  dc.reorderReplies(2);
  const ids = [1, 2].map(() => s.mtp.enqueue(TL.serialize({ _: 'help.getNearestDc' }), Date.now()));
  s.flush();
  await s.waitFor((e) => e.kind === 'rpcResult' && e.reqMsgId === ids[0]);
  const order = s.events
    .filter((e) => e.kind === 'rpcResult')
    .map((e) => (e as { reqMsgId: bigint }).reqMsgId);
  t.deepEqual(order, [ids[1], ids[0]]);
  dc.delayReplies(300);
  const t0 = Date.now();
  await s.call({ _: 'help.getNearestDc' });
  t.true(Date.now() - t0 >= 250);
  dc.clearFaults();
  s.client.close();
});

test.serial('a dropped connection: the client resends on a new one; nothing runs twice', async (t) => {
  const { s, key } = await open();
  await s.call({ _: 'help.getNearestDc' });
  dc.delayReplies(200);
  const id = s.mtp.enqueue(TL.serialize({ _: 'help.getNearestDc' }), Date.now());
  s.flush();
  await new Promise((r) => setTimeout(r, 50));
  dc.dropConnections();
  t.is(await s.client.next(1000), null);
  dc.delayReplies(0);
  // Same session, new connection: the client re-sends what is unanswered under the same ids.
  s.client = await TestClient.open(dc.port, { kind: 'abridged' });
  s.mtp.resendPending();
  s.flush();
  // The answer arrives on the new connection, once.
  await s.waitFor((e) => e.kind === 'rpcResult' && e.reqMsgId === id);
  t.is(dc.stats.duplicates, 0);
  t.is(dc.executions('help.getNearestDc').filter((e) => e.msgId === id).length, 1);
  t.is(dc.sessions().find((x) => x.authKeyId === key.authKeyId)?.connected, true);
  s.client.close();
});

test.serial(
  'dropConnections({ afterPackets }) closes the connection that gets the n-th packet',
  async (t) => {
    const { s } = await open();
    dc.dropConnections({ afterPackets: 2 });
    await s.call({ _: 'help.getNearestDc' });
    s.mtp.enqueue(TL.serialize({ _: 'help.getNearestDc' }), Date.now());
    s.flush();
    t.is(await s.client.next(2000), null);
  },
);

test.serial('framed garbage is dropped by the client; the session goes on', async (t) => {
  const { s } = await open();
  await s.call({ _: 'help.getNearestDc' });
  dc.sendGarbage({ length: 96 });
  t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
  t.true(s.events.some((e) => e.kind === 'dropped'));
  // A length prefix of 2^31 - 1 bytes: the client's codec gives up on the stream.
  dc.sendGarbage({ framed: false, bytes: Buffer.from([0xff, 0xff, 0xff, 0x7f]) });
  while ((await s.client.next(2000)) !== null) {}
  t.true(s.client.closed, 'raw garbage broke the framing');
});

test.serial('a temporary key stops working when it expires (-404)', async (t) => {
  const c = await TestClient.open(dc.port);
  const k = await clientHandshake(c, dc.rsaPublicKey, { inner: 'p_q_inner_data_temp_dc', expiresIn: 1 });
  const s = new SessionDriver(c, k.authKey, { salt: k.salt });
  await s.call({ _: 'help.getNearestDc' });
  await new Promise((r) => setTimeout(r, 1100));
  const err = await t.throwsAsync(s.call({ _: 'help.getNearestDc' }));
  t.is((err as { transportCode?: number }).transportCode, -404);
  t.false(dc.authKeys().some((x) => x.authKeyId === k.authKeyId));
});

test.serial('a world: config lists every DC; exportAuthorization on 2 imports on 4', async (t) => {
  const world = await TestWorld.start({ dcs: [1, 2, 3, 4, 5], rsaKey: 'shared' });
  try {
    const open2 = async (id: number) => {
      const c = await TestClient.open(world.dc(id).port);
      const k = await clientHandshake(c, world.rsaPublicKey, { dcId: id });
      return { s: new SessionDriver(c, k.authKey, { salt: k.salt }), k };
    };
    const a = await open2(2);
    const cfg = await a.s.call({ _: 'help.getConfig' });
    t.deepEqual(
      cfg.dcOptions.map((o) => [o.id, o.port]),
      [1, 2, 3, 4, 5].map((id) => [id, world.dc(id).port]),
    );
    const unauth = await t.throwsAsync(a.s.call({ _: 'auth.exportAuthorization', dcId: 4 }));
    t.like(unauth, { code: 401, message: 'AUTH_KEY_UNREGISTERED' });
    world.dc(2).setUserId(a.k.authKeyId, 5005);
    const exported = await a.s.call({ _: 'auth.exportAuthorization', dcId: 4 });
    const b = await open2(4);
    const wrong = await t.throwsAsync(
      b.s.call({ _: 'auth.importAuthorization', id: exported.id, bytes: Buffer.alloc(8) }),
    );
    t.like(wrong, { code: 400, message: 'AUTH_BYTES_INVALID' });
    const auth = await b.s.call({ _: 'auth.importAuthorization', id: exported.id, bytes: exported.bytes });
    t.is((auth as TL.Objects['auth.authorization']).user.id, 5005n);
    t.is(
      world
        .dc(4)
        .authKeys()
        .find((x) => x.authKeyId === b.k.authKeyId)?.userId,
      5005n,
    );
    const again = await t.throwsAsync(
      b.s.call({ _: 'auth.importAuthorization', id: exported.id, bytes: exported.bytes }),
    );
    t.like(again, { message: 'AUTH_BYTES_INVALID' }, 'one use only');
    a.s.client.close();
    b.s.client.close();
  } finally {
    await world.stop();
  }
});

test.serial(
  'unknown methods: INPUT_METHOD_INVALID for an unknown constructor, METHOD_INVALID without handler',
  async (t) => {
    const { s } = await open();
    const id = s.mtp.enqueue(Buffer.from([1, 2, 3, 4, 0, 0, 0, 0]), Date.now());
    s.flush();
    const e = await s.waitFor((x) => x.kind === 'rpcError' && x.reqMsgId === id);
    t.like(e, { code: 400, message: 'INPUT_METHOD_INVALID' });
    const err = await t.throwsAsync(s.call({ _: 'help.getAppConfig', hash: 0 }));
    t.like(err, { code: 400, message: 'METHOD_INVALID' });
    s.client.close();
  },
);

test.serial('stop() closes every socket and timer', async (t) => {
  const other = await TestDc.start({ rsaKey: 'shared' });
  const c = await TestClient.open(other.port);
  const k = await clientHandshake(c, other.rsaPublicKey);
  const s = new SessionDriver(c, k.authKey, { salt: k.salt });
  await s.call({ _: 'help.getNearestDc' });
  await other.stop();
  t.is(await c.next(1000), null);
  t.is(other.stats.activeConnections, 0);
});

test.serial('msgs_state_req after a reconnect: the server says what it has', async (t) => {
  const { s } = await open();
  await s.call({ _: 'help.getNearestDc' });
  dc.delayReplies(300);
  const id = s.mtp.enqueue(TL.serialize({ _: 'help.getNearestDc' }), Date.now());
  s.flush();
  await new Promise((r) => setTimeout(r, 50));
  t.is(s.mtp.requestState(Date.now()), 1);
  s.flush();
  const info = await s.waitFor((e) => e.kind === 'stateInfo');
  t.deepEqual((info as { msgIds: bigint[] }).msgIds, [id]);
  t.is((info as { states: number[] }).states[0] & 7, 4, 'received');
  await s.waitFor((e) => e.kind === 'rpcResult' && e.reqMsgId === id);
  dc.delayReplies(0);
  s.client.close();
});

test.serial('an MTProxy secret: only obfuscated2 made with it gets in', async (t) => {
  const secret = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const proxied = await TestDc.start({ rsaKey: 'shared', secret });
  try {
    const good = await TestClient.open(proxied.port, { kind: 'intermediate', secret, dcId: 2 });
    const k = await clientHandshake(good, proxied.rsaPublicKey);
    t.truthy(proxied.authKey(k.authKeyId));
    good.close();
    const plain = await TestClient.open(proxied.port, { kind: 'intermediate' });
    await t.throwsAsync(clientHandshake(plain, proxied.rsaPublicKey));
    plain.close();
    const wrong = await TestClient.open(proxied.port, {
      kind: 'intermediate',
      secret: Buffer.alloc(16, 1),
      dcId: 2,
    });
    await t.throwsAsync(clientHandshake(wrong, proxied.rsaPublicKey));
    wrong.close();
  } finally {
    await proxied.stop();
  }
});

test.serial('auth.bindTempAuthKey binds a temporary key to a permanent one (PFS)', async (t) => {
  const c1 = await TestClient.open(dc.port);
  const perm = await clientHandshake(c1, dc.rsaPublicKey);
  c1.close();
  const c2 = await TestClient.open(dc.port);
  const temp = await clientHandshake(c2, dc.rsaPublicKey, {
    inner: 'p_q_inner_data_temp_dc',
    expiresIn: 3600,
  });
  const s = new RawSession(c2, temp.authKey, temp.salt);
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const bind = (msgId: bigint, over = s, nonce = 99n) =>
    over.send({
      msgId,
      body: TL.serialize({
        _: 'auth.bindTempAuthKey',
        permAuthKeyId: perm.authKeyId,
        nonce,
        expiresAt,
        encryptedMessage: bindingMessage(perm.authKey, msgId, {
          nonce: 99n,
          tempAuthKeyId: temp.authKeyId,
          permAuthKeyId: perm.authKeyId,
          tempSessionId: over.sessionId,
          expiresAt,
        }),
      }),
    });
  const result = async (msgId: bigint) => {
    const r = await s.until((o) => o._ === 'rpc_result' && o.reqMsgId === BigInt.asIntN(64, msgId));
    return r.obj.result as Buffer;
  };
  // The inner nonce must match the request's.
  const bad = s.msgId();
  bind(bad, s, 98n);
  const badRes = await result(bad);
  t.throws(() => TL.deserializeResult('auth.bindTempAuthKey', badRes), {
    message: /ENCRYPTED_MESSAGE_INVALID/,
  });
  const good = s.msgId();
  bind(good);
  t.true(TL.deserializeResult('auth.bindTempAuthKey', await result(good)));
  const info = dc.authKeys().find((k) => k.authKeyId === temp.authKeyId)!;
  t.is(info.boundTo, perm.authKeyId);
  dc.setUserId(perm.authKeyId, 4242);
  t.is(
    dc.authKeys().find((k) => k.authKeyId === temp.authKeyId)!.userId,
    4242n,
    'the bound key acts for the permanent one',
  );
  c2.close();
  // Over a permanent key the call is refused.
  const c3 = await TestClient.open(dc.port);
  const p = new RawSession(c3, perm.authKey, perm.salt);
  const id = p.msgId();
  bind(id, p);
  const r = await p.until((o) => o._ === 'rpc_result');
  t.throws(() => TL.deserializeResult('auth.bindTempAuthKey', r.obj.result as Buffer), {
    message: /TEMP_AUTH_KEY_EMPTY/,
  });
  c3.close();
});

test.serial('a handler answering bytes that are no TL object gets 500, TestDc goes on', async (t) => {
  const { s } = await open();
  dc.handle('help.getPromoData', () => Buffer.from([1, 2, 3]));
  const e = await t.throwsAsync(s.call({ _: 'help.getPromoData' }));
  t.like(e, { code: 500, message: 'INTERNAL_SERVER_ERROR' });
  dc.handle('help.getPromoData', () => {
    throw new Error('boom');
  });
  t.like(await t.throwsAsync(s.call({ _: 'help.getPromoData' })), { code: 500 });
  t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
  dc.unhandle('help.getPromoData');
  s.client.close();
});

test.serial(
  'handlers may answer at once, by promise or by any thenable; what they throw either way is an rpc_error',
  async (t) => {
    const { s } = await open();
    const promo = { _: 'help.promoDataEmpty' as const, expires: 7 };
    const cases: Array<[string, () => unknown, { code?: number; message?: string; expires?: number }]> = [
      ['at once', () => promo, { expires: 7 }],
      ['a promise', async () => promo, { expires: 7 }],
      // biome-ignore lint/suspicious/noThenProperty: a thenable that is no Promise, on purpose
      ['a thenable', () => ({ then: (ok: (v: unknown) => void) => ok(promo) }), { expires: 7 }],
      ['thrown rpcError', () => dcRpcError(420, 'FLOOD_WAIT_3'), { code: 420, message: 'FLOOD_WAIT_3' }],
      [
        'rejected rpcError',
        async () => dcRpcError(400, 'PEER_ID_INVALID'),
        { code: 400, message: 'PEER_ID_INVALID' },
      ],
      [
        'a thrown string',
        () => {
          throw 'not an Error';
        },
        { code: 500, message: 'INTERNAL_SERVER_ERROR' },
      ],
      [
        'a rejecting thenable',
        // biome-ignore lint/suspicious/noThenProperty: a thenable that is no Promise, on purpose
        () => ({ then: (_: unknown, no: (e: unknown) => void) => no(7) }),
        { code: 500 },
      ],
    ];
    for (const [what, handler, want] of cases) {
      dc.handle('help.getPromoData', handler as never);
      if (want.code === undefined) t.like(await s.call({ _: 'help.getPromoData' }), want, what);
      else t.like(await t.throwsAsync(s.call({ _: 'help.getPromoData' })), want, what);
    }
    dc.unhandle('help.getPromoData');
    t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
    s.client.close();
  },
);

test.serial('forgetSessions: the next message opens a new session; the client goes on', async (t) => {
  const { s, key } = await open();
  await s.call({ _: 'help.getNearestDc' });
  t.is(dc.forgetSessions(key.authKeyId), 1);
  t.false(dc.sessions().some((x) => x.authKeyId === key.authKeyId));
  t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
  // The new session's msg_ids continue above the old one's: nothing is dropped as a duplicate.
  t.is(s.events.filter((e) => e.kind === 'sessionCreated').length, 2);
  t.false(s.events.some((e) => e.kind === 'dropped'));
  s.client.close();
});

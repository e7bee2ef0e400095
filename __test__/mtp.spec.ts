// The MTProto message layer through its JS API: a client MtpSession against a
// fake server written here (a server-side MtpSession plus hand-built bodies),
// and a differential check of the packet bytes against an independent
// MTProto 2.0 decryption over node:crypto.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import { type MtpEvent, MtpSession, mtpMsgIdAt, mtpPlainUnwrap, mtpPlainWrap } from '../bindings';

const T0 = 1_700_000_000_000;
const authKey = Buffer.from(Array.from({ length: 256 }, (_, i) => (i * 7 + 3) & 0xff));

// --- TL helpers for the fake server ---
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}
function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, n));
  return b;
}
function tlString(s: string): Buffer {
  const data = Buffer.from(s);
  const pad = (4 - ((data.length + 1) % 4)) % 4;
  return Buffer.concat([Buffer.from([data.length]), data, Buffer.alloc(pad)]);
}
const rpcResult = (req: bigint, result: Buffer) => Buffer.concat([u32(0xf35c6d01), u64(req), result]);
const rpcError = (code: number, msg: string) => Buffer.concat([u32(0x2144ca19), u32(code), tlString(msg)]);
const badServerSalt = (bad: bigint, seqno: number, salt: bigint) =>
  Buffer.concat([u32(0xedab447b), u64(bad), u32(seqno), u32(48), u64(salt)]);
const object = (tag: number, ...words: number[]) => Buffer.concat([u32(tag), ...words.map(u32)]);

function pair(headroom = 0) {
  const client = new MtpSession(authKey, {
    sessionId: 0x1122334455667788n,
    salt: 0xaaaan,
    timeOffset: 0,
    headroom,
    autoFutureSalts: false,
  });
  const server = new MtpSession(authKey, { server: true });
  return { client, server };
}

/** Client -> server: every packet of one transmit; returns the server's events. */
function toServer(client: MtpSession, server: MtpSession, now: number, headroom = 0): MtpEvent[] {
  const t = client.transmit(now);
  return t.packets.flatMap((p) => server.receive(p.subarray(headroom), now).events);
}

function toClient(server: MtpSession, client: MtpSession, now: number): MtpEvent[] {
  return server.transmit(now).packets.flatMap((p) => client.receive(p, now).events);
}

// --- An independent MTProto 2.0 decryption (node:crypto AES-256-ECB + IGE chaining) ---
function igeDecrypt(data: Buffer, key: Buffer, iv: Buffer): Buffer {
  const d = createDecipheriv('aes-256-ecb', key, null).setAutoPadding(false);
  const out = Buffer.alloc(data.length);
  let prevC = iv.subarray(0, 16);
  let prevP = iv.subarray(16, 32);
  for (let i = 0; i < data.length; i += 16) {
    const c = data.subarray(i, i + 16);
    const x = Buffer.alloc(16);
    for (let j = 0; j < 16; j++) x[j] = c[j] ^ prevP[j];
    const y = d.update(x);
    for (let j = 0; j < 16; j++) out[i + j] = y[j] ^ prevC[j];
    prevC = c;
    prevP = out.subarray(i, i + 16);
  }
  return out;
}

function kdf(key: Buffer, msgKey: Buffer, x: number): { aesKey: Buffer; aesIv: Buffer } {
  const a = createHash('sha256')
    .update(msgKey)
    .update(key.subarray(x, x + 36))
    .digest();
  const b = createHash('sha256')
    .update(key.subarray(40 + x, 76 + x))
    .update(msgKey)
    .digest();
  return {
    aesKey: Buffer.concat([a.subarray(0, 8), b.subarray(8, 24), a.subarray(24, 32)]),
    aesIv: Buffer.concat([b.subarray(0, 8), a.subarray(8, 24), b.subarray(24, 32)]),
  };
}

function referenceDecryptFromClient(packet: Buffer) {
  const keyId = createHash('sha1').update(authKey).digest().subarray(12, 20);
  const msgKey = packet.subarray(8, 24);
  const { aesKey, aesIv } = kdf(authKey, msgKey, 0);
  const plain = igeDecrypt(packet.subarray(24), aesKey, aesIv);
  const check = createHash('sha256').update(authKey.subarray(88, 120)).update(plain).digest().subarray(8, 24);
  const len = plain.readUInt32LE(28);
  return {
    keyIdOk: packet.subarray(0, 8).equals(keyId),
    msgKeyOk: check.equals(msgKey),
    salt: plain.readBigUInt64LE(0),
    sessionId: plain.readBigUInt64LE(8),
    msgId: plain.readBigUInt64LE(16),
    seqno: plain.readUInt32LE(24),
    body: plain.subarray(32, 32 + len),
    padding: plain.length - 32 - len,
  };
}

test('a request and its answer, with headroom, checked by an independent decryption', (t) => {
  const { client, server } = pair(4);
  const body = object(0x1234, 1, 2, 3);
  const id = client.enqueue(body, T0);
  t.is(typeof id, 'bigint');
  t.is(id % 4n, 0n);
  t.is(client.deadline(T0), T0);
  const out = client.transmit(T0);
  t.deepEqual(out.msgIds, [id]);
  t.is(out.packets.length, 1);
  const packet = out.packets[0];
  t.deepEqual([...packet.subarray(0, 4)], [0, 0, 0, 0]);
  const ref = referenceDecryptFromClient(packet.subarray(4));
  t.true(ref.keyIdOk && ref.msgKeyOk);
  t.is(ref.salt, 0xaaaan);
  t.is(ref.sessionId, 0x1122334455667788n);
  t.is(ref.msgId, id);
  t.is(ref.seqno, 1);
  t.deepEqual(ref.body, body);
  t.true(ref.padding >= 12 && ref.padding <= 1024);

  const got = server.receive(packet.subarray(4), T0).events;
  t.deepEqual(got, [{ kind: 'message', msgId: id, seqno: 1, body }]);
  t.is(server.sessionId, 0x1122334455667788n, 'the server side adopts the session');
  server.enqueue(rpcResult(id, object(0x99, 7)), T0);
  const events = toClient(server, client, T0 + 5);
  t.deepEqual(events, [{ kind: 'rpcResult', reqMsgId: id, body: object(0x99, 7) }]);
  t.deepEqual(client.inFlight(), []);
});

test('containers both ways, rpc_error parsed, acks delivered to the server', (t) => {
  const { client, server } = pair();
  const ids = [1, 2, 3].map((i) => client.enqueue(object(i), T0));
  const got = toServer(client, server, T0);
  t.deepEqual(
    got.map((e) => (e.kind === 'message' ? e.msgId : null)),
    ids,
  );
  server.enqueue(rpcResult(ids[0], object(0x50)), T0);
  server.enqueue(rpcResult(ids[1], rpcError(420, 'FLOOD_WAIT_5')), T0);
  server.enqueue(object(0x7777, 1), T0);
  server.enqueue(rpcResult(ids[2], object(0x52)), T0);
  const events = toClient(server, client, T0);
  t.deepEqual(
    events.map((e) => e.kind),
    ['rpcResult', 'rpcError', 'message', 'rpcResult'],
  );
  t.like(events[1], { kind: 'rpcError', reqMsgId: ids[1], code: 420, message: 'FLOOD_WAIT_5' });
  // The client owes four acks: due after the ack delay, then the server sees them.
  const deadline = client.deadline(T0);
  t.is(deadline, T0 + 1000);
  const acked = toServer(client, server, deadline as number);
  t.is(acked.length, 1);
  t.is(acked[0].kind, 'acked');
  t.is((acked[0] as { msgIds: bigint[] }).msgIds.length, 4);
});

test('bad_server_salt: salt adopted, request re-sent under a new id, late answer settles once', (t) => {
  const { client, server } = pair();
  const id = client.enqueue(object(1), T0);
  toServer(client, server, T0);
  server.enqueue(badServerSalt(id, 1, 0xbeefn), T0);
  const events = toClient(server, client, T0);
  t.deepEqual(
    events.map((e) => e.kind),
    ['badMsg', 'saltChanged', 'resent'],
  );
  t.is(client.salt, 0xbeefn);
  const resent = events[2] as { oldMsgId: bigint; newMsgId: bigint };
  t.is(resent.oldMsgId, id);
  t.true(resent.newMsgId > id);
  const out = client.transmit(T0 + 1);
  t.deepEqual(out.msgIds, [resent.newMsgId]);
  t.is(referenceDecryptFromClient(out.packets[0]).salt, 0xbeefn);
  server.enqueue(rpcResult(id, object(0x61)), T0 + 2);
  server.enqueue(rpcResult(resent.newMsgId, object(0x61)), T0 + 2);
  const answers = toClient(server, client, T0 + 2);
  t.deepEqual(
    answers.map((e) => e.kind),
    ['rpcResult', 'dropped'],
  );
  t.like(answers[0], { reqMsgId: resent.newMsgId });
  t.like(answers[1], { reason: 'UNKNOWN_MESSAGE' });
});

test('tampered, replayed and foreign packets are dropped with a reason', (t) => {
  const { client, server } = pair();
  const id = client.enqueue(object(1), T0);
  toServer(client, server, T0);
  server.enqueue(rpcResult(id, object(2)), T0);
  const [packet] = server.transmit(T0).packets;
  const tampered = Buffer.from(packet);
  tampered[40] ^= 1;
  t.like(client.receive(tampered, T0).events[0], { kind: 'dropped', reason: 'MSG_KEY' });
  const other = new MtpSession(randomBytes(256), { timeOffset: 0 });
  t.like(other.receive(Buffer.from(packet), T0).events[0], { kind: 'dropped', reason: 'AUTH_KEY_ID' });
  const copy = Buffer.from(packet);
  t.is(client.receive(packet, T0).events[0].kind, 'rpcResult');
  t.like(client.receive(copy, T0).events[0], { kind: 'dropped', reason: 'DUPLICATE' });
  t.like(client.receive(Buffer.alloc(7), T0).events[0], { kind: 'dropped', reason: 'ENVELOPE' });
});

test('reconnect: msgs_state_req, then only the lost request is re-sent', (t) => {
  const { client, server } = pair();
  const a = client.enqueue(object(1), T0);
  const got = toServer(client, server, T0);
  t.is(got.length, 1);
  const b = client.enqueue(object(2), T0 + 1);
  client.transmit(T0 + 1); // lost with the connection
  t.is(client.requestState(T0 + 100), 2);
  // The server side answers msgs_state_req itself from what it received.
  t.deepEqual(toServer(client, server, T0 + 100), []);
  const events = toClient(server, client, T0 + 100);
  const info = events.find((e) => e.kind === 'stateInfo') as { msgIds: bigint[]; states: number[] };
  t.deepEqual(info.msgIds, [a, b]);
  t.is(info.states[0] & 7, 4);
  // Within the range of ids the server stored, yet not received.
  t.is(info.states[1] & 7, 2);
  const resent = events.filter((e) => e.kind === 'resent');
  t.is(resent.length, 1);
  t.like(resent[0], { oldMsgId: b });
  const again = toServer(client, server, T0 + 101);
  t.deepEqual(
    again.map((e) => e.kind),
    ['message'],
  );
});

test('batch forms across sessions: flat results indexed by session', (t) => {
  const clients = [1, 2, 3].map(
    (i) => new MtpSession(authKey, { sessionId: BigInt(i), timeOffset: 0, autoFutureSalts: false }),
  );
  const ids = clients.map((c, i) => c.enqueue(object(i), T0));
  const out = MtpSession.transmitAll(clients, T0);
  t.is(out.packets.length, 3);
  t.deepEqual([...out.packetSession], [0, 1, 2]);
  t.deepEqual([...out.msgIds], ids);
  t.deepEqual([...out.msgIdSession], [0, 1, 2]);
  t.is(out.deadlines.length, 3);
  t.true(out.deadlines.every((d) => d === T0 + 20_000));
  out.packets.forEach((p, i) => {
    t.is(referenceDecryptFromClient(p).sessionId, BigInt(i + 1));
  });
  // Each client decrypts answers sealed for its own session only.
  const servers = clients.map((_, i) => new MtpSession(authKey, { server: true, sessionId: BigInt(i + 1) }));
  servers.forEach((s, i) => {
    s.receive(out.packets[i], T0);
    s.enqueue(rpcResult(ids[i], object(0x40 + i)), T0);
  });
  const answers = MtpSession.transmitAll(servers, T0).packets;
  // Pairs in another order than the sessions were created, one session twice.
  const order = [2, 0, 1, 0];
  const got = MtpSession.receiveAll(
    order.map((i) => clients[i]),
    [answers[2], answers[0], answers[1], Buffer.from(answers[0])],
    T0,
  );
  t.deepEqual([...got.eventSession], [0, 1, 2, 3]);
  t.like(got.events[0], { kind: 'rpcResult', reqMsgId: ids[2] });
  t.like(got.events[1], { kind: 'rpcResult', reqMsgId: ids[0] });
  t.like(got.events[2], { kind: 'rpcResult', reqMsgId: ids[1] });
  t.like(got.events[3], { kind: 'dropped', reason: 'DUPLICATE' });
  t.is(got.deadlines[0], T0 + 1000, 'an ack is owed');
  const none = MtpSession.transmitAll([], T0);
  t.is(none.packets.length + none.deadlines.length, 0);
  const err = t.throws(() => MtpSession.receiveAll(clients, [], T0));
  t.is((err as NodeJS.ErrnoException).code, 'ERR_BAD_BATCH');
});

test('state export and import keep the session going', (t) => {
  const { client } = pair();
  client.enqueue(object(1), T0);
  client.transmit(T0);
  const state = client.exportState();
  t.true(Buffer.isBuffer(state.authKey));
  t.deepEqual(state.authKey, authKey);
  t.is(state.sessionId, 0x1122334455667788n);
  t.is(state.salt, 0xaaaan);
  t.is(state.seqno, 1);
  t.true(state.timeSynced);
  const revived = new MtpSession(state.authKey as Buffer, { autoFutureSalts: false });
  revived.importState(state, T0 + 10);
  const next = revived.enqueue(object(2), T0 - 1000);
  t.true(next > state.lastMsgId);
  const ref = referenceDecryptFromClient(revived.transmit(T0 + 10).packets[0]);
  t.is(ref.sessionId, state.sessionId);
  t.is(ref.seqno, 3);
  revived.salt = 5n;
  t.is(revived.salt, 5n);
  revived.salt = 0n;
  t.is(revived.salt, 0n);
  // A signed int64 (as the TL layer reads a long) maps to the same 64 bits.
  revived.salt = -2n;
  t.is(revived.salt, 0xfffffffffffffffen);
  revived.timeOffset = 1500;
  t.is(revived.timeOffset, 1500);
});

test('errors carry stable codes', (t) => {
  const e1 = t.throws(() => new MtpSession(Buffer.alloc(10)));
  t.is((e1 as NodeJS.ErrnoException).code, 'ERR_BAD_AUTH_KEY');
  const { client } = pair();
  const e2 = t.throws(() => client.enqueue(Buffer.alloc(6), T0));
  t.is((e2 as NodeJS.ErrnoException).code, 'ERR_BAD_BODY');
});

test('plain messages: the official sample, and each check', (t) => {
  // req_pq_multi and resPQ of core.telegram.org/mtproto/samples-auth_key (2025-10 snapshot,
  // as collected in vectors/mtproto-auth-sample.json).
  const req = Buffer.from(
    '0000000000000000ACA807005EDDDF6814000000F18E7EBE37D3746B7F006B2C54257AF5763139A5',
    'hex',
  );
  const fromClient = mtpPlainUnwrap(req, true);
  t.is(fromClient.msgId, 7557002095548147884n);
  t.deepEqual(mtpPlainWrap(fromClient.msgId, fromClient.body), req);
  t.deepEqual(mtpPlainWrap(fromClient.msgId, fromClient.body, 4).subarray(4), req);
  const res = Buffer.from(
    '000000000000000001D4F0A85EDDDF68500000006324160537D3746B7F006B2C54257AF5763139A51A320B7B03E28A32871E3E5EE3861063081503491A5532EFE100000015C4B51C0300000085FD64DE851D9DD0A5B7F709355FC30B216BE86C022BB4C3',
    'hex',
  );
  t.is(mtpPlainUnwrap(res).msgId, 7557002098382001153n);
  const code = (f: () => unknown) => (t.throws(f) as NodeJS.ErrnoException).code;
  t.is(
    code(() => mtpPlainUnwrap(req)),
    'ERR_PLAIN_MSG_ID',
  );
  t.is(
    code(() => mtpPlainUnwrap(res.subarray(0, 10))),
    'ERR_PLAIN_TOO_SHORT',
  );
  t.is(
    code(() => mtpPlainUnwrap(res.subarray(0, res.length - 4))),
    'ERR_PLAIN_LENGTH',
  );
  const keyed = Buffer.from(res);
  keyed[0] = 1;
  t.is(
    code(() => mtpPlainUnwrap(keyed)),
    'ERR_PLAIN_AUTH_KEY_ID',
  );
  const id = mtpMsgIdAt(T0);
  t.is(id >> 32n, BigInt(T0 / 1000));
  t.is(id % 4n, 0n);
});

test('the reference decryption would notice a wrong layout (mutation check of the test itself)', (t) => {
  const { client } = pair();
  client.enqueue(object(9), T0);
  const [p] = client.transmit(T0).packets;
  const bad = Buffer.from(p);
  bad[30] ^= 0x80;
  t.false(referenceDecryptFromClient(bad).msgKeyOk);
  // Encrypting a fresh packet with node:crypto in ECB confirms the AES primitive agrees.
  const k = randomBytes(32);
  const block = randomBytes(16);
  const c = createCipheriv('aes-256-ecb', k, null).setAutoPadding(false).update(block);
  t.deepEqual(createDecipheriv('aes-256-ecb', k, null).setAutoPadding(false).update(c), block);
});

test('transmit takes the bodies itself: one native call per send, batched too', (t) => {
  const { client, server } = pair();
  const queued = client.enqueue(object(1), T0);
  const out = client.transmit(T0, [object(2), object(3)]);
  t.is(out.msgIds.length, 3);
  t.is(out.msgIds[0], queued);
  t.true(out.msgIds[1] > queued && out.msgIds[2] > out.msgIds[1]);
  const got = out.packets.flatMap((p) => server.receive(p, T0).events);
  t.deepEqual(
    got.map((e) => (e.kind === 'message' ? e.body : null)),
    [object(1), object(2), object(3)],
  );
  const code = (f: () => unknown) => (t.throws(f) as NodeJS.ErrnoException).code;
  t.is(
    code(() => client.transmit(T0, [object(4), Buffer.alloc(3)])),
    'ERR_BAD_BODY',
  );
  t.deepEqual(client.transmit(T0).msgIds, [], 'nothing was queued by the failed call');
  const many = [1, 2, 3].map(
    (i) => new MtpSession(authKey, { sessionId: BigInt(i), timeOffset: 0, autoFutureSalts: false }),
  );
  const res = MtpSession.transmitAll(many, T0, [[object(5)], null, [object(6), object(7)]]);
  t.deepEqual([...res.msgIdSession], [0, 2, 2]);
  t.deepEqual([...res.packetSession], [0, 2]);
  t.true(Number.isNaN(res.deadlines[1]), 'idle session');
  // A bad body anywhere in the batch changes no session.
  t.is(
    code(() => MtpSession.transmitAll(many, T0, [[object(8)], [Buffer.alloc(5)]])),
    'ERR_BAD_BODY',
  );
  t.is(MtpSession.transmitAll(many, T0).packets.length, 0);
  t.is(
    code(() => MtpSession.transmitAll(many.slice(0, 1), T0, [[], []])),
    'ERR_BAD_BATCH',
  );
});

test('property: over a lossy network every request is answered exactly once (JS API)', (t) => {
  type Op =
    | { op: 'request' }
    | { op: 'flush' }
    | { op: 'deliver'; toServer: boolean; pick: number; drop: boolean; twice: boolean }
    | { op: 'reconnect'; ask: boolean }
    | { op: 'wait'; ms: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.constant<Op>({ op: 'request' }),
    fc.constant<Op>({ op: 'flush' }),
    fc.record({
      op: fc.constant('deliver' as const),
      toServer: fc.boolean(),
      pick: fc.nat(),
      drop: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
      twice: fc.boolean(),
    }),
    fc.record({ op: fc.constant('reconnect' as const), ask: fc.boolean() }),
    fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
  );
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        let now = T0;
        const client = new MtpSession(authKey, { sessionId: 0x5en, timeOffset: 0, autoFutureSalts: false });
        const server = new MtpSession(authKey, { server: true });
        const toServer: Buffer[] = [];
        const toClient: Buffer[] = [];
        const open = new Map<bigint, number>();
        const answered = new Map<number, number>();
        let tags = 0;
        const onClient = (events: MtpEvent[]) => {
          for (const e of events) {
            if (e.kind === 'resent') {
              const tag = open.get(e.oldMsgId);
              if (tag === undefined) throw new Error('re-sent an unknown request');
              open.delete(e.oldMsgId);
              open.set(e.newMsgId, tag);
            } else if (e.kind === 'rpcResult') {
              const tag = open.get(e.reqMsgId);
              if (tag === undefined) throw new Error('answer for no open request');
              if (e.body.readUInt32LE(4) !== tag) throw new Error('answer of another request');
              open.delete(e.reqMsgId);
              answered.set(tag, (answered.get(tag) ?? 0) + 1);
            } else if (e.kind === 'failed') {
              throw new Error('request failed');
            }
          }
        };
        const onServer = (events: MtpEvent[]) => {
          for (const e of events) {
            if (e.kind === 'message' && e.body.readUInt32LE(0) === 0x0badf00d) {
              server.enqueue(rpcResult(e.msgId, object(0x0a753e12, e.body.readUInt32LE(4))), now);
            }
          }
        };
        const flush = () => {
          toServer.push(...client.transmit(now).packets);
          toClient.push(...server.transmit(now).packets);
        };
        const deliver = (toSrv: boolean, at: number, drop: boolean, twice: boolean) => {
          const q = toSrv ? toServer : toClient;
          if (q.length === 0) return;
          const [p] = q.splice(at % q.length, 1);
          if (drop) return;
          for (let i = 0; i < (twice ? 2 : 1); i++) {
            const copy = Buffer.from(p);
            if (toSrv) onServer(server.receive(copy, now).events);
            else onClient(client.receive(copy, now).events);
          }
        };
        for (const o of ops) {
          if (o.op === 'request') open.set(client.enqueue(object(0x0badf00d, tags), now), tags++);
          else if (o.op === 'flush') flush();
          else if (o.op === 'deliver') deliver(o.toServer, o.pick, o.drop, o.twice);
          else if (o.op === 'reconnect') {
            toServer.length = 0;
            toClient.length = 0;
            if (o.ask) client.requestState(now);
            else client.resendPending();
            server.resendPending();
          } else now += o.ms;
        }
        for (let round = 0; round < 100 && open.size > 0; round++) {
          now += 5000;
          flush();
          while (toServer.length > 0 || toClient.length > 0) {
            deliver(true, 0, false, false);
            deliver(false, 0, false, false);
            flush();
          }
        }
        return open.size === 0 && answered.size === tags && [...answered.values()].every((n) => n === 1);
      }),
      { numRuns: 150 },
    ),
  );
});

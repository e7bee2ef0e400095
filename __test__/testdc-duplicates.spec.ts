// TestDc's count of requests run twice (issue #5): a msg_id key alone cannot see a
// client that re-sends a request the server already ran under a new msg_id; the
// request's random_id can. Hand-made packets, so the client's behaviour is chosen here.

import test from 'ava';
import { TL } from '../bindings';
import { TestDc } from '../bindings/testing';
import { clientHandshake, RawSession, TestClient } from './testdc-helpers';

const signed = (v: bigint) => BigInt.asIntN(64, v);

test('a request re-sent under a new msg_id after it ran counts as a duplicate; distinct ones do not', async (t) => {
  const dc = await TestDc.start({ rsaKey: 'shared' });
  t.teardown(() => dc.stop());
  let ran = 0;
  dc.handle('messages.sendMessage', () => {
    ran++;
    return { _: 'updateShortSentMessage' as const, out: true, id: ran, pts: 1, ptsCount: 1, date: 0 };
  });
  const c = await TestClient.open(dc.port);
  const k = await clientHandshake(c, dc.rsaPublicKey);
  const s = new RawSession(c, k.authKey, k.salt);
  const send = (randomId: bigint) =>
    TL.serialize({ _: 'messages.sendMessage', peer: { _: 'inputPeerSelf' }, message: 'x', randomId });
  const answered = async (msgId: bigint) =>
    s.until((o) => o._ === 'rpc_result' && o.reqMsgId === signed(msgId));
  await answered(s.send({ body: send(1n) }).msgId);
  await answered(s.send({ body: send(2n) }).msgId);
  t.is(dc.stats.duplicates, 0, 'two requests with their own random_id');
  // The first again, under a new msg_id (what a client does after a wrong "not received").
  await answered(s.send({ body: send(1n) }).msgId);
  t.is(ran, 3);
  t.is(dc.stats.duplicates, 1);
  t.is(dc.executions().at(-1)?.randomId, '1');
  c.close();
});

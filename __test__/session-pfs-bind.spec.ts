// What TestDc checks of auth.bindTempAuthKey (bindings/testing/bind-rules.ts), at unit
// level with the client's Rust-made binding message: every field that must match, the key
// kinds, expiry, one bound temporary key per permanent key; and, over a real socket with the
// hand-written client of testdc-helpers, that an unbound temporary key may only call what a
// server allows (401 AUTH_KEY_PERM_EMPTY otherwise).

import { randomBytes } from 'node:crypto';
import test from 'ava';
import { TL } from '../bindings';
import { bindTempKeyMessage } from '../bindings/native';
import { TestDc } from '../bindings/testing';
import { bind, checkBinding, unboundRefusal } from '../bindings/testing/bind-rules';
import { AuthKeyRecord } from '../bindings/testing/keys';
import { clientHandshake, SessionDriver, TestClient } from './testdc-helpers';

const NOW = 1_700_000_000_000;

function keys() {
  const perm = new AuthKeyRecord(randomBytes(256), 1n, NOW, {});
  const temp = new AuthKeyRecord(randomBytes(256), 2n, NOW, { expiresAt: NOW + 3_600_000 });
  return { perm, temp };
}

interface Parts {
  msgId: bigint;
  sessionId: bigint;
  nonce: bigint;
  innerNonce: bigint;
  expiresAt: number;
  innerExpiresAt: number;
  tempAuthKeyId: bigint;
  permAuthKeyId: bigint;
  innerPermAuthKeyId: bigint;
  innerSessionId: bigint;
  innerMsgId: bigint;
  encryptWith: Buffer;
}

/** A binding query and its context, valid unless `change` says otherwise. */
function binding(k: ReturnType<typeof keys>, change: Partial<Parts> = {}) {
  const expiresAt = NOW / 1000 + 3600;
  const p: Parts = {
    msgId: 0x6555555500000004n,
    sessionId: 0x1234567890abcdefn,
    nonce: 77n,
    innerNonce: 77n,
    expiresAt,
    innerExpiresAt: expiresAt,
    tempAuthKeyId: k.temp.authKeyId,
    permAuthKeyId: k.perm.authKeyId,
    innerPermAuthKeyId: k.perm.authKeyId,
    innerSessionId: 0x1234567890abcdefn,
    innerMsgId: 0x6555555500000004n,
    encryptWith: k.perm.authKey,
    ...change,
  };
  const inner = TL.serialize({
    _: 'bind_auth_key_inner',
    nonce: p.innerNonce,
    tempAuthKeyId: p.tempAuthKeyId,
    permAuthKeyId: p.innerPermAuthKeyId,
    tempSessionId: p.innerSessionId,
    expiresAt: p.innerExpiresAt,
  });
  const req = {
    permAuthKeyId: p.permAuthKeyId,
    nonce: p.nonce,
    expiresAt: p.expiresAt,
    encryptedMessage: bindTempKeyMessage(p.encryptWith, p.innerMsgId, inner),
  };
  return { req, ctx: { temp: k.temp, perm: k.perm, msgId: p.msgId, sessionId: p.sessionId, now: NOW } };
}

test('a binding made as the spec says passes', (t) => {
  const k = keys();
  const { req, ctx } = binding(k);
  t.is(checkBinding(req, ctx), null);
});

test('every field must match: ENCRYPTED_MESSAGE_INVALID otherwise', (t) => {
  const k = keys();
  const other = keys();
  const cases: Array<[string, Partial<Parts>]> = [
    ['the query nonce', { nonce: 78n }],
    ['the inner nonce', { innerNonce: 78n }],
    ['temp_auth_key_id', { tempAuthKeyId: other.temp.authKeyId }],
    ['the inner perm_auth_key_id', { innerPermAuthKeyId: other.perm.authKeyId }],
    ['temp_session_id', { innerSessionId: 5n }],
    ['the session it came in', { sessionId: 6n }],
    ['the inner expires_at', { innerExpiresAt: NOW / 1000 + 3599 }],
    ['the inner msg_id', { innerMsgId: 0x6555555500000008n }],
    ['the carrying msg_id', { msgId: 0x6555555500000008n }],
    ['the key it is encrypted with', { encryptWith: other.perm.authKey }],
  ];
  for (const [what, change] of cases) {
    const { req, ctx } = binding(k, change);
    t.is(checkBinding(req, ctx), 'ENCRYPTED_MESSAGE_INVALID', what);
  }
  // perm_auth_key_id naming a key the DC does not know, or a temporary one.
  const { req, ctx } = binding(k);
  t.is(checkBinding(req, { ...ctx, perm: undefined }), 'ENCRYPTED_MESSAGE_INVALID');
  t.is(checkBinding(req, { ...ctx, perm: other.temp }), 'ENCRYPTED_MESSAGE_INVALID');
  // A tampered ciphertext.
  const bad = Buffer.from(req.encryptedMessage);
  bad[40] ^= 1;
  t.is(checkBinding({ ...req, encryptedMessage: bad }, ctx), 'ENCRYPTED_MESSAGE_INVALID');
});

test('key kinds, expiry and one binding per permanent key', (t) => {
  const k = keys();
  const { req, ctx } = binding(k);
  t.is(checkBinding(req, { ...ctx, temp: k.perm }), 'TEMP_AUTH_KEY_EMPTY', 'sent over a permanent key');
  t.is(checkBinding(req, { ...ctx, temp: undefined }), 'TEMP_AUTH_KEY_EMPTY');
  const past = binding(k, { expiresAt: NOW / 1000 - 1, innerExpiresAt: NOW / 1000 - 1 });
  t.is(checkBinding(past.req, past.ctx), 'EXPIRES_AT_INVALID');
  // Bound to another permanent key already.
  const other = keys();
  k.temp.boundTo = other.perm;
  t.is(checkBinding(req, ctx), 'TEMP_AUTH_KEY_ALREADY_BOUND');
  k.temp.boundTo = undefined;
  // Binding: the earlier expires_at wins; the permanent key's previous temporary key is unbound.
  let unbound = 0;
  bind(k.temp, k.perm, NOW / 1000 + 60, () => unbound++);
  t.is(unbound, 1);
  t.is(k.temp.boundTo, k.perm);
  t.is(k.temp.expiresAt, NOW + 60_000);
  t.true(k.temp.expired(NOW + 60_000));
});

test('an unbound temporary key may call only a few methods', (t) => {
  const k = keys();
  t.is(unboundRefusal(k.temp, 'messages.sendMessage'), 'AUTH_KEY_PERM_EMPTY');
  t.is(unboundRefusal(k.temp, 'auth.signIn'), 'AUTH_KEY_PERM_EMPTY');
  for (const m of ['auth.bindTempAuthKey', 'help.getConfig', 'help.getNearestDc', 'langpack.getLangPack']) {
    t.is(unboundRefusal(k.temp, m), undefined, m);
  }
  t.is(unboundRefusal(k.perm, 'messages.sendMessage'), undefined, 'a permanent key');
  k.temp.boundTo = k.perm;
  t.is(unboundRefusal(k.temp, 'messages.sendMessage'), undefined, 'once bound');
});

test('over a socket: calls before the binding are refused unrun, help.* answered', async (t) => {
  const dc = await TestDc.start({ rsaKey: 'shared' });
  try {
    dc.handle(
      'messages.getDialogs',
      () => ({ _: 'messages.dialogs', dialogs: [], messages: [], chats: [], users: [] }) as never,
    );
    const c1 = await TestClient.open(dc.port);
    await clientHandshake(c1, dc.rsaPublicKey);
    c1.close();
    const c2 = await TestClient.open(dc.port);
    const temp = await clientHandshake(c2, dc.rsaPublicKey, {
      inner: 'p_q_inner_data_temp_dc',
      expiresIn: 600,
    });
    const s = new SessionDriver(c2, temp.authKey, { salt: temp.salt });
    const dialogs = {
      _: 'messages.getDialogs',
      offsetDate: 0,
      offsetId: 0,
      offsetPeer: { _: 'inputPeerEmpty' },
      limit: 1,
      hash: 0n,
    } as const;
    const refused = await t.throwsAsync(s.call(dialogs));
    t.like(refused, { code: 401, errorMessage: 'AUTH_KEY_PERM_EMPTY' });
    t.is((await s.call({ _: 'help.getNearestDc' })).thisDc, 2);
    t.is(dc.executions('messages.getDialogs').length, 0, 'the refused call did not run');
    c2.close();
  } finally {
    await dc.stop();
  }
});

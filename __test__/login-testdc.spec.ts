// TestDc's login methods answer as Telegram's servers do, method by method (raw calls
// over real sockets): the code's life (hash empty/invalid, empty, counted wrong attempts,
// expiry, reuse, replaced by a new one, another DC), SRP ids (stale, reused, another
// user's), 401s of an unauthorized key, API ids, bot tokens, and revocation reaching
// an authorization imported on another DC.

import test from 'ava';
import { type RpcError, srpComputeCheck, TL } from '../bindings';
import { MAX_CODE_ATTEMPTS, TestWorld } from '../bindings/testing';
import {
  bindingMessage,
  type ClientKey,
  clientHandshake,
  RawSession,
  SessionDriver,
  TestClient,
} from './testdc-helpers';

let world: TestWorld;
test.before(async () => {
  world = await TestWorld.start({ dcs: [1, 2], rsaKey: 'shared' });
});
test.after.always(async () => {
  await world?.stop();
});

const API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };
let phones = 0;
const newPhone = () => `+99955${String(++phones).padStart(5, '0')}`;

/** A raw client (testdc-helpers): no migration followed, no initConnection, errors as they come. */
async function open(dcId = 1) {
  const c = await TestClient.open(world.dc(dcId).port);
  const k = await clientHandshake(c, world.rsaPublicKey, { dcId });
  const s = new SessionDriver(c, k.authKey, { salt: k.salt });
  return {
    authKeyId: k.authKeyId,
    call: <M extends TL.MethodName>(method: M, params: TL.Params<M>) =>
      s.call({ _: method, ...params } as unknown as TL.AnyMethod) as Promise<TL.Result<M>>,
    close: () => c.close(),
  };
}

const sendCode = async (s: Awaited<ReturnType<typeof open>>, phone: string) => {
  const sent = await s.call('auth.sendCode', { phoneNumber: phone, ...API, settings: { _: 'codeSettings' } });
  if (sent._ !== 'auth.sentCode') throw new Error(sent._);
  return sent.phoneCodeHash;
};

const rpc = (e: unknown) => ({ code: (e as RpcError).code, message: (e as RpcError).errorMessage });

test('the life of a code', async (t) => {
  const phone = newPhone();
  const account = world.accounts.addUser({ phone, homeDcId: 1 });
  const s = await open();
  t.teardown(s.close);
  const signIn = (phoneCodeHash: string, phoneCode?: string, phoneNumber = phone) =>
    s.call('auth.signIn', { phoneNumber, phoneCodeHash, phoneCode }).catch(rpc);

  const hash = await sendCode(s, phone);
  t.regex(hash, /^[0-9a-f]{18}$/);
  const code = world.accounts.lastCode(phone)!;
  t.regex(code, /^\d{5}$/);
  const wrong = String((Number(code) + 1) % 100_000).padStart(5, '0');
  t.deepEqual(await signIn(''), { code: 400, message: 'PHONE_CODE_HASH_EMPTY' });
  t.deepEqual(await signIn('feedface'), { code: 400, message: 'PHONE_CODE_HASH_INVALID' });
  t.deepEqual(await signIn(hash, code, newPhone()), { code: 400, message: 'PHONE_CODE_HASH_INVALID' });
  t.deepEqual(await signIn(hash, undefined), { code: 400, message: 'PHONE_CODE_EMPTY' });
  t.deepEqual(await signIn(hash, 'abc', 'not a phone'), { code: 400, message: 'PHONE_NUMBER_INVALID' });
  for (let i = 1; i <= MAX_CODE_ATTEMPTS; i++)
    t.deepEqual(await signIn(hash, wrong), { code: 400, message: 'PHONE_CODE_INVALID' });
  t.deepEqual(await signIn(hash, code), { code: 400, message: 'PHONE_CODE_EXPIRED' }, 'dead after 5 wrong');

  // A new code replaces the old one.
  const first = await sendCode(s, phone);
  const second = await sendCode(s, phone);
  t.not(first, second);
  t.deepEqual(await signIn(first, world.accounts.lastCode(phone)), {
    code: 400,
    message: 'PHONE_CODE_EXPIRED',
  });
  // Signing in on another DC than the one that sent it.
  const other = await open(2);
  t.teardown(other.close);
  const moved = await other
    .call('auth.signIn', {
      phoneNumber: phone,
      phoneCodeHash: second,
      phoneCode: world.accounts.lastCode(phone),
    })
    .catch(rpc);
  t.deepEqual(moved, { code: 303, message: 'PHONE_MIGRATE_1' });
  const auth = (await signIn(second, world.accounts.lastCode(phone))) as TL.Objects['auth.authorization'];
  t.like(auth, { _: 'auth.authorization', user: { _: 'user', id: account.id, self: true } });
  t.deepEqual(
    await signIn(second, world.accounts.lastCode(phone)),
    { code: 400, message: 'PHONE_CODE_EXPIRED' },
    'once',
  );
});

test('sendCode: API id, invalid phone, PHONE_MIGRATE; cancelCode', async (t) => {
  const phone = newPhone();
  world.accounts.addUser({ phone, homeDcId: 2 });
  const s = await open(1);
  t.teardown(s.close);
  const send = (phoneNumber: string, api = API) =>
    s.call('auth.sendCode', { phoneNumber, ...api, settings: { _: 'codeSettings' } }).catch(rpc);
  t.deepEqual(await send(phone, { apiId: 0, apiHash: 'x' }), { code: 400, message: 'API_ID_INVALID' });
  t.deepEqual(await send(phone, { apiId: 1, apiHash: '' }), { code: 400, message: 'API_ID_INVALID' });
  t.deepEqual(await send('+1 23'), { code: 400, message: 'PHONE_NUMBER_INVALID' });
  t.deepEqual(await send(phone), { code: 303, message: 'PHONE_MIGRATE_2' });
  // An unknown phone is sent a code anywhere (it would sign up).
  const unknown = newPhone();
  const sent = (await send(unknown)) as TL.Objects['auth.sentCode'];
  t.like(sent, { type: { _: 'auth.sentCodeTypeSms', length: 5 } });
  t.true(await s.call('auth.cancelCode', { phoneNumber: unknown, phoneCodeHash: sent.phoneCodeHash }));
  const again = await s
    .call('auth.cancelCode', { phoneNumber: unknown, phoneCodeHash: sent.phoneCodeHash })
    .catch(rpc);
  t.deepEqual(again, { code: 400, message: 'PHONE_CODE_EXPIRED' });
  const signUp = await s
    .call('auth.signIn', { phoneNumber: unknown, phoneCodeHash: sent.phoneCodeHash, phoneCode: '00000' })
    .catch(rpc);
  t.deepEqual(signUp, { code: 400, message: 'PHONE_CODE_EXPIRED' }, 'a cancelled code is dead');
});

test('SRP ids: one check each, not another user', async (t) => {
  const phone = newPhone();
  world.accounts.addUser({ phone, password: 'pw', homeDcId: 1 });
  const other = world.accounts.addUser({ phone: newPhone(), password: 'pw', homeDcId: 1 });
  const s = await open(1);
  t.teardown(s.close);
  t.deepEqual(await s.call('account.getPassword', {}).catch(rpc), {
    code: 401,
    message: 'AUTH_KEY_UNREGISTERED',
  });
  const hash = await sendCode(s, phone);
  const needed = await s
    .call('auth.signIn', {
      phoneNumber: phone,
      phoneCodeHash: hash,
      phoneCode: world.accounts.lastCode(phone),
    })
    .catch(rpc);
  t.deepEqual(needed, { code: 401, message: 'SESSION_PASSWORD_NEEDED' });
  const check = (password: TL.Types['InputCheckPasswordSRP']) =>
    s.call('auth.checkPassword', { password }).catch(rpc);
  t.deepEqual(await check({ _: 'inputCheckPasswordEmpty' }), { code: 400, message: 'PASSWORD_HASH_INVALID' });
  const pw = (await s.call('account.getPassword', {})) as TL.Objects['account.password'];
  const pw2 = (await s.call('account.getPassword', {})) as TL.Objects['account.password'];
  t.not(pw.srpId, pw2.srpId, 'fresh srp_id');
  t.false(pw.srpB!.equals(pw2.srpB!), 'fresh srp_B');
  t.true(pw.currentAlgo!._ === pw.newAlgo._);
  const bogus = {
    _: 'inputCheckPasswordSRP' as const,
    srpId: 1n,
    A: Buffer.alloc(256, 1),
    M1: Buffer.alloc(32),
  };
  t.deepEqual(await check(bogus), { code: 400, message: 'SRP_ID_INVALID' });
  // Another user's srp_id is no good for this login.
  const theirs = world.accounts.srp.accountPassword(other.id, other.password);
  t.deepEqual(await check({ ...bogus, srpId: theirs.srpId! }), { code: 400, message: 'SRP_ID_INVALID' });
  // A wrong proof uses up its srp_id.
  t.deepEqual(await check({ ...bogus, srpId: pw.srpId! }), { code: 400, message: 'PASSWORD_HASH_INVALID' });
  t.deepEqual(await check({ ...bogus, srpId: pw.srpId! }), { code: 400, message: 'SRP_ID_INVALID' });
  // An A out of range is a wrong proof, not a crash.
  t.deepEqual(await check({ ...bogus, srpId: pw2.srpId!, A: Buffer.alloc(256) }), {
    code: 400,
    message: 'PASSWORD_HASH_INVALID',
  });
  t.is(
    world
      .dc(1)
      .authKeys()
      .find((k) => k.authKeyId === s.authKeyId)?.userId,
    undefined,
    'still not logged in',
  );
});

test('bot tokens; 401s of an unauthorized key', async (t) => {
  const bot = world.accounts.addBot({ homeDcId: 1 });
  const user = world.accounts.addUser({ phone: newPhone(), homeDcId: 1 });
  const s = await open(1);
  t.teardown(s.close);
  const importBot = (botAuthToken: string, api = API) =>
    s.call('auth.importBotAuthorization', { flags: 0, ...api, botAuthToken }).catch(rpc);
  t.deepEqual(await importBot(bot.token!, { apiId: 0, apiHash: 'x' }), {
    code: 400,
    message: 'API_ID_INVALID',
  });
  t.deepEqual(await importBot(`${user.id}:secret`), { code: 400, message: 'ACCESS_TOKEN_INVALID' });
  t.deepEqual(await importBot(`${bot.id}:${bot.token!.split(':')[1]}x`), {
    code: 400,
    message: 'ACCESS_TOKEN_INVALID',
  });
  t.deepEqual(await importBot('nonsense'), { code: 400, message: 'ACCESS_TOKEN_INVALID' });
  t.regex(bot.token!, /^\d+:[A-Za-z0-9_-]{35}$/);
  for (const m of ['updates.getState', 'auth.logOut'] as const)
    t.deepEqual(await s.call(m, {}).catch(rpc), { code: 401, message: 'AUTH_KEY_UNREGISTERED' });
  t.deepEqual(await s.call('users.getUsers', { id: [{ _: 'inputUserSelf' }] }).catch(rpc), {
    code: 401,
    message: 'AUTH_KEY_UNREGISTERED',
  });
  const auth = (await importBot(bot.token!)) as TL.Objects['auth.authorization'];
  t.like(auth.user, { id: bot.id, bot: true });
  const users = await s.call('users.getUsers', {
    id: [
      { _: 'inputUserSelf' },
      { _: 'inputUser', userId: user.id, accessHash: user.accessHash },
      { _: 'inputUser', userId: user.id, accessHash: user.accessHash ^ 1n },
      { _: 'inputUser', userId: 1n, accessHash: 0n },
    ],
  });
  // A wrong access hash gets nothing, as from Telegram (issue #14).
  t.like(users, [
    { id: bot.id, self: true },
    { _: 'user', id: user.id, accessHash: user.accessHash },
    { _: 'userEmpty', id: user.id },
    { _: 'userEmpty', id: 1n },
  ]);
  t.like(await s.call('auth.logOut', {}), { _: 'auth.loggedOut' });
  t.deepEqual(await s.call('updates.getState', {}).catch(rpc), {
    code: 401,
    message: 'AUTH_KEY_UNREGISTERED',
  });
});

test('revoke reaches an authorization imported on another DC', async (t) => {
  const phone = newPhone();
  const account = world.accounts.addUser({ phone, homeDcId: 1 });
  const a = await open(1);
  t.teardown(a.close);
  const hash = await sendCode(a, phone);
  await a.call('auth.signIn', {
    phoneNumber: phone,
    phoneCodeHash: hash,
    phoneCode: world.accounts.lastCode(phone),
  });
  const exported = await a.call('auth.exportAuthorization', { dcId: 2 });
  const b = await open(2);
  t.teardown(b.close);
  await b.call('auth.importAuthorization', { id: exported.id, bytes: exported.bytes });
  // An imported authorization works on DC 2 although the account lives on DC 1.
  t.like(await b.call('updates.getState', {}), { _: 'updates.state' });
  t.is(world.accounts.revoke(account.id), 2);
  for (const s of [a, b])
    t.deepEqual(await s.call('updates.getState', {}).catch(rpc), { code: 401, message: 'SESSION_REVOKED' });
  t.false(world.accounts.hasAuthorizations(account.id));
});

/** A temporary key on DC 1 bound to `perm` (auth.bindTempAuthKey), with raw calls over it. */
async function boundTempKey(perm: ClientKey) {
  const c = await TestClient.open(world.dc(1).port);
  const temp = await clientHandshake(c, world.rsaPublicKey, {
    dcId: 1,
    inner: 'p_q_inner_data_temp_dc',
    expiresIn: 3600,
  });
  const s = new RawSession(c, temp.authKey, temp.salt);
  const call = async <M extends TL.MethodName>(method: M, params: TL.Params<M>, msgId = s.msgId()) => {
    s.send({ msgId, body: TL.serialize({ _: method, ...params } as unknown as TL.TlObject) });
    const r = await s.until((o) => o._ === 'rpc_result' && o.reqMsgId === BigInt.asIntN(64, msgId));
    return TL.deserializeResult(method, r.obj.result as Buffer) as TL.Result<M>;
  };
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  const msgId = s.msgId();
  const bound = await call(
    'auth.bindTempAuthKey',
    {
      permAuthKeyId: perm.authKeyId,
      nonce: 7n,
      expiresAt,
      encryptedMessage: bindingMessage(perm.authKey, msgId, {
        nonce: 7n,
        tempAuthKeyId: temp.authKeyId,
        permAuthKeyId: perm.authKeyId,
        tempSessionId: s.sessionId,
        expiresAt,
      }),
    },
    msgId,
  );
  if (bound !== true) throw new Error('not bound');
  return { call, close: () => c.close() };
}

test('PFS: a login waiting for its password survives a new temporary key; revocation reaches it', async (t) => {
  const phone = newPhone();
  const account = world.accounts.addUser({ phone, password: 'pfs', homeDcId: 1 });
  const c = await TestClient.open(world.dc(1).port);
  const perm = await clientHandshake(c, world.rsaPublicKey, { dcId: 1 });
  c.close();
  const a = await boundTempKey(perm);
  t.teardown(a.close);
  const sent = await a.call('auth.sendCode', { phoneNumber: phone, ...API, settings: { _: 'codeSettings' } });
  if (sent._ !== 'auth.sentCode') return t.fail(sent._);
  const needed = await a
    .call('auth.signIn', {
      phoneNumber: phone,
      phoneCodeHash: sent.phoneCodeHash,
      phoneCode: world.accounts.lastCode(phone),
    })
    .catch(rpc);
  t.deepEqual(needed, { code: 401, message: 'SESSION_PASSWORD_NEEDED' });
  // The temporary key is renewed (a new one bound to the same permanent key) mid-login.
  const b = await boundTempKey(perm);
  t.teardown(b.close);
  const pw = (await b.call('account.getPassword', {})) as TL.Objects['account.password'];
  const algo =
    pw.currentAlgo as TL.Objects['passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow'];
  const { A, M1 } = srpComputeCheck({ password: 'pfs', ...algo, srpB: pw.srpB! });
  const auth = await b.call('auth.checkPassword', {
    password: { _: 'inputCheckPasswordSRP', srpId: pw.srpId!, A, M1 },
  });
  t.like(auth, { _: 'auth.authorization', user: { id: account.id } });
  const permInfo = world
    .dc(1)
    .authKeys()
    .find((k) => k.authKeyId === perm.authKeyId);
  t.is(permInfo?.userId, account.id, 'the permanent key is logged in');
  t.like(await b.call('updates.getState', {}), { _: 'updates.state' });
  t.true(world.accounts.revoke(account.id) >= 1);
  t.deepEqual(await b.call('updates.getState', {}).catch(rpc), { code: 401, message: 'SESSION_REVOKED' });
});

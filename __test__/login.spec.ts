// Logins against a TestWorld over real sockets: bot (right and wrong token, USER_MIGRATE),
// user without and with 2FA (wrong code then right, wrong password then right, attempts
// exhausted), PHONE_MIGRATE, USER_MIGRATE of a moved account, sign-up refused, logOut,
// and a revocation from the server side while calls are in flight.

import test, { type ExecutionContext } from 'ava';
import { LoginError, RpcError, type SessionEvent, SessionRegistry, UnauthorizedError } from '../bindings';
import { TestDc, TestWorld } from '../bindings/testing';
import { fakeDhPrime } from '../bindings/testing/dh';

let world: TestWorld;
test.before(async () => {
  world = await TestWorld.start({ dcs: [1, 2, 3], rsaKey: 'shared' });
});
test.after.always(async () => {
  await world?.stop();
});

const API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };
let phones = 0;
/** A phone number no other test uses. */
const newPhone = () => `+99966${String(++phones).padStart(5, '0')}`;

async function open(dcId: number, events: SessionEvent[] = []) {
  const reg = new SessionRegistry();
  const d = world.dc(dcId);
  const id = await reg.open(dcId, (e) => events.push(e), {
    address: { host: d.host, port: d.port },
    rsaKeys: [world.rsaPublicKey.pem],
    init: { apiId: API.apiId },
    reconnect: { baseMs: 20, capMs: 200 },
  });
  return { reg, id, events };
}

/** A new user homed on DC 2, logged in on a session opened there (closed after the test). */
async function loggedInOnDc2(t: ExecutionContext) {
  const phone = newPhone();
  const account = world.accounts.addUser({ phone, homeDcId: 2 });
  const { reg, id, events } = await open(2);
  t.teardown(() => reg.close(id));
  await reg.loginUser(id, { ...API, phone, code: () => theCode(phone) });
  return { phone, account, reg, id, events };
}

/** The code the user received ("read from the SMS"). */
const theCode = (phone: string) => world.accounts.lastCode(phone) ?? 'none';
/** A code that is not the one sent. */
const wrongCode = (phone: string) => String((Number(theCode(phone)) + 1) % 100_000).padStart(5, '0');

function serverUserOf(dcId: number, authKeyId: bigint): bigint | undefined {
  return world
    .dc(dcId)
    .authKeys()
    .find((k) => k.authKeyId === authKeyId)?.userId;
}

test('bot login; a wrong token is refused by the server, a malformed one locally', async (t) => {
  const bot = world.accounts.addBot({ homeDcId: 2 });
  const { reg, id } = await open(2);
  t.teardown(() => reg.close(id));
  const wrong = `${bot.id}:${'x'.repeat(35)}`;
  const err = await t.throwsAsync(reg.loginBot(id, wrong, API), { instanceOf: LoginError });
  t.is((err as LoginError).code, 'BOT_TOKEN_INVALID');
  t.like((err as LoginError).cause, { code: 400, errorMessage: 'ACCESS_TOKEN_INVALID' });
  t.false(err!.message.includes('xxxx'), 'the token is not in the message');
  const before = world.dc(2).executions('auth.importBotAuthorization').length;
  const bad = await t.throwsAsync(reg.loginBot(id, 'not a token', API), { instanceOf: LoginError });
  t.is((bad as LoginError).code, 'BOT_TOKEN_INVALID');
  t.is(world.dc(2).executions('auth.importBotAuthorization').length, before, 'not sent');
  t.is(reg.state(id).userId, null);

  const user = await reg.loginBot(id, bot.token!, API);
  t.like(user, { _: 'user', id: bot.id, bot: true, self: true, username: bot.username });
  t.is(reg.state(id).userId, bot.id);
  t.is(serverUserOf(2, reg.state(id).authKeyId), bot.id);
  const [me] = await reg.call(id, 'users.getUsers', { id: [{ _: 'inputUserSelf' }] });
  t.like(me, { _: 'user', id: bot.id, bot: true });
});

test('bot homed on DC 3, logging in from DC 1: USER_MIGRATE_3 followed', async (t) => {
  const bot = world.accounts.addBot({ homeDcId: 3 });
  const { reg, id, events } = await open(1);
  t.teardown(() => reg.close(id));
  const user = await reg.loginBot(id, bot.token!, API);
  t.is(user.id, bot.id);
  const migrated = events.find((e) => e.kind === 'migrated');
  t.like(migrated, { fromDc: 1, toDc: 3 });
  const st = reg.state(id);
  t.is(st.dcId, 3);
  t.is(st.userId, bot.id);
  t.is(serverUserOf(3, st.authKeyId), bot.id);
});

test('user without 2FA: the code asked once, the user id kept, phone_code_hash while it runs', async (t) => {
  const phone = newPhone();
  const account = world.accounts.addUser({ phone, firstName: 'Ada', homeDcId: 2 });
  const { reg, id } = await open(2);
  t.teardown(() => reg.close(id));
  const asked: unknown[] = [];
  const user = await reg.loginUser(id, {
    ...API,
    phone,
    code: (info) => {
      asked.push(info);
      // While the login runs, the session keeps the hash of auth.sentCode.
      t.is(typeof reg.state(id).phoneCodeHash, 'string');
      return theCode(phone);
    },
  });
  t.like(user, { _: 'user', id: account.id, firstName: 'Ada', self: true, phone: phone.slice(1) });
  t.deepEqual(asked, [{ phone, type: 'auth.sentCodeTypeSms', length: 5, attempt: 1, error: undefined }]);
  const st = reg.state(id);
  t.is(st.userId, account.id);
  t.is(st.phoneCodeHash, null);
  t.is(serverUserOf(2, st.authKeyId), account.id);
  const state = await reg.call(id, 'updates.getState', {});
  t.is(state._, 'updates.state');
});

test('a wrong code then the right one; too many wrong codes fail typed', async (t) => {
  const phone = newPhone();
  const account = world.accounts.addUser({ phone, homeDcId: 2 });
  const { reg, id } = await open(2);
  t.teardown(() => reg.close(id));
  const asked: Array<{ attempt: number; error?: string }> = [];
  const user = await reg.loginUser(id, {
    ...API,
    phone,
    code: (info) => {
      asked.push(info);
      return info.attempt === 1 ? wrongCode(phone) : theCode(phone);
    },
  });
  t.is(user.id, account.id);
  t.like(asked, [
    { attempt: 1, error: undefined },
    { attempt: 2, error: 'PHONE_CODE_INVALID' },
  ]);

  const other = await open(2);
  t.teardown(() => other.reg.close(other.id));
  // The account has a logged-in session now: the code goes to the app.
  const types: string[] = [];
  const err = await t.throwsAsync(
    other.reg.loginUser(other.id, {
      ...API,
      phone,
      maxAttempts: 2,
      code: (info) => {
        types.push(info.type);
        return wrongCode(phone);
      },
    }),
    { instanceOf: LoginError },
  );
  t.is((err as LoginError).code, 'PHONE_CODE_INVALID');
  t.deepEqual(types, ['auth.sentCodeTypeApp', 'auth.sentCodeTypeApp']);
  t.is(other.reg.state(other.id).userId, null);
  t.is(other.reg.state(other.id).phoneCodeHash, null, 'dropped when the login failed');
});

test('an expired code, an invalid phone, a callback that throws', async (t) => {
  const phone = newPhone();
  world.accounts.addUser({ phone, homeDcId: 2 });
  const { reg, id } = await open(2);
  t.teardown(() => reg.close(id));
  const expired = await t.throwsAsync(
    reg.loginUser(id, {
      ...API,
      phone,
      code: () => {
        world.accounts.expireCodes(phone);
        return theCode(phone);
      },
    }),
    { instanceOf: LoginError },
  );
  t.is((expired as LoginError).code, 'PHONE_CODE_EXPIRED');
  const invalid = await t.throwsAsync(reg.loginUser(id, { ...API, phone: '12', code: () => '1' }), {
    instanceOf: LoginError,
  });
  t.is((invalid as LoginError).code, 'PHONE_NUMBER_INVALID');
  const cause = new Error('user closed the dialog');
  const cancelled = await t.throwsAsync(
    reg.loginUser(id, {
      ...API,
      phone,
      code: () => {
        throw cause;
      },
    }),
    { instanceOf: LoginError },
  );
  t.is((cancelled as LoginError).code, 'CANCELLED');
  t.is((cancelled as LoginError).cause, cause);
  const noApi = await t.throwsAsync(reg.loginUser(id, { apiId: 0, apiHash: '', phone, code: () => '1' }), {
    instanceOf: LoginError,
  });
  t.is((noApi as LoginError).code, 'API_ID_INVALID');
});

test('2FA: SESSION_PASSWORD_NEEDED, a wrong password then the right one (SRP)', async (t) => {
  const phone = newPhone();
  const account = world.accounts.addUser({ phone, password: 'correct horse', hint: 'horse', homeDcId: 2 });
  const { reg, id } = await open(2);
  t.teardown(() => reg.close(id));
  const asked: unknown[] = [];
  const user = await reg.loginUser(id, {
    ...API,
    phone,
    code: () => theCode(phone),
    password: (info) => {
      asked.push(info);
      return info.attempt === 1 ? 'battery staple' : 'correct horse';
    },
  });
  t.is(user.id, account.id);
  t.deepEqual(asked, [
    { hint: 'horse', attempt: 1, error: undefined },
    { hint: 'horse', attempt: 2, error: 'PASSWORD_HASH_INVALID' },
  ]);
  const dc = world.dc(2);
  t.is(dc.executions('account.getPassword').length >= 2, true, 'fresh srp_B for each attempt');
  t.is(reg.state(id).userId, account.id);
  t.is(reg.state(id).phoneCodeHash, null);
  t.is(serverUserOf(2, reg.state(id).authKeyId), account.id);
});

test('2FA: no password callback; wrong passwords exhausted', async (t) => {
  const phone = newPhone();
  world.accounts.addUser({ phone, password: 'pw', homeDcId: 2 });
  const { reg, id } = await open(2);
  t.teardown(() => reg.close(id));
  const required = await t.throwsAsync(reg.loginUser(id, { ...API, phone, code: () => theCode(phone) }), {
    instanceOf: LoginError,
  });
  t.is((required as LoginError).code, 'PASSWORD_REQUIRED');
  let tries = 0;
  const wrong = await t.throwsAsync(
    reg.loginUser(id, {
      ...API,
      phone,
      maxAttempts: 2,
      code: () => theCode(phone),
      password: () => `nope${++tries}`,
    }),
    { instanceOf: LoginError },
  );
  t.is((wrong as LoginError).code, 'PASSWORD_INVALID');
  t.is(tries, 2);
  t.is(reg.state(id).userId, null);
});

test('2FA: a server announcing unsafe SRP parameters gets no proof', async (t) => {
  // A lone TestDc (its own accounts): its getPassword handler is replaced.
  const dc = await TestDc.start({ dcId: 2, rsaKey: 'shared' });
  t.teardown(() => dc.stop());
  const phone = newPhone();
  const account = dc.accounts.addUser({ phone, password: 'pw' });
  const reg = new SessionRegistry();
  const id = await reg.open(2, undefined, {
    address: { host: dc.host, port: dc.port },
    rsaKeys: [dc.rsaPublicKey.pem],
    init: { apiId: API.apiId },
  });
  t.teardown(() => reg.close(id));
  // api/srp: the client checks p, g and srp_B before using them. Here p is odd, 2048
  // bits, p mod 3 = 2 as g = 3 needs, but divisible by 5.
  dc.handle('account.getPassword', () => {
    const pw = dc.accounts.srp.accountPassword(account.id, account.password);
    if (pw.currentAlgo?._ === 'passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow')
      pw.currentAlgo.p = fakeDhPrime();
    return pw;
  });
  const unsafe = await t.throwsAsync(
    reg.loginUser(id, {
      ...API,
      phone,
      code: () => dc.accounts.lastCode(phone) ?? '',
      password: () => 'pw',
    }),
    { instanceOf: LoginError },
  );
  t.is((unsafe as LoginError).code, 'SRP_CHECK_FAILED');
  t.regex(unsafe!.message, /ERR_SRP_BAD_P/);
  t.is(dc.executions('auth.checkPassword').length, 0, 'nothing sent');
  t.is(dc.executions('account.getPassword').length, 1);
});

test('2FA: the password changes during the login (SRP_PASSWORD_CHANGED): new parameters, same password', async (t) => {
  const phone = newPhone();
  const account = world.accounts.addUser({ phone, password: 'old', homeDcId: 2 });
  const { reg, id } = await open(2);
  t.teardown(() => reg.close(id));
  let asked = 0;
  const user = await reg.loginUser(id, {
    ...API,
    phone,
    code: () => theCode(phone),
    password: () => {
      asked++;
      // Changed on another device after our account.getPassword.
      world.accounts.setPassword(account.id, 'new');
      return 'new';
    },
  });
  t.is(user.id, account.id);
  t.is(asked, 1, 'not asked again: only the parameters changed');
  const dc = world.dc(2);
  const checks = dc.executions('auth.checkPassword').filter((e) => e.authKeyId === reg.state(id).authKeyId);
  t.is(checks.length, 2);
});

test('PHONE_MIGRATE: a phone homed on DC 2, the session opened on DC 1', async (t) => {
  const phone = newPhone();
  const account = world.accounts.addUser({ phone, password: 'two', homeDcId: 2 });
  const { reg, id, events } = await open(1);
  t.teardown(() => reg.close(id));
  const sendCodes1 = world.dc(1).executions('auth.sendCode').length;
  const user = await reg.loginUser(id, {
    ...API,
    phone,
    code: () => theCode(phone),
    password: () => 'two',
  });
  t.is(user.id, account.id);
  t.is(world.dc(1).executions('auth.sendCode').length, sendCodes1 + 1, 'answered PHONE_MIGRATE_2');
  t.like(
    events.find((e) => e.kind === 'migrated'),
    { fromDc: 1, toDc: 2 },
  );
  const st = reg.state(id);
  t.is(st.dcId, 2);
  t.is(st.userId, account.id);
  t.is(serverUserOf(2, st.authKeyId), account.id);
});

test('USER_MIGRATE: the account moves to DC 3; the session follows with its authorization', async (t) => {
  const { account, reg, id, events } = await loggedInOnDc2(t);
  world.accounts.moveUser(account.id, 3);
  const [me] = await reg.call(id, 'users.getUsers', { id: [{ _: 'inputUserSelf' }] });
  t.like(me, { id: account.id, self: true });
  t.like(
    events.find((e) => e.kind === 'migrated'),
    { fromDc: 2, toDc: 3 },
  );
  const st = reg.state(id);
  t.is(st.dcId, 3);
  t.is(st.userId, account.id);
  t.is(serverUserOf(3, st.authKeyId), account.id, 'imported on DC 3');
  t.is(world.dc(3).executions('auth.importAuthorization').length >= 1, true);
});

test('sign-up is refused: no account created, the code withdrawn', async (t) => {
  const phone = newPhone();
  const { reg, id } = await open(2);
  t.teardown(() => reg.close(id));
  const err = await t.throwsAsync(reg.loginUser(id, { ...API, phone, code: () => theCode(phone) }), {
    instanceOf: LoginError,
  });
  t.is((err as LoginError).code, 'SIGN_UP_REQUIRED');
  t.is(world.accounts.byPhoneNumber(phone), undefined);
  t.is(
    world
      .dc(2)
      .executions('auth.cancelCode')
      .filter((e) => e.authKeyId === reg.state(id).authKeyId).length,
    1,
  );
  t.is(world.dc(2).executions('auth.signUp').length, 0);
  t.is(reg.state(id).userId, null);
  t.is(reg.state(id).phoneCodeHash, null);
});

test('logOut: the key stays, unauthorized; calls get AUTH_KEY_UNREGISTERED', async (t) => {
  const phone = newPhone();
  world.accounts.addUser({ phone, homeDcId: 2 });
  const { reg, id, events } = await open(2);
  t.teardown(() => reg.close(id));
  await reg.loginUser(id, { ...API, phone, code: () => theCode(phone) });
  const keyId = reg.state(id).authKeyId;
  await reg.logOut(id);
  t.is(reg.state(id).userId, null);
  t.is(serverUserOf(2, keyId), undefined);
  t.true(
    world
      .dc(2)
      .authKeys()
      .some((k) => k.authKeyId === keyId),
    'the key is still known',
  );
  const err = await t.throwsAsync(reg.call(id, 'users.getUsers', { id: [{ _: 'inputUserSelf' }] }));
  t.true(err instanceof UnauthorizedError);
  t.true(err instanceof RpcError);
  t.like(err, { code: 401, errorMessage: 'AUTH_KEY_UNREGISTERED', reason: 'AUTH_KEY_UNREGISTERED' });
  t.false(
    events.some((e) => e.kind === 'unauthorized'),
    'a logOut of our own is no surprise',
  );
  await reg.logOut(id); // already out: nothing to do
  t.is(reg.state(id).userId, null);
});

test('revoked from the server side while calls are in flight: typed errors, one event, no new login', async (t) => {
  const { phone, account, reg, id, events } = await loggedInOnDc2(t);
  const dc = world.dc(2);
  const keyId = reg.state(id).authKeyId;
  const authCalls = () =>
    dc.executions().filter((e) => e.authKeyId === keyId && e.method.startsWith('auth.')).length;
  const authBefore = authCalls();
  // Four streams of 10 calls each; the 10th answer revokes the account while the other
  // streams have calls in flight.
  let answered = 0;
  const failed: unknown[] = [];
  const stream = async () => {
    for (let i = 0; i < 10; i++) {
      try {
        await reg.call(id, 'updates.getState', {});
        if (++answered === 10) t.is(world.accounts.revoke(account.id), 1);
      } catch (e) {
        failed.push(e);
      }
    }
  };
  await Promise.all([stream(), stream(), stream(), stream()]);
  t.true(answered >= 10 && answered <= 13, `${answered} answered`);
  t.is(failed.length, 40 - answered);
  for (const e of failed) {
    t.true(e instanceof UnauthorizedError);
    t.like(e, { code: 401, errorMessage: 'SESSION_REVOKED' });
  }
  const lost = events.filter((e) => e.kind === 'unauthorized');
  t.is(lost.length, 1);
  t.like(lost[0], { kind: 'unauthorized', sessionId: id, reason: 'SESSION_REVOKED', userId: account.id });
  t.is(reg.state(id).userId, null);
  // Never a silent new login: no key, no auth.* call after the revocation.
  t.is(events.filter((e) => e.kind === 'authKeyCreated').length, 1);
  t.is(reg.state(id).authKeyId, keyId);
  t.is(authCalls(), authBefore);
  t.is(serverUserOf(2, reg.state(id).authKeyId), undefined);
  // It can log in again, on purpose.
  await reg.loginUser(id, { ...API, phone, code: () => theCode(phone) });
  t.is(reg.state(id).userId, account.id);
});

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}

test('revoked, seen first by a raw send(): the event once, and every method answers SESSION_REVOKED', async (t) => {
  const { phone, account, reg, id, events } = await loggedInOnDc2(t);
  t.is(world.accounts.revoke(account.id), 1);
  // account.getAuthorizations has no handler in TestDc: still SESSION_REVOKED.
  const sent = await reg.send(id, { _: 'account.getAuthorizations' } as never);
  if (!sent.ok) return t.fail(sent.reason.message);
  const answerTo = (msgId: bigint) =>
    events.find((e) => e.kind === 'rpcError' && e.msgId === msgId) as
      | Extract<SessionEvent, { kind: 'rpcError' }>
      | undefined;
  await until(() => answerTo(sent.messageId) !== undefined);
  t.like(answerTo(sent.messageId), { code: 401, message: 'SESSION_REVOKED' });
  t.is(reg.state(id).userId, null);
  const lost = () => events.filter((e) => e.kind === 'unauthorized');
  t.is(lost().length, 1);
  t.like(lost()[0], { kind: 'unauthorized', sessionId: id, reason: 'SESSION_REVOKED', userId: account.id });
  // call() sees the same 401s (handled method or not, auth.* that needs a login too): no second event.
  for (const [method, params] of [
    ['account.getAuthorizations', {}],
    ['users.getUsers', { id: [{ _: 'inputUserSelf' }] }],
    ['auth.exportAuthorization', { dcId: 1 }],
  ] as const) {
    const err = await t.throwsAsync(reg.call(id, method, params as never));
    t.true(err instanceof UnauthorizedError, method);
    t.like(err, { code: 401, errorMessage: 'SESSION_REVOKED' }, method);
  }
  const again = await reg.send(id, { _: 'account.getAuthorizations' } as never);
  if (!again.ok) return t.fail(again.reason.message);
  await until(() => answerTo(again.messageId) !== undefined);
  t.is(lost().length, 1);
  // A new login, then a revocation seen by send() again: a second event.
  await reg.loginUser(id, { ...API, phone, code: () => theCode(phone) });
  t.is(world.accounts.revoke(account.id), 1);
  const third = await reg.send(id, { _: 'account.getAuthorizations' } as never);
  if (!third.ok) return t.fail(third.reason.message);
  await until(() => lost().length === 2);
  t.is(lost().length, 2);
  t.is(reg.state(id).userId, null);
});

test('a deactivated account: USER_DEACTIVATED to the call and the event', async (t) => {
  const { phone, account, reg, id, events } = await loggedInOnDc2(t);
  world.accounts.deactivate(account.id);
  const err = await t.throwsAsync(reg.call(id, 'updates.getState', {}));
  t.like(err, { code: 401, reason: 'USER_DEACTIVATED' });
  t.like(
    events.find((e) => e.kind === 'unauthorized'),
    { reason: 'USER_DEACTIVATED', userId: account.id },
  );
  const banned = await t.throwsAsync(reg.loginUser(id, { ...API, phone, code: () => theCode(phone) }), {
    instanceOf: LoginError,
  });
  t.is((banned as LoginError).code, 'PHONE_NUMBER_BANNED');
});

// Logins against an independent client: GramJS (npm `telegram`) logs in to a TestWorld
// as a user with 2FA (PHONE_MIGRATE followed, a wrong password then the right one), which
// proves TestDc's server side of SRP against another implementation of the client side;
// and our SRP answer (A, M1) equals GramJS's computeCheck for the same account.password
// and the same secret `a` (differential), which the server accepts.

import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import test from 'ava';
import bigInt from 'big-integer';
import fc from 'fast-check';
import { Api, TelegramClient } from 'telegram';
import { Logger, LogLevel } from 'telegram/extensions/Logger';
import { computeCheck } from 'telegram/Password';
import { StringSession } from 'telegram/sessions';
import { SessionRegistry, srpComputeCheck, type TL } from '../bindings';
import { TestWorld } from '../bindings/testing';
import { toTestPorts, trust } from './gramjs-support';

// GramJS draws SRP's `a` through this module's export (read at each call): the test
// fixes it to compare both clients on the same `a`.
const gramHelpers = createRequire(__filename)('telegram/Helpers') as {
  generateRandomBytes(n: number): Buffer;
};

let world: TestWorld;
test.before(async () => {
  world = await TestWorld.start({ dcs: [1, 2], rsaKey: 'shared' });
  trust(world.rsaPublicKey);
});
test.after.always(async () => {
  await world?.stop();
});

const API = { apiId: 12345, apiHash: '0123456789abcdef0123456789abcdef' };

test.serial(
  'GramJS logs in as a 2FA user: PHONE_MIGRATE_2, a wrong code, a wrong password, then SRP accepted',
  async (t) => {
    const phone = '+999771234567';
    const account = world.accounts.addUser({
      phone,
      firstName: 'Grace',
      password: 'gramjs pw',
      hint: 'g',
      homeDcId: 2,
    });
    const session = new StringSession('');
    session.setDC(1, '127.0.0.1', 80);
    const c = new TelegramClient(session, API.apiId, API.apiHash, {
      connection: toTestPorts((id) => world.dc(id).port),
      connectionRetries: 3,
      retryDelay: 100,
      autoReconnect: false,
      baseLogger: new Logger(LogLevel.NONE),
    });
    const errors: string[] = [];
    const hints: string[] = [];
    let passwords = 0;
    let codes = 0;
    try {
      await c.start({
        phoneNumber: phone,
        // A wrong code first: GramJS reports it and asks again.
        phoneCode: async () => {
          const code = world.accounts.lastCode(phone) ?? '';
          return ++codes === 1 ? String((Number(code) + 1) % 100_000).padStart(5, '0') : code;
        },
        password: async (hint) => {
          hints.push(hint ?? '');
          return ++passwords === 1 ? 'not it' : 'gramjs pw';
        },
        onError: async (e) => {
          errors.push((e as { errorMessage?: string }).errorMessage ?? e.message);
          return errors.length > 3; // stop on a loop
        },
      });
      t.deepEqual(errors, ['PHONE_CODE_INVALID', 'PASSWORD_HASH_INVALID']);
      t.is(codes, 2);
      t.deepEqual(hints, ['g', 'g']);
      t.is(c.session.dcId, 2, 'GramJS followed PHONE_MIGRATE_2');
      const key = world
        .dc(2)
        .authKeys()
        .find((k) => k.userId === account.id);
      t.truthy(key, 'its DC 2 key is logged in as the user');
      t.is(world.dc(1).executions('auth.sendCode').length, 1);
      // Layer 198's user constructor: GramJS decodes the self user.
      const me = await c.getMe();
      t.is(me.id.toString(), account.id.toString());
      t.is(me.firstName, 'Grace');
      t.true(me.self);
    } finally {
      await c.destroy();
    }
  },
);

test.serial('GramJS logs in as a bot homed on another DC (USER_MIGRATE_2)', async (t) => {
  const bot = world.accounts.addBot({ homeDcId: 2, username: 'gram_bot' });
  const session = new StringSession('');
  session.setDC(1, '127.0.0.1', 80);
  const c = new TelegramClient(session, API.apiId, API.apiHash, {
    connection: toTestPorts((id) => world.dc(id).port),
    connectionRetries: 3,
    retryDelay: 100,
    autoReconnect: false,
    baseLogger: new Logger(LogLevel.NONE),
  });
  try {
    await c.start({ botAuthToken: bot.token! });
    t.is(c.session.dcId, 2);
    const me = await c.getMe();
    t.is(me.id.toString(), bot.id.toString());
    t.true(me.bot);
    t.is(me.username, 'gram_bot');
    t.truthy(
      world
        .dc(2)
        .authKeys()
        .find((k) => k.userId === bot.id),
    );
  } finally {
    await c.destroy();
  }
});

/** account.password in GramJS's classes (only what computeCheck reads). */
function gramPassword(pw: TL.Objects['account.password']): Api.account.Password {
  const algo =
    pw.currentAlgo as TL.Objects['passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow'];
  return new Api.account.Password({
    hasPassword: true,
    currentAlgo: new Api.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow({
      salt1: algo.salt1,
      salt2: algo.salt2,
      g: algo.g,
      p: algo.p,
    }),
    srp_B: pw.srpB,
    srpId: bigInt(pw.srpId!.toString()),
  } as never);
}

async function gramCheck(pw: TL.Objects['account.password'], password: string, a: Buffer) {
  const original = gramHelpers.generateRandomBytes;
  let draws = 0;
  gramHelpers.generateRandomBytes = (n) => {
    // A second draw would mean GramJS refused this `a`: it would loop on it forever.
    if (n !== 256 || ++draws > 1) throw new Error(`unexpected draw of ${n} bytes`);
    return Buffer.from(a);
  };
  try {
    return (await computeCheck(gramPassword(pw), password)) as Api.InputCheckPasswordSRP;
  } finally {
    gramHelpers.generateRandomBytes = original;
  }
}

function ours(pw: TL.Objects['account.password'], password: string, a: Buffer) {
  const algo =
    pw.currentAlgo as TL.Objects['passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow'];
  return srpComputeCheck({
    password,
    salt1: algo.salt1,
    salt2: algo.salt2,
    g: algo.g,
    p: algo.p,
    srpB: pw.srpB!,
    a,
  });
}

test.serial(
  'our M1 equals GramJS computeCheck for an account.password from the wire; the server takes it',
  async (t) => {
    const phone = '+999771234568';
    const account = world.accounts.addUser({ phone, password: 'same answer', homeDcId: 1 });
    const reg = new SessionRegistry();
    const d = world.dc(1);
    const id = await reg.open(1, undefined, {
      address: { host: d.host, port: d.port },
      rsaKeys: [world.rsaPublicKey.pem],
      init: { apiId: API.apiId },
    });
    t.teardown(() => reg.close(id));
    const sent = await reg.call(id, 'auth.sendCode', {
      phoneNumber: phone,
      ...API,
      settings: { _: 'codeSettings' },
    });
    if (sent._ !== 'auth.sentCode') return t.fail(sent._);
    const needed = await t.throwsAsync(
      reg.call(id, 'auth.signIn', {
        phoneNumber: phone,
        phoneCodeHash: sent.phoneCodeHash,
        phoneCode: world.accounts.lastCode(phone)!,
      }),
    );
    t.like(needed, { code: 401, errorMessage: 'SESSION_PASSWORD_NEEDED' });
    const pw = (await reg.call(id, 'account.getPassword', {})) as TL.Objects['account.password'];
    t.true(pw.hasPassword);
    const a = randomBytes(256);
    const theirs = await gramCheck(pw, 'same answer', a);
    const mine = ours(pw, 'same answer', a);
    t.deepEqual(mine.A, Buffer.from(theirs.A));
    t.deepEqual(mine.M1, Buffer.from(theirs.M1));
    t.is(theirs.srpId.toString(), pw.srpId!.toString());
    // GramJS's answer, sent by us: the server's SRP accepts it.
    const auth = await reg.call(id, 'auth.checkPassword', {
      password: {
        _: 'inputCheckPasswordSRP',
        srpId: pw.srpId!,
        A: Buffer.from(theirs.A),
        M1: Buffer.from(theirs.M1),
      },
    });
    t.like(auth, { _: 'auth.authorization', user: { id: account.id } });
    t.is(reg.state(id).userId, account.id);
  },
);

test.serial('random passwords, salts and a: our A and M1 equal GramJS computeCheck', async (t) => {
  const phone = '+999771234569';
  const account = world.accounts.addUser({ phone });
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(
        fc.string({ maxLength: 24 }),
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        async (password, seed) => {
          world.accounts.setPassword(account.id, password);
          const stored = world.accounts.user(account.id)!.password;
          const pw = world.accounts.srp.accountPassword(account.id, stored);
          // A 2048-bit `a` from the seed (fast-check's small values would make g^a too small).
          const a = Buffer.concat(
            Array.from({ length: 8 }, (_, i) => createHash('sha256').update(seed).update(`${i}`).digest()),
          );
          const theirs = await gramCheck(pw, password, a);
          const mine = ours(pw, password, a);
          return mine.A.equals(Buffer.from(theirs.A)) && mine.M1.equals(Buffer.from(theirs.M1));
        },
      ),
      { numRuns: 6 },
    ),
  );
});

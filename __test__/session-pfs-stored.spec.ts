// Temporary (PFS) keys kept with the stored session (api/pfs): a session reopened from
// storage, by a restart or by another owner, connects on the stored temporary key,
// which is still bound, instead of making and binding another; 100 sessions reopened at
// once make no key exchange and no binding. A stored key the server forgot (-404) is
// replaced by a new one; one no longer bound (another key was bound to the permanent
// key since) is bound again when a call is refused with AUTH_KEY_PERM_EMPTY.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { MemoryStorage, type SessionEvent, SessionRegistry } from '../bindings';
import { TestDc } from '../bindings/testing';

let dc: TestDc;
test.before(async () => {
  dc = await TestDc.start({ rsaKey: 'shared' });
});
test.after.always(async () => {
  await dc?.stop();
});

const binds = () => dc.executions('auth.bindTempAuthKey').length;

async function stored(storage: MemoryStorage, n: number, tag: string): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const bot = dc.accounts.addBot();
    const authKey = randomBytes(256);
    const { salt } = dc.addAuthKey(authKey, { userId: bot.id });
    const name = `${tag}-${i}`;
    await storage.save({
      name,
      dcId: 2,
      authKeys: { 2: { authKey, serverSalt: salt, timeOffset: 0 } },
      userId: bot.id,
      updatedAt: Date.now(),
    });
    names.push(name);
  }
  return names;
}

function open(
  reg: SessionRegistry,
  storage: MemoryStorage,
  name: string,
  client?: (e: SessionEvent) => void,
) {
  return reg.open(2, client, {
    address: { host: dc.host, port: dc.port },
    rsaKeys: [dc.rsaPublicKey.pem],
    init: { apiId: 1 },
    name,
    storage,
    pfs: true,
  });
}

const sendSelf = (reg: SessionRegistry, id: string) =>
  reg.call(id, 'messages.sendMessage', {
    peer: { _: 'inputPeerSelf' },
    message: 'x',
    randomId: randomBytes(8).readBigInt64LE(0),
  });

test.serial(
  '100 stored sessions reopened: the stored temporary keys, no key exchange, no binding',
  async (t) => {
    const storage = new MemoryStorage();
    const names = await stored(storage, 100, 'pfs');
    const first = new SessionRegistry();
    const keys0 = dc.stats.authKeysCreated;
    const binds0 = binds();
    const ids = await Promise.all(names.map((n) => open(first, storage, n)));
    await Promise.all(ids.map((id) => sendSelf(first, id)));
    t.is(dc.stats.authKeysCreated - keys0, 100, 'one temporary key each');
    t.is(binds() - binds0, 100);
    await Promise.all(ids.map((id) => first.close(id)));
    const rec = await storage.load(names[0]);
    t.truthy(rec?.authKeys[2].tempKey, 'the temporary key is stored with the session');
    t.true(rec!.authKeys[2].tempKey!.expiresAt > Date.now() / 1000 + 3600);

    const second = new SessionRegistry();
    const bound: SessionEvent[] = [];
    const again = await Promise.all(names.map((n) => open(second, storage, n, (e) => bound.push(e))));
    await Promise.all(again.map((id) => sendSelf(second, id)));
    t.is(dc.stats.authKeysCreated - keys0, 100, 'no key exchange on reopening');
    t.is(binds() - binds0, 100, 'no binding: the stored keys are still bound');
    t.false(bound.some((e) => e.kind === 'tempKeyBound'));
    await Promise.all(again.map((id) => second.close(id)));
  },
);

test.serial(
  'a stored temporary key the server forgot is replaced; one no longer bound is bound again',
  async (t) => {
    const storage = new MemoryStorage();
    const [forgotten, unbound] = await stored(storage, 2, 'pfs-lost');
    const reg = new SessionRegistry();
    for (const n of [forgotten, unbound]) {
      const id = await open(reg, storage, n);
      await sendSelf(reg, id);
      await reg.close(id);
    }
    const tempOf = async (n: string) => (await storage.load(n))!.authKeys[2].tempKey!.authKey;
    const { authKeyIdOf } = await import('../bindings');
    // The server forgets the first one's temporary key: -404, a new key is made.
    const lost = await tempOf(forgotten);
    t.true(dc.removeAuthKey(authKeyIdOf(lost)));
    const keys0 = dc.stats.authKeysCreated;
    const a = await open(reg, storage, forgotten);
    await sendSelf(reg, a);
    t.is(dc.stats.authKeysCreated - keys0, 1, 'a new temporary key');
    await reg.close(a);
    t.false((await tempOf(forgotten)).equals(lost), 'the new key is stored in its place');

    // The second one's binding is replaced (another client bound its own key to the
    // permanent key): its first call is refused unrun, the stored key is bound again.
    const other = new SessionRegistry();
    const rec = (await storage.load(unbound))!;
    const helper = await other.open(2, undefined, {
      address: { host: dc.host, port: dc.port },
      rsaKeys: [dc.rsaPublicKey.pem],
      init: { apiId: 1 },
      import: { authKey: rec.authKeys[2].authKey, serverSalt: rec.authKeys[2].serverSalt },
      pfs: true,
    });
    await other.close(helper);
    const binds0 = binds();
    const keys1 = dc.stats.authKeysCreated;
    const b = await open(reg, storage, unbound);
    await sendSelf(reg, b);
    t.is(binds() - binds0, 1, 'bound again');
    t.is(dc.stats.authKeysCreated, keys1, 'with no new key');
    await reg.close(b);
  },
);

// One conformance suite for every storage adapter, against the real thing:
// memory, a SQLite file, and the PostgreSQL and Redis servers started by
// scripts/services.sh. Save, load, update, delete, 10,000 sessions, concurrent
// writers, leases (one key, one owner), fencing, and sealed keys.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import test from 'ava';
import {
  aesGcmKeyCipher,
  holdLease,
  SessionLeaseLostError,
  SessionLockedError,
  type SessionRecord,
  type SessionStorage,
  SqliteStorage,
  type StoredPeer,
} from '../bindings/storage';
import { peerKey } from '../bindings/storage/peer-codec';
import { adapters, comparable, dispose, recordFor, whereOf } from './storage-support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over `items`, `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

for (const a of adapters) {
  const it = a.available ? test : test.skip;
  const serial = a.available ? test.serial : test.skip;
  const use = async (fn: (s: SessionStorage) => Promise<void>, options = {}) => {
    const s = a.create(options);
    try {
      await fn(s);
    } finally {
      await dispose(s);
    }
  };

  it(`${a.kind}: save, load, update, delete, list`, (t) =>
    use(async (s) => {
      t.is(await s.load('nobody'), undefined);
      const r = recordFor('alice');
      await s.save(r);
      t.deepEqual(comparable(await s.load('alice')), r);
      const loaded = (await s.load('alice'))!;
      t.is(typeof loaded.authKeys[r.dcId].authKeyId, 'bigint');

      // A loaded record is a copy: changing it changes nothing stored.
      loaded.authKeys[r.dcId].authKey.fill(0);
      loaded.dcId = 99;
      t.deepEqual(comparable(await s.load('alice')), r);

      // Save replaces the whole record.
      const r2 = { ...recordFor('alice', 'second'), name: 'alice' };
      await s.save(r2);
      t.deepEqual(comparable(await s.load('alice')), r2);

      // update merges authKeys per DC and replaces the rest; updatedAt moves on.
      const before = Date.now();
      const salt = { authKey: randomBytes(256), serverSalt: 42n, timeOffset: -3 };
      const u = await s.update('alice', { authKeys: { 9: salt }, userId: 77n, updatesState: { pts: 5 } });
      t.is(u?.userId, 77n);
      const after = (await s.load('alice'))!;
      t.deepEqual(
        Object.keys(after.authKeys).map(Number).sort(),
        [...Object.keys(r2.authKeys).map(Number), 9].sort(),
      );
      t.deepEqual(after.authKeys[9].authKey, salt.authKey);
      t.is(after.authKeys[9].serverSalt, 42n);
      t.deepEqual(after.updatesState, { pts: 5 });
      t.true(after.updatedAt >= before);
      t.is(await s.update('nobody', { userId: 1n }), undefined);
      t.is(await s.load('nobody'), undefined);

      // A save without updatedAt gets now.
      const { updatedAt: _, ...bare } = recordFor('bob');
      await s.save(bare as SessionRecord);
      t.true((await s.load('bob'))!.updatedAt >= before);

      await s.save(recordFor('alice2'));
      t.deepEqual(await s.list(), ['alice', 'alice2', 'bob']);
      t.deepEqual(await s.list('alice'), ['alice', 'alice2']);
      t.deepEqual(await s.list('zz'), []);
      const many = await s.loadMany(['alice2', 'nobody', 'bob']);
      t.deepEqual([...many.keys()].sort(), ['alice2', 'bob']);
      t.deepEqual(comparable(many.get('alice2')), recordFor('alice2'));

      t.true(await s.delete('alice'));
      t.false(await s.delete('alice'));
      t.is(await s.load('alice'), undefined);
      t.deepEqual(await s.list(), ['alice2', 'bob']);
    }));

  it(`${a.kind}: peers: stored, reloaded by id and username, per session, counted, deleted`, (t) =>
    use(async (s) => {
      const now = 1_700_000_000_123;
      const peers: StoredPeer[] = [
        {
          kind: 'user',
          id: 777n,
          accessHash: -(2n ** 63n),
          min: false,
          username: 'alice',
          phone: '15550001',
          bot: false,
          updatedAt: now,
        },
        {
          kind: 'user',
          id: 2n ** 52n - 1n,
          accessHash: 2n ** 63n - 1n,
          min: true,
          seenIn: { key: peerKey('channel', 5n), msgId: 2 ** 31 - 1 },
          updatedAt: now,
        },
        { kind: 'chat', id: 42n, min: false, updatedAt: now },
        { kind: 'channel', id: 5n, accessHash: 99n, min: false, username: 'news', updatedAt: now },
        { kind: 'user', id: 8n, accessHash: 1n, min: false, bot: true, username: 'ключ_bot', updatedAt: now },
      ];
      await s.savePeers('alice', peers);
      await s.savePeers('bob', [{ ...peers[0], accessHash: 5n }]);
      const keys = peers.map((p) => peerKey(p.kind, p.id));
      const got = await s.loadPeers('alice', [...keys, 123456n]);
      t.is(got.size, peers.length);
      for (const [i, k] of keys.entries()) t.deepEqual(got.get(k), peers[i]);
      t.is((await s.loadPeers('bob', keys)).get(777n)?.accessHash, 5n, 'peers are per session');
      t.deepEqual(await s.peerByUsername('alice', 'news'), peers[3]);
      t.deepEqual(await s.peerByUsername('alice', 'ключ_bot'), peers[4]);
      t.is(await s.peerByUsername('alice', 'nobody'), undefined);
      t.is(await s.countPeers('alice'), 5);
      // Replaced whole: a new username; the old one finds nothing.
      await s.savePeers('alice', [{ ...peers[0], username: 'alice2', updatedAt: now + 1 }]);
      t.is(await s.peerByUsername('alice', 'alice'), undefined);
      t.like(await s.peerByUsername('alice', 'alice2'), { id: 777n, updatedAt: now + 1 });
      t.is(await s.countPeers('alice'), 5);
      // An invalid peer: the whole batch is refused, nothing written.
      await t.throwsAsync(
        s.savePeers('alice', [
          { ...peers[2], id: 43n },
          { ...peers[2], id: -1n },
        ]),
        {
          code: 'ERR_SESSION_RECORD',
        },
      );
      await t.throwsAsync(s.savePeers('alice', [{ ...peers[0], accessHash: 2n ** 64n }]), {
        code: 'ERR_SESSION_RECORD',
      });
      t.is((await s.loadPeers('alice', [peerKey('chat', 43n)])).size, 0);
      // delete() leaves peers; deletePeers() takes them.
      await s.save(recordFor('alice'));
      await s.delete('alice');
      t.is(await s.countPeers('alice'), 5);
      t.is(await s.deletePeers('alice'), 5);
      t.is(await s.countPeers('alice'), 0);
      t.is(await s.peerByUsername('alice', 'news'), undefined);
      t.is(await s.countPeers('bob'), 1);
    }));

  serial(`${a.kind}: 20,000 peers in batches reload intact`, (t) =>
    use(async (s) => {
      const all: StoredPeer[] = Array.from({ length: 20_000 }, (_, i) => {
        const p: StoredPeer = {
          kind: (['user', 'chat', 'channel'] as const)[i % 3],
          id: BigInt(1_000_000 + i),
          min: i % 7 === 0,
          updatedAt: 1_700_000_000_000 + i,
        };
        if (i % 3 !== 1) p.accessHash = BigInt.asIntN(64, BigInt(i) * 0x9e3779b97f4a7c15n);
        if (i % 5 === 0) p.username = `u${i}`;
        return p;
      });
      for (let i = 0; i < all.length; i += 1000) await s.savePeers('many', all.slice(i, i + 1000));
      t.is(await s.countPeers('many'), all.length);
      const got = await s.loadPeers(
        'many',
        all.map((p) => peerKey(p.kind, p.id)),
      );
      let intact = 0;
      for (const p of all) if (isDeepStrictEqual(got.get(peerKey(p.kind, p.id)), p)) intact++;
      t.is(intact, all.length);
      t.like(await s.peerByUsername('many', 'u19995'), { id: 1_019_995n });
    }),
  );

  it(`${a.kind}: odd names and an invalid record leave nothing behind`, (t) =>
    use(async (s) => {
      for (const name of ['', 'quote\'"', 'ключ 🔑', 'a:b:{c}', 'x'.repeat(500)]) {
        await s.save(recordFor(name));
        t.deepEqual(comparable(await s.load(name)), recordFor(name), JSON.stringify(name.slice(0, 20)));
      }
      const bad = {
        ...recordFor('bad'),
        authKeys: { 1: { authKey: Buffer.alloc(8), serverSalt: 0n, timeOffset: 0 } },
      };
      await t.throwsAsync(s.save(bad), { code: 'ERR_SESSION_RECORD' });
      t.is(await s.load('bad'), undefined);
    }));

  serial(`${a.kind}: 10,000 sessions`, (t) =>
    use(async (s) => {
      const names = Array.from({ length: 10_000 }, (_, i) => `s${String(i).padStart(5, '0')}`);
      await pool(names, 64, (n) => s.save(recordFor(n)));
      const listed = await s.list();
      t.is(listed.length, 10_000);
      t.deepEqual(listed, names);
      const all = await s.loadMany(names);
      t.is(all.size, 10_000);
      let intact = 0;
      for (const n of names) if (isDeepStrictEqual(comparable(all.get(n)), recordFor(n))) intact++;
      t.is(intact, 10_000);
      // One by one, as sessions open.
      let found = 0;
      await pool(names, 64, async (n) => {
        if ((await s.load(n))?.authKeys[recordFor(n).dcId]) found++;
      });
      t.is(found, 10_000);
      await pool(
        names.filter((_, i) => i % 2),
        64,
        (n) => s.delete(n),
      );
      t.is((await s.list()).length, 5_000);
    }),
  );

  it(`${a.kind}: concurrent writers and concurrent updates lose nothing`, (t) =>
    use(async (s) => {
      const other = a.reopen(s);
      try {
        await s.save({ ...recordFor('shared'), authKeys: {} });
        const writers = Array.from({ length: 40 }, (_, w) => w);
        await Promise.all(
          writers.map(async (w) => {
            const into = w % 2 ? s : other;
            for (let i = 0; i < 10; i++) await into.save(recordFor(`w${w}-${i}`, `w${w}-${i}-v${i}`));
            // Each writer adds its own DC to one shared record: a lost update would drop one.
            await into.update('shared', {
              authKeys: { [w + 1]: { authKey: randomBytes(256), serverSalt: BigInt(w), timeOffset: 0 } },
            });
          }),
        );
        const shared = (await s.load('shared'))!;
        t.deepEqual(
          Object.keys(shared.authKeys)
            .map(Number)
            .sort((x, y) => x - y),
          writers.map((w) => w + 1),
        );
        for (const w of writers) t.is(shared.authKeys[w + 1].serverSalt, BigInt(w));
        t.is((await other.list('w')).length, 400);
      } finally {
        if (other !== s) await other.close();
      }
    }));

  it(`${a.kind}: a lease has one owner; expiry, renew, release, fencing`, (t) =>
    use(async (s) => {
      // TTLs leave wide margins: a loaded CI machine may stall the event loop.
      const l1 = await s.acquire('L', 'one', 3_000);
      t.is(l1.owner, 'one');
      t.true(l1.expiresAt > Date.now() - 5_000);
      const locked = await t.throwsAsync(s.acquire('L', 'two', 3_000), { instanceOf: SessionLockedError });
      t.is(locked?.code, 'ERR_SESSION_LOCKED');
      t.is(locked?.owner, 'one');
      t.true(Math.abs(locked!.expiresAt - l1.expiresAt) < 50);
      t.deepEqual((await s.lease('L'))?.owner, 'one');
      // Re-entrant for the same owner: extends.
      const again = await s.acquire('L', 'one', 10_000);
      t.true(again.expiresAt > l1.expiresAt);
      t.is((await s.renew('L', 'one', 10_000)).owner, 'one');
      await t.throwsAsync(s.renew('L', 'two', 300), { instanceOf: SessionLockedError });
      t.false(await s.release('L', 'two'));
      await t.throwsAsync(s.acquire('L', '', 300), { instanceOf: TypeError });

      // Fencing: only the holder's save goes through.
      await s.save(recordFor('L'), { owner: 'one' });
      await t.throwsAsync(s.save(recordFor('L', 'intruder'), { owner: 'two' }), {
        code: 'ERR_SESSION_LOCKED',
      });
      await t.throwsAsync(s.update('L', { userId: 1n }, { owner: 'two' }), { code: 'ERR_SESSION_LOCKED' });
      t.deepEqual(comparable(await s.load('L')), recordFor('L'));
      await t.throwsAsync(s.save(recordFor('M'), { owner: 'one' }), { instanceOf: SessionLeaseLostError });
      t.is(await s.load('M'), undefined);
      t.is((await s.update('L', { userId: 9n }, { owner: 'one' }))?.userId, 9n);

      // Peers are fenced the same way: a late owner's merge never lands over the holder's.
      const full: StoredPeer = {
        kind: 'user',
        id: 31n,
        accessHash: 5n,
        min: false,
        username: 'full',
        updatedAt: 1,
      };
      const stale: StoredPeer = { ...full, accessHash: 6n, min: true, username: 'stale', updatedAt: 2 };
      await s.savePeers('L', [full], { owner: 'one' });
      await t.throwsAsync(s.savePeers('L', [stale], { owner: 'two' }), { instanceOf: SessionLockedError });
      await t.throwsAsync(s.savePeers('M', [stale], { owner: 'one' }), { instanceOf: SessionLeaseLostError });
      t.deepEqual((await s.loadPeers('L', [peerKey('user', 31n)])).get(peerKey('user', 31n)), full);
      t.deepEqual(await s.peerByUsername('L', 'full'), full);
      t.is(await s.peerByUsername('L', 'stale'), undefined);
      t.is(await s.countPeers('M'), 0);

      // Expiry: another owner may take it; the first owner's renew and writes are refused.
      await s.renew('L', 'one', 200);
      await sleep(400);
      t.is(await s.lease('L'), undefined);
      await s.acquire('L', 'two', 10_000);
      const stolen = await t.throwsAsync(s.renew('L', 'one', 300), { instanceOf: SessionLockedError });
      t.is(stolen?.owner, 'two');
      await t.throwsAsync(s.save(recordFor('L', 'stale'), { owner: 'one' }), { code: 'ERR_SESSION_LOCKED' });
      t.true(await s.release('L', 'two'));
      t.is(await s.lease('L'), undefined);
      await t.throwsAsync(s.renew('L', 'two', 300), { instanceOf: SessionLeaseLostError });
      t.is((await s.acquire('L', 'three', 300)).owner, 'three');
    }));

  it(`${a.kind}: opening one stored session twice is refused, also through a second connection`, (t) =>
    use(async (s) => {
      const other = a.reopen(s);
      try {
        const held = await holdLease(s, 'bot', { ttlMs: 2_000, renewEveryMs: 200 });
        await t.throwsAsync(holdLease(s, 'bot'), { code: 'ERR_SESSION_LOCKED' });
        await sleep(2_500); // past the ttl: only the renewals keep it
        t.false(held.lost);
        const err = await t.throwsAsync(holdLease(other, 'bot'), { instanceOf: SessionLockedError });
        t.is(err?.owner, held.owner);
        await held.release();
        const second = await holdLease(other, 'bot', { ttlMs: 2_000 });
        t.is((await s.lease('bot'))?.owner, second.owner);
        await second.release();
      } finally {
        if (other !== s) await other.close();
      }
    }));

  it(`${a.kind}: a lease not renewed in time is reported lost`, (t) =>
    use(async (s) => {
      let lostWith: Error | undefined;
      const held = await holdLease(s, 'slow', {
        ttlMs: 150,
        renewEveryMs: 2_000,
        onLost: (e) => (lostWith = e),
      });
      await sleep(250);
      await s.acquire('slow', 'thief', 10_000);
      for (let i = 0; i < 100 && !held.lost; i++) await sleep(50);
      t.true(held.lost);
      t.true(lostWith instanceof SessionLockedError);
      await held.release(); // no-op once lost: the thief keeps it
      t.is((await s.lease('slow'))?.owner, 'thief');
    }));

  it(`${a.kind}: sealed keys need the cipher; rotation opens old rows`, (t) => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    return use(
      async (s) => {
        const r = recordFor('secret');
        await s.save(r);
        t.deepEqual(comparable(await s.load('secret')), r);
        if (a.kind === 'memory') return;
        const plain = a.reopen(s);
        const wrong = a.reopen(s, { cipher: aesGcmKeyCipher(k2) });
        const rotated = a.reopen(s, { cipher: aesGcmKeyCipher(k2, { previousKeys: [k1] }) });
        try {
          await t.throwsAsync(plain.load('secret'), { code: 'ERR_SESSION_DECODE' });
          await t.throwsAsync(wrong.load('secret'), { code: 'ERR_SESSION_KEY_DECRYPT' });
          t.deepEqual(comparable(await rotated.load('secret')), r);
        } finally {
          for (const x of [plain, wrong, rotated]) await x.close();
        }
      },
      { cipher: aesGcmKeyCipher(k1) },
    );
  });
}

test('sqlite: storages on one file share one connection; 2,000 concurrent writes, no SQLITE_BUSY', async (t) => {
  const first = adapters.find((x) => x.kind === 'sqlite')!.create();
  const second = new SqliteStorage({ path: whereOf(first).path! });
  try {
    const errors: unknown[] = [];
    await Promise.all(
      Array.from({ length: 2_000 }, (_, i) =>
        (i % 2 ? first : second).save(recordFor(`c${i}`)).catch((e) => errors.push(e)),
      ),
    );
    t.deepEqual(errors, []);
    t.is((await second.list('c')).length, 2_000);
    await second.close();
    // The connection stays open for the first storage.
    t.deepEqual(comparable(await first.load('c7')), recordFor('c7'));
    await t.throwsAsync(second.load('c7'), { code: 'ERR_STORAGE_CLOSED' });
  } finally {
    await dispose(first);
  }
});

test('sqlite: a read sees the writes issued before it', async (t) => {
  const s = adapters.find((x) => x.kind === 'sqlite')!.create();
  try {
    const pending = s.save(recordFor('early'));
    t.deepEqual(comparable(await s.load('early')), recordFor('early'));
    await pending;
  } finally {
    await dispose(s);
  }
});

test('a missing driver is named with the package to install', (t) => {
  const { loadDriver } =
    require('../bindings/storage/drivers') as typeof import('../bindings/storage/drivers');
  const Module = require('node:module') as { _resolveFilename: (...a: unknown[]) => string };
  const original = Module._resolveFilename;
  // Synchronous from here to the restore: no other test can require in between.
  delete require.cache[require.resolve('pg')];
  Module._resolveFilename = function (this: unknown, request: unknown, ...rest: unknown[]) {
    if (request === 'pg') {
      const err = new Error("Cannot find module 'pg'") as Error & { code: string };
      err.code = 'MODULE_NOT_FOUND';
      throw err;
    }
    return original.call(this, request, ...rest);
  };
  try {
    const err = t.throws(() => loadDriver('pg'));
    t.is((err as { code?: string }).code, 'ERR_STORAGE_DRIVER_MISSING');
    t.regex(err!.message, /npm install pg@8/);
  } finally {
    Module._resolveFilename = original;
  }
});

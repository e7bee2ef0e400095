// Session.open from storage (issue #6), for each adapter (memory, SQLite file,
// PostgreSQL, Redis) against a TestWorld over real sockets: a key is created
// and stored once, then reused (no handshake); one owner per name; a
// migration stores the new DC's key and home; the salt after bad_server_salt,
// the user id after a login and the updates state are what a reopen loads; a
// lease that is lost stops the session.
import { randomBytes } from 'node:crypto';
import test from 'ava';
import {
  MemoryStorage,
  type SaveOptions,
  SessionError,
  type SessionEvent,
  SessionLockedError,
  type SessionPatch,
  type SessionRecord,
  SessionRegistry,
} from '../bindings';
import { authKeyIdOf, type LeaseClaim } from '../bindings/storage';
import { TestWorld } from '../bindings/testing';
import { eventOf, handshakes, scoped, sleep, storedOptions, until } from './session-storage-support';
import { adapters, unique } from './storage-support';

let world: TestWorld;
test.before(async () => {
  world = await TestWorld.start({ dcs: [2, 3], rsaKey: 'shared' });
  world.handle('auth.signIn', (req, ctx) => {
    const id = BigInt(req.phoneNumber);
    ctx.setUserId(id);
    return { _: 'auth.authorization', user: { _: 'user', id } } as never;
  });
});
test.after.always(async () => {
  await world?.stop();
});

const ping = (reg: SessionRegistry, id: string) => reg.call(id, 'help.getNearestDc', {});

for (const a of adapters) {
  const it = a.available ? test.serial : test.skip;
  const kind = a.kind;

  it(`${kind}: open by name creates and stores a key; close and reopen reuse it`, async (t) => {
    const { storage, again, dispose } = scoped(a);
    const other = again();
    const name = unique('bot');
    try {
      const reg = new SessionRegistry();
      const events: SessionEvent[] = [];
      const before = handshakes(world);
      const id = await reg.open(2, (e) => events.push(e), storedOptions(world, storage, name));
      t.is(handshakes(world), before + 1);
      const keyId = reg.state(id).authKeyId;
      // Stored before open resolved, seen through another connection to the same data.
      const rec = (await other.load(name))!;
      t.is(rec.dcId, 2);
      t.is(authKeyIdOf(rec.authKeys[2].authKey), keyId);
      t.false((await ping(reg, id)).country === undefined);
      await reg.close(id);
      t.is(await other.lease(name), undefined, 'close released the lease');

      for (let round = 0; round < 2; round++) {
        const reg2 = new SessionRegistry();
        const events2: SessionEvent[] = [];
        const id2 = await reg2.open(2, (e) => events2.push(e), storedOptions(world, again(), name));
        t.is(reg2.state(id2).authKeyId, keyId);
        t.is(handshakes(world), before + 1, 'no new handshake');
        t.false(events2.some((e) => e.kind === 'authKeyCreated'));
        t.is((await reg2.call(id2, 'help.getConfig', {})).thisDc, 2);
        await reg2.close(id2);
      }
    } finally {
      await dispose();
    }
  });

  it(`${kind}: a second open of the same name is refused and leaves nothing behind`, async (t) => {
    const { storage, again, dispose } = scoped(a);
    const other = again();
    const name = unique('one');
    try {
      const reg = new SessionRegistry();
      const id = await reg.open(2, undefined, storedOptions(world, storage, name));
      const holder = (await storage.lease(name))!.owner;
      const record = await storage.load(name);
      const sockets = world.dc(2).stats.connections;
      for (const [where, r, s] of [
        ['same registry', reg, storage],
        ['another registry', new SessionRegistry(), other],
      ] as const) {
        const err = await t.throwsAsync(r.open(2, undefined, storedOptions(world, s, name)), {
          instanceOf: SessionError,
        });
        t.is((err as SessionError).code, 'SESSION_LOCKED', where);
        t.true((err as SessionError).cause instanceof SessionLockedError);
        t.regex(err!.message, /in use by/);
      }
      t.is(reg.size, 1);
      t.is((await storage.lease(name))!.owner, holder, 'the lease stayed with the first owner');
      t.deepEqual(await storage.load(name), record, 'the record is untouched');
      t.is(world.dc(2).stats.connections, sockets, 'no connection was made');
      await ping(reg, id);
      const keyId = reg.state(id).authKeyId;
      await reg.close(id);
      // Once the first owner closed, another registry opens it with the stored key.
      const before = handshakes(world);
      const again = new SessionRegistry();
      const reopened = await again.open(2, undefined, storedOptions(world, other, name));
      t.is(again.state(reopened).authKeyId, keyId, 'the stored key');
      t.is(handshakes(world), before, 'no new handshake');
      await again.close(reopened);
    } finally {
      await dispose();
    }
  });

  it(`${kind}: eight concurrent opens of one name (new, then stored): exactly one wins each time`, async (t) => {
    const { storage, again, dispose } = scoped(a);
    const name = unique('race');
    try {
      const before = handshakes(world);
      for (let round = 0; round < 2; round++) {
        const regs = Array.from({ length: 8 }, () => new SessionRegistry());
        const results = await Promise.allSettled(
          regs.map((r, i) => r.open(2, undefined, storedOptions(world, i % 2 ? again() : storage, name))),
        );
        const won = results.flatMap((r, i) =>
          r.status === 'fulfilled' ? [[regs[i], r.value] as const] : [],
        );
        t.is(won.length, 1);
        for (const r of results) {
          if (r.status === 'rejected') t.is((r.reason as SessionError).code, 'SESSION_LOCKED');
        }
        const [reg, id] = won[0];
        await ping(reg, id);
        await reg.close(id);
      }
      t.is(handshakes(world), before + 1, 'one key, made once');
    } finally {
      await dispose();
    }
  });

  it(`${kind}: a migration stores the new DC's key and home; a reopen goes there without handshake`, async (t) => {
    const { storage, again, dispose } = scoped(a);
    const name = unique('mig');
    try {
      const reg = new SessionRegistry();
      const events: SessionEvent[] = [];
      const id = await reg.open(2, (e) => events.push(e), storedOptions(world, storage, name));
      const dc2Key = reg.state(id).authKeyId;
      world.dc(2).migrate('help.getNearestDc', 'USER', 3);
      t.is((await ping(reg, id)).thisDc, 3);
      t.truthy(events.find((e) => e.kind === 'migrated'));
      const dc3Key = reg.state(id).authKeyId;
      const rec = await until(async () => {
        const r = await storage.load(name);
        return r?.dcId === 3 && r;
      });
      t.is(authKeyIdOf(rec.authKeys[3].authKey), dc3Key);
      t.is(authKeyIdOf(rec.authKeys[2].authKey), dc2Key, 'the old DC key is kept');
      await reg.close(id);

      const before = handshakes(world);
      const reg2 = new SessionRegistry();
      const id2 = await reg2.open(2, undefined, storedOptions(world, again(), name));
      t.is(reg2.state(id2).dcId, 3);
      t.is(reg2.state(id2).authKeyId, dc3Key);
      t.is((await ping(reg2, id2)).thisDc, 3);
      t.is(handshakes(world), before);
      await reg2.close(id2);
    } finally {
      await dispose();
    }
  });

  it(`${kind}: the salt saved after bad_server_salt is the one reloaded`, async (t) => {
    const { storage, again, dispose } = scoped(a);
    const name = unique('salt');
    try {
      const reg = new SessionRegistry();
      const events: SessionEvent[] = [];
      const id = await reg.open(2, (e) => events.push(e), storedOptions(world, storage, name));
      const first = reg.state(id).serverSalt;
      world.dc(2).badServerSalt(1);
      await ping(reg, id);
      const changed = await eventOf(events, 'saltChanged');
      t.not(changed.salt, first);
      t.is(reg.state(id).serverSalt, changed.salt);
      // Coalesced, but written without waiting for close.
      await until(async () => (await storage.load(name))?.authKeys[2].serverSalt === changed.salt);
      await reg.close(id);

      const reloaded = (await again().load(name))!;
      t.is(reloaded.authKeys[2].serverSalt, changed.salt);
      const reg2 = new SessionRegistry();
      const events2: SessionEvent[] = [];
      const id2 = await reg2.open(2, (e) => events2.push(e), storedOptions(world, again(), name));
      t.is(reg2.state(id2).serverSalt, changed.salt);
      await ping(reg2, id2);
      t.false(
        events2.some((e) => e.kind === 'saltChanged'),
        'the reloaded salt is accepted',
      );
      await reg2.close(id2);
    } finally {
      await dispose();
    }
  });

  it(`${kind}: the time offset learned from bad_msg_notification 16 is stored and reloaded`, async (t) => {
    const { storage, again, dispose } = scoped(a);
    const name = unique('clock');
    try {
      const reg = new SessionRegistry();
      const id = await reg.open(2, undefined, storedOptions(world, storage, name));
      t.true(Math.abs(reg.state(id).timeOffset) < 5);
      world.dc(2).skewClock(400);
      await ping(reg, id);
      const offset = reg.state(id).timeOffset;
      t.true(Math.abs(offset - 400) < 5, `offset ${offset}`);
      await reg.close(id);
      const stored = (await again().load(name))!.authKeys[2].timeOffset;
      t.true(Math.abs(stored - 400) < 5, `stored ${stored}`);
      const reg2 = new SessionRegistry();
      const id2 = await reg2.open(2, undefined, storedOptions(world, again(), name));
      t.is(reg2.state(id2).timeOffset, offset, 'reloaded before any answer');
      await ping(reg2, id2);
      await reg2.close(id2);
    } finally {
      world.dc(2).skewClock(0);
      await dispose();
    }
  });

  it(`${kind}: user id after a login and the updates state are stored and reloaded`, async (t) => {
    const { storage, again, dispose } = scoped(a);
    const name = unique('login');
    try {
      const reg = new SessionRegistry();
      const id = await reg.open(2, undefined, storedOptions(world, storage, name));
      t.is(reg.storedUpdatesState(id), undefined);
      await reg.call(id, 'auth.signIn', { phoneNumber: '4242', phoneCodeHash: 'h', phoneCode: '1' });
      await until(async () => (await storage.load(name))?.userId === 4242n);
      const state = await reg.call(id, 'updates.getState', {});
      const expected = { pts: state.pts, qts: state.qts, date: state.date, seq: state.seq };
      t.deepEqual(reg.storedUpdatesState(id), expected);
      await until(
        async () => JSON.stringify((await storage.load(name))?.updatesState) === JSON.stringify(expected),
      );
      await reg.saveUpdatesState(id, { pts: 7, qts: 8, date: 9, seq: 10 });
      t.deepEqual((await storage.load(name))?.updatesState, { pts: 7, qts: 8, date: 9, seq: 10 });
      await reg.close(id);

      const reg2 = new SessionRegistry();
      const id2 = await reg2.open(2, undefined, storedOptions(world, again(), name));
      t.is(reg2.state(id2).userId, 4242n);
      t.deepEqual(reg2.storedUpdatesState(id2), { pts: 7, qts: 8, date: 9, seq: 10 });
      t.is((await reg2.call(id2, 'users.getUsers', { id: [{ _: 'inputUserSelf' }] })).length, 1);
      await reg2.close(id2);
    } finally {
      await dispose();
    }
  });

  it(`${kind}: a lease taken over stops the session (LEASE_LOST, leaseLost); the thief keeps it`, async (t) => {
    const { storage, again, dispose } = scoped(a);
    const other = again();
    const name = unique('lost');
    try {
      const reg = new SessionRegistry();
      const events: SessionEvent[] = [];
      const id = await reg.open(
        2,
        (e) => events.push(e),
        storedOptions(world, storage, name, { persist: { leaseTtlMs: 900 } }),
      );
      await ping(reg, id);
      world.dc(2).delayReplies(3000);
      const pending = reg.call(id, 'help.getNearestDc', {});
      // Another owner takes the lease (as after an expiry nobody noticed).
      const holder = (await other.lease(name))!.owner;
      await other.release(name, holder);
      await other.acquire(name, 'thief', 60_000);
      const lost = await eventOf(events, 'leaseLost', 3000);
      t.is(lost.code, 'LEASE_LOST');
      world.dc(2).clearFaults();
      const err = await t.throwsAsync(pending, { instanceOf: SessionError });
      t.is((err as SessionError).code, 'LEASE_LOST');
      const after = await t.throwsAsync(ping(reg, id), { instanceOf: SessionError });
      t.is((after as SessionError).code, 'LEASE_LOST');
      t.is(reg.state(id).status, 'failed');
      await reg.close(id);
      t.is((await other.lease(name))?.owner, 'thief', 'close did not release what it no longer held');
    } finally {
      world.dc(2).clearFaults();
      await dispose();
    }
  });
}

/** A MemoryStorage whose next writes fail (a database that is down for a moment). */
class FlakyStorage extends MemoryStorage {
  failWrites = 0;
  failed = 0;
  /** renew() never answers (a partitioned database). */
  hangRenewals = false;
  override renew(name: string, owner: string, ttlMs: number) {
    if (this.hangRenewals) return new Promise<never>(() => {});
    return super.renew(name, owner, ttlMs);
  }
  override renewMany(claims: readonly LeaseClaim[], ttlMs: number) {
    if (this.hangRenewals) return new Promise<never>(() => {});
    return super.renewMany(claims, ttlMs);
  }
  private trip(): void {
    if (this.failWrites > 0) {
      this.failWrites--;
      this.failed++;
      throw new Error('connection refused (injected)');
    }
  }
  override async save(record: SessionRecord, options?: SaveOptions): Promise<void> {
    this.trip();
    return super.save(record, options);
  }
  override async update(name: string, patch: SessionPatch, options?: SaveOptions) {
    this.trip();
    return super.update(name, patch, options);
  }
}

test.serial('a failed write is reported (storageError) and retried until it lands', async (t) => {
  const storage = new FlakyStorage();
  const name = unique('flaky');
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  // The key write fails twice, then lands: open still resolves.
  storage.failWrites = 2;
  const id = await reg.open(2, (e) => events.push(e), storedOptions(world, storage, name));
  t.is(storage.failed, 2);
  t.true((await storage.load(name)) !== undefined);
  const reports = events.filter((e) => e.kind === 'storageError');
  t.is(reports.length, 2);
  t.true(reports.every((e) => e.kind === 'storageError' && e.willRetry && e.code === 'STORAGE_FAILED'));
  // A background write (the salt) fails three times, then lands.
  storage.failWrites = 3;
  world.dc(2).badServerSalt(1);
  await ping(reg, id);
  const salt = reg.state(id).serverSalt;
  await until(async () => (await storage.load(name))?.authKeys[2].serverSalt === salt);
  t.is(storage.failed, 5);
  t.is(events.filter((e) => e.kind === 'storageError').length, 5);
  // Close with the storage down for good: close settles, rejects with STORAGE_FAILED, frees the lease.
  await reg.saveUpdatesState(id, { pts: 1, qts: 0, date: 0, seq: 0 });
  storage.failWrites = 1000;
  const before = (await storage.load(name))!;
  await reg.call(id, 'auth.signIn', { phoneNumber: '77', phoneCodeHash: 'h', phoneCode: '1' });
  const err = await t.throwsAsync(reg.close(id), { instanceOf: SessionError });
  t.is((err as SessionError).code, 'STORAGE_FAILED');
  t.is(reg.size, 0);
  t.is(await storage.lease(name), undefined);
  t.deepEqual(await storage.load(name), before, 'nothing half-written');
  t.true(events.some((e) => e.kind === 'closed'));
});

test.serial(
  'open: a key that cannot be stored fails open (STORAGE_FAILED) and frees the lease',
  async (t) => {
    const storage = new FlakyStorage();
    const name = unique('nokey');
    storage.failWrites = 100;
    const reg = new SessionRegistry();
    const err = await t.throwsAsync(
      reg.open(2, undefined, storedOptions(world, storage, name, { persist: { writeAttempts: 3 } })),
      { instanceOf: SessionError },
    );
    t.is((err as SessionError).code, 'STORAGE_FAILED');
    t.is(storage.failed, 3);
    t.is(reg.size, 0);
    t.is(await storage.lease(name), undefined);
    t.is(await storage.load(name), undefined);
  },
);

/** A session stored in a FlakyStorage (the test decides when it fails) with a 600 ms lease. */
async function openOnFlakyStorage(prefix: string) {
  const storage = new FlakyStorage();
  const reg = new SessionRegistry();
  const events: SessionEvent[] = [];
  const options = storedOptions(world, storage, unique(prefix), { persist: { leaseTtlMs: 600 } });
  const id = await reg.open(2, (e) => events.push(e), options);
  return { storage, reg, id, events };
}

test.serial('a storage that stops answering: the lease runs out locally and the session stops', async (t) => {
  const { storage, reg, id, events } = await openOnFlakyStorage('silent');
  await ping(reg, id);
  const opened = Date.now();
  storage.hangRenewals = true;
  const lost = await eventOf(events, 'leaseLost', 3000);
  t.true(Date.now() - opened < 600, 'stopped before the lease could have run out');
  t.regex(lost.message, /lost its lease/);
  const err = await t.throwsAsync(ping(reg, id), { instanceOf: SessionError });
  t.is((err as SessionError).code, 'LEASE_LOST');
  t.is(reg.state(id).status, 'failed');
  await reg.close(id);
});

test.serial(
  'after a stall past the lease, nothing is transmitted (even before the watchdog timer runs)',
  async (t) => {
    const { storage, reg, id, events } = await openOnFlakyStorage('stall');
    // Resumed from a socket read (poll phase): setImmediate, hence the flush, comes before timers.
    await ping(reg, id);
    storage.hangRenewals = true;
    const packets = world.dc(2).stats.packetsIn;
    const end = Date.now() + 700;
    while (Date.now() < end) {} // the process stalls past its lease
    const sent = await reg.send(id, { _: 'help.getNearestDc' });
    t.false(sent.ok, 'refused at transmit');
    t.truthy(events.find((e) => e.kind === 'leaseLost'));
    await sleep(100);
    t.is(world.dc(2).stats.packetsIn, packets, 'no packet reached the DC');
    const err = await t.throwsAsync(ping(reg, id), { instanceOf: SessionError });
    t.is((err as SessionError).code, 'LEASE_LOST');
    await reg.close(id);
  },
);

test.serial('name without storage: the process-wide memory storage (one owner per name)', async (t) => {
  const name = unique('default');
  const reg = new SessionRegistry();
  const o = { ...storedOptions(world, new MemoryStorage(), name), storage: undefined };
  const before = handshakes(world);
  const id = await reg.open(2, undefined, o);
  const err = await t.throwsAsync(new SessionRegistry().open(2, undefined, o), { instanceOf: SessionError });
  t.is((err as SessionError).code, 'SESSION_LOCKED');
  await reg.close(id);
  const id2 = await reg.open(2, undefined, o);
  t.is(handshakes(world), before + 1);
  await reg.close(id2);
  for (const wrong of [
    { ...o, name: '' },
    { ...o, storage: new MemoryStorage(), name: undefined },
    { ...o, persist: { leaseTtlMs: 1000, renewEveryMs: 900 } },
    { ...o, persist: { leaseTtlMs: -5 } },
  ]) {
    const bad = await t.throwsAsync(reg.open(2, undefined, wrong), { instanceOf: SessionError });
    t.is((bad as SessionError).code, 'BAD_OPTIONS');
  }
  t.is(reg.size, 0);
});

test.serial('options.import with a name stores the imported key; import() replaces it', async (t) => {
  const storage = new MemoryStorage();
  const name = unique('imported');
  const dc = world.dc(2);
  const first = randomBytes(256);
  const { salt } = dc.addAuthKey(first, { userId: 5 });
  const before = handshakes(world);
  const reg = new SessionRegistry();
  const id = await reg.open(
    2,
    undefined,
    storedOptions(world, storage, name, { import: { authKey: first, serverSalt: salt, userId: 5 } }),
  );
  let rec = (await storage.load(name))!;
  t.true(rec.authKeys[2].authKey.equals(first));
  t.is(rec.userId, 5n);
  const second = randomBytes(256);
  const added = dc.addAuthKey(second, { userId: 6 });
  await reg.import(id, 6, second, added.salt);
  rec = (await storage.load(name))!;
  t.true(rec.authKeys[2].authKey.equals(second), 'stored before it was used');
  await ping(reg, id);
  await reg.close(id);
  rec = (await storage.load(name))!;
  t.is(rec.userId, 6n);
  const id2 = await reg.open(2, undefined, storedOptions(world, storage, name));
  t.is(reg.state(id2).authKeyId, authKeyIdOf(second));
  t.is(reg.state(id2).userId, 6n);
  await ping(reg, id2);
  await reg.close(id2);
  t.is(handshakes(world), before);
});

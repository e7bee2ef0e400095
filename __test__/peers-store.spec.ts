// The peer store (bindings/peers): the min merge rule as a property (random sequences of
// min and full sightings, through a tiny LRU that evicts and a storage it reloads from,
// never lose a full hash), harvest from results and updates (min senders get the message
// they were seen in), the shared LRU's bound and order, and storage failures: retried,
// counted, bounded.

import test from 'ava';
import fc from 'fast-check';
import type { TL } from '../bindings';
import { harvest, isFull, mergePeer, PeerCache, PeerStore } from '../bindings/peers';
import { MemoryStorage, peerKey, SessionLockedError, type StoredPeer } from '../bindings/storage';

type Sighting = { id: number; min: boolean; hash: number; username?: string; withHash: boolean };

const userObject = (s: Sighting): TL.Objects['user'] => ({
  _: 'user',
  id: BigInt(s.id),
  min: s.min || undefined,
  accessHash: s.withHash ? BigInt(s.hash) : undefined,
  username: s.username,
});

test('property: min sightings never replace a full hash (merge rule alone)', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(fc.record({ min: fc.boolean(), hash: fc.integer(), withHash: fc.boolean() }), {
          maxLength: 30,
        }),
        (seq) => {
          let p: StoredPeer | undefined;
          let lastFull: bigint | undefined;
          for (const [i, s] of seq.entries()) {
            const seen: StoredPeer = { kind: 'user', id: 1n, min: s.min, updatedAt: i };
            if (s.withHash) seen.accessHash = BigInt(s.hash);
            if (!s.min && s.withHash) lastFull = seen.accessHash;
            p = mergePeer(p, seen) ?? p;
          }
          if (lastFull === undefined) return true;
          return p !== undefined && isFull(p) && p.accessHash === lastFull;
        },
      ),
    ),
  );
});

test('property: through a 3-entry LRU, storage writes (some in flight) and reloads, the last full hash survives', async (t) => {
  await t.notThrowsAsync(
    fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            id: fc.integer({ min: 1, max: 6 }),
            min: fc.boolean(),
            hash: fc.integer({ min: -1000, max: 1000 }),
            withHash: fc.boolean(),
            username: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
            flush: fc.constantFrom('no', 'await', 'start' as const),
            ticks: fc.integer({ min: 0, max: 4 }),
          }),
          { maxLength: 60 },
        ),
        async (seq) => {
          const storage = new MemoryStorage();
          const cache = new PeerCache(3);
          const store = new PeerStore({ cache, storage, name: 's', flushDelayMs: 1e9 });
          const lastFull = new Map<number, bigint>();
          for (const s of seq) {
            store.observe({ _: 'updates', updates: [], users: [userObject(s)], chats: [], date: 0, seq: 0 });
            if (!s.min && s.withHash) lastFull.set(s.id, BigInt(s.hash));
            // 'start': a write in flight while the next sightings come (settled by the next await).
            if (s.flush === 'await') await store.flush();
            else if (s.flush === 'start') void store.flush().catch(() => {});
            // A few microtask turns: a write in flight moves on between sightings.
            for (let k = 0; k < s.ticks; k++) await Promise.resolve();
          }
          await store.flush();
          for (const [id, hash] of lastFull) {
            const p = await store.get(BigInt(id));
            if (!p || !isFull(p) || p.accessHash !== hash) return false;
            const stored = (await storage.loadPeers('s', [BigInt(id)])).get(BigInt(id));
            if (!stored || stored.min || stored.accessHash !== hash) return false;
          }
          await store.close();
          return cache.size === 0;
        },
      ),
      { numRuns: 300 },
    ),
  );
});

test('harvest: users and chats of updates, differences, bare lists and auth; a min sender with its message', (t) => {
  const seen: Array<[string, bigint, unknown]> = [];
  const sink = (o: { _: string; id: bigint }, where: unknown) => seen.push([o._, o.id, where]);
  const channel = {
    _: 'channel',
    id: 5n,
    accessHash: 9n,
    title: 'c',
    photo: { _: 'chatPhotoEmpty' },
    date: 0,
  };
  const update: TL.Types['Updates'] = {
    _: 'updates',
    updates: [
      {
        _: 'updateNewChannelMessage',
        pts: 2,
        ptsCount: 1,
        message: {
          _: 'message',
          id: 77,
          fromId: { _: 'peerUser', userId: 10n },
          peerId: { _: 'peerChannel', channelId: 5n },
          date: 0,
          message: 'hi',
        },
      },
    ],
    users: [
      { _: 'user', id: 10n, min: true, accessHash: 1n },
      { _: 'userEmpty', id: 11n },
    ],
    chats: [
      channel as TL.Types['Chat'],
      {
        _: 'chat',
        id: 3n,
        title: 'g',
        photo: { _: 'chatPhotoEmpty' },
        participantsCount: 1,
        date: 0,
        version: 1,
      },
    ],
    date: 0,
    seq: 0,
  };
  t.is(harvest(update, sink as never), 3);
  t.deepEqual(seen, [
    ['user', 10n, { key: peerKey('channel', 5n), msgId: 77 }],
    ['channel', 5n, undefined],
    ['chat', 3n, undefined],
  ]);
  seen.length = 0;
  t.is(
    harvest(
      [
        { _: 'user', id: 1n, accessHash: 2n },
        { _: 'userEmpty', id: 2n },
      ],
      sink as never,
    ),
    1,
  );
  t.is(harvest({ _: 'auth.authorization', user: { _: 'user', id: 4n, self: true } }, sink as never), 1);
  t.is(harvest({ _: 'updateShort', update: { _: 'updateUserTyping' }, date: 0 }, sink as never), 0);
  t.is(harvest(null, sink as never), 0);
  t.is(harvest('text', sink as never), 0);
  // A min user with no message naming it: no reference.
  seen.length = 0;
  harvest({ users: [{ _: 'user', id: 12n, min: true }] }, sink as never);
  t.deepEqual(seen, [['user', 12n, undefined]]);
});

test('the LRU is bounded across stores and evicts the least recently used', (t) => {
  const cache = new PeerCache(4);
  const a = new PeerStore({ cache });
  const b = new PeerStore({ cache });
  const user = (id: bigint) => ({ users: [{ _: 'user', id, accessHash: id }] });
  a.observe(user(1n));
  a.observe(user(2n));
  b.observe(user(3n));
  b.observe(user(4n));
  t.truthy(a.peek(1n)); // 1 is now the most recent
  b.observe(user(5n)); // evicts 2, the oldest
  t.is(cache.size, 4);
  t.is(a.peek(2n), undefined);
  t.truthy(a.peek(1n));
  t.is(cache.evictions, 1);
  t.is(a.cached + b.cached, 4);
});

test("a stored session's peers are written under its lease; once another owner holds it, nothing more", async (t) => {
  const storage = new MemoryStorage();
  await storage.acquire('s', 'old', 60_000);
  const errors: unknown[] = [];
  const store = new PeerStore({
    storage,
    name: 's',
    owner: 'old',
    flushDelayMs: 5,
    onError: (e) => errors.push(e),
  });
  store.observe({ users: [{ _: 'user', id: 1n, accessHash: 1n }] });
  await store.flush();
  t.is(await storage.countPeers('s'), 1);
  // A takeover: the lease is the new owner's (the old one stalled past it).
  await storage.release('s', 'old');
  await storage.acquire('s', 'new', 60_000);
  await storage.savePeers(
    's',
    [{ kind: 'user', id: 2n, accessHash: 9n, min: false, username: 'after', updatedAt: 2 }],
    {
      owner: 'new',
    },
  );
  // What the old owner saw before it stalled (an older name): its write would undo the new owner's.
  store.observe({ users: [{ _: 'user', id: 2n, accessHash: 9n, username: 'before' }] });
  await t.throwsAsync(store.flush());
  t.true(errors.some((e) => e instanceof SessionLockedError));
  t.is((await storage.loadPeers('s', [peerKey('user', 2n)])).get(peerKey('user', 2n))?.username, 'after');
  // Nothing more is queued or retried.
  store.observe({ users: [{ _: 'user', id: 3n, accessHash: 3n }] });
  t.is(store.unwritten, 0);
  await new Promise((r) => setTimeout(r, 30));
  t.is(await storage.countPeers('s'), 2);
  await store.close().catch(() => {});
});

test('storage failures: retried, counted, bounded; nothing lost once it comes back', async (t) => {
  const real = new MemoryStorage();
  let down = true;
  const storage = {
    savePeers: (n: string, p: readonly StoredPeer[]) =>
      down ? Promise.reject(new Error('down')) : real.savePeers(n, p),
    loadPeers: (n: string, k: readonly bigint[]) => real.loadPeers(n, k),
    peerByUsername: (n: string, u: string) => real.peerByUsername(n, u),
  };
  const errors: unknown[] = [];
  const store = new PeerStore({
    storage,
    name: 's',
    flushDelayMs: 5,
    maxPending: 10,
    onError: (e) => errors.push(e),
  });
  for (let i = 1; i <= 15; i++) store.observe({ users: [{ _: 'user', id: BigInt(i), accessHash: 1n }] });
  t.is(store.unwritten, 10);
  t.is(store.stats.dropped, 5);
  await t.throwsAsync(store.flush());
  t.true(store.stats.writeErrors >= 1);
  t.true(errors.length >= 1);
  t.is(store.unwritten, 10, 'kept for the next try');
  down = false;
  await store.flush();
  t.is(store.unwritten, 0);
  t.is(await real.countPeers('s'), 10);
  // A username learned from storage when the LRU no longer has it.
  await real.savePeers('s', [
    { kind: 'channel', id: 9n, accessHash: 3n, min: false, username: 'chan', updatedAt: 1 },
  ]);
  t.like(await store.byUsername('@Chan'), { id: 9n, accessHash: 3n });
  t.is(store.stats.loaded, 1);
  await store.close();
});

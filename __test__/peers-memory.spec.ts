// The memory bound of peers (issue #14): 10,000 sessions' stores see 100 peers each
// (1,000,000 in all) through one shared LRU of 100,000 entries in front of SQLite. The heap
// holds the LRU and the stores, not the million: measured after a forced GC, beside what the
// same peers cost when all are held. Every peer is then in SQLite, and a sample comes back.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import test from 'ava';
import { PeerCache, PeerStore } from '../bindings/peers';
import { SqliteStorage } from '../bindings/storage';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

const SESSIONS = 10_000;
const PER_SESSION = 100;
const CAPACITY = 100_000;

test.serial('1,000,000 peers over 10,000 sessions stay within the LRU bound', async (t) => {
  t.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'tmt-peers-mem-'));
  const storage = new SqliteStorage({ path: join(dir, 'peers.db'), synchronous: 'normal' });
  const cache = new PeerCache(CAPACITY);
  const before = heap();
  const stores: PeerStore[] = [];
  for (let s = 0; s < SESSIONS; s++)
    stores.push(new PeerStore({ cache, storage, name: `s${s}`, flushDelayMs: 50, batchSize: 1000 }));
  const started = Date.now();
  for (let s = 0; s < SESSIONS; s++) {
    const users = Array.from({ length: PER_SESSION }, (_, i) => ({
      _: 'user',
      id: BigInt(1_000_000 + s * PER_SESSION + i),
      accessHash: BigInt(s * PER_SESSION + i) * 7919n,
      username: i % 10 === 0 ? `user_${s}_${i}` : undefined,
    }));
    stores[s].observe({ _: 'updates', updates: [], users, chats: [], date: 0, seq: 0 });
    // Writes keep up: let the batches go now and then (as a live process would between reads).
    if (s % 500 === 499) await Promise.all(stores.slice(s - 499, s + 1).map((x) => x.flush()));
  }
  await Promise.all(stores.map((x) => x.flush()));
  const took = Date.now() - started;
  const held = heap() - before;
  t.is(cache.size, CAPACITY);
  let written = 0;
  for (const x of stores) written += x.stats.written;
  t.is(written, SESSIONS * PER_SESSION);
  // What the same million cost when every one is held (a store per session, no eviction).
  const all = new PeerCache(SESSIONS * PER_SESSION);
  const heldBefore = heap();
  const full: PeerStore[] = [];
  for (let s = 0; s < SESSIONS; s += 10) {
    const x = new PeerStore({ cache: all });
    full.push(x);
    const users = Array.from({ length: PER_SESSION * 10 }, (_, i) => ({
      _: 'user',
      id: BigInt(1_000_000 + s * PER_SESSION + i),
      accessHash: BigInt(i) * 7919n,
    }));
    x.observe({ users });
  }
  const everything = heap() - heldBefore;
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  t.log(
    `1,000,000 peers through 10,000 stores in ${took} ms: heap +${mb(held)} MiB with a ${CAPACITY}-entry LRU ` +
      `(${(held / CAPACITY).toFixed(0)} B per cached peer, stores included); all held: +${mb(everything)} MiB`,
  );
  // The bound: the LRU's entries (~250 B each) and the stores, far below holding them all.
  t.true(held < 100 * 2 ** 20, `heap grew ${mb(held)} MiB`);
  t.true(held < everything / 3);
  // Evicted peers come back from SQLite.
  for (const s of [0, 1234, 9999]) {
    const p = await stores[s].get(BigInt(1_000_000 + s * PER_SESSION + 10));
    t.is(p?.accessHash, BigInt(s * PER_SESSION + 10) * 7919n);
    t.like(await stores[s].byUsername(`user_${s}_20`), { id: BigInt(1_000_000 + s * PER_SESSION + 20) });
  }
  t.is(await storage.countPeers('s4321'), PER_SESSION);
  for (const x of full) await x.close();
  for (const x of stores) await x.close();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

// Batch lease renewal (renewMany) on every adapter, against the real servers:
// only our own leases are renewed, a lease taken over is reported lost and
// left alone, 10,000 claims in one call, and a property test that the batch
// gives exactly the single renew()'s answer on random ownership states.
import test from 'ava';
import fc from 'fast-check';
import {
  type LeaseClaim,
  type PostgresStorage,
  type RenewResult,
  renewLeases,
  SessionLeaseLostError,
  SessionLockedError,
  type SessionStorage,
} from '../bindings/storage';
import { adapters, dispose, PG_URL, whereOf } from './storage-support';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TTL = 60_000;

/** A result reduced to what must agree between batch and single renewals. */
function shape(r: RenewResult): string {
  if (r.kind === 'renewed') return `renewed:${r.lease.name}:${r.lease.owner}`;
  const e = r.error;
  if (e instanceof SessionLockedError) return `${r.kind}:locked:${e.session}:${e.owner}`;
  if (e instanceof SessionLeaseLostError) return `${r.kind}:gone:${e.session}:${e.owner}`;
  return `${r.kind}:${e.message}`;
}

async function single(s: SessionStorage, c: LeaseClaim, ttl: number): Promise<RenewResult> {
  try {
    return { kind: 'renewed', lease: await s.renew(c.name, c.owner, ttl) };
  } catch (error) {
    return { kind: 'lost', error: error as Error };
  }
}

async function inParallel<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

for (const a of adapters) {
  const it = a.available ? test : test.skip;
  const use = async (fn: (s: SessionStorage) => Promise<void>) => {
    const s = a.create();
    try {
      await fn(s);
    } finally {
      await dispose(s);
    }
  };

  it(`${a.kind}: renewMany renews our own leases only`, (t) =>
    use(async (s) => {
      t.is(typeof s.renewMany, 'function');
      await s.acquire('mine', 'me', 10_000);
      await s.acquire('theirs', 'other', TTL);
      await s.acquire('mine2', 'me2', 10_000);
      const before = (await s.lease('mine'))!.expiresAt;
      const claims = [
        { name: 'mine', owner: 'me' },
        { name: 'theirs', owner: 'me' },
        { name: 'nobody', owner: 'me' },
        { name: 'mine2', owner: 'me2' },
      ];
      const results = await s.renewMany!(claims, TTL * 2);
      t.deepEqual(
        results.map((r) => r.kind),
        ['renewed', 'lost', 'lost', 'renewed'],
      );
      const locked = (results[1] as { error: Error }).error as SessionLockedError;
      t.true(locked instanceof SessionLockedError);
      t.is(locked.owner, 'other');
      t.true((results[2] as { error: Error }).error instanceof SessionLeaseLostError);
      const after = await s.lease('mine');
      t.is(after?.owner, 'me');
      t.true(after!.expiresAt >= before + TTL * 2 - 10_000 - 50);
      // The other owner's lease is untouched (not extended to 2 min), and no lease appeared for 'nobody'.
      const theirs = await s.lease('theirs');
      t.is(theirs?.owner, 'other');
      t.true(theirs!.expiresAt < Date.now() + TTL + 5_000);
      t.is(await s.lease('nobody'), undefined);
      t.deepEqual(await s.renewMany!([], TTL), []);
      await t.throwsAsync(s.renewMany!([{ name: 'x', owner: '' }], TTL), { instanceOf: TypeError });
      await t.throwsAsync(s.renewMany!(claims, 0), { instanceOf: RangeError });
    }));

  it(`${a.kind}: a lease taken over before the batch runs is lost and not renewed`, (t) =>
    use(async (s) => {
      const names = Array.from({ length: 50 }, (_, i) => `n${i}`);
      for (const n of names) await s.acquire(n, 'me', n === 'n25' ? 30 : TTL);
      await sleep(60);
      // The lease in the middle of the batch expired and another owner took it.
      await s.acquire('n25', 'thief', TTL);
      const results = await s.renewMany!(
        names.map((name) => ({ name, owner: 'me' })),
        TTL * 2,
      );
      results.forEach((r, i) => {
        if (i === 25) {
          t.is(r.kind, 'lost');
          t.is(((r as { error: Error }).error as SessionLockedError).owner, 'thief');
        } else t.is(r.kind, 'renewed', `n${i}`);
      });
      const stolen = await s.lease('n25');
      t.is(stolen?.owner, 'thief');
      // Not extended to the batch's TTL (2 min): still the thief's 1 min.
      t.true(stolen!.expiresAt < Date.now() + TTL + 5_000);
    }));

  it(`${a.kind}: a batch of 10,000`, (t) =>
    use(async (s) => {
      t.timeout(120_000);
      const names = Array.from({ length: 10_000 }, (_, i) => `s${i}`);
      await inParallel(names, 64, (n) => s.acquire(n, n === 's5000' ? 'other' : 'me', TTL));
      const results = await s.renewMany!(
        names.map((name) => ({ name, owner: 'me' })),
        TTL * 2,
      );
      t.is(results.length, 10_000);
      t.is(results.filter((r) => r.kind === 'renewed').length, 9_999);
      t.is(results[5000].kind, 'lost');
      t.true(results.every((r, i) => r.kind !== 'renewed' || r.lease.name === names[i]));
      // Spot checks: renewed leases run for the new TTL.
      for (const n of ['s0', 's4999', 's9999']) {
        const l = (await s.lease(n))!;
        t.true(l.expiresAt > Date.now() + TTL + 30_000, n);
      }
    }));

  it(`${a.kind}: property: renewMany answers as renew() does, on random ownership states`, async (t) => {
    t.timeout(120_000);
    const s = a.create();
    let run = 0;
    // Per name: free, ours, ours but expired, another's, another's but expired.
    const state = fc.constantFrom('free', 'mine', 'mineExpired', 'other', 'otherExpired');
    const owner = fc.constantFrom('me', 'me2');
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ state, owner, name: fc.integer({ min: 0, max: 7 }) }), {
            minLength: 1,
            maxLength: 12,
          }),
          async (entries) => {
            run++;
            // Two copies of one ownership state: the batch renews copy A, renew() copy B.
            const setUp = async (copy: string) => {
              const seen = new Set<number>();
              for (const e of entries) {
                if (seen.has(e.name)) continue;
                seen.add(e.name);
                const name = `${run}:${copy}:${e.name}`;
                if (e.state === 'mine') await s.acquire(name, e.owner, TTL);
                if (e.state === 'mineExpired') await s.acquire(name, e.owner, 5);
                if (e.state === 'other') await s.acquire(name, 'other', TTL);
                if (e.state === 'otherExpired') await s.acquire(name, 'other', 5);
              }
            };
            await setUp('a');
            await setUp('b');
            await sleep(15);
            const claims = (copy: string) =>
              entries.map((e) => ({ name: `${run}:${copy}:${e.name}`, owner: e.owner }));
            const batch = await s.renewMany!(claims('a'), TTL);
            const one: RenewResult[] = [];
            for (const c of claims('b')) one.push(await single(s, c, TTL));
            const rename = (x: string) => x.replace(`${run}:a:`, `${run}:b:`);
            t.deepEqual(batch.map(shape).map(rename), one.map(shape));
            // And the leases left behind agree.
            for (const e of entries) {
              const la = await s.lease(`${run}:a:${e.name}`);
              const lb = await s.lease(`${run}:b:${e.name}`);
              t.is(la?.owner, lb?.owner);
            }
          },
        ),
        { numRuns: a.kind === 'memory' || a.kind === 'sqlite' ? 100 : 30 },
      );
    } finally {
      await dispose(s);
    }
  });

  it(`${a.kind}: renewLeases() without renewMany falls back to renew() per claim`, (t) =>
    use(async (s) => {
      await s.acquire('a', 'me', TTL);
      await s.acquire('b', 'other', TTL);
      // The same storage seen without its batch method.
      const plain: SessionStorage = Object.create(s, { renewMany: { value: undefined } });
      const results = await renewLeases(
        plain,
        [
          { name: 'a', owner: 'me' },
          { name: 'b', owner: 'me' },
          { name: 'c', owner: 'me' },
        ],
        TTL,
      );
      t.deepEqual(
        results.map((r) => shape(r)),
        ['renewed:a:me', 'lost:locked:b:other', 'lost:gone:c:me'],
      );
    }));
}

// PostgreSQL runs statements concurrently: a take-over that commits while the
// batch's UPDATE waits on the row is seen (the row is re-checked), never renewed.
const pgIt = PG_URL ? test : test.skip;
pgIt('postgres: a lease stolen while the batch statement runs is reported lost', async (t) => {
  const pgAdapter = adapters.find((x) => x.kind === 'postgres')!;
  const s = pgAdapter.create() as PostgresStorage & Required<Pick<SessionStorage, 'renewMany'>>;
  const { Client } = require('pg') as {
    Client: new (
      o: object,
    ) => { connect(): Promise<void>; query(q: string): Promise<unknown>; end(): Promise<void> };
  };
  const thief = new Client({ connectionString: PG_URL });
  try {
    const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
    for (const n of names) await s.acquire(n, 'me', TTL);
    await thief.connect();
    const leases = `"${whereOf(s).table}_leases"`;
    await thief.query('BEGIN');
    await thief.query(`SELECT 1 FROM ${leases} WHERE name = 'p10' FOR UPDATE`);
    const pending = s.renewMany(
      names.map((name) => ({ name, owner: 'me' })),
      TTL * 2,
    );
    await sleep(200); // the batch now waits on p10's row lock
    await thief.query(`UPDATE ${leases} SET owner = 'thief' WHERE name = 'p10'`);
    await thief.query('COMMIT');
    const results = await pending;
    t.is(results.filter((r) => r.kind === 'renewed').length, 19);
    t.is(results[10].kind, 'lost');
    const p10 = await s.lease('p10');
    t.is(p10?.owner, 'thief');
    t.true(p10!.expiresAt < Date.now() + TTL + 5_000, 'not extended by the batch');
  } finally {
    await thief.end().catch(() => {});
    await dispose(s);
  }
});

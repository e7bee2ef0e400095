// The flood controller, sans-IO (bindings/peers/flood/controller.ts), on a simulated
// clock: properties over random workloads (no window ever exceeds a bucket, every call
// goes eventually, in order within its chat and priority), FLOOD_WAIT memory that holds
// back one chat and not the others, priorities, escalation to the account, queue bounds.
// And the gate over real timers: waits under the threshold, FloodWaitError above it.

import test from 'ava';
import fc from 'fast-check';
import { FloodWaitError } from '../bindings';
import { FloodController, type FloodJob, FloodQueueError } from '../bindings/peers';
import { FloodGate } from '../bindings/peers/flood/gate';

const SEND = 'messages.sendMessage';

/** Runs the controller to the end: take() at each deadline. Returns [job, time] in release order. */
function drain(c: FloodController, from: number, limit = 1e9): Array<[FloodJob, number]> {
  const out: Array<[FloodJob, number]> = [];
  let now = from;
  for (let i = 0; i < 1e6; i++) {
    for (const j of c.take(now)) {
      out.push([j, now]);
      c.settle(j, now);
    }
    const next = c.nextDeadline(now);
    if (next === Number.POSITIVE_INFINITY || next > limit) break;
    now = Math.max(now, next);
  }
  return out;
}

/** The most events in any window of `span` ms... checked against burst + rate * span for all windows. */
function obeys(times: number[], count: number, perMs: number, burst: number): boolean {
  const t = [...times].sort((a, b) => a - b);
  for (let i = 0; i < t.length; i++)
    for (let j = i; j < t.length; j++) {
      const n = j - i + 1;
      // A token bucket allows at most burst + rate * (t_j - t_i) in [t_i, t_j].
      if (n > burst + Math.floor(((t[j] - t[i]) * count) / perMs) + 1e-9) return false;
    }
  return true;
}

test('property: random sends never beat a bucket, all go, in order per chat and priority', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 3000 }),
            chat: fc.integer({ min: -3, max: 5 }),
            priority: fc.constantFrom('high', 'normal', 'low' as const),
          }),
          { minLength: 1, maxLength: 80 },
        ),
        (calls) => {
          const c = new FloodController({
            limits: {
              global: { count: 10, perMs: 1000, burst: 4 },
              user: { count: 2, perMs: 1000 },
              group: { count: 3, perMs: 2000 },
            },
          });
          calls.sort((a, b) => a.at - b.at);
          const released: Array<[FloodJob, number]> = [];
          let now = 0;
          let i = 0;
          const submitted: FloodJob[] = [];
          while (i < calls.length || c.stats.queued > 0) {
            const nextCall = i < calls.length ? calls[i].at : Number.POSITIVE_INFINITY;
            const deadline = c.nextDeadline(now);
            now = Math.max(now, Math.min(nextCall, deadline));
            while (i < calls.length && calls[i].at <= now) {
              const k = calls[i++];
              const chat = k.chat === 0 ? undefined : BigInt(k.chat);
              const job = c.submit(SEND, chat, k.priority, now);
              if (typeof job !== 'string') submitted.push(job);
            }
            for (const j of c.take(now)) {
              released.push([j, now]);
              c.settle(j, now);
            }
          }
          if (released.length !== submitted.length) return false;
          if (
            !obeys(
              released.map(([, at]) => at),
              10,
              1000,
              4,
            )
          )
            return false;
          for (const chat of [-3, -2, -1, 1, 2, 3, 4, 5]) {
            const mine = released.filter(([j]) => j.chat === BigInt(chat));
            const times = mine.map(([, at]) => at);
            if (chat > 0 ? !obeys(times, 2, 1000, 2) : !obeys(times, 3, 2000, 3)) return false;
            // Within a chat and a priority: first come, first go.
            for (let p = 0; p < 3; p++) {
              const seqs = mine.filter(([j]) => j.priority === p).map(([j]) => j.seq);
              if (seqs.some((s, k) => k > 0 && s < seqs[k - 1])) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 200 },
    ),
  );
});

test('a chat held by a FLOOD_WAIT waits; the other chats go at once', (t) => {
  const c = new FloodController({ limits: { user: { count: 100, perMs: 1000 } } });
  c.learn(SEND, 1n, 10, 0);
  const held = c.submit(SEND, 1n, 'high', 0) as FloodJob;
  const other = c.submit(SEND, 2n, 'low', 0) as FloodJob;
  const now0 = c.take(0);
  t.deepEqual(
    now0.map((j) => j.id),
    [other.id],
  );
  c.settle(now0[0], 0);
  t.is(c.nextDeadline(0), 10_000);
  t.deepEqual(c.take(9_999), []);
  t.deepEqual(
    c.take(10_000).map((j) => j.id),
    [held.id],
  );
  // Another method to the same chat is not held by it.
  c.learn(SEND, 1n, 5, 20_000);
  t.is(c.blockedUntil('messages.sendMedia', 1n, 20_000), 0);
  t.is(c.blockedUntil(SEND, 1n, 20_000), 25_000);
});

test('a second chat drawing a FLOOD_WAIT of the same method: the account is held', (t) => {
  const c = new FloodController();
  c.learn(SEND, 1n, 3, 0);
  t.is(c.blockedUntil(SEND, 2n, 0), 0);
  c.learn(SEND, 2n, 4, 100);
  t.is(c.blockedUntil(SEND, 3n, 100), 4100, 'every chat waits');
  t.is(c.blockedUntil(SEND, 1n, 100), 4100);
  // A call without a chat: held by method.
  c.learn('users.getUsers', undefined, 2, 0);
  t.is(c.blockedUntil('users.getUsers', undefined, 500), 2000);
  t.false(c.mayBypass('users.getUsers', undefined, 500));
  t.true(c.mayBypass('users.getUsers', undefined, 2000));
});

test('priorities: answers go ahead of bulk sends when the session bucket is the limit', (t) => {
  const c = new FloodController({ limits: { global: { count: 1, perMs: 100, burst: 1 } } });
  const bulk = Array.from({ length: 5 }, (_, i) => c.submit(SEND, BigInt(100 + i), 'low', 0) as FloodJob);
  const first = c.take(0);
  for (const j of first) c.settle(j, 0);
  t.deepEqual(
    first.map((j) => j.id),
    [bulk[0].id],
  );
  const answer = c.submit(SEND, 7n, 'high', 1) as FloodJob;
  const order = drain(c, 1).map(([j]) => j.id);
  t.deepEqual(order, [answer.id, ...bulk.slice(1).map((j) => j.id)]);
});

test('bounded queues: FLOOD_QUEUE_FULL past maxQueued and maxPerChat; cancel frees a place', (t) => {
  const c = new FloodController({
    queue: { maxQueued: 5, maxPerChat: 3 },
    limits: { user: { count: 1, perMs: 1e9 } },
  });
  const jobs = [1, 2, 3].map(() => c.submit(SEND, 1n, 'normal', 0));
  t.true(jobs.every((j) => typeof j !== 'string'));
  t.is(c.submit(SEND, 1n, 'normal', 0), 'FLOOD_QUEUE_FULL');
  t.not(c.submit(SEND, 2n, 'normal', 0), 'FLOOD_QUEUE_FULL');
  t.not(c.submit(SEND, 3n, 'normal', 0), 'FLOOD_QUEUE_FULL');
  t.is(c.submit(SEND, 4n, 'normal', 0), 'FLOOD_QUEUE_FULL');
  t.true(c.cancel(jobs[2] as FloodJob, 0));
  t.not(c.submit(SEND, 4n, 'normal', 0), 'FLOOD_QUEUE_FULL');
  t.is(c.stats.rejected, 2);
});

test('10,000 sends to 500 chats: the session rate, never faster, 95%+ of it', (t) => {
  const c = new FloodController({
    queue: { maxQueued: 20_000 },
    limits: { global: { count: 30, perMs: 1000 } },
  });
  for (let i = 0; i < 10_000; i++) c.submit(SEND, BigInt((i % 500) + 1) * (i % 2 ? 1n : -1n), 'normal', 0);
  const out = drain(c, 0);
  t.is(out.length, 10_000);
  const last = out.at(-1)![1];
  // (10,000 - 30 burst) / 30 per second.
  const ideal = ((10_000 - 30) / 30) * 1000;
  t.true(last >= ideal - 1, `${last} >= ${ideal}`);
  t.true(ideal / last >= 0.95, `${last} ms for ${ideal} ms`);
});

test('gate: FLOOD_WAIT under the threshold is waited out in the queue; above it FloodWaitError with its seconds', async (t) => {
  const errors = { timedOut: () => new Error('timeout'), aborted: () => new Error('aborted') };
  const gate = new FloodGate({}, errors);
  let calls = 0;
  const started = Date.now();
  const r = await gate.run(SEND, 5n, { threshold: 2, deadline: Number.POSITIVE_INFINITY }, async () => {
    if (calls++ === 0) throw new FloodWaitError(420, 'FLOOD_WAIT_1');
    return 'ok';
  });
  t.is(r, 'ok');
  t.is(calls, 2);
  t.true(Date.now() - started >= 990);
  // Longer than the threshold: thrown, and remembered for the next caller without a call.
  const e = await t.throwsAsync(
    gate.run(SEND, 6n, { threshold: 2, deadline: Number.POSITIVE_INFINITY }, async () => {
      throw new FloodWaitError(420, 'FLOOD_WAIT_30');
    }),
  );
  t.true(e instanceof FloodWaitError);
  t.is((e as FloodWaitError).seconds, 30);
  let sent = false;
  const again = await t.throwsAsync(
    gate.run(SEND, 6n, { threshold: 2, deadline: Number.POSITIVE_INFINITY }, async () => {
      sent = true;
    }),
  );
  t.false(sent);
  t.true((again as FloodWaitError).seconds >= 29);
  // Queued calls fail with FLOOD_QUEUE_CLOSED on close.
  const queued = gate.run(
    SEND,
    6n,
    { threshold: 60, deadline: Number.POSITIVE_INFINITY },
    async () => 'never',
  );
  gate.close();
  const closed = await t.throwsAsync(queued);
  t.true(closed instanceof FloodQueueError);
  t.is((closed as FloodQueueError).code, 'FLOOD_QUEUE_CLOSED');
});

test('gate: abort and deadline take a queued call out', async (t) => {
  const gate = new FloodGate(
    { limits: { user: { count: 1, perMs: 60_000 } } },
    { timedOut: () => new Error('TIMEOUT'), aborted: () => new Error('ABORTED') },
  );
  await gate.run(SEND, 9n, { threshold: 60, deadline: Number.POSITIVE_INFINITY }, async () => 1);
  const ac = new AbortController();
  const a = gate.run(
    SEND,
    9n,
    { threshold: 60, deadline: Number.POSITIVE_INFINITY, signal: ac.signal },
    async () => 2,
  );
  const b = gate.run(SEND, 9n, { threshold: 60, deadline: Date.now() + 50 }, async () => 3);
  ac.abort();
  await t.throwsAsync(a, { message: 'ABORTED' });
  await t.throwsAsync(b, { message: 'TIMEOUT' });
  t.is(gate.controller.stats.queued, 0);
  gate.close();
});

test('calls in flight count as spent: after a stall, nothing more goes until answers come', (t) => {
  const c = new FloodController({ limits: { global: { count: 10, perMs: 1000, burst: 5 } } });
  const jobs = Array.from({ length: 20 }, (_, i) => c.submit(SEND, BigInt(i + 1), 'normal', 0) as FloodJob);
  const first = c.take(0);
  t.is(first.length, 5);
  // Ten seconds pass with none of them answered (the server may not have seen them yet).
  t.deepEqual(c.take(10_000), []);
  t.is(c.nextDeadline(10_000), Number.POSITIVE_INFINITY);
  // Answered now: spent now, and the bucket refills from here.
  for (const j of first) c.settle(j, 10_000);
  t.deepEqual(c.take(10_000), []);
  t.is(c.nextDeadline(10_000), 10_100);
  t.is(c.take(10_100).length, 1);
  t.is(jobs.length, 20);
});

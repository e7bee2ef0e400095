// TestDc's execution log (bindings/testing/execution-log.ts): what counts as a query run
// twice (the same message of the same session, or the same random_id of a key and
// method), and that the bounded log forgets what it drops.

import test from 'ava';
import { EXECUTION_LOG_LIMIT, ExecutionLog } from '../bindings/testing/execution-log';
import type { Execution } from '../bindings/testing/types';

const run = (msgId: bigint, more: Partial<Execution> = {}): Execution => ({
  authKeyId: 0x1111n,
  sessionId: 0x2222n,
  msgId,
  method: 'help.getNearestDc',
  at: 0,
  ...more,
});

test('the same message of the same session runs twice; the same msg_id elsewhere does not', (t) => {
  const log = new ExecutionLog();
  t.true(log.add(run(4n)));
  t.false(log.add(run(4n)), 'same key, session and msg_id');
  t.true(log.add(run(4n, { sessionId: 0x3333n })), 'another session');
  t.true(log.add(run(4n, { authKeyId: 0x4444n })), 'another key');
  t.true(log.add(run(8n)));
  t.is(log.entries.length, 5, 'every execution is listed, duplicates too');
});

test('the same random_id under a new msg_id runs twice, per key and method', (t) => {
  const log = new ExecutionLog();
  const send = { method: 'messages.sendMessage', randomId: '77' };
  t.true(log.add(run(4n, send)));
  t.false(log.add(run(8n, send)), 'a request sent again under a new msg_id');
  t.false(log.add(run(12n, { ...send, sessionId: 0x3333n })), 'from another session of the key');
  t.true(log.add(run(16n, { ...send, method: 'messages.sendMedia' })), 'another method');
  t.true(log.add(run(20n, { ...send, authKeyId: 0x4444n })), 'another key');
  t.true(log.add(run(24n, { ...send, randomId: '78' })));
});

test('at its limit the log drops the older half and forgets their ids', (t) => {
  const log = new ExecutionLog();
  const half = EXECUTION_LOG_LIMIT / 2;
  for (let i = 1; i < EXECUTION_LOG_LIMIT; i++)
    log.add(run(BigInt(i) * 4n, i === 1 ? { randomId: '9' } : {}));
  t.is(log.entries.length, EXECUTION_LOG_LIMIT - 1);
  t.false(log.add(run(8n)), 'still remembered at the limit');
  // That add reached the limit: the older half is gone, its ids with it.
  t.is(log.entries.length, half);
  t.is(log.entries[0].msgId, BigInt(half + 1) * 4n);
  t.true(log.add(run(4n, { randomId: '9' })), 'a forgotten message and random_id count as new');
  t.false(log.add(run(BigInt(EXECUTION_LOG_LIMIT - 1) * 4n)), 'a kept one is still known');
});

test('msg_ids out of order: late ones, and ones between known ids, are told apart', (t) => {
  const log = new ExecutionLog();
  for (const id of [400n, 800n, 1200n, 1600n]) t.true(log.add(run(id)));
  t.true(log.add(run(1000n)), 'a late msg_id between two known ones');
  t.true(log.add(run(4n)), 'a late msg_id below all');
  for (const id of [400n, 800n, 1000n, 1200n, 1600n, 4n]) t.false(log.add(run(id)), `${id} again`);
  t.true(log.add(run(2000n)));
  t.true(log.add(run(1400n)));
  t.false(log.add(run(1400n)));
  // More than the first array holds, in order: each new, each known after.
  for (let i = 1; i <= 300; i++) t.true(log.add(run(10_000n + BigInt(i) * 4n)));
  for (let i = 1; i <= 300; i += 37) t.false(log.add(run(10_000n + BigInt(i) * 4n)));
});

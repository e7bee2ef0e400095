// Memory lent to large payloads (bindings/transport/lent-memory.ts), as a file destination
// lends it to parts in flight: never lent twice at once, taken back only for bytes that
// lie in it, once.

import test from 'ava';
import { LentMemory } from '../bindings/transport/lent-memory';

test('lent memory is distinct while out, and serves another part once its bytes were written', (t) => {
  const parts = new LentMemory(16);
  const a = parts.lend(1000);
  const b = parts.lend(1000);
  t.is(a.length, 1000);
  t.not(a.buffer, b.buffer, 'two parts in flight never share memory');
  parts.giveBack(a.subarray(10, 500));
  const c = parts.lend(800);
  t.is(c.buffer, a.buffer, 'written back (a cut part too): lent again');
  t.is(c.length, 800);
  // A second call for the same bytes must not put the memory back twice.
  parts.giveBack(a);
  parts.giveBack(c);
  parts.giveBack(c);
  const d = parts.lend(1000);
  const e = parts.lend(1000);
  t.not(d.buffer, e.buffer);
});

test('bytes that did not land in lent memory are ignored; a longer part gets new memory', (t) => {
  const parts = new LentMemory(16);
  const a = parts.lend(100);
  parts.giveBack(Buffer.alloc(100));
  t.not(parts.lend(100).buffer, a.buffer, 'foreign bytes give nothing back');
  parts.giveBack(a);
  const long = parts.lend(200);
  t.not(long.buffer, a.buffer, 'too short for 200 bytes');
  t.is(parts.lend(50).buffer, a.buffer, 'long enough for 50');
});

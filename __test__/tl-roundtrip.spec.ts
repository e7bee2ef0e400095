// Every constructor and method of both schemas round-trips through
// TL.serialize/TL.deserialize with synthesized values: once with every
// conditional field present, once with none, and with random choices.
import test from 'ava';
import { TL } from '../bindings';
import { Rng, schema, synthObject } from './tl-support';

test('every combinator round-trips with all, none and random conditional fields', (t) => {
  const rng = new Rng(0x7e57);
  let checked = 0;
  let withFlags = 0;
  for (const e of schema.entries) {
    // gzip_packed never reads back as itself: readers unpack it (tl-errors.spec.ts).
    if (e.name === 'gzip_packed') continue;
    for (const mode of ['all', 'none', 'random', 'random'] as const) {
      const obj = synthObject(e, rng, { mode }) as unknown as TL.TlObject;
      const bytes = TL.serialize(obj);
      t.is(bytes.readUInt32LE(0), e.id, `${e.name}: boxed id`);
      const back = TL.deserialize(bytes);
      t.deepEqual(back, obj, `${e.name} (${mode})`);
      t.deepEqual(TL.serialize(back), bytes, `${e.name} (${mode}) re-serialized`);
      checked++;
    }
    if (e.params.some((p) => p.cond)) withFlags++;
  }
  t.true(checked >= 4 * 2300);
  t.true(withFlags > 500);
});

test('a conditional field absent and present changes its flag bit', (t) => {
  const base = {
    _: 'inputMediaUploadedPhoto',
    file: { _: 'inputFile', id: 1n, parts: 1, name: 'a.jpg', md5Checksum: '' },
  } as const;
  const none = TL.serialize(base);
  const some = TL.serialize({ ...base, spoiler: true, ttlSeconds: 10 });
  // flags follow the constructor id: spoiler is bit 2, ttl_seconds bit 1.
  t.is(none.readUInt32LE(4), 0);
  t.is(some.readUInt32LE(4), 0b110);
  t.is(some.length, none.length + 4);
  t.like(TL.deserialize(some), { spoiler: true, ttlSeconds: 10 });
  t.like(TL.deserialize(none), { spoiler: false, ttlSeconds: undefined });
});

// The TL reader's budgets per decoded object (issue #12): gzip_packed inflates out
// of one MAX_INFLATED for the whole tree (every layer, every element), and
// gzip_packed / message bodies nest at most MAX_NESTING deep. Hostile inputs get a
// typed error after bounded work; honest ones up to the budget decode.
import { gzipSync } from 'node:zlib';
import test from 'ava';
import { TL, TlGzipError, TlTooDeepError } from '../bindings';
import { MAX_NESTING, TlInflateBudgetError } from '../bindings/tl/runtime';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const VECTOR = 0x1cb5c415;

/** gzip_packed around already serialized bytes, `layers` times. */
const packed = (bytes: Buffer, layers: number) => {
  let b = bytes;
  for (let i = 0; i < layers; i++) b = TL.gzipPack(b);
  return b;
};

const fileHash = (hashBytes: number) =>
  TL.serialize({ _: 'fileHash', offset: 0n, limit: 1, hash: Buffer.alloc(hashBytes) });

test('150 small doubly packed objects cannot inflate past the budget of their vector', (t) => {
  // Each element is about 1.1 KB on the wire and inflates to 1 MiB: 150 MiB in all
  // under a limit per layer; the budget stops it after 16 of them.
  const element = packed(fileHash(1 << 20), 2);
  const vector = Buffer.concat([u32(VECTOR), u32(150), ...Array.from({ length: 150 }, () => element)]);
  t.true(vector.length < 200_000, `${vector.length} bytes on the wire`);
  const err = t.throws(() => TL.deserializeResult('upload.getFileHashes', vector), {
    instanceOf: TlInflateBudgetError,
  });
  t.is(err.code, 'ERR_TL_INFLATE_BUDGET');
  t.is(err.limit, TL.MAX_INFLATED);
  t.true(err instanceof TlGzipError, 'still a gzip error for code that checks that');
  // The element that broke the budget is the 16th: the offset names it.
  const at = 8 + 15 * element.length;
  t.is(err.offset, at);
  // The same vector with 15 elements decodes: the budget is not a limit per layer.
  const fits = Buffer.concat([u32(VECTOR), u32(15), ...Array.from({ length: 15 }, () => element)]);
  const hashes = TL.deserializeResult('upload.getFileHashes', fits) as Array<{ hash: Buffer }>;
  t.is(hashes.length, 15);
  t.is(hashes[14].hash.length, 1 << 20);
});

test('the budget belongs to one decoded object, not the process', (t) => {
  const big = packed(fileHash(12 << 20), 1);
  for (let i = 0; i < 3; i++) {
    t.is((TL.deserialize(big) as { hash: Buffer }).hash.length, 12 << 20);
  }
  // Two of them in one vector are over it.
  const two = Buffer.concat([u32(VECTOR), u32(2), big, big]);
  t.throws(() => TL.deserialize(two), { instanceOf: TlInflateBudgetError });
});

test('one gzip_packed past the whole budget is refused while inflating', (t) => {
  const bomb = Buffer.concat([u32(0x3072cfa1), tlBytes(gzipSync(Buffer.alloc(TL.MAX_INFLATED + 1)))]);
  t.throws(() => TL.deserialize(bomb), { instanceOf: TlInflateBudgetError });
  t.throws(() => TL.deserializeResult('help.getConfig', bomb), { instanceOf: TlInflateBudgetError });
});

test('gzip_packed nested past MAX_NESTING is TlTooDeepError with the limit', (t) => {
  const inner = fileHash(4);
  t.deepEqual(TL.deserialize(packed(inner, MAX_NESTING)), TL.deserialize(inner));
  const err = t.throws(() => TL.deserialize(packed(inner, MAX_NESTING + 1)), { instanceOf: TlTooDeepError });
  t.is(err.limit, MAX_NESTING);
  // A result counts the same way (deserializeResult unpacks the first layer itself).
  const nearest = TL.serialize({ _: 'nearestDc', country: 'NL', thisDc: 2, nearestDc: 2 });
  t.like(TL.deserializeResult('help.getNearestDc', packed(nearest, MAX_NESTING)), { country: 'NL' });
  t.throws(() => TL.deserializeResult('help.getNearestDc', packed(nearest, 20)), {
    instanceOf: TlTooDeepError,
  });
});

test('containers in containers are bounded by MAX_NESTING as well', (t) => {
  const container = (body: Buffer) =>
    Buffer.concat([u32(0x73f1f8dc), u32(1), Buffer.alloc(8, 1), u32(1), u32(body.length), body]);
  let deep = TL.serialize({ _: 'pong', msgId: 1n, pingId: 2n });
  for (let i = 0; i < MAX_NESTING; i++) deep = container(deep);
  t.notThrows(() => TL.deserialize(deep));
  const err = t.throws(() => TL.deserialize(container(deep)), { instanceOf: TlTooDeepError });
  t.is(err.limit, MAX_NESTING);
  // Interleaved with gzip_packed: one count for both.
  let mixed = TL.serialize({ _: 'pong', msgId: 1n, pingId: 2n });
  for (let i = 0; i <= MAX_NESTING / 2; i++) mixed = TL.gzipPack(container(mixed));
  t.throws(() => TL.deserialize(mixed), { instanceOf: TlTooDeepError });
});

/** TL `bytes` of `b`. */
function tlBytes(b: Buffer): Buffer {
  const w = new TL.TlWriter();
  w.bytes(b);
  return w.result();
}

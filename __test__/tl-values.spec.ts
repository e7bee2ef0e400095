// TL.serialize / TL.deserialize at the top level take every boxed value, not
// only objects: Bool (boolTrue/boolFalse as true/false) and Vector<T>. Every
// method's result type is synthesized, written by TL.serialize and compared
// byte for byte with the method's own typed writer (TL.serializeResult), then
// read back by TL.deserialize (or, for vectors of bare integers, which do not
// describe their elements, by TL.deserializeResult). mtcute's reader is the
// independent check of the Bool and Vector framing.
import test from 'ava';
import { TL, TlSerializeError, TlTruncatedError, TlUnknownConstructorError } from '../bindings';
import type { TypeRef } from '../bindings/tl/schema/model';
import { fromMtcute, mtcute, Rng, Synthesizer, schema } from './tl-support';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const synth = new Synthesizer(schema, (o) => TL.serialize(o as unknown as TL.TlObject));

/** A vector of bare integers: its bytes do not say their type. */
function isBareIntVector(t: TypeRef): boolean {
  return t.kind === 'vector' && t.of.kind === 'scalar' && (t.of.name === 'int' || t.of.name === 'long');
}

test('Bool: true and false are boolTrue and boolFalse, both ways', (t) => {
  t.is(hex(TL.serialize(true)), 'b5757299');
  t.is(hex(TL.serialize(false)), '379779bc');
  t.true(TL.deserialize(Buffer.from('b5757299', 'hex')));
  t.false(TL.deserialize(Buffer.from('379779bc', 'hex')));
  // A Bool inside gzip_packed, as a server may send any result.
  t.true(TL.deserialize(TL.gzipPack(TL.serialize(true))));
  // messages.setTyping answers a Bool: the result codec and the top level agree.
  t.deepEqual(TL.serialize(true), TL.serializeResult('messages.setTyping', true));
  t.is(TL.deserializeResult('messages.setTyping', TL.serialize(false)), false);
  // mtcute's reader sees the same values.
  t.is(mtcute().deserialize(TL.serialize(true)) as unknown, true);
  t.is(mtcute().deserialize(TL.serialize(false)) as unknown, false);
});

test("every method's result round-trips at the top level, byte-identical to its typed writer", (t) => {
  const rng = new Rng(0xb001);
  const counts = { bool: 0, vector: 0, bareIntVector: 0, object: 0 };
  for (const e of schema.entries) {
    if (e.kind !== 'method' || e.genericResult) continue;
    const r = e.result;
    for (const mode of ['all', 'none', 'random'] as const) {
      const value = synth.value(r, rng, { mode }, 0) as TL.TlSerializable;
      const bytes = TL.serialize(value);
      t.is(
        hex(bytes),
        hex(TL.serializeResult(e.name as TL.MethodName, value as never)),
        `${e.name} (${mode})`,
      );
      if (isBareIntVector(r)) {
        t.deepEqual(TL.deserializeResult(e.name as TL.MethodName, bytes), value, e.name);
        counts.bareIntVector++;
        continue;
      }
      t.deepEqual(TL.deserialize(bytes), value, `${e.name} (${mode})`);
      if (r.kind === 'scalar' && r.name === 'Bool') counts.bool++;
      else if (r.kind === 'vector') counts.vector++;
      else counts.object++;
    }
  }
  // Layer 223 has hundreds of Bool results, about 30 Vector<T> ones and seven of bare integers.
  t.true(counts.bool > 3 * 200, `${counts.bool} Bool`);
  t.true(counts.vector > 3 * 25, `${counts.vector} Vector`);
  t.is(counts.bareIntVector, 3 * 7);
  t.true(counts.object > 3 * 500);
});

test('vectors: empty, nested, of Bool, of objects; mtcute reads the same', (t) => {
  const user: TL.TlObject = { _: 'inputPeerUser', userId: 42n, accessHash: -7n };
  const cases: TL.TlValue[] = [[], [true, false], [user, { _: 'inputPeerSelf' }], [[user], [], [true]]];
  for (const v of cases) {
    const bytes = TL.serialize(v);
    t.is(bytes.readUInt32LE(0), 0x1cb5c415);
    t.deepEqual(TL.deserialize(bytes), v);
  }
  t.is(hex(TL.serialize([])), '15c4b51c00000000');
  t.deepEqual(mtcute().deserialize(TL.serialize([true, false])) as unknown, [true, false]);
  const fromTheirs = mtcute().deserialize(TL.serialize([user])) as unknown as Record<string, unknown>[];
  t.deepEqual(fromTheirs.map(fromMtcute), [user]);
  // serializeTo appends values of any kind to one writer.
  const w = new TL.TlWriter(16);
  TL.serializeTo(w, true);
  TL.serializeTo(w, [7n]);
  TL.serializeTo(w, user);
  t.is(hex(w.result()), hex(Buffer.concat([TL.serialize(true), TL.serialize([7n]), TL.serialize(user)])));
});

test('vectors of bare integers: bigint[] is Vector<long>, number[] is Vector<int>', (t) => {
  t.is(hex(TL.serialize([1n, -1n])), '15c4b51c020000000100000000000000ffffffffffffffff');
  t.is(hex(TL.serialize([1, -2])), '15c4b51c0200000001000000feffffff');
  t.deepEqual(TL.deserializeResult('photos.deletePhotos', TL.serialize([5n, 2n ** 63n - 1n])), [
    5n,
    2n ** 63n - 1n,
  ]);
  t.deepEqual(TL.deserializeResult('contacts.getContactIDs', TL.serialize([2 ** 31 - 1, -(2 ** 31)])), [
    2 ** 31 - 1,
    -(2 ** 31),
  ]);
  // At the top level the elements are read as boxed values: 1 is no constructor id.
  t.throws(() => TL.deserialize(TL.serialize([1])), { instanceOf: TlUnknownConstructorError });
});

test('values that are not TL are a TlSerializeError, and bad bytes a typed read error', (t) => {
  const bad: unknown[] = [
    null,
    undefined,
    1,
    'text',
    1n,
    [1n, 2],
    [1, 2n],
    [1.5],
    [2 ** 31],
    [-(2 ** 31) - 1],
    [true, 1],
    [{ _: 'noSuchConstructor' }],
    [{ _: 'inputPeerSelf' }, 3n],
  ];
  for (const v of bad) {
    t.throws(() => TL.serialize(v as TL.TlSerializable), { instanceOf: TlSerializeError }, String(v));
  }
  const cyclic: unknown[] = [];
  cyclic.push(cyclic);
  t.throws(() => TL.serialize(cyclic as TL.TlValue), { instanceOf: TlSerializeError });
  // A vector that claims more elements than it holds, and a lone half of a Bool.
  t.throws(() => TL.deserialize(Buffer.from('15c4b51c02000000b5757299', 'hex')), {
    instanceOf: TlTruncatedError,
  });
  t.throws(() => TL.deserialize(Buffer.from('b57572', 'hex')), { instanceOf: TlTruncatedError });
});

// Fuzzing the reader: random buffers, and valid messages with bits flipped,
// bytes overwritten, inserted, removed or cut. Every input either decodes or
// throws a TlError (an RpcError for a well-formed rpc_error result); nothing
// else escapes, and every input finishes (ava's timeout catches a hang).
import test from 'ava';
import fc from 'fast-check';
import { updates } from '../bench/tl.bench';
import { RpcError, TL, TlError } from '../bindings';
import { Rng, schema, synthObject } from './tl-support';

const methods = schema.entries.filter((e) => e.kind === 'method').map((e) => e.name as TL.MethodName);
const ids = schema.entries.map((e) => e.id);

function decodeOrTypedError(bytes: Uint8Array, method?: TL.MethodName): boolean {
  try {
    if (method) TL.deserializeResult(method, bytes);
    else TL.deserialize(bytes);
    return true;
  } catch (e) {
    if (e instanceof TlError || e instanceof RpcError) return true;
    throw e;
  }
}

/** Valid messages to mutate: synthesized objects of random combinators, and the bench's updates. */
const samples: Buffer[] = (() => {
  const rng = new Rng(0xf022);
  const out = [TL.serialize(updates)];
  for (let i = 0; i < 300; i++) {
    const e = schema.entries[rng.int(schema.entries.length)];
    if (e.name === 'gzip_packed') continue;
    out.push(TL.serialize(synthObject(e, rng, { mode: 'random' }) as unknown as TL.TlObject));
  }
  return out;
})();

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

test('random buffers: decoded or a typed error', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => decodeOrTypedError(bytes)),
      { numRuns: 20000, seed: 1 },
    ),
  );
  // Behind a known constructor id, random bytes reach the field readers.
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.constantFrom(...ids), fc.uint8Array({ maxLength: 400 }), (id, rest) =>
        decodeOrTypedError(Buffer.concat([u32(id), rest])),
      ),
      { numRuns: 30000, seed: 2 },
    ),
  );
  // As results of random methods.
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.constantFrom(...methods), fc.uint8Array({ maxLength: 200 }), (m, bytes) =>
        decodeOrTypedError(bytes, m),
      ),
      { numRuns: 10000, seed: 3 },
    ),
  );
});

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'id'; at: number; id: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'remove'; at: number; n: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.constantFrom(0, 0xff, 0xfe, 0x7f, 1),
  }),
  fc.record({
    kind: fc.constant('id' as const),
    at: fc.nat(),
    id: fc.constantFrom(...ids, 0x1cb5c415, 0x3072cfa1),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('remove' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
);

function mutate(src: Buffer, ms: Mutation[]): Buffer {
  let b = Buffer.from(src);
  for (const m of ms) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    switch (m.kind) {
      case 'flip':
        b[at] ^= 1 << m.bit;
        break;
      case 'set':
        b[at] = m.value;
        break;
      case 'id': {
        const aligned = at & ~3;
        if (aligned + 4 <= b.length) b.writeUInt32LE(m.id >>> 0, aligned);
        break;
      }
      case 'cut':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'remove':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.n)]);
        break;
    }
  }
  return b;
}

test('mutated valid messages: decoded or a typed error', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.nat({ max: samples.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (i, ms) => decodeOrTypedError(mutate(samples[i], ms)),
      ),
      { numRuns: 40000, seed: 4 },
    ),
  );
  // Mutations inside gzip_packed payloads are caught by the inflater or the reader behind it.
  const packed = samples.slice(0, 20).map((s) => TL.gzipPack(s));
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.nat({ max: packed.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (i, ms) => decodeOrTypedError(mutate(packed[i], ms)),
      ),
      { numRuns: 5000, seed: 5 },
    ),
  );
});

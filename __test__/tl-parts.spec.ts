// TL.serializeParts / serializeResultParts: what a link is given for a request
// whose `bytes` values are large (an upload part). Joined, the pieces are exactly
// TL.serialize's bytes, whatever the sizes and nesting (msg_container's message
// length counts the referenced payloads); a payload of 16 KiB or more is the
// caller's own memory, not a copy; and the shared writer keeps nothing after.
import test from 'ava';
import fc from 'fast-check';
import { TL } from '../bindings';

const GATHER_MIN = 16 * 1024;
const joined = (p: Buffer | Buffer[]) => (Array.isArray(p) ? Buffer.concat(p) : p);
const bytesOf = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

// Sizes around the threshold and around each padding remainder.
const size = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: GATHER_MIN - 5, max: GATHER_MIN + 5 }),
  fc.integer({ min: 100_000, max: 600_000 }),
);

test('joined pieces are the serialized bytes, for any sizes and nesting', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(size, size, fc.integer({ min: 0, max: 1000 }), (a, b, part) => {
        const first = bytesOf(a, 1);
        const second = bytesOf(b, 2);
        const objects: TL.TlObject[] = [
          { _: 'upload.saveFilePart', fileId: 7n, filePart: part, bytes: first },
          { _: 'upload.saveBigFilePart', fileId: -7n, filePart: part, fileTotalParts: 9, bytes: second },
          {
            _: 'invokeWithLayer',
            layer: TL.LAYER,
            query: { _: 'upload.saveFilePart', fileId: 1n, filePart: 0, bytes: first },
          } as unknown as TL.TlObject,
          // Two payloads in one object, each with its own padding, and text between them.
          {
            _: 'inputSecureValue',
            type: { _: 'secureValueTypePassport' },
            data: { _: 'secureData', data: first, dataHash: second, secret: bytesOf(32, 3) },
          } as unknown as TL.TlObject,
          {
            _: 'msg_container',
            messages: [
              {
                _: 'message',
                msgId: 1n,
                seqno: 1,
                bytes: 0,
                body: { _: 'upload.saveFilePart', fileId: 1n, filePart: 0, bytes: first },
              },
              {
                _: 'message',
                msgId: 2n,
                seqno: 3,
                bytes: 0,
                body: { _: 'upload.saveFilePart', fileId: 1n, filePart: 1, bytes: second },
              },
            ],
          } as unknown as TL.TlObject,
        ];
        // Which payloads each object carries (inputSecureValue: `first` and `second`).
        const carries = [[a], [b], [a], [a, b], [a, b]];
        objects.forEach((o, k) => {
          const parts = TL.serializeParts(o);
          if (!joined(parts).equals(TL.serialize(o)))
            throw new Error(`${o._} (${a}, ${b}): joined pieces differ`);
          const large = carries[k].some((n) => n >= GATHER_MIN);
          if (Array.isArray(parts) !== large)
            throw new Error(`${o._} (${a}, ${b}): pieces only for a large payload`);
        });
      }),
      { numRuns: 60 },
    ),
  );
});

test("a large payload is the caller's memory; small ones and the shared writer stay copies", (t) => {
  const data = Buffer.alloc(1 << 20, 0xab);
  const part = data.subarray(512 * 1024, 1024 * 1024);
  const parts = TL.serializeParts({
    _: 'upload.saveBigFilePart',
    fileId: 1n,
    filePart: 1,
    fileTotalParts: 2,
    bytes: part,
  });
  if (!Array.isArray(parts)) return t.fail('expected pieces');
  const payload = parts.find((p) => p.length === part.length);
  t.truthy(payload);
  t.is(payload?.buffer, data.buffer, "the payload views the caller's ArrayBuffer");
  t.is(payload?.byteOffset, part.byteOffset);
  // A small request is one Buffer, like serialize's.
  const small = TL.serializeParts({
    _: 'upload.saveFilePart',
    fileId: 1n,
    filePart: 0,
    bytes: Buffer.alloc(100),
  });
  t.true(Buffer.isBuffer(small));
  // Later serializations neither see nor touch the pieces handed out.
  const before = Buffer.concat(parts);
  TL.serialize({ _: 'upload.saveFilePart', fileId: 2n, filePart: 5, bytes: Buffer.alloc(70_000, 1) });
  TL.serializeParts({ _: 'upload.saveFilePart', fileId: 3n, filePart: 6, bytes: Buffer.alloc(70_000, 2) });
  t.deepEqual(Buffer.concat(parts), before);
});

test("results as pieces: TestDc's file answers join to serializeResult's bytes", (t) => {
  const bytes = bytesOf(131_072, 9);
  const file = { _: 'upload.file', type: { _: 'storage.filePartial' }, mtime: 5, bytes } as const;
  const parts = TL.serializeResultParts('upload.getFile', file);
  t.true(Array.isArray(parts));
  t.deepEqual(joined(parts), TL.serializeResult('upload.getFile', file as never));
  t.deepEqual(TL.deserialize(joined(parts)), file);
});

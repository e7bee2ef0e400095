// TestDc's query body scratches (bindings/testing/query-bodies.ts): file parts run on the
// memory the link copied them into, which is not written again until they finished;
// every other body there is copied out first.

import { randomBytes } from 'node:crypto';
import test from 'ava';
import { TL } from '../bindings';
import { PARTS_RUN_IN_PLACE } from '../bindings/testing/file-methods';
import { QueryBodies } from '../bindings/testing/query-bodies';

const part = (tag: number) =>
  TL.serialize({
    _: 'upload.saveBigFilePart',
    fileId: 7n,
    filePart: tag,
    fileTotalParts: 9,
    bytes: randomBytes(70_000),
  });

/** A packet long enough for two parts. */
const PACKET = 200_000;

/** `body` written into `scratch` at `at`, as MtpLink.receive places it: a view. */
function placed(scratch: Buffer, at: number, body: Buffer): Buffer {
  body.copy(scratch, at);
  return scratch.subarray(at, at + body.length);
}

test('a file part runs on the scratch, which the next receive does not get until the part finished', (t) => {
  const bodies = new QueryBodies((m) => PARTS_RUN_IN_PLACE.has(m));
  const first = bodies.next(PACKET) as Buffer;
  t.is(bodies.next(PACKET) as Buffer, first, 'the same memory while nothing runs on it');
  const body = part(1);
  const wrapped = Buffer.concat([Buffer.alloc(4), part(2)]);
  wrapped.writeUInt32LE(TL.idOf('invokeWithoutUpdates') as number, 0);
  const [bare, inWrapper] = bodies.claim([placed(first, 0, body), placed(first, body.length, wrapped)]);
  t.is(bare.body.buffer, first.buffer);
  t.is(inWrapper.body.buffer, first.buffer, 'seen through invokeWithoutUpdates');
  t.deepEqual(bare.body, body);
  t.is(bodies.inUse, 2);
  const second = bodies.next(PACKET) as Buffer;
  t.not(second.buffer, first.buffer, 'the next receive gets other memory');
  bare.release?.();
  bare.release?.();
  t.is(bodies.inUse, 1, 'a release counts once');
  t.is(bodies.next(PACKET) as Buffer, second);
  inWrapper.release?.();
  t.is(bodies.inUse, 0);
  // Once the second is lent and finished too, the first comes back.
  const [again] = bodies.claim([placed(second, 0, part(3))]);
  t.is((bodies.next(PACKET) as Buffer).buffer, first.buffer, 'reused once every query on it finished');
  again.release?.();
});

test('any other body in the scratch is copied out before it runs; bodies elsewhere pass as they are', (t) => {
  const bodies = new QueryBodies((m) => PARTS_RUN_IN_PLACE.has(m));
  const scratch = bodies.next(PACKET) as Buffer;
  const other = TL.serialize({ _: 'help.saveAppLog', events: [] });
  const big = Buffer.concat([other, randomBytes(70_000)]);
  const [copied] = bodies.claim([placed(scratch, 0, big)]);
  t.not(copied.body.buffer, scratch.buffer);
  t.deepEqual(copied.body, big);
  t.is(copied.release, null);
  t.is(bodies.next(PACKET) as Buffer, scratch, 'nothing runs on it: the next receive may write there');
  const elsewhere = part(4);
  const [own] = bodies.claim([elsewhere]);
  t.is(own.body, elsewhere);
  t.is(own.release, null);
  t.is(bodies.inUse, 0);
});

test('a packet too short for a large body gets no scratch; a longer one than the scratch gets one as long', (t) => {
  const bodies = new QueryBodies((m) => PARTS_RUN_IN_PLACE.has(m));
  t.is(bodies.next(64 * 1024 - 1), undefined);
  const usual = bodies.next(PACKET) as Buffer;
  const long = bodies.next(3 * 1024 * 1024) as Buffer;
  t.true(long.length >= 3 * 1024 * 1024);
  t.not(long.buffer, usual.buffer);
  t.is(bodies.next(PACKET) as Buffer, long, 'the longer one serves shorter packets too');
});

test('a file part goes to its own memory when a test registered its own handler for the method', (t) => {
  const bodies = new QueryBodies(
    (method) => PARTS_RUN_IN_PLACE.has(method) && method !== 'upload.saveBigFilePart',
  );
  const scratch = bodies.next(PACKET) as Buffer;
  const body = part(5);
  const [own] = bodies.claim([placed(scratch, 0, body)]);
  t.not(own.body.buffer, scratch.buffer);
  t.deepEqual(own.body, body);
  t.is(own.release, null);
  t.is(bodies.next(PACKET), scratch, 'nothing runs on the scratch');
});

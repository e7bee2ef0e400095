// File transfers without sockets: the client's part planning against TestDc's rules (two
// separate implementations of core.telegram.org/api/files), the CDN's AES-256-CTR IV per
// offset against node:crypto, the hash check, and the bounded window.

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import {
  BIG_FILE_ABOVE,
  CdnHashes,
  type ChunkRequest,
  checkParts,
  chunkAt,
  type FileError,
  ivAt,
  MAX_UPLOAD_PART,
  planUpload,
} from '../bindings/files';
import { PartBudget } from '../bindings/files/budget';
import { alignedStart } from '../bindings/files/parts';
import { NOT_YET, runWindow } from '../bindings/files/window';
import { aesCtr } from '../bindings/native';
import { checkRange, isPartSize, Upload } from '../bindings/testing/file-rules';
import { TestRpcError } from '../bindings/testing/rpc';

const KIB = 1024;
const MIB = 1024 * KIB;

function rpcMessage(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof TestRpcError) return e.errorMessage;
    throw e;
  }
  return undefined;
}

test('upload plans: parts the server takes, saveBigFilePart past 10 MB, no empty file, no 4001st part', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2000 * 512 * KIB }), (size) => {
      const plan = planUpload(size);
      const parts = plan.parts as number;
      // Every part but the last is part_size; the last one is not empty.
      t.true(isPartSize(plan.partSize), `${plan.partSize}`);
      t.true(parts * plan.partSize >= size && (parts - 1) * plan.partSize < size);
      t.true(parts <= 4000);
      t.is(plan.big, size > 10 * MIB);
      // Enough parts for the window, unless the parts are at their largest or smallest.
      t.true(parts >= 8 || plan.partSize === 32 * KIB || size <= 32 * KIB);
    }),
    { numRuns: 300 },
  );
  t.is(BIG_FILE_ABOVE, 10 * MIB);
  t.is((t.throws(() => planUpload(0)) as FileError).code, 'FILE_EMPTY');
  t.is((t.throws(() => planUpload(4000 * MAX_UPLOAD_PART + 1)) as FileError).code, 'FILE_TOO_BIG');
  t.is(planUpload(8000 * MAX_UPLOAD_PART, undefined, 8000).parts, 8000);
  t.is((t.throws(() => planUpload(100, 1000)) as FileError).code, 'BAD_OPTIONS');
  t.is((t.throws(() => planUpload(100, 3 * KIB)) as FileError).code, 'BAD_OPTIONS');
  t.is(planUpload(null).partSize, 512 * KIB);
  t.is(planUpload(10 * MIB).big, false);
  t.is(planUpload(10 * MIB + 1).big, true);
});

/** Every request from `start` to `end` as the download asks them. */
function requests(start: number, end: number, partSize: number, precise: boolean): ChunkRequest[] {
  const out: ChunkRequest[] = [];
  for (let at = alignedStart(start, precise); at < end; ) {
    const r = chunkAt(at, partSize, end, precise);
    out.push(r);
    at += r.limit;
  }
  return out;
}

test('download requests keep the getFile rules (TestDc checks them) and cover the range without gaps', (t) => {
  const pow2 = fc.integer({ min: 12, max: 19 }).map((e) => 2 ** e);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 64 * MIB }),
      fc.integer({ min: 1, max: 8 * MIB }),
      pow2,
      fc.boolean(),
      (start, length, partSize, precise) => {
        const end = start + length;
        const rs = requests(start, end, partSize, precise);
        let at = alignedStart(start, precise);
        for (const r of rs) {
          t.is(r.offset, at);
          t.true(r.limit <= partSize);
          t.is(
            rpcMessage(() => checkRange(r.offset, r.limit, precise)),
            undefined,
            JSON.stringify({ r, precise }),
          );
          at += r.limit;
        }
        t.true(at >= end);
        t.true(rs[0].offset <= start);
      },
    ),
    { numRuns: 500 },
  );
});

test("TestDc's getFile rules: offset and limit in 4 KiB (1 KiB precise), limit dividing 1 MiB, inside one 1 MiB block", (t) => {
  t.is(
    rpcMessage(() => checkRange(0, 512 * KIB, false)),
    undefined,
  );
  t.is(
    rpcMessage(() => checkRange(1024, 4096, false)),
    'OFFSET_INVALID',
  );
  t.is(
    rpcMessage(() => checkRange(4096, 12 * KIB, false)),
    'LIMIT_INVALID',
  );
  t.is(
    rpcMessage(() => checkRange(MIB - 4096, 8192, false)),
    'LIMIT_INVALID',
  );
  t.is(
    rpcMessage(() => checkRange(MIB, MIB, false)),
    undefined,
  );
  t.is(
    rpcMessage(() => checkRange(1024, 3 * KIB, true)),
    undefined,
  );
  t.is(
    rpcMessage(() => checkRange(512, 1024, true)),
    'OFFSET_INVALID',
  );
  t.is(
    rpcMessage(() => checkRange(MIB - 1024, 2048, true)),
    'LIMIT_INVALID',
  );
  t.is(
    rpcMessage(() => checkRange(0, 0, false)),
    'LIMIT_INVALID',
  );
  t.is(
    rpcMessage(() => checkRange(-4096, 4096, false)),
    'OFFSET_INVALID',
  );
});

test("TestDc's part rules: the server's errors for empty, too big, bad sizes, missing parts, wrong counts and md5", (t) => {
  const part = (n: number) => randomBytes(n);
  t.is(
    rpcMessage(() => new Upload(false).save(0, Buffer.alloc(0), undefined)),
    'FILE_PART_EMPTY',
  );
  t.is(
    rpcMessage(() => new Upload(false).save(0, part(512 * KIB + 1), undefined)),
    'FILE_PART_TOO_BIG',
  );
  t.is(
    rpcMessage(() => new Upload(false).save(4000, part(10), undefined)),
    'FILE_PART_INVALID',
  );
  t.is(
    rpcMessage(() => new Upload(true).save(0, part(KIB), 0)),
    'FILE_PARTS_INVALID',
  );
  t.is(
    rpcMessage(() => new Upload(true).save(0, part(KIB), 4001)),
    'FILE_PARTS_INVALID',
  );
  t.is(
    rpcMessage(() => new Upload(true).save(3, part(KIB), 3)),
    'FILE_PART_INVALID',
  );
  // A part known not to be the last: an allowed size, the same as the others.
  t.is(
    rpcMessage(() => new Upload(true).save(0, part(3 * KIB), 3)),
    'FILE_PART_SIZE_INVALID',
  );
  const big = new Upload(true);
  big.save(0, part(4 * KIB), 3);
  t.is(
    rpcMessage(() => big.save(1, part(8 * KIB), 3)),
    'FILE_PART_SIZE_CHANGED',
  );
  t.is(
    rpcMessage(() => big.save(1, part(4 * KIB), 4)),
    'FILE_PARTS_INVALID',
  );
  // -1: the count is not known yet (TDLib's streaming uploads); the last part gives it.
  const stream = new Upload(true);
  stream.save(0, part(4 * KIB), -1);
  stream.save(1, part(100), 2);
  t.is(stream.assemble(2, undefined).size, 4 * KIB + 100);
  t.is(
    rpcMessage(() => stream.assemble(3, undefined)),
    'FILE_PARTS_INVALID',
  );
  // Assembly: every part there, sizes right, md5 right.
  const small = new Upload(false);
  const a = part(4 * KIB);
  const b = part(7);
  small.save(1, b, undefined);
  t.is(
    rpcMessage(() => small.assemble(2, '')),
    'FILE_PART_0_MISSING',
  );
  small.save(0, a, undefined);
  const md5 = createHash('md5')
    .update(Buffer.concat([a, b]))
    .digest('hex');
  t.true(
    small
      .assemble(2, md5)
      .read(0, 10 * KIB)
      .equals(Buffer.concat([a, b])),
  );
  t.is(
    rpcMessage(() => small.assemble(2, '0'.repeat(32))),
    'MD5_CHECKSUM_INVALID',
  );
  t.is(
    rpcMessage(() => small.assemble(0, '')),
    'FILE_PARTS_INVALID',
  );
  const odd = new Upload(false);
  odd.save(0, part(3 * KIB), undefined);
  odd.save(1, part(KIB), undefined);
  t.is(
    rpcMessage(() => odd.assemble(2, '')),
    'FILE_PART_SIZE_INVALID',
  );
  const grown = new Upload(false);
  grown.save(0, part(4 * KIB), undefined);
  grown.save(1, part(8 * KIB), undefined);
  t.is(
    rpcMessage(() => grown.assemble(2, '')),
    'FILE_PART_SIZE_CHANGED',
  );
});

test('CDN decryption (cdn#decrypting-files): IV with offset/16 big-endian, native CTR, equal to node:crypto over the whole file', (t) => {
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const file = randomBytes(3 * MIB + 100);
  // The CDN's bytes: one CTR stream from offset 0 with a counter whose low 32 bits start at 0.
  const start = Buffer.from(iv);
  start.writeUInt32BE(0, 12);
  const encrypted = createCipheriv('aes-256-ctr', key, start).update(file);
  for (const offset of [0, 4096, 128 * KIB, MIB, 3 * MIB]) {
    const piece = encrypted.subarray(offset, offset + 512 * KIB);
    const plain = aesCtr(key, ivAt(iv, offset), piece);
    t.true(plain.equals(file.subarray(offset, offset + 512 * KIB)), `offset ${offset}`);
  }
  t.is(
    ivAt(iv, 16 * 0x01020304)
      .subarray(12)
      .toString('hex'),
    '01020304',
  );
  t.true(ivAt(iv, 0).subarray(0, 12).equals(iv.subarray(0, 12)));
});

test('CDN hashes: a part that does not match its SHA-256, or is short, is refused with CDN_HASH_MISMATCH', (t) => {
  const data = randomBytes(300 * KIB);
  const hashes = new CdnHashes();
  const list = [0, 128 * KIB, 256 * KIB].map((at) => {
    const limit = Math.min(128 * KIB, data.length - at);
    return {
      _: 'fileHash' as const,
      offset: BigInt(at),
      limit,
      hash: createHash('sha256')
        .update(data.subarray(at, at + limit))
        .digest(),
    };
  });
  hashes.add(list);
  t.is(hashes.covering(200 * KIB)?.offset, BigInt(128 * KIB));
  t.is(hashes.covering(299 * KIB)?.limit, 300 * KIB - 256 * KIB);
  t.is(hashes.covering(300 * KIB), undefined);
  t.notThrows(() => checkParts(data, 0, list));
  const bad = Buffer.from(data);
  bad[130 * KIB] ^= 1;
  const e = t.throws(() => checkParts(bad, 0, list)) as FileError;
  t.is(e.code, 'CDN_HASH_MISMATCH');
  t.is(e.offset, 128 * KIB);
  t.is(
    (t.throws(() => checkParts(data.subarray(0, 200 * KIB), 0, list)) as FileError).code,
    'CDN_HASH_MISMATCH',
  );
  hashes.forgetBelow(256 * KIB);
  t.is(hashes.size, 1);
  t.is(
    (t.throws(() => hashes.add([{ ...list[0], hash: Buffer.alloc(31) }])) as FileError).code,
    'BAD_ANSWER',
  );
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the window: results handed over in order, at most `size` running and never `size` past the oldest', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 30 }),
      async (size, delays) => {
        let next = 0;
        let running = 0;
        let maxRunning = 0;
        const taken: number[] = [];
        await runWindow<number, number>(
          size,
          {
            next: () => (next < delays.length ? next++ : null),
            run: async (i) => {
              running++;
              maxRunning = Math.max(maxRunning, running);
              // Not more than `size` tasks past the oldest one not handed over.
              t.true(i < (taken.length > 0 ? taken[taken.length - 1] + 1 : 0) + size);
              await sleep(delays[i]);
              running--;
              return i * 10;
            },
            take: (i, r) => {
              t.is(r, i * 10);
              taken.push(i);
            },
          },
          { ordered: true },
        );
        t.deepEqual(
          taken,
          delays.map((_, i) => i),
        );
        t.true(maxRunning <= size);
      },
    ),
    { numRuns: 40 },
  );
});

test('a shared budget: windows of any size and order all finish (no deadlock), never more held than the budget', async (t) => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.array(
        fc.record({
          size: fc.integer({ min: 1, max: 6 }),
          ordered: fc.boolean(),
          delays: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 0, maxLength: 12 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      async (parts, jobs) => {
        const budget = new PartBudget(parts);
        let peak = 0;
        const runs = jobs.map(({ size, ordered, delays }) => {
          let next = 0;
          let taken = 0;
          return runWindow<number, number>(
            size,
            {
              next: () => (next < delays.length ? next++ : null),
              run: async (i) => {
                peak = Math.max(peak, budget.inUse);
                await sleep(delays[i]);
                return i;
              },
              take: () => {
                taken++;
              },
            },
            { ordered, budget },
          ).then(() => taken === delays.length);
        });
        t.true((await Promise.all(runs)).every(Boolean), 'every task handed over');
        t.true(peak <= parts);
        t.is(budget.inUse, 0);
        t.is(budget.waiting, 0);
      },
    ),
    { numRuns: 60 },
  );
});

test('the window: the first failure stops it; what runs is aborted and awaited before it rejects', async (t) => {
  let running = 0;
  let started = 0;
  const boom = new Error('boom');
  const e = await t.throwsAsync(
    runWindow<number, void>(
      4,
      {
        next: () => (started < 100 ? started++ : null),
        run: (i, signal) => {
          running++;
          return new Promise<void>((resolve, reject) => {
            let ended = false;
            const end = (f: () => void) => {
              if (ended) return;
              ended = true;
              running--;
              f();
            };
            if (i === 5) {
              setTimeout(() => end(() => reject(boom)), 5);
              return;
            }
            const timer = setTimeout(() => end(resolve), i < 5 ? 1 : 1000);
            // The others take a while to wind down after the abort.
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              setTimeout(() => end(() => reject(signal.reason)), 20);
            });
          });
        },
        take: () => {},
      },
      { ordered: false },
    ),
  );
  t.is(e, boom);
  t.is(running, 0, 'nothing was still running when it rejected');
  t.true(started < 100, 'no task started after the failure');
});

test('the window: an abort rejects with FileError ABORTED; NOT_YET waits for a running task', async (t) => {
  const ac = new AbortController();
  let calls = 0;
  const p = runWindow<number, void>(
    3,
    {
      // The first task alone, then the others once it ended.
      next: () => (calls === 0 ? calls++ : calls < 3 && calls > 0 ? (calls === 1 ? NOT_YET : calls++) : null),
      run: (_i, signal) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, 2000);
          signal.addEventListener('abort', () => {
            clearTimeout(timer);
            reject(signal.reason);
          });
        }),
      take: () => {},
    },
    { ordered: true, signal: ac.signal },
  );
  setTimeout(() => ac.abort(new Error('stop')), 20);
  const e = (await t.throwsAsync(p)) as FileError;
  t.is(e.code, 'ABORTED');
  t.is((e.cause as Error).message, 'stop');
  t.is(calls, 1, 'NOT_YET held the rest back while the first ran');
});

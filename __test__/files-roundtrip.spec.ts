// Round trips over real sockets: random files uploaded with Session.upload (TestDc checks
// every part rule and the md5, and assembles the file), then downloaded with
// Session.download straight from the DC and through the CDN DC (AES-256-CTR, every part
// checked against its SHA-256). The bytes must come back identical. Sizes: 0 B, 1 B, one
// part exactly, a part ± 1, 10 MB ± 1 (saveFilePart to saveBigFilePart), 100 MB; sources
// (Buffer, path, streams of unknown length) and destinations (Buffer, path, stream, resume).
// Serial: the tests count the DC's executions, and the big files take memory one at a time.

import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import test from 'ava';
import { FileError, type FileProgress, type InputFile, type SessionRegistry } from '../bindings';
import type { TestWorld } from '../bindings/testing';
import { botSession, filesWorld, KIB, locationOf, MIB, sameBytes, uploadMedia } from './files-support';

let world: TestWorld;
let reg: SessionRegistry;
let id: string;
let dir: string;

test.before(async () => {
  world = await filesWorld();
  ({ reg, id } = await botSession(world));
  dir = await mkdtemp(join(tmpdir(), 'tmt-files-'));
});
test.after.always(async () => {
  await reg?.close(id);
  await world?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Uploads `data` (or `source`), stores it with messages.uploadMedia, downloads it back directly and via the CDN. */
async function roundTrip(
  t: import('ava').ExecutionContext,
  data: Buffer,
  options: { partSize?: number; expect: 'inputFile' | 'inputFileBig'; parts?: number },
): Promise<void> {
  let used: InputFile | undefined;
  const doc = await reg.upload(id, data, {
    partSize: options.partSize,
    use: (file) => {
      used = file;
      return uploadMedia(reg, id)(file);
    },
  });
  t.is(used?._, options.expect, `${data.length} B: ${options.expect}`);
  if (options.parts !== undefined) t.is(used?.parts, options.parts, `${data.length} B: parts`);
  t.is(Number(doc.size), data.length);
  const direct = await reg.download(id, locationOf(doc), { size: data.length });
  sameBytes(t, direct, data, `${data.length} B direct`);
  const stored = world.files.get(doc.id);
  if (!stored) throw new Error('not stored');
  world.files.serveThroughCdn(stored);
  const redirects = world.files.stats.redirects;
  const cdn = await reg.download(id, locationOf(doc));
  sameBytes(t, cdn, data, `${data.length} B through the CDN`);
  t.true(world.files.stats.redirects > redirects, 'the CDN served it');
  world.files.remove(doc.id);
  world.files.clearUploads();
}

test.serial(
  '1 B, one part exactly, a part minus and plus one byte (the planned part and 512 KiB)',
  async (t) => {
    await roundTrip(t, randomBytes(1), { expect: 'inputFile', parts: 1 });
    // Up to 256 KiB the plan takes 32 KiB parts.
    await roundTrip(t, randomBytes(32 * KIB), { expect: 'inputFile', parts: 1 });
    await roundTrip(t, randomBytes(32 * KIB - 1), { expect: 'inputFile', parts: 1 });
    await roundTrip(t, randomBytes(32 * KIB + 1), { expect: 'inputFile', parts: 2 });
    for (const size of [512 * KIB - 1, 512 * KIB, 512 * KIB + 1]) {
      await roundTrip(t, randomBytes(size), {
        partSize: 512 * KIB,
        expect: 'inputFile',
        parts: Math.ceil(size / (512 * KIB)),
      });
    }
  },
);

test.serial('10 MB - 1 and 10 MB go with saveFilePart and md5; 10 MB + 1 with saveBigFilePart', async (t) => {
  const saved = () => world.dc(2).executions('upload.saveFilePart').length;
  const savedBig = () => world.dc(2).executions('upload.saveBigFilePart').length;
  const inPlace = () => world.dc(2).stats.partsInPlace;
  const [s0, b0, p0] = [saved(), savedBig(), inPlace()];
  await roundTrip(t, randomBytes(10 * MIB - 1), { expect: 'inputFile', parts: 20 });
  await roundTrip(t, randomBytes(10 * MIB), { expect: 'inputFile', parts: 20 });
  t.is(saved() - s0, 40);
  await roundTrip(t, randomBytes(10 * MIB + 1), { expect: 'inputFileBig', parts: 21 });
  t.is(savedBig() - b0, 21);
  // TestDc ran the 61 parts where they were decrypted (the bytes it kept are copies: the
  // round trips above compared them), all but the 1-byte last one and a connection's
  // first, which goes in invokeWithLayer; and it holds none of that memory once idle.
  t.true(inPlace() - p0 >= 61 - 1 - 4, `${inPlace() - p0} parts in place`);
  t.is(world.dc(2).stats.partsInPlaceRunning, 0);
});

test.serial(
  '0 B: an empty file is refused before anything is sent (the server takes no empty part); an empty stored file downloads empty',
  async (t) => {
    const before = world.dc(2).executions('upload.saveFilePart').length;
    const e = (await t.throwsAsync(reg.upload(id, Buffer.alloc(0)))) as FileError;
    t.true(e instanceof FileError);
    t.is(e.code, 'FILE_EMPTY');
    const fromStream = (await t.throwsAsync(reg.upload(id, Readable.from([])))) as FileError;
    t.is(fromStream.code, 'FILE_EMPTY');
    t.is(world.dc(2).executions('upload.saveFilePart').length, before);
    const empty = world.files.put(Buffer.alloc(0), { dcId: 2 });
    t.is((await reg.download(id, empty.location)).length, 0);
    t.is((await reg.download(id, empty.location, { size: 0 })).length, 0);
    world.files.serveThroughCdn(empty);
    t.is((await reg.download(id, empty.location)).length, 0);
  },
);

test.serial(
  '100 MB: uploaded from a file, downloaded to a file directly and to a Buffer through the CDN',
  async (t) => {
    const data = randomBytes(100 * MIB);
    const path = join(dir, 'big.bin');
    await writeFile(path, data);
    const progress: FileProgress[] = [];
    let started = Date.now();
    const doc = await reg.upload(id, path, {
      use: uploadMedia(reg, id),
      onProgress: (p) => progress.push(p),
    });
    t.log(`upload 100 MB: ${Date.now() - started} ms`);
    t.deepEqual(progress.at(-1), { bytes: data.length, total: data.length });
    t.true(progress.every((p, i) => i === 0 || p.bytes > progress[i - 1].bytes));
    const out = join(dir, 'big.out');
    started = Date.now();
    const r = await reg.download(id, locationOf(doc), { to: out, size: data.length });
    t.log(`download 100 MB to a file: ${Date.now() - started} ms`);
    t.is(r.bytes, data.length);
    t.false(r.cdn);
    sameBytes(t, await readFile(out), data, '100 MB direct');
    const stored = world.files.get(doc.id);
    if (stored) world.files.serveThroughCdn(stored);
    started = Date.now();
    sameBytes(t, await reg.download(id, locationOf(doc)), data, '100 MB through the CDN');
    t.log(`download 100 MB through the CDN: ${Date.now() - started} ms`);
    world.files.remove(doc.id);
    world.files.clearUploads();
  },
);

/** A stream of `data` in chunks of odd sizes. */
function chunked(data: Buffer): Readable {
  const chunks: Buffer[] = [];
  for (let at = 0, n = 1; at < data.length; n = (n * 7 + 13) % 70_000) {
    chunks.push(data.subarray(at, at + n + 1));
    at += n + 1;
  }
  return Readable.from(chunks);
}

test.serial(
  'streams of unknown length: a small one (inputFile with md5), a big one (file_total_parts -1 until the end)',
  async (t) => {
    const small = randomBytes(3 * MIB + 17);
    let file: InputFile | undefined;
    const doc = await reg.upload(id, chunked(small), {
      use: (f) => {
        file = f;
        return uploadMedia(reg, id)(f);
      },
    });
    t.is(file?._, 'inputFile');
    sameBytes(t, await reg.download(id, locationOf(doc)), small, 'small stream');
    const big = randomBytes(12 * MIB + 5);
    // The parts as sent: file_total_parts -1 while the end was not read, then the count.
    const totals = new Map<number, number>();
    world.dc(2).handle('upload.saveBigFilePart', (req, ctx) => {
      totals.set(req.filePart, req.fileTotalParts);
      world.files.savePart(
        ctx.userId as bigint,
        req.fileId,
        true,
        req.filePart,
        req.bytes,
        req.fileTotalParts,
      );
      return true;
    });
    let bigDoc: Awaited<ReturnType<ReturnType<typeof uploadMedia>>>;
    try {
      bigDoc = await reg.upload(id, chunked(big), {
        use: (f) => {
          file = f;
          return uploadMedia(reg, id)(f);
        },
      });
    } finally {
      world.dc(2).unhandle('upload.saveBigFilePart');
    }
    t.is(file?._, 'inputFileBig');
    t.is(file?.parts, 25);
    t.is(totals.get(0), -1, 'the first part went before the end was known');
    t.is(totals.get(24), 25, 'the last part carries the count');
    sameBytes(t, await reg.download(id, locationOf(bigDoc)), big, 'big stream');
    // A declared length the stream does not keep.
    const e = (await t.throwsAsync(reg.upload(id, chunked(small), { size: small.length + 1 }))) as FileError;
    t.is(e.code, 'SIZE_MISMATCH');
    const over = (await t.throwsAsync(
      reg.upload(id, chunked(small), { size: small.length - 1 }),
    )) as FileError;
    t.is(over.code, 'SIZE_MISMATCH');
  },
);

test.serial(
  'destinations: a Writable, a file resumed from an offset, a precise range, progress',
  async (t) => {
    const data = randomBytes(5 * MIB + 333);
    const stored = world.files.put(data, { dcId: 2 });
    // A stream the caller owns: written in order, with its back-pressure.
    const sink = new PassThrough({ highWaterMark: 64 * KIB });
    const got: Buffer[] = [];
    sink.on('data', (c: Buffer) => got.push(c));
    const r = await reg.download(id, stored.location, { to: sink });
    t.is(r.bytes, data.length);
    sameBytes(t, Buffer.concat(got), data, 'to a stream');
    // Half, then the rest from where it stopped.
    const path = join(dir, 'resumed.bin');
    const half = 2 * MIB + 1000;
    await reg.download(id, stored.location, { to: path, length: half });
    t.is((await readFile(path)).length, half);
    const progress: FileProgress[] = [];
    await reg.download(id, stored.location, { to: path, offset: half, onProgress: (p) => progress.push(p) });
    sameBytes(t, await readFile(path), data, 'resumed');
    t.is(progress.at(-1)?.bytes, data.length - half);
    // A range by 1 KiB (precise) and an unaligned one.
    sameBytes(
      t,
      await reg.download(id, stored.location, { offset: 5 * KIB, length: 70_000, precise: true }),
      data.subarray(5 * KIB, 5 * KIB + 70_000),
      'precise range',
    );
    sameBytes(
      t,
      await reg.download(id, stored.location, { offset: 1_000_001, length: 3 }),
      data.subarray(1_000_001, 1_000_004),
      'unaligned range',
    );
    // And the same through the CDN (parts widened to whole hashed parts, cut back).
    world.files.serveThroughCdn(stored);
    sameBytes(
      t,
      await reg.download(id, stored.location, { offset: 1_000_001, length: 300_000 }),
      data.subarray(1_000_001, 1_300_001),
      'CDN range',
    );
    sameBytes(
      t,
      await reg.download(id, stored.location, { partSize: 64 * KIB }),
      data,
      'CDN with 64 KiB parts',
    );
    world.files.remove(stored.id);
  },
);

/**
 * Runs `body` with `data` stored on DC 2 and the lengths of the upload.file answers the
 * session sees (a part written in place comes with empty bytes: 16); undoes the faults.
 */
async function withFileAnswers(
  data: Buffer,
  body: (stored: ReturnType<TestWorld['files']['put']>, fileAnswers: number[]) => Promise<void>,
): Promise<void> {
  const stored = world.files.put(data, { dcId: 2 });
  const fileAnswers: number[] = [];
  reg.setClient(id, (e) => {
    if (e.kind === 'rpcResult' && e.body.readUInt32LE(0) === 0x096a18d5) fileAnswers.push(e.body.length);
  });
  try {
    await body(stored, fileAnswers);
  } finally {
    reg.setClient(id, undefined);
    world.dc(2).reorderReplies(0);
    world.files.faults.clear();
    world.files.remove(stored.id);
  }
}

test.serial(
  'to a Buffer of known size, each part is written in its place as it is decrypted (no Buffer of its own); ranges that cut a part, and faults, still give the exact bytes',
  async (t) => {
    const data = randomBytes(3 * MIB + 4321);
    await withFileAnswers(data, async (stored, fileAnswers) => {
      sameBytes(t, await reg.download(id, stored.location, { size: data.length }), data, 'whole');
      t.is(fileAnswers.length, 7);
      t.true(
        fileAnswers.every((n) => n === 16),
        `answers of ${fileAnswers} bytes`,
      );
      // From an offset, to a length that ends inside a part: the parts before the cut land
      // in place; the last one is longer than what is left of the destination and comes
      // as usual, cut back.
      fileAnswers.length = 0;
      sameBytes(
        t,
        await reg.download(id, stored.location, { offset: MIB, length: MIB + 1000 }),
        data.subarray(MIB, 2 * MIB + 1000),
        'range',
      );
      t.deepEqual(fileAnswers, [16, 16, 16 + 512 * KIB]);
      // Answers out of order, and one so late that its part timed out and was fetched
      // again (the late one, no longer awaited, must not land anywhere): still exact.
      world.dc(2).reorderReplies(3);
      world.files.faults.slowParts(1500, 1);
      sameBytes(
        t,
        await reg.download(id, stored.location, { size: data.length, partTimeoutMs: 500 }),
        data,
        'reordered, one late',
      );
      await new Promise((r) => setTimeout(r, 1200));
    });
  },
);

test.serial(
  'to a file, parts are decrypted into memory the destination lends and takes back once written; faults still give the exact bytes',
  async (t) => {
    const data = randomBytes(12 * MIB + 777);
    const path = join(dir, 'lent.bin');
    // Part-sized memory made during the download: a window's worth, not one per part.
    const made: number[] = [];
    const allocUnsafeSlow = Buffer.allocUnsafeSlow;
    Buffer.allocUnsafeSlow = (n: number) => {
      if (n >= 512 * KIB) made.push(n);
      return allocUnsafeSlow(n);
    };
    await withFileAnswers(data, async (stored, fileAnswers) => {
      await reg.download(id, stored.location, { to: path, size: data.length, window: 4 });
      sameBytes(t, await readFile(path), data, 'whole');
      t.is(fileAnswers.length, 25);
      t.true(
        fileAnswers.every((n) => n === 16),
        `answers of ${fileAnswers} bytes`,
      );
      t.true(made.length >= 1 && made.length <= 8, `${made.length} part buffers for 25 parts`);
      // Out of order, and one part so late it was fetched again: the late answer lands
      // nowhere (its request is gone), and memory goes back only once written.
      world.dc(2).reorderReplies(3);
      world.files.faults.slowParts(1500, 1);
      await reg.download(id, stored.location, { to: path, partTimeoutMs: 500, window: 4 });
      sameBytes(t, await readFile(path), data, 'reordered, one late');
      await new Promise((r) => setTimeout(r, 1200));
      sameBytes(t, await readFile(path), data, 'after the late answer');
      // An fs.WriteStream the caller opened is written the same way (it is done with a
      // chunk once its callback ran); it is left open for the caller.
      world.dc(2).reorderReplies(0);
      fileAnswers.length = 0;
      made.length = 0;
      const streamPath = join(dir, 'lent-stream.bin');
      const stream = createWriteStream(streamPath);
      await reg.download(id, stored.location, { to: stream, size: data.length, window: 4 });
      await new Promise<void>((resolve, reject) =>
        stream.end((e?: Error | null) => (e ? reject(e) : resolve())),
      );
      sameBytes(t, await readFile(streamPath), data, 'to an fs.WriteStream');
      t.true(
        fileAnswers.length === 25 && fileAnswers.every((n) => n === 16),
        `answers of ${fileAnswers} bytes`,
      );
      t.true(made.length >= 1 && made.length <= 8, `${made.length} part buffers for 25 parts`);
    }).finally(() => {
      Buffer.allocUnsafeSlow = allocUnsafeSlow;
    });
  },
);

test.serial(
  "a test's own saveFilePart handler may keep the parts' bytes: TestDc gives it bytes of their own",
  async (t) => {
    const data = randomBytes(3 * MIB);
    const kept = new Map<number, Buffer>();
    world.dc(2).handle('upload.saveFilePart', (req) => {
      kept.set(req.filePart, req.bytes);
      return true;
    });
    const inPlace = world.dc(2).stats.partsInPlace;
    try {
      await reg.upload(id, data);
    } finally {
      world.dc(2).unhandle('upload.saveFilePart');
    }
    t.true(kept.size > 1, `${kept.size} parts`);
    sameBytes(t, Buffer.concat([...kept].sort(([a], [b]) => a - b).map(([, b]) => b)), data, 'kept parts');
    t.is(world.dc(2).stats.partsInPlace, inPlace, 'none ran in the shared memory');
  },
);

test.serial('bad options are refused with BAD_OPTIONS before anything is sent', async (t) => {
  const loc = world.files.put(randomBytes(10), { dcId: 2 }).location;
  for (const o of [
    { partSize: 3000 },
    { partSize: 1024 * KIB },
    { window: 0 },
    { offset: -1 },
    { length: 1.5 },
  ]) {
    t.is(
      ((await t.throwsAsync(reg.download(id, loc, o))) as FileError).code,
      'BAD_OPTIONS',
      JSON.stringify(o),
    );
  }
  for (const o of [{ partSize: 3000 }, { window: 100 }, { size: -1 }]) {
    t.is(
      ((await t.throwsAsync(reg.upload(id, Readable.from([Buffer.alloc(5)]), o))) as FileError).code,
      'BAD_OPTIONS',
    );
  }
  t.is(((await t.throwsAsync(reg.upload(id, 42 as never))) as FileError).code, 'BAD_OPTIONS');
  t.is(((await t.throwsAsync(reg.upload(id, join(dir, 'no-such-file')))) as FileError).code, 'SOURCE_FAILED');
});

// File transfers against TestDc's faults, over real sockets: a tampered CDN part and a
// wrong hash (refused, nothing unchecked handed over), re-upload to the CDN, a CDN that
// gives up (back to the file's DC), FILE_MIGRATE to a DC reached by its media-only
// address, a part the server lost (FILE_PART_X_MISSING), FILE_PARTS_INVALID, retried and
// refused parts, slow parts, a connection dropped mid-transfer, and aborts.
// Serial: faults belong to the whole world.

import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import test from 'ava';
import { FileError, PartBudget, RpcError, type SessionRegistry } from '../bindings';
import type { Handler, TestWorld } from '../bindings/testing';
import { fileHandlers } from '../bindings/testing/file-methods';
import { botSession, filesWorld, KIB, locationOf, MIB, sameBytes, uploadMedia } from './files-support';

let world: TestWorld;
let reg: SessionRegistry;
let id: string;

test.before(async () => {
  world = await filesWorld();
  ({ reg, id } = await botSession(world));
});
test.after.always(async () => {
  await reg?.close(id);
  await world?.stop();
});
test.afterEach.always(() => {
  world.files.faults.clear();
  for (const dc of [...world.dcs.values(), world.cdn]) dc?.clearFaults();
});

/** A download into a stream: the bytes it was handed, whatever happened. */
async function downloadToStream(location: Parameters<SessionRegistry['download']>[1], window?: number) {
  const sink = new PassThrough();
  const got: Buffer[] = [];
  sink.on('data', (c: Buffer) => got.push(c));
  const result = await reg.download(id, location, { to: sink, window }).then(
    (r) => r,
    (e: unknown) => e as FileError,
  );
  return { result, written: Buffer.concat(got) };
}

test.serial(
  'a tampered CDN part is refused with CDN_HASH_MISMATCH; nothing unchecked reaches the destination',
  async (t) => {
    const data = randomBytes(3 * MIB);
    const stored = world.files.put(data, { dcId: 2, cdn: true });
    world.files.faults.tamperCdn = 1;
    const { result, written } = await downloadToStream(stored.location);
    const e = result as FileError;
    t.true(e instanceof FileError);
    t.is(e.code, 'CDN_HASH_MISMATCH');
    t.is(written.length, 0, 'the first CDN part was the tampered one: nothing was handed over');
    // A wrong hash from the master DC: the last hash of the redirect's list (the part at 896 KiB).
    world.files.faults.wrongHashes = 1;
    const again = await downloadToStream(stored.location);
    t.is((again.result as FileError).code, 'CDN_HASH_MISMATCH');
    t.is((again.result as FileError).offset, 896 * KIB);
    t.true(again.written.length <= 896 * KIB, 'nothing from the refused part on');
    t.true(again.written.equals(data.subarray(0, again.written.length)), 'what was handed over is the file');
    // Without the fault it comes through.
    sameBytes(t, await reg.download(id, stored.location), data, 'clean');
  },
);

test.serial(
  "the CDN does not hold the file: upload.reuploadCdnFile on the file's DC, then the CDN serves it",
  async (t) => {
    const data = randomBytes(2 * MIB + 99);
    const stored = world.files.put(data, { dcId: 2, cdn: { reuploadNeeded: true } });
    const before = world.dc(2).executions('upload.reuploadCdnFile').length;
    sameBytes(t, await reg.download(id, stored.location), data, 'after a re-upload');
    t.is(
      world.dc(2).executions('upload.reuploadCdnFile').length - before,
      1,
      'one re-upload, shared by the parts waiting',
    );
    // The CDN drops it again mid-way.
    world.files.faults.needReupload = 2;
    sameBytes(t, await reg.download(id, stored.location), data, 'after more re-uploads');
    t.true(world.dc(2).executions('upload.reuploadCdnFile').length - before >= 2);
  },
);

test.serial(
  'the CDN DC: keys from help.getCdnConfig (not trusted otherwise), no authorization imported, no updates',
  async (t) => {
    const cdn = world.cdn;
    if (!cdn) throw new Error('no CDN DC');
    t.not(cdn.rsaPublicKey.pem, world.rsaPublicKey.pem, 'the CDN has a key of its own');
    const stored = world.files.put(randomBytes(MIB), { dcId: 2, cdn: true });
    await reg.download(id, stored.location);
    t.true(world.dc(2).executions('help.getCdnConfig').length >= 1);
    t.true(cdn.executions('upload.getCdnFile').length >= 1);
    t.is(cdn.executions('auth.importAuthorization').length, 0);
    t.true(
      cdn.authKeys().every((k) => k.userId === undefined),
      'no key on the CDN is logged in',
    );
    // The CDN refuses everything else.
    world.files.remove(stored.id);
    const e = await t.throwsAsync(reg.call(id, 'help.getNearestDc', {}, { dc: cdn.dcId, cdn: true }));
    t.is((e as RpcError).errorMessage, 'CDN_METHOD_INVALID');
  },
);

test.serial(
  "FILE_TOKEN_INVALID from the CDN: the download goes on from the file's DC with upload.getFile",
  async (t) => {
    const data = randomBytes(3 * MIB);
    const stored = world.files.put(data, { dcId: 2, cdn: true });
    world.cdn?.failNext('upload.getCdnFile', 400, 'FILE_TOKEN_INVALID', 100);
    const served = world.files.stats.partsServed;
    sameBytes(t, await reg.download(id, stored.location), data, 'from the DC');
    t.true(world.files.stats.partsServed - served >= 6, 'the parts came from upload.getFile');
  },
);

test.serial(
  'FILE_MIGRATE_4: the parts go to DC 4 by its media-only address, authorized once; its CDN file re-uploads there',
  async (t) => {
    const dc4 = world.dc(4);
    const data = randomBytes(4 * MIB + 1);
    const stored = world.files.put(data, { dcId: 4 });
    const migrations = () =>
      world.dc(2).stats.injectedErrors + world.dc(2).executions('upload.getFile').length;
    const media = dc4.stats.mediaConnections;
    const before = migrations();
    const r = await reg.download(id, stored.location, { to: new PassThrough().resume() });
    t.is(r.dcId, 4);
    t.true(migrations() - before <= 1, 'one part asked DC 2 and learned DC 4; the rest went to DC 4');
    t.true(dc4.stats.mediaConnections > media, 'DC 4 was reached by its media-only address');
    t.is(dc4.executions('auth.importAuthorization').length, 1);
    sameBytes(t, await reg.download(id, stored.location), data, 'from DC 4');
    // An injected FILE_MIGRATE_4 on DC 2 for a file DC 4 holds, told by dcId: straight there.
    world.dc(2).migrate('upload.getFile', 'FILE', 4, 5);
    sameBytes(t, await reg.download(id, stored.location, { dcId: 4 }), data, 'dcId given');
    // A CDN file whose master is DC 4: hashes and re-uploads are asked of DC 4.
    const cdnData = randomBytes(2 * MIB);
    const cdnStored = world.files.put(cdnData, { dcId: 4, cdn: { reuploadNeeded: true } });
    sameBytes(t, await reg.download(id, cdnStored.location), cdnData, 'CDN file of DC 4');
    t.is(dc4.executions('upload.reuploadCdnFile').length, 1);
    t.true(dc4.executions('upload.getCdnFileHashes').length >= 1);
  },
);

test.serial(
  'a part the server lost: FILE_PART_X_MISSING sends it again and runs the call again; a stream cannot',
  async (t) => {
    const data = randomBytes(2 * MIB);
    world.files.faults.loseParts = 1;
    const uses = world.dc(2).executions('messages.uploadMedia').length;
    const doc = await reg.upload(id, data, { use: uploadMedia(reg, id) });
    t.is(world.files.stats.partsLost > 0, true);
    t.is(
      world.dc(2).executions('messages.uploadMedia').length - uses,
      2,
      'FILE_PART_0_MISSING once, then it worked',
    );
    sameBytes(t, await reg.download(id, locationOf(doc)), data, 'mended');
    world.files.faults.loseParts = 1;
    const e = (await t.throwsAsync(
      reg.upload(id, Readable.from([data]), { use: uploadMedia(reg, id) }),
    )) as FileError;
    t.is(e.code, 'PART_MISSING');
    t.true(e.cause instanceof RpcError && /^FILE_PART_\d+_MISSING$/.test(e.cause.errorMessage));
  },
);

test.serial(
  'FILE_PARTS_INVALID is PARTS_INVALID; a refused part fails at once with its error; 500s and short FLOOD_WAITs are retried',
  async (t) => {
    const dc2 = world.dc(2);
    dc2.failNext('upload.saveFilePart', 400, 'FILE_PARTS_INVALID');
    const invalid = (await t.throwsAsync(reg.upload(id, randomBytes(100 * KIB)))) as FileError;
    t.is(invalid.code, 'PARTS_INVALID');
    const stored = world.files.put(randomBytes(3 * MIB), { dcId: 2 });
    dc2.failNext('upload.getFile', 400, 'FILE_REFERENCE_EXPIRED');
    const refused = (await t.throwsAsync(reg.download(id, stored.location))) as FileError;
    t.is(refused.code, 'PART_FAILED');
    t.is((refused.cause as RpcError).errorMessage, 'FILE_REFERENCE_EXPIRED');
    // Server errors: each part tries again on its own.
    dc2.failNext('upload.getFile', 500, 'INTERNAL_SERVER_ERROR', 3);
    dc2.failNext('upload.saveFilePart', 500, 'INTERNAL_SERVER_ERROR', 3);
    const data = randomBytes(MIB);
    const doc = await reg.upload(id, data, { use: uploadMedia(reg, id) });
    sameBytes(t, await reg.download(id, locationOf(doc)), data, 'after retries');
    dc2.floodWait('upload.getFile', 1);
    sameBytes(t, await reg.download(id, locationOf(doc)), data, 'after FLOOD_WAIT_1');
    dc2.floodWait('upload.getFile', 100);
    const flood = (await t.throwsAsync(reg.download(id, locationOf(doc)))) as FileError;
    t.is(flood.code, 'PART_FAILED');
    // Retries used up.
    dc2.failNext('upload.getFile', 500, 'INTERNAL_SERVER_ERROR', 10);
    const tired = (await t.throwsAsync(reg.download(id, locationOf(doc), { retries: 2 }))) as FileError;
    t.is(tired.code, 'PART_FAILED');
    t.regex(tired.message, /3 attempts/);
  },
);

test.serial(
  'slow parts: the window keeps the others going (up to `window` held at once); the order holds',
  async (t) => {
    const data = randomBytes(4 * MIB);
    const stored = world.files.put(data, { dcId: 2 });
    world.files.stats.peakSlowParts = 0;
    world.files.faults.slowParts(150, 8);
    sameBytes(t, await reg.download(id, stored.location, { window: 4 }), data, 'slow download');
    t.is(world.files.stats.peakSlowParts, 4, 'four parts were held at once, never more');
    world.files.stats.peakSlowParts = 0;
    world.files.faults.slowParts(150, 8);
    const doc = await reg.upload(id, data, { window: 6, use: uploadMedia(reg, id) });
    t.is(world.files.stats.peakSlowParts, 6);
    sameBytes(t, await reg.download(id, locationOf(doc)), data, 'slow upload');
  },
);

test.serial(
  'a connection dropped mid-transfer: the transfer goes on; what was done is not fetched or saved again',
  async (t) => {
    const dc2 = world.dc(2);
    const data = randomBytes(20 * MIB);
    const stored = world.files.put(data, { dcId: 2 });
    const dups = dc2.stats.duplicates;
    // The real handlers, with what they serve and save written down.
    const real = fileHandlers({ dcId: 2, files: world.files });
    const getFile = real.get('upload.getFile') as Handler<'upload.getFile'>;
    const saveBig = real.get('upload.saveBigFilePart') as Handler<'upload.saveBigFilePart'>;
    const served: number[] = [];
    const saved: number[] = [];
    dc2.handle('upload.getFile', (req, ctx) => {
      served.push(Number(req.offset));
      return getFile(req, ctx);
    });
    dc2.handle('upload.saveBigFilePart', (req, ctx) => {
      saved.push(req.filePart);
      return saveBig(req, ctx);
    });
    try {
      let had = -1;
      let servedBefore = 0;
      const got = await reg.download(id, stored.location, {
        size: data.length,
        onProgress: (p) => {
          if (had < 0 && p.bytes >= 5 * MIB) {
            had = p.bytes;
            servedBefore = served.length;
            dc2.dropConnections();
          }
        },
      });
      t.true(had > 0);
      sameBytes(t, got, data, 'after the drop');
      t.deepEqual(
        served.slice(servedBefore).filter((o) => o < had),
        [],
        'no part the client had was fetched again',
      );
      t.is(new Set(served).size, 40);
      t.log(`${served.length} parts served for 40, ${served.length - servedBefore} after the drop`);
      // The session re-sends only what the server lacks (msgs_state_req): nothing runs twice.
      t.is(served.length, 40);
      let acked = -1;
      let savedBefore = 0;
      const doc = await reg.upload(id, data, {
        onProgress: (p) => {
          if (acked < 0 && p.bytes >= 5 * MIB) {
            acked = p.bytes;
            savedBefore = saved.length;
            dc2.dropConnections();
          }
        },
        use: uploadMedia(reg, id),
      });
      t.true(acked > 0);
      t.is(new Set(saved).size, 40);
      t.log(`${saved.length} parts saved for 40, ${saved.length - savedBefore} after the drop`);
      t.is(saved.length, 40);
      t.is(dc2.stats.duplicates, dups, 'no message ran twice');
      sameBytes(t, await reg.download(id, locationOf(doc)), data, 'uploaded across a drop');
    } finally {
      dc2.unhandle('upload.getFile');
      dc2.unhandle('upload.saveBigFilePart');
    }
  },
);

test.serial(
  'a shared budget bounds the parts held by all transfers together: 6 downloads and 2 uploads, 5 parts at once',
  async (t) => {
    const budget = new PartBudget(5);
    const files = Array.from({ length: 6 }, () => randomBytes(2 * MIB + 7));
    const stored = files.map((f) => world.files.put(f, { dcId: 2 }));
    world.files.stats.peakSlowParts = 0;
    world.files.faults.slowParts(40);
    let peak = 0;
    const watch = setInterval(() => {
      peak = Math.max(peak, budget.inUse);
    }, 2);
    try {
      const downloads = stored.map((f) => reg.download(id, f.location, { window: 4, budget }));
      const uploads = [0, 1].map((i) => reg.upload(id, files[i], { window: 4, budget }));
      const got = await Promise.all(downloads);
      for (const [i, f] of files.entries()) sameBytes(t, got[i], f, `download ${i}`);
      for (const u of await Promise.all(uploads)) t.is(u._, 'inputFile');
    } finally {
      clearInterval(watch);
    }
    t.true(
      world.files.stats.peakSlowParts <= 5,
      `${world.files.stats.peakSlowParts} parts at the DC at once`,
    );
    t.true(peak <= 5 && peak >= 2, `budget peak ${peak}`);
    t.is(budget.inUse, 0, 'every unit given back');
    t.is(budget.waiting, 0);
    // An abort while waiting in line gives nothing away and leaves no waiter.
    const tight = new PartBudget(1);
    world.files.faults.slowParts(200, 1);
    const first = reg.download(id, stored[0].location, { budget: tight });
    const ac = new AbortController();
    const second = reg.download(id, stored[1].location, { budget: tight, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 50));
    t.is(tight.waiting, 1);
    ac.abort(new Error('not now'));
    t.is(((await t.throwsAsync(second)) as FileError).code, 'ABORTED');
    sameBytes(t, await first, files[0], 'the first goes on');
    t.is(tight.inUse, 0);
    t.is(tight.waiting, 0);
  },
);

test.serial(
  'FILE_REFERENCE_EXPIRED: refreshLocation gives a fresh reference once for all parts waiting; the bytes are whole',
  async (t) => {
    const data = randomBytes(6 * MIB + 123);
    const stored = world.files.put(data, { dcId: 2 });
    const stale = stored.location;
    // Expired before the first part, and again half way through.
    world.files.renewReference(stored);
    let refreshes = 0;
    let renewedMidway = false;
    const got = await reg.download(id, stale, {
      window: 4,
      partSize: 512 * KIB,
      refreshLocation: async (e) => {
        t.is(e.errorMessage, 'FILE_REFERENCE_EXPIRED');
        refreshes++;
        await new Promise((r) => setTimeout(r, 20));
        return stored.location;
      },
      onProgress: ({ bytes }) => {
        if (!renewedMidway && bytes >= 3 * MIB) {
          renewedMidway = true;
          world.files.renewReference(stored);
        }
      },
    });
    sameBytes(t, got, data, 'across two expiries');
    t.is(refreshes, 2, 'one refresh per expiry, whatever the number of parts that hit it');

    // Without refreshLocation: PART_FAILED with the server's error as its cause.
    world.files.renewReference(stored);
    const e = (await t.throwsAsync(reg.download(id, stale))) as FileError;
    t.is(e.code, 'PART_FAILED');
    t.is((e.cause as RpcError).errorMessage, 'FILE_REFERENCE_EXPIRED');

    // A refresh that gives a stale reference again and again: given up after 3.
    let tries = 0;
    const loop = (await t.throwsAsync(
      reg.download(id, stale, {
        refreshLocation: async () => {
          tries++;
          return stale;
        },
      }),
    )) as FileError;
    t.is(loop.code, 'PART_FAILED');
    t.is(tries, 3);
    // A refresh that fails: PART_FAILED with its error as the cause.
    const failing = (await t.throwsAsync(
      reg.download(id, stale, {
        refreshLocation: () => Promise.reject(new Error('message deleted')),
      }),
    )) as FileError;
    t.is(failing.code, 'PART_FAILED');
    t.is((failing.cause as Error).message, 'message deleted');
  },
);

test.serial('an abort leaves no pending part and no connection behind', async (t) => {
  // A session of its own, so that its connections can be counted when it closes.
  const own = await botSession(world);
  const dc2 = world.dc(2);
  const data = randomBytes(40 * MIB);
  const stored = world.files.put(data, { dcId: 2 });
  world.files.faults.slowParts(30);
  const ac = new AbortController();
  const progress: number[] = [];
  const p = own.reg.download(own.id, stored.location, {
    signal: ac.signal,
    onProgress: (x) => {
      progress.push(x.bytes);
      if (x.bytes >= 2 * MIB) ac.abort(new Error('enough'));
    },
  });
  const e = (await t.throwsAsync(p)) as FileError;
  t.is(e.code, 'ABORTED');
  t.is((e.cause as Error).message, 'enough');
  t.is(own.reg.state(own.id).pending, 0, 'no call is waiting when the promise rejects');
  // What was already on the wire still arrives; after that, nothing more is sent.
  await new Promise((r) => setTimeout(r, 200));
  const ran = dc2.executions('upload.getFile').length;
  await new Promise((r) => setTimeout(r, 300));
  t.is(dc2.executions('upload.getFile').length, ran, 'nothing more reaches the DC');
  // The same for an upload.
  const up = new AbortController();
  const q = own.reg.upload(own.id, data, {
    signal: up.signal,
    onProgress: (x) => {
      if (x.bytes >= 2 * MIB) up.abort();
    },
  });
  t.is(((await t.throwsAsync(q)) as FileError).code, 'ABORTED');
  t.is(own.reg.state(own.id).pending, 0);
  // Already aborted: nothing is sent at all.
  const saved = world.files.stats.partsSaved;
  t.is(
    ((await t.throwsAsync(own.reg.upload(own.id, data, { signal: AbortSignal.abort() }))) as FileError).code,
    'ABORTED',
  );
  t.is(world.files.stats.partsSaved, saved);
  world.files.faults.clear();
  // Closing the session closes every connection it made (the pool's extra ones too).
  const perm = own.reg.state(own.id).authKeyId;
  const connected = () => {
    const keys = new Set(
      dc2
        .authKeys()
        .filter((k) => k.authKeyId === perm || k.boundTo === perm)
        .map((k) => k.authKeyId),
    );
    return dc2.sessions().filter((s) => s.connected && keys.has(s.authKeyId)).length;
  };
  t.true(connected() >= 2, 'the session had its main and extra connections');
  await own.reg.close(own.id);
  for (let i = 0; i < 100 && connected() > 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.is(connected(), 0);
});

test.serial(
  'keepUploadedBytes false: parts are checked and counted, then the file cannot be used (500 UPLOAD_BYTES_DROPPED)',
  async (t) => {
    const store = world.files;
    const saved = store.stats.partsSaved;
    store.keepUploadedBytes = false;
    try {
      const file = await reg.upload(id, randomBytes(12 * MIB + 5));
      t.is(store.stats.partsSaved - saved, 25, 'every 512 KiB part was taken');
      const e = (await t.throwsAsync(uploadMedia(reg, id)(file))) as RpcError;
      t.true(e instanceof RpcError);
      t.is(e.errorMessage, 'UPLOAD_BYTES_DROPPED');
      // The part rules still apply to what is dropped.
      const bad = (await t.throwsAsync(
        reg.call(id, 'upload.saveBigFilePart', {
          fileId: 9n,
          filePart: 0,
          fileTotalParts: 2,
          bytes: Buffer.alloc(1000),
        }),
      )) as RpcError;
      t.is(bad.errorMessage, 'FILE_PART_SIZE_INVALID');
    } finally {
      store.keepUploadedBytes = true;
    }
  },
);

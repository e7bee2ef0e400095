// TestDc's protocol core without sockets: a fake connection records what the core sends,
// and the key exchange runs on fixed randomness (replayable).

import { createHash } from 'node:crypto';
import test from 'ava';
import { TL } from '../bindings';
import { MtpLink, mtpMsgIdAt } from '../bindings/native';
import { AuthorizationRegistry, HandshakeServer, sharedTestRsaKey } from '../bindings/testing';
import { type CoreIo, DcCore, type Link } from '../bindings/testing/dc-core';
import { AuthKeyRecord } from '../bindings/testing/keys';

/** Deterministic "randomness": SHA-256 in counter mode from a seed. */
function seeded(seed: string): (n: number) => Buffer {
  let counter = 0;
  return (n) => {
    const out: Buffer[] = [];
    let len = 0;
    while (len < n) {
      const b = createHash('sha256').update(`${seed}:${counter++}`).digest();
      out.push(b);
      len += b.length;
    }
    return Buffer.concat(out).subarray(0, n);
  };
}

class FakeLink implements Link {
  static next = 1;
  readonly id = FakeLink.next++;
  closed = false;
  readonly sent: Buffer[] = [];
  readonly plains: Buffer[] = [];
  readonly errors: number[] = [];
  ended = false;
  readonly handshake = new HandshakeServer({ dcId: 2, rsaKey: sharedTestRsaKey(), random: seeded('link') });
  send(p: Buffer) {
    this.sent.push(p);
  }
  sendPlain(body: Buffer) {
    this.plains.push(body);
  }
  sendTransportError(code: number) {
    this.errors.push(code);
  }
  sendQuickAck() {}
  armDisconnect() {}
  end() {
    this.ended = true;
    this.closed = true;
  }
  destroy() {
    this.closed = true;
  }
}

function core(): DcCore {
  const io: CoreIo = { setTimer: () => 0, clearTimer: () => {}, log: () => {} };
  const c: DcCore = new DcCore(
    {
      dcId: 2,
      testMode: false,
      gzipAbove: 512,
      clock: () => 1_700_000_000_000,
      world: {
        dcOptions: () => [{ dcId: 2, host: '127.0.0.1', port: 1 }],
        authorizations: new AuthorizationRegistry(),
      },
    },
    io,
  );
  return c;
}

function plain(body: Buffer): Buffer {
  const p = Buffer.alloc(20 + body.length);
  p.writeBigUInt64LE(mtpMsgIdAt(1_700_000_000_000), 8);
  p.writeUInt32LE(body.length, 16);
  body.copy(p, 20);
  return p;
}

test('req_pq_multi is answered through the link, without sockets', (t) => {
  const c = core();
  const link = new FakeLink();
  c.onPacket(link, plain(TL.serialize({ _: 'req_pq_multi', nonce: Buffer.alloc(16, 9) })));
  t.is(link.plains.length, 1);
  const res = TL.deserialize(link.plains[0]) as TL.Objects['resPQ'];
  t.deepEqual(res.nonce, Buffer.alloc(16, 9));
  t.deepEqual(res.serverPublicKeyFingerprints, [BigInt.asIntN(64, sharedTestRsaKey().fingerprint)]);
  t.is(c.stats.packetsIn, 1);
});

test('the same randomness gives the same exchange (replayable)', (t) => {
  const run = () => {
    const hs = new HandshakeServer({ dcId: 2, rsaKey: sharedTestRsaKey(), random: seeded('x') });
    const step = hs.handle(
      TL.serialize({ _: 'req_pq_multi', nonce: Buffer.alloc(16, 1) }),
      1_700_000_000_000,
    );
    return step.kind === 'reply' ? step.body : Buffer.alloc(0);
  };
  t.deepEqual(run(), run());
  t.true(run().length > 0);
});

test('an unknown key gets -404 and the link is ended; a short packet destroys it', (t) => {
  const c = core();
  const a = new FakeLink();
  const p = Buffer.alloc(64, 1);
  c.onPacket(a, p);
  t.deepEqual(a.errors, [-404]);
  t.true(a.ended);
  t.is(c.stats.transportErrors, 1);
  const b = new FakeLink();
  c.onPacket(b, Buffer.from([1, 2, 3]));
  t.true(b.closed);
  t.deepEqual(b.errors, []);
});

test('a failed exchange step answers -404 and records why', (t) => {
  const c = core();
  const a = new FakeLink();
  c.onPacket(
    a,
    plain(
      TL.serialize({
        _: 'set_client_DH_params',
        nonce: Buffer.alloc(16),
        serverNonce: Buffer.alloc(16),
        encryptedData: Buffer.alloc(16),
      }),
    ),
  );
  t.deepEqual(a.errors, [-404]);
  t.regex(c.stats.lastHandshakeFailure!, /unknown nonce/);
});

/** A link that says whether the kernel took its writes, and opens each packet as it comes. */
class WritingLink extends FakeLink {
  readonly memory: ArrayBufferLike[] = [];
  constructor(
    private readonly pending: boolean | undefined,
    private readonly open: (packet: Buffer) => void,
  ) {
    super();
    if (pending === undefined) (this as Partial<Link>).writesPending = undefined;
  }
  writesPending(): boolean {
    return this.pending === true;
  }
  send(p: Buffer) {
    this.memory.push(p.buffer);
    // Opened now: a packet in the shared scratch is not the caller's to keep.
    this.open(p);
  }
}

test('packets are sealed into one scratch while the link writes them at once; never when it keeps them', async (t) => {
  const now = 1_700_000_000_000;
  const authKey = seeded('key')(256);
  const salt = 77n;
  for (const pending of [false, true, undefined]) {
    const c = core();
    const rec = new AuthKeyRecord(authKey, salt, now, {});
    c.keys.set(rec.authKeyId, rec);
    const client = new MtpLink(authKey, { salt, timeOffset: 0, autoFutureSalts: false });
    const answers: bigint[] = [];
    const link = new WritingLink(pending, (packet) => {
      for (const e of client.receive(Buffer.from(packet), now).events) {
        if (e.kind === 'rpcResult') answers.push(e.reqMsgId);
      }
    });
    const sent: bigint[] = [];
    for (let i = 0; i < 3; i++) {
      const out = client.transmit(now, [TL.serialize({ _: 'help.getNearestDc' })]);
      sent.push(...out.msgIds);
      for (const p of out.packets ?? []) c.onPacket(link, p);
      // The answer is sent once the handler's promise settles.
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Every answer opened right (the scratch held each until it was written).
    t.deepEqual(answers, sent, `writesPending ${pending}`);
    const distinct = new Set(link.memory).size;
    const scratches = link.memory.filter((m) => m.byteLength > 1024 * 1024).length;
    if (pending === false) t.true(distinct === 1 && scratches === link.memory.length, 'one scratch for all');
    // Kept by its write: a new scratch for each flush.
    else if (pending) t.true(distinct === link.memory.length && scratches === distinct, 'a scratch each');
    // A link that cannot tell gets the packets in memory of their own, as before.
    else t.is(scratches, 0, 'no scratch');
  }
});

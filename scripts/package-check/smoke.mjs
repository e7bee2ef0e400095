// The runtime smoke suite of the package check, run by Node, Bun and Deno in a
// project that installed the packed tarballs: key exchanges, calls, updates and
// close, through the public API against TestDc over loopback sockets. It exits
// by itself (nothing left open) and prints one `smoke: ok` line; any failure
// throws, and the runner's timeout catches a hang.
import { Session, TL } from 'telegram-mt';
import { TestDc } from 'telegram-mt/testing';

const SESSIONS = 4;
const CALLS = 20;
const UPDATES = 5;

function check(ok, what) {
  if (!ok) throw new Error(`smoke: ${what}`);
}

/** Resolves when `cond()` holds, checked on each `poke()`; rejects after `ms`. */
function waitFor(cond, ms, what) {
  let poke;
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`smoke: ${what} not within ${ms} ms`)), ms);
    poke = () => {
      if (cond()) {
        clearTimeout(timer);
        resolve();
      }
    };
  });
  return { done, poke: () => poke() };
}

const dc = await TestDc.start({ dcId: 2 });
let pts = 0;
dc.handle('messages.sendMessage', () => {
  pts++;
  return {
    _: 'updateShortSentMessage',
    out: true,
    id: pts,
    pts,
    ptsCount: 1,
    date: Math.floor(dc.now() / 1000),
  };
});

const kinds = new Map();
let clientUpdates = 0;
const arrived = waitFor(() => clientUpdates >= SESSIONS * UPDATES, 20_000, 'every pushed update');
const client = (event) => {
  kinds.set(event.kind, (kinds.get(event.kind) ?? 0) + 1);
  if (event.kind === 'update') {
    clientUpdates++;
    arrived.poke();
  }
};
const options = {
  address: { host: dc.host, port: dc.port },
  rsaKeys: [dc.rsaPublicKey.pem],
  init: { apiId: 12345, deviceModel: 'package check' },
};

// Key exchanges: every session creates its auth key by a real handshake, concurrently.
const ids = await Promise.all(Array.from({ length: SESSIONS }, () => Session.open(2, client, options)));
check(kinds.get('authKeyCreated') === SESSIONS, `${kinds.get('authKeyCreated')} keys created`);
const keys = new Set(ids.map((id) => Session.export(id).authKey.toString('hex')));
check(keys.size === SESSIONS, 'every session has its own key');
for (const key of keys) check(key.length === 512, 'a 2048-bit auth key');

// Calls, in flight on every session at once.
await Promise.all(
  ids.map(async (id, i) => {
    const config = await Session.call(id, 'help.getConfig', {});
    check(config._ === 'config' && config.thisDc === 2, 'help.getConfig answers DC 2');
    for (let k = 0; k < CALLS; k++) {
      const sent = await Session.call(id, 'messages.sendMessage', {
        peer: { _: 'inputPeerSelf' },
        message: `hello ${k} from ${i}`,
        randomId: BigInt(i * 1000 + k),
      });
      check(sent._ === 'updateShortSentMessage', `sendMessage answered ${sent._}`);
    }
  }),
);
check(pts === SESSIONS * CALLS, `${pts} messages sent`);
check(TL.deserialize(TL.serialize(true)) === true, 'TL: a Bool round-trips');

// Updates pushed by TestDc: through the client notification on every session, and
// through the async iterator of one of them.
const iterated = [];
const iterator = Session.updates(ids[0])[Symbol.asyncIterator]();
const reading = (async () => {
  while (iterated.length < UPDATES) {
    const { value, done } = await iterator.next();
    if (done) break;
    iterated.push(value);
  }
})();
for (let n = 0; n < UPDATES; n++) {
  const reached = dc.pushUpdate('all', {
    _: 'updateShortMessage',
    id: 100 + n,
    userId: 777000n,
    message: `update ${n}`,
    pts: 100 + n,
    ptsCount: 1,
    date: Math.floor(dc.now() / 1000),
  });
  check(reached === SESSIONS, `pushUpdate reached ${reached} sessions`);
}
arrived.poke();
await arrived.done;
await reading;
check(
  iterated.map((u) => u.message).join() === Array.from({ length: UPDATES }, (_, n) => `update ${n}`).join(),
  'Session.updates yields the pushed updates in order',
);

// Close: every session, then the DC; pending nothing, open nothing.
await Promise.all(ids.map((id) => Session.close(id)));
check(kinds.get('closed') === SESSIONS, `${kinds.get('closed')} sessions closed`);
await dc.stop();
const runtime = globalThis.Bun
  ? `bun ${Bun.version}`
  : globalThis.Deno
    ? `deno ${Deno.version.deno}`
    : `node ${process.version}`;
console.log(
  `smoke: ok (${runtime}): ${SESSIONS} keys, ${SESSIONS * (CALLS + 1)} calls, ${clientUpdates} updates, closed`,
);

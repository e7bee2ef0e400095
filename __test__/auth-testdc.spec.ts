// createAuthKey against TestDc (bindings/testing: an independent server side
// over node:crypto and bigint), over real loopback sockets: keys over every
// transport (plain, obfuscated2, an MTProxy secret) that TestDc holds byte for
// byte, temporary keys, test-server dc ids, dh_gen_retry; then the
// table-driven bad answers: for each handshake fault TestDc injects, our
// client fails with the AuthKeyError naming the check, settles within its
// timeout, and leaves no socket or timer behind.
import test from 'ava';
import { AuthKeyError, type CreateAuthKeyOptions, createAuthKey } from '../bindings/auth';
import { type HandshakeFault, TestDc } from '../bindings/testing';

const SECRET = Buffer.from('a1b2c3d4e5f60718293a4b5c6d7e8f90', 'hex');

let dc: TestDc;
let proxied: TestDc;
let testMode: TestDc;

test.before(async () => {
  dc = await TestDc.start({ dcId: 2, rsaKey: 'shared' });
  proxied = await TestDc.start({ dcId: 4, rsaKey: 'shared', secret: SECRET });
  testMode = await TestDc.start({ dcId: 1, rsaKey: 'shared', testMode: true });
});
test.after.always(async () => {
  await Promise.all([dc?.stop(), proxied?.stop(), testMode?.stop()]);
});

function options(target: TestDc, extra: CreateAuthKeyOptions = {}): CreateAuthKeyOptions {
  return {
    host: target.host,
    port: target.port,
    dcId: target.dcId,
    rsaKeys: [target.rsaPublicKey],
    timeoutMs: 3000,
    ...extra,
  };
}

/** Our kind of resources: TCP sockets and timers (not the stdio pipes ava opens lazily). */
const handles = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;

async function settles(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 50 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

const TRANSPORTS: Array<[string, CreateAuthKeyOptions]> = [
  ['abridged', { transport: 'abridged' }],
  ['intermediate', { transport: 'intermediate' }],
  ['padded', { transport: 'padded' }],
  ['full', { transport: 'full' }],
  ['abridged+obfuscated2', { transport: 'abridged', obfuscated: true }],
  ['intermediate+obfuscated2', { transport: 'intermediate', obfuscated: true }],
  ['padded+obfuscated2', { transport: 'padded', obfuscated: true }],
];

for (const [name, extra] of TRANSPORTS) {
  test.serial(`${name}: a key TestDc holds byte for byte`, async (t) => {
    const key = await createAuthKey(options(dc, extra));
    t.is(key.authKey.length, 256);
    t.deepEqual(dc.authKey(key.authKeyId), key.authKey);
    const info = dc.authKeys().find((k) => k.authKeyId === key.authKeyId);
    t.like(info, { temp: false, source: 'handshake', innerData: 'p_q_inner_data_dc', rsaScheme: 'pad' });
    // Whole seconds, and a loaded machine may stall between the stamp and the read.
    t.true(Math.abs(key.timeOffset) <= 3);
    t.is(typeof key.serverSalt, 'bigint');
  });
}

test.serial('through an MTProxy secret (padded and intermediate, obfuscated2)', async (t) => {
  for (const transport of ['intermediate', 'padded'] as const) {
    const key = await createAuthKey(options(proxied, { transport, secret: SECRET }));
    t.deepEqual(proxied.authKey(key.authKeyId), key.authKey, transport);
  }
  // The dd form of the same secret (padded only).
  const dd = await createAuthKey(
    options(proxied, { transport: 'padded', secret: Buffer.concat([Buffer.of(0xdd), SECRET]) }),
  );
  t.deepEqual(proxied.authKey(dd.authKeyId), dd.authKey);
});

test.serial('a temporary key: p_q_inner_data_temp_dc, expiresAt', async (t) => {
  const before = Math.floor(Date.now() / 1000);
  const key = await createAuthKey(options(dc, { temp: { expiresIn: 600 } }));
  const info = dc.authKeys().find((k) => k.authKeyId === key.authKeyId);
  t.like(info, { temp: true, innerData: 'p_q_inner_data_temp_dc' });
  t.true(key.expiresAt! >= before + 600 && key.expiresAt! <= Math.floor(Date.now() / 1000) + 600);
});

test.serial('test servers: dc + 10000 in p_q_inner_data_dc and the obfuscated2 header', async (t) => {
  const key = await createAuthKey(options(testMode, { environment: 'test', obfuscated: true }));
  t.deepEqual(testMode.authKey(key.authKeyId), key.authKey);
});

test.serial('clock offset: a server clock 100 s ahead gives timeOffset 100', async (t) => {
  dc.skewClock(100);
  try {
    const key = await createAuthKey(options(dc));
    t.true(Math.abs(key.timeOffset - 100) <= 3);
  } finally {
    dc.clearFaults();
  }
});

test.serial('dh_gen_retry once: the client retries with retry_id and gets the key', async (t) => {
  dc.injectHandshakeFault('dh-gen-retry');
  try {
    const key = await createAuthKey(options(dc));
    t.deepEqual(dc.authKey(key.authKeyId), key.authKey);
  } finally {
    dc.injectHandshakeFault(null);
  }
});

test.serial('without TestDc’s key: ERR_AUTH_NO_KNOWN_RSA_KEY', async (t) => {
  const err = await t.throwsAsync(createAuthKey({ ...options(dc), rsaKeys: [] }), {
    instanceOf: AuthKeyError,
  });
  t.is(err?.code, 'ERR_AUTH_NO_KNOWN_RSA_KEY');
});

const FAULTS: Array<[HandshakeFault, string, string]> = [
  ['wrong-nonce', 'ERR_AUTH_NONCE_MISMATCH', 'req_pq'],
  ['wrong-server-nonce', 'ERR_AUTH_SERVER_NONCE_MISMATCH', 'req_DH_params'],
  ['unknown-fingerprints', 'ERR_AUTH_NO_KNOWN_RSA_KEY', 'req_pq'],
  ['bad-pq', 'ERR_AUTH_BAD_PQ', 'req_pq'],
  ['bad-answer-hash', 'ERR_AUTH_ANSWER_HASH', 'req_DH_params'],
  ['bad-dh-prime', 'ERR_AUTH_DH_PRIME', 'req_DH_params'],
  ['bad-g', 'ERR_AUTH_DH_G', 'req_DH_params'],
  ['bad-g-a', 'ERR_AUTH_DH_GA', 'req_DH_params'],
  ['bad-new-nonce-hash', 'ERR_AUTH_NEW_NONCE_HASH', 'set_client_DH_params'],
  ['dh-gen-fail', 'ERR_AUTH_DH_GEN_FAIL', 'set_client_DH_params'],
  ['garbage', 'ERR_AUTH_BAD_RESPONSE', 'req_pq'],
  ['close-mid-handshake', 'ERR_AUTH_CONNECTION_CLOSED', 'req_DH_params'],
];

const TIMEOUT = 2000;

for (const [fault, code, step] of FAULTS) {
  test.serial(`fault ${fault}: ${code} at ${step}, within the timeout, nothing left behind`, async (t) => {
    dc.injectHandshakeFault(fault);
    try {
      const before = handles();
      const connections = dc.stats.connections;
      const start = Date.now();
      const err = await t.throwsAsync(createAuthKey(options(dc, { timeoutMs: TIMEOUT, retries: 0 })), {
        instanceOf: AuthKeyError,
      });
      const elapsed = Date.now() - start;
      t.is(err?.code, code);
      t.is(err?.step, step);
      t.true(elapsed < TIMEOUT, `settled after ${elapsed} ms`);
      t.is(dc.stats.connections - connections, 1);
      t.true(await settles(() => handles() <= before), 'no socket or timer left');
    } finally {
      dc.injectHandshakeFault(null);
    }
  });
}

test.serial(
  'close-mid-handshake with retries: each attempt on a fresh connection, then the error',
  async (t) => {
    dc.injectHandshakeFault('close-mid-handshake');
    try {
      const connections = dc.stats.connections;
      const err = await t.throwsAsync(createAuthKey(options(dc, { retries: 2 })), {
        instanceOf: AuthKeyError,
      });
      t.is(err?.code, 'ERR_AUTH_CONNECTION_CLOSED');
      t.is(dc.stats.connections - connections, 3);
    } finally {
      dc.injectHandshakeFault(null);
    }
  },
);

test.serial('many keys at once: each one distinct and held by TestDc', async (t) => {
  const keys = await Promise.all(
    Array.from({ length: 16 }, () => createAuthKey(options(dc, { obfuscated: true }))),
  );
  t.is(new Set(keys.map((k) => k.authKeyId)).size, 16);
  for (const k of keys) t.deepEqual(dc.authKey(k.authKeyId), k.authKey);
});

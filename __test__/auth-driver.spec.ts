// createAuthKey over real loopback sockets against a scripted server written
// here: net.Server + the native TransportCodec (server role) replaying the
// official example's answers (core.telegram.org/mtproto/samples-auth_key,
// 2025-10 snapshot in vectors/mtproto-auth-sample.json). With the
// page's randomness injected, our client sends exactly the page's requests, so
// the server can check each one and answer with the page's bytes: the whole
// driver runs over every transport. Then the server misbehaves (silence,
// close, garbage, transport errors, wrong nonces) and every failure must be
// the typed error naming it, settle within its timeout, and leave no socket or
// timer behind.
import { randomBytes } from 'node:crypto';
import { createServer, type Socket } from 'node:net';
import test from 'ava';
import { TransportCodec, type TransportOptions } from '../bindings';
import { AuthKeyError, type CreateAuthKeyOptions, createAuthKey } from '../bindings/auth';
import { loadVectors } from '../vectors/load';

// biome-ignore lint/suspicious/noExplicitAny: the vector file's shape is checked by use
const file: any = loadVectors('mtproto-auth-sample.json');
// biome-ignore lint/suspicious/noExplicitAny: as above
const S: any = file.samples.find((s: { id: string }) => s.id === 'official-sample-2025-10');
const hex = (s: string) => Buffer.from(s, 'hex');

// What the client must send at each step, and the page's answer (whole plain messages).
const STEPS = [
  { request: hex(S.step1_req_pq_multi.message.body_hex), answer: hex(S.step2_resPQ.message.hex) },
  {
    request: hex(S.step5_req_DH_params.message.body_hex),
    answer: hex(S.step6_server_DH_params_ok.message.hex),
  },
  { request: hex(S.step7_set_client_DH_params.message.body_hex), answer: hex(S.step9_dh_gen_ok.message.hex) },
];
const SECRET = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

/** What the server does instead of answering step `i` normally. */
type Misbehave = (
  step: number,
  send: (plainMessage: Buffer) => void,
  socket: Socket,
  codec: TransportCodec,
) => 'answer' | 'done';

interface ScriptedServer {
  port: number;
  connections: number;
  /** Requests that differed from the page's, and msg_id rule breaks. */
  problems: string[];
  close(): Promise<void>;
}

async function scriptedServer(options: TransportOptions, misbehave?: Misbehave): Promise<ScriptedServer> {
  const sockets = new Set<Socket>();
  const state: ScriptedServer = {
    port: 0,
    connections: 0,
    problems: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const codec = new TransportCodec(options);
    let step = 0;
    let lastMsgId = 0n;
    const send = (message: Buffer) => socket.write(codec.encode(message));
    socket.on('data', (chunk) => {
      let events: ReturnType<TransportCodec['decode']>;
      try {
        events = codec.decode(chunk);
      } catch (err) {
        state.problems.push(`transport: ${(err as Error).message}`);
        socket.destroy();
        return;
      }
      for (const e of events) {
        if (e.kind !== 'packet' || step >= STEPS.length) continue;
        const msgId = e.data.readBigUInt64LE(8);
        const length = e.data.readUInt32LE(16);
        const body = e.data.subarray(20, 20 + length);
        if (e.data.readBigUInt64LE(0) !== 0n) state.problems.push(`step ${step}: auth_key_id not 0`);
        if (msgId % 4n !== 0n || msgId <= lastMsgId) state.problems.push(`step ${step}: msg_id ${msgId}`);
        lastMsgId = msgId;
        if (!body.equals(STEPS[step].request)) state.problems.push(`step ${step}: request differs`);
        const i = step++;
        if (misbehave?.(i, send, socket, codec) === 'done') continue;
        send(STEPS[i].answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as { port: number }).port;
  return state;
}

/** The page's randomness: nonce, new_nonce, b, then the client padding. */
function pageRandom(): (n: number) => Buffer {
  const queue = [
    S.step1_req_pq_multi.nonce,
    S.step4_p_q_inner_data_dc.new_nonce,
    S.step7_client.b,
    S.step7_client.padding,
  ].map(hex);
  return (n) => {
    const next = queue.shift() ?? Buffer.alloc(n, 1);
    if (next.length !== n) throw new Error(`asked for ${n} random bytes, expected ${next.length}`);
    return next;
  };
}

function pageOptions(port: number, extra: CreateAuthKeyOptions = {}): CreateAuthKeyOptions {
  return {
    host: '127.0.0.1',
    port,
    dcId: S.step4_p_q_inner_data_dc.dc,
    random: pageRandom(),
    rsaEncrypt: () => hex(S.step4_p_q_inner_data_dc.rsa_pad_output_encrypted_data),
    timeoutMs: 2000,
    ...extra,
  };
}

/** Our kind of resources: TCP sockets and timers (not the stdio pipes ava and tsx open lazily). */
const handles = () =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'Timeout').length;

async function settles(cond: () => boolean): Promise<boolean> {
  for (let i = 0; i < 50 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  return cond();
}

const SETUPS: Array<{ name: string; client: CreateAuthKeyOptions; server: TransportOptions }> = [
  { name: 'abridged', client: { transport: 'abridged' }, server: { role: 'server' } },
  { name: 'intermediate', client: { transport: 'intermediate' }, server: { role: 'server' } },
  { name: 'padded', client: { transport: 'padded' }, server: { role: 'server' } },
  { name: 'full', client: { transport: 'full' }, server: { role: 'server' } },
  {
    name: 'abridged+obfuscated2',
    client: { transport: 'abridged', obfuscated: true },
    server: { role: 'server', obfuscated: true },
  },
  {
    name: 'intermediate+obfuscated2',
    client: { transport: 'intermediate', obfuscated: true },
    server: { role: 'server', obfuscated: true },
  },
  {
    name: 'padded+obfuscated2',
    client: { transport: 'padded', obfuscated: true },
    server: { role: 'server', obfuscated: true },
  },
  {
    name: 'intermediate+mtproxy',
    client: { transport: 'intermediate', secret: SECRET },
    server: { role: 'server', secret: SECRET },
  },
];

for (const setup of SETUPS) {
  test.serial(`${setup.name}: the page's handshake end to end`, async (t) => {
    const server = await scriptedServer(setup.server);
    t.teardown(() => server.close());
    const before = handles();
    const result = await createAuthKey(pageOptions(server.port, setup.client));
    t.deepEqual(server.problems, []);
    t.deepEqual(result.authKey, hex(S.step8_auth_key.auth_key));
    t.is(result.authKeyId, hex(S.derived_by_collector.auth_key_id).readBigUInt64LE(0));
    t.is(result.serverSalt, hex(S.derived_by_collector.server_salt).readBigUInt64LE(0));
    const expectedOffset = S.server_DH_inner_data.server_time - Math.floor(Date.now() / 1000);
    t.true(Math.abs(result.timeOffset - expectedOffset) <= 2);
    t.is(server.connections, 1);
    t.true(await settles(() => handles() <= before), 'no socket or timer left');
  });
}

interface FaultCase {
  name: string;
  misbehave: Misbehave;
  code: string;
  step: string;
  options?: CreateAuthKeyOptions;
  server?: TransportOptions;
  connections?: number;
  /** At most this long (ms) before the promise settles. */
  within: number;
}

/** Misbehaves at step `i` (every step with 'any') instead of answering. */
function at(
  i: number | 'any',
  act: (send: (m: Buffer) => void, socket: Socket, codec: TransportCodec) => void,
): Misbehave {
  return (step, send, socket, codec) => {
    if (i !== 'any' && step !== i) return 'answer';
    act(send, socket, codec);
    return 'done';
  };
}
const silent = () => {};
const PLAIN_GARBAGE = Buffer.concat([
  Buffer.alloc(8),
  hex(S.step2_resPQ.message.message_id_le),
  Buffer.from([12, 0, 0, 0]),
  Buffer.from('garbage!!!!!'),
]);

const FAULTS: FaultCase[] = [
  {
    name: 'silence after resPQ',
    misbehave: at(1, silent),
    code: 'ERR_AUTH_TIMEOUT',
    step: 'req_DH_params',
    options: { timeoutMs: 300, retries: 0 },
    within: 1500,
  },
  {
    name: 'silence, retried twice on fresh connections',
    misbehave: at('any', silent),
    code: 'ERR_AUTH_TIMEOUT',
    step: 'req_pq',
    // Fresh randomness per attempt (the page's would be used up by the first).
    options: { timeoutMs: 200, retries: 2, random: randomBytes },
    connections: 3,
    within: 2500,
  },
  {
    name: 'close after resPQ',
    misbehave: at(1, (_send, socket) => socket.destroy()),
    code: 'ERR_AUTH_CONNECTION_CLOSED',
    step: 'req_DH_params',
    options: { retries: 0 },
    within: 1500,
  },
  {
    name: 'garbage in a plain message',
    misbehave: at(0, (send) => send(PLAIN_GARBAGE)),
    code: 'ERR_AUTH_BAD_RESPONSE',
    step: 'req_pq',
    connections: 1,
    within: 1500,
  },
  {
    name: 'not a plain message',
    misbehave: at(0, (send) => send(Buffer.alloc(64, 0xab))),
    code: 'ERR_AUTH_BAD_RESPONSE',
    step: 'req_pq',
    within: 1500,
  },
  {
    name: 'corrupt transport stream (bad CRC)',
    misbehave: at(0, (_send, socket) => socket.write(Buffer.from('100000000000000000000000ffffffff', 'hex'))),
    code: 'ERR_AUTH_BAD_RESPONSE',
    step: 'req_pq',
    options: { transport: 'full' },
    within: 1500,
  },
  {
    name: 'transport error -429',
    misbehave: at(0, (_send, socket, codec) =>
      socket.write(codec.encode(Buffer.from([0x53, 0xfe, 0xff, 0xff]))),
    ),
    code: 'ERR_AUTH_TRANSPORT_ERROR',
    step: 'req_pq',
    within: 1500,
  },
  {
    name: 'wrong nonce (not retried)',
    misbehave: at(0, (send) => send(mutate(STEPS[0].answer, 24))),
    code: 'ERR_AUTH_NONCE_MISMATCH',
    step: 'req_pq',
    connections: 1,
    within: 1500,
  },
  {
    name: 'wrong server_nonce in dh_gen_ok',
    misbehave: at(2, (send) => send(mutate(STEPS[2].answer, 40))),
    code: 'ERR_AUTH_SERVER_NONCE_MISMATCH',
    step: 'set_client_DH_params',
    within: 1500,
  },
  {
    name: 'corrupt new_nonce_hash1',
    misbehave: at(2, (send) => send(mutate(STEPS[2].answer, 60))),
    code: 'ERR_AUTH_NEW_NONCE_HASH',
    step: 'set_client_DH_params',
    within: 1500,
  },
  {
    name: 'corrupt encrypted answer',
    misbehave: at(1, (send) => send(mutate(STEPS[1].answer, 200))),
    code: 'ERR_AUTH_ANSWER_HASH',
    step: 'req_DH_params',
    within: 1500,
  },
];

function mutate(message: Buffer, at: number): Buffer {
  const copy = Buffer.from(message);
  copy[at] ^= 0x01;
  return copy;
}

for (const f of FAULTS) {
  test.serial(`fault: ${f.name} -> ${f.code}`, async (t) => {
    const server = await scriptedServer(f.server ?? { role: 'server' }, f.misbehave);
    t.teardown(() => server.close());
    const before = handles();
    const start = Date.now();
    const err = await t.throwsAsync(createAuthKey(pageOptions(server.port, f.options)), {
      instanceOf: AuthKeyError,
    });
    const elapsed = Date.now() - start;
    t.is(err?.code, f.code);
    t.is(err?.step, f.step);
    t.true(elapsed < f.within, `settled after ${elapsed} ms`);
    if (f.connections !== undefined) t.is(server.connections, f.connections);
    t.true(await settles(() => handles() <= before), 'no socket or timer left');
  });
}

test.serial('abort mid-handshake -> ERR_AUTH_ABORTED, nothing left', async (t) => {
  const server = await scriptedServer({ role: 'server' }, at(1, silent));
  t.teardown(() => server.close());
  const before = handles();
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const err = await t.throwsAsync(createAuthKey(pageOptions(server.port, { signal: ac.signal })), {
    instanceOf: AuthKeyError,
  });
  t.is(err?.code, 'ERR_AUTH_ABORTED');
  t.is(err?.step, 'req_DH_params');
  t.true(await settles(() => handles() <= before), 'no socket or timer left');
});

test.serial('refused connection -> ERR_AUTH_CONNECT; bad options -> ERR_AUTH_BAD_OPTIONS', async (t) => {
  const server = await scriptedServer({ role: 'server' });
  const port = server.port;
  await server.close();
  const refused = await t.throwsAsync(createAuthKey(pageOptions(port, { retries: 1 })), {
    instanceOf: AuthKeyError,
  });
  t.is(refused?.code, 'ERR_AUTH_CONNECT');
  t.is(refused?.step, 'connect');
  for (const options of [
    { dcId: 9 },
    { dcId: 4, environment: 'test' as const },
    { host: '127.0.0.1' },
    { host: '127.0.0.1', port, rsaKeys: ['not a key'] },
    { host: '127.0.0.1', port, transport: 'full' as const, secret: SECRET },
  ]) {
    const err = await t.throwsAsync(createAuthKey(options), { instanceOf: AuthKeyError });
    t.is(err?.code, 'ERR_AUTH_BAD_OPTIONS', JSON.stringify(options));
  }
});

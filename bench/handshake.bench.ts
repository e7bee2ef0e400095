// Auth-key handshakes: client CPU per key and handshakes per second.
//
// 1. Client CPU per key on the official example (core.telegram.org/mtproto/
//    samples-auth_key, 2025-10, from vectors/): both clients are fed
//    the page's server answers with the page's randomness (nonce, new_nonce,
//    b), so each does a whole, successful handshake's client work with no
//    I/O: ours is AuthKeyExchange (its RSA_PAD runs for real, the page's
//    recorded output is sent on); GramJS's is doAuthentication over an
//    in-memory sender (its RSA, TL and big-integer DH all run). CPU time by
//    process.cpuUsage over many keys.
// 2. Handshakes per second on loopback against TestDc (bindings/testing), in
//    this process and in a forked one, ours (createAuthKey) beside GramJS
//    (doAuthentication over its abridged TCP connection, TestDc's key added to
//    its key map) and mtcute (a new @mtcute/node TelegramClient on empty storage
//    and its first call, which makes the key; bench/mtcute-peer.ts), in
//    alternating rounds (median and range); with TestDc forked, also this
//    process's whole CPU time per key (I/O included). mtcute sends its first call
//    about 1 s after the key is made (a flush timer), so its handshakes/s mostly
//    shows that wait; its CPU per key is the comparable figure, and includes
//    setting up a client (measured apart and printed beside it).
import { type ChildProcess, fork } from 'node:child_process';
import { createDiffieHellman } from 'node:crypto';
import {
  AuthKeyExchange,
  createAuthKey,
  dhPublic,
  modPow,
  type RsaKeyInput,
  RsaKeyring,
  rsaPadEncrypt,
} from '../dist';
import { loadVectors } from '../vectors/load';
import { type Measured, medianOf, opsPerSecondAsync, report } from './harness';
import { mtcuteNewClient } from './mtcute-peer';

const hex = (s: string) => Buffer.from(s, 'hex');

// biome-ignore lint/suspicious/noExplicitAny: the vector file's shape is checked by use
function sample(): any {
  const file = loadVectors('mtproto-auth-sample.json');
  return file.samples.find((s: { id: string }) => s.id === 'official-sample-2025-10');
}

/** CPU microseconds (user + system) per call of `fn`, over about `ms` of wall time. */
async function cpuPerCall(fn: () => unknown, ms: number): Promise<number> {
  const warmEnd = performance.now() + ms / 4;
  while (performance.now() < warmEnd) await fn();
  let calls = 0;
  const start = process.cpuUsage();
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await fn();
    calls++;
  }
  const used = process.cpuUsage(start);
  return (used.user + used.system) / calls;
}

/**
 * The two 2048-bit exponentiations of a key (g^b, g_a^b): as the client does
 * them (dhPublic's fixed-base table for g^b, modPow for g_a^b), both with
 * modPow, and with OpenSSL (node:crypto DH).
 */
async function dhShare(): Promise<{ native: number; modPowOnly: number; openssl: number }> {
  const S = sample();
  const p = hex(S.server_DH_inner_data.dh_prime);
  const gA = hex(S.server_DH_inner_data.g_a);
  const b = hex(S.step7_client.b);
  const native = await cpuPerCall(() => {
    dhPublic(3, p, b);
    modPow(gA, b, p);
  }, 1000);
  const modPowOnly = await cpuPerCall(() => {
    modPow(Buffer.of(3), b, p);
    modPow(gA, b, p);
  }, 1000);
  const dh = createDiffieHellman(p, Buffer.of(3)); // checks the prime once (slow), reused after
  const openssl = await cpuPerCall(() => {
    dh.setPrivateKey(b);
    dh.generateKeys();
    dh.computeSecret(gA);
  }, 1000);
  return { native, modPowOnly, openssl };
}

async function sampleReplay(): Promise<{ ours: number; gramjs: number }> {
  const S = sample();
  const NONCE = hex(S.step1_req_pq_multi.nonce);
  const NEW_NONCE = hex(S.step4_p_q_inner_data_dc.new_nonce);
  const B = hex(S.step7_client.b);
  const PADDING = hex(S.step7_client.padding);
  const answers = [S.step2_resPQ, S.step6_server_DH_params_ok, S.step9_dh_gen_ok].map((s) =>
    hex(s.message.body_hex),
  );
  const recordedRsa = hex(S.step4_p_q_inner_data_dc.rsa_pad_output_encrypted_data);
  const keys = RsaKeyring.create();
  const now = S.server_DH_inner_data.server_time * 1000;

  const ours = () => {
    const queue = [NONCE, NEW_NONCE, B, PADDING];
    const ex = new AuthKeyExchange({
      dc: S.step4_p_q_inner_data_dc.dc,
      keys,
      random: () => queue.shift()!,
      rsaEncrypt: (data, key) => {
        rsaPadEncrypt(data, key.modulus, key.exponent); // the real cost, the page's output sent
        return recordedRsa;
      },
    });
    ex.start();
    ex.receive(answers[0], now);
    ex.receive(answers[1], now);
    const done = ex.receive(answers[2], now);
    if (done.kind !== 'done') throw new Error('our replay did not finish');
  };

  // GramJS: doAuthentication over an in-memory sender answering with the page's bytes.
  // Its randomness comes from Helpers.generateRandomBytes, replaced for the run by the
  // page's values by size (16 nonce, 32 new_nonce then RSA temp keys, 256 b).
  const { doAuthentication } = require('telegram/network/Authenticator');
  const { BinaryReader } = require('telegram/extensions');
  const helpers = require('telegram/Helpers');
  const realRandom = helpers.generateRandomBytes;
  const silentLog = { debug() {}, info() {}, warn() {}, error() {} };
  let first32 = true;
  helpers.generateRandomBytes = (n: number) => {
    // GramJS reads its nonce big-endian and writes it little-endian: reversed here.
    if (n === 16) return Buffer.from(NONCE).reverse();
    if (n === 256) return Buffer.from(B);
    if (n === 32 && first32) {
      first32 = false;
      return Buffer.from(NEW_NONCE);
    }
    return realRandom(n);
  };
  const gramjs = async () => {
    first32 = true;
    let i = 0;
    const sender = {
      send: async (request: { getBytes(): Buffer }) => {
        request.getBytes();
        return new BinaryReader(answers[i++]).tgReadObject();
      },
    };
    const { authKey } = await doAuthentication(sender, silentLog);
    if (!authKey.getKey().equals(hex(S.step8_auth_key.auth_key))) throw new Error('GramJS replay: wrong key');
  };
  try {
    const oursUs = await cpuPerCall(ours, 1500);
    const gramUs = await cpuPerCall(gramjs, 3000);
    return { ours: oursUs, gramjs: gramUs };
  } finally {
    helpers.generateRandomBytes = realRandom;
  }
}

interface DcTarget {
  host: string;
  port: number;
  dcId: number;
  rsaPublicKey: { modulus: Buffer; exponent: Buffer; pem: string; fingerprint: bigint };
}

/** One handshake by our client. */
function oursAgainst(dc: DcTarget): () => Promise<unknown> {
  const rsaKeys: RsaKeyInput[] = [dc.rsaPublicKey.pem];
  return () => createAuthKey({ host: dc.host, port: dc.port, dcId: dc.dcId, transport: 'abridged', rsaKeys });
}

/** One handshake by GramJS: its abridged connection, plain sender and doAuthentication. */
function gramjsAgainst(dc: DcTarget): () => Promise<unknown> {
  const bigInt = require('big-integer');
  const { _serverKeys } = require('telegram/crypto/RSA');
  const { ConnectionTCPAbridged, MTProtoPlainSender, doAuthentication } = require('telegram/network');
  const { Logger, PromisedNetSockets } = require('telegram/extensions');
  const { LogLevel } = require('telegram/extensions/Logger');
  // GramJS keeps known keys by signed fingerprint (decimal string).
  _serverKeys.set(BigInt.asIntN(64, dc.rsaPublicKey.fingerprint).toString(), {
    n: bigInt(dc.rsaPublicKey.modulus.toString('hex'), 16),
    e: Number(BigInt(`0x${dc.rsaPublicKey.exponent.toString('hex')}`)),
  });
  const loggers = new Logger(LogLevel.NONE);
  return async () => {
    const conn = new ConnectionTCPAbridged({
      ip: dc.host,
      port: dc.port,
      dcId: dc.dcId,
      loggers,
      socket: PromisedNetSockets,
      testServers: false,
    });
    await conn.connect();
    try {
      await doAuthentication(new MTProtoPlainSender(conn, loggers), loggers);
    } finally {
      await conn.disconnect();
    }
  };
}

/** The DC as bench/mtcute-peer.ts takes it. */
function mtcuteInfo(dc: DcTarget): Parameters<typeof mtcuteNewClient>[0] {
  return {
    host: dc.host,
    port: dc.port,
    dcId: dc.dcId,
    pem: dc.rsaPublicKey.pem,
    modulusHex: dc.rsaPublicKey.modulus.toString('hex'),
    exponentHex: dc.rsaPublicKey.exponent.toString('hex'),
    fingerprint: dc.rsaPublicKey.fingerprint.toString(),
  };
}

/** One handshake by mtcute: a client on empty storage and its first call; then it is closed. */
function mtcuteAgainst(dc: DcTarget): () => Promise<unknown> {
  const info = mtcuteInfo(dc);
  return async () => {
    const client = mtcuteNewClient(info);
    try {
      await client.call({ _: 'help.getNearestDc' });
    } finally {
      await client.destroy();
    }
  };
}

/** CPU ms of making and closing an mtcute client that never connects (part of its figure). */
async function mtcuteClientSetUp(dc: DcTarget): Promise<number> {
  const info = mtcuteInfo(dc);
  const n = 50;
  await mtcuteNewClient(info).destroy();
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) await mtcuteNewClient(info).destroy();
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / 1000 / n;
}

/** Handshakes per second (and process CPU per key) of `fn`, `concurrency` at a time; failures counted apart. */
async function rate(fn: () => Promise<unknown>, ms: number, concurrency: number) {
  await fn().catch(() => {}); // warm-up
  const cpu = process.cpuUsage();
  let ok = 0;
  let failed = 0;
  let lastError = '';
  const start = performance.now();
  await opsPerSecondAsync(
    async () => {
      try {
        await fn();
        ok++;
      } catch (err) {
        failed++;
        lastError = (err as Error).message;
      }
    },
    ms,
    concurrency,
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { perSec: ok / seconds, cpuMsPerKey: (used.user + used.system) / 1000 / ok, failed, lastError };
}

const ROUNDS = 5;
const ROUND_MS = 1200;

async function againstDc(label: string, dc: DcTarget, showCpu: boolean): Promise<void> {
  const contestants: Array<[name: string, fn: () => Promise<unknown>]> = [
    ['GramJS doAuthentication', gramjsAgainst(dc)],
    ['mtcute new client + 1st call', mtcuteAgainst(dc)],
    ['telegram-mt createAuthKey', oursAgainst(dc)],
  ];
  for (const concurrency of [1, 8]) {
    const perSec = contestants.map((): number[] => []);
    const cpuMs = contestants.map((): number[] => []);
    const failures = contestants.map(() => ({ failed: 0, lastError: '' }));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, [, fn]] of contestants.entries()) {
        const r = await rate(fn, ROUND_MS, concurrency);
        perSec[i].push(r.perSec);
        if (r.perSec > 0) cpuMs[i].push(r.cpuMsPerKey);
        failures[i].failed += r.failed;
        if (r.failed) failures[i].lastError = r.lastError;
      }
    }
    report(
      `handshakes/s, TestDc ${label}, ${concurrency} at a time (median and range of ${ROUNDS} alternating rounds)`,
      contestants.map(([name], i) => medianOf(name, perSec[i])),
      'GramJS doAuthentication',
    );
    for (const [i, [name]] of contestants.entries()) {
      const f = failures[i];
      if (f.failed) console.log(`  ${name}: ${f.failed} handshakes failed (last: ${f.lastError})`);
    }
    if (showCpu) {
      const cpu = contestants.map(([name], i) => medianOf(name, cpuMs[i]));
      const [g, m, o] = cpu;
      const range = (r: Measured) => `${r.spread?.[0].toFixed(2)}-${r.spread?.[1].toFixed(2)}`;
      console.log(
        `  client process CPU per key (I/O included; median, range): telegram-mt ${o.opsPerSec.toFixed(2)} ms (${range(o)}), ` +
          `mtcute ${m.opsPerSec.toFixed(2)} ms (${range(m)}), GramJS ${g.opsPerSec.toFixed(2)} ms (${range(g)}); ` +
          `telegram-mt = ${(o.opsPerSec / m.opsPerSec).toFixed(2)} of mtcute's, ${(o.opsPerSec / g.opsPerSec).toFixed(2)} of GramJS's`,
      );
    }
  }
  if (showCpu) {
    console.log(
      `  (of mtcute's CPU per key, making and closing a client: ${(await mtcuteClientSetUp(dc)).toFixed(2)} ms)`,
    );
  }
}

async function hasTestDc(): Promise<boolean> {
  try {
    await import('../dist/testing');
    return true;
  } catch {
    return false;
  }
}

/** TestDc in this process. */
async function inProcess(): Promise<void> {
  const { TestDc } = await import('../dist/testing');
  const dc = await TestDc.start({ dcId: 2, rsaKey: 'generate' });
  try {
    await againstDc('in this process', dc, false);
  } finally {
    await dc.stop();
  }
}

/** TestDc in a forked process (this file with --testdc-child). */
async function forked(): Promise<void> {
  const child: ChildProcess = fork(__filename, ['--testdc-child'], { execArgv: ['--import', 'tsx'] });
  try {
    const info = await new Promise<{ port: number; dcId: number; key: Record<string, string> }>(
      (resolve, reject) => {
        child.once('message', (m) => resolve(m as never));
        child.once('exit', (code) => reject(new Error(`TestDc child exited (${code})`)));
      },
    );
    const dc: DcTarget = {
      host: '127.0.0.1',
      port: info.port,
      dcId: info.dcId,
      rsaPublicKey: {
        modulus: Buffer.from(info.key.modulus, 'hex'),
        exponent: Buffer.from(info.key.exponent, 'hex'),
        pem: info.key.pem,
        fingerprint: BigInt(info.key.fingerprint),
      },
    };
    await againstDc('in another process', dc, true);
  } finally {
    child.kill();
  }
}

async function childMain(): Promise<void> {
  const { TestDc } = await import('../dist/testing');
  const dc = await TestDc.start({ dcId: 2, rsaKey: 'generate' });
  const k = dc.rsaPublicKey;
  process.send?.({
    port: dc.port,
    dcId: dc.dcId,
    key: {
      modulus: k.modulus.toString('hex'),
      exponent: k.exponent.toString('hex'),
      pem: k.pem,
      fingerprint: k.fingerprint.toString(),
    },
  });
  process.on('disconnect', () => void dc.stop().then(() => process.exit(0)));
}

if (process.argv.includes('--testdc-child')) void childMain();

export async function run(): Promise<void> {
  const { ours, gramjs } = await sampleReplay();
  const rows: Measured[] = [
    { name: 'GramJS doAuthentication', opsPerSec: 1e6 / gramjs },
    { name: 'telegram-mt AuthKeyExchange', opsPerSec: 1e6 / ours },
  ];
  report(
    'client CPU per key, official example replayed (keys per CPU-second)',
    rows,
    'GramJS doAuthentication',
  );
  console.log(
    `  CPU per key: telegram-mt ${(ours / 1000).toFixed(3)} ms, GramJS ${(gramjs / 1000).toFixed(3)} ms ` +
      `(ours = 1/${(gramjs / ours).toFixed(1)} of GramJS's)`,
  );
  const dh = await dhShare();
  console.log(
    `  of which g^b (dhPublic) and g_a^b (modPow): ${(dh.native / 1000).toFixed(3)} ms ` +
      `(both with modPow: ${(dh.modPowOnly / 1000).toFixed(3)} ms); ` +
      `the same two with OpenSSL (node:crypto DH) on this machine: ${(dh.openssl / 1000).toFixed(3)} ms`,
  );
  if (await hasTestDc()) {
    await inProcess();
    await forked();
  } else {
    console.log('  (TestDc not available: no loopback handshake figures)');
  }
}

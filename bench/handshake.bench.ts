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
//    its key map), both over the abridged transport; with TestDc forked, also
//    each client process's whole CPU time per key (I/O included).
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
} from '../bindings';
import { loadVectors } from '../vectors/load';
import { type Measured, opsPerSecondAsync, report } from './harness';

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

async function againstDc(label: string, dc: DcTarget, showCpu: boolean): Promise<void> {
  const ours = oursAgainst(dc);
  const gramjs = gramjsAgainst(dc);
  for (const concurrency of [1, 8]) {
    const g = await rate(gramjs, 4000, concurrency);
    const o = await rate(ours, 3000, concurrency);
    report(
      `handshakes/s, TestDc ${label}, abridged, ${concurrency} at a time`,
      [
        { name: 'GramJS doAuthentication', opsPerSec: g.perSec },
        { name: 'telegram-mt createAuthKey', opsPerSec: o.perSec },
      ],
      'GramJS doAuthentication',
    );
    for (const [who, r] of [
      ['GramJS', g],
      ['telegram-mt', o],
    ] as const) {
      if (r.failed) console.log(`  ${who}: ${r.failed} handshakes failed (last: ${r.lastError})`);
    }
    if (showCpu) {
      console.log(
        `  client process CPU per key (I/O included): telegram-mt ${o.cpuMsPerKey.toFixed(2)} ms, ` +
          `GramJS ${g.cpuMsPerKey.toFixed(2)} ms (1/${(g.cpuMsPerKey / o.cpuMsPerKey).toFixed(1)})`,
      );
    }
  }
}

async function hasTestDc(): Promise<boolean> {
  try {
    await import('../bindings/testing');
    return true;
  } catch {
    return false;
  }
}

/** TestDc in this process. */
async function inProcess(): Promise<void> {
  const { TestDc } = await import('../bindings/testing');
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
  const { TestDc } = await import('../bindings/testing');
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

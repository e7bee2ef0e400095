// A dh_prime that is not Telegram's (issue 12, item 9): its safe-prime test runs once per
// process and off the event loop, also when many key exchanges meet it at once. Serial:
// the tests watch a process-wide count of tests.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import test from 'ava';
import {
  checkDhParams,
  checkDhParamsKnown,
  createAuthKey,
  dhPrimeTests,
  modPow,
  testDhPrime,
} from '../bindings';
import { TELEGRAM_DH_PRIME, TestDc } from '../bindings/testing';

// RFC 3526 section 3 (group 14) and RFC 7919 appendix A.1 (ffdhe2048): 2048-bit safe
// primes, both 7 mod 8, so g = 2 qualifies. Neither is Telegram's.
const RFC3526_2048 = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437' +
    '4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05' +
    '98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B' +
    'E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF',
  'hex',
);
const FFDHE2048 = Buffer.from(
  'FFFFFFFFFFFFFFFFADF85458A2BB4A9AAFDC5620273D3CF1D8B9C583CE2D3695A9E13641146433FBCC939DCE249B3EF97D2FE363630C75D8F681B202AEC4617A' +
    'D3DF1ED5D5FD65612433F51F5F066ED0856365553DED1AF3B557135E7F57C935984F0C70E0E68B77E2A689DAF3EFE8721DF158A136ADE73530ACCA4F483A797A' +
    'BC0AB182B324FB61D108A94BB2C8E3FBB96ADAB760D7F4681D4F42A3DE394DF4AE56EDE76372BB190B07A7C8EE0A6D709E02FCE1CDF7E2ECC03404CD28342F61' +
    '9172FE9CE98583FF8E4F1232EEF28183C3FE3B1B4C6FAD733BB5FCBC2EC22005C58EF1837D1683B2C6F34A26C1B2EFFA886B423861285C97FFFFFFFFFFFFFFFF',
  'hex',
);

const CHILD = join(__dirname, 'auth-dh-prime-child.ts');

/** Runs auth-dh-prime-child.ts and parses its JSON line. */
function runClients(dc: TestDc, count: number) {
  return new Promise<{ keys: number; failures: string[]; maxDelayMs: number; primeTests: number }>(
    (resolve, reject) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CHILD, dc.host, String(dc.port), dc.rsaPublicKey.pem, String(count)],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('exit', (code) => {
        try {
          resolve(JSON.parse(out));
        } catch {
          reject(new Error(`client process exited ${code}: ${err || out}`));
        }
      });
    },
  );
}

test.serial(
  '20 concurrent key exchanges with a new safe prime: one test, the event loop stays responsive',
  async (t) => {
    const dc = await TestDc.start({ dcId: 2, rsaKey: 'shared', dhPrime: RFC3526_2048, g: 2 });
    try {
      const r = await runClients(dc, 20);
      t.deepEqual(r.failures, []);
      t.is(r.keys, 20);
      // Each exchange used to test the prime on the event loop (220-270 ms each, back to
      // back: seconds); now the libuv pool tests it once and every exchange awaits that.
      t.is(r.primeTests, 1);
      t.log(`longest event-loop stall of the 20 exchanges: ${r.maxDelayMs.toFixed(1)} ms`);
      t.true(r.maxDelayMs < 500, `event loop blocked for ${r.maxDelayMs} ms`);
      t.is(dc.stats.authKeysCreated, 20);
    } finally {
      await dc.stop();
    }
  },
);

test.serial('checkDhParamsKnown defers an unknown prime to testDhPrime, whose verdict is kept', async (t) => {
  const gA = modPow(Buffer.of(2), randomBytes(256), FFDHE2048);
  // Telegram's prime never needs the test.
  t.true(checkDhParamsKnown(TELEGRAM_DH_PRIME, 3, modPow(Buffer.of(3), randomBytes(256), TELEGRAM_DH_PRIME)));
  // The cheap checks still throw at once, before any test (ffdhe2048 is 4 mod 7: not for g = 7).
  t.throws(() => checkDhParamsKnown(FFDHE2048, 7, gA), { code: 'ERR_DH_G_RESIDUE' });
  t.throws(() => checkDhParamsKnown(FFDHE2048, 2, Buffer.of(1)), { code: 'ERR_DH_GA_RANGE' });
  t.throws(() => checkDhParamsKnown(FFDHE2048.subarray(1), 2, gA), { code: 'ERR_DH_PRIME_SIZE' });
  const before = dhPrimeTests();
  t.false(checkDhParamsKnown(FFDHE2048, 2, gA));
  t.is(dhPrimeTests(), before, 'the quick check runs no test');
  // Two callers at once each get the verdict, tested on the libuv pool: the event loop
  // idles meanwhile (a test on it would keep it busy: utilization 1).
  const idle = performance.eventLoopUtilization();
  t.deepEqual(await Promise.all([testDhPrime(FFDHE2048), testDhPrime(FFDHE2048)]), [true, true]);
  const { utilization } = performance.eventLoopUtilization(idle);
  t.true(utilization < 0.5, `event loop utilization ${utilization} while testing`);
  const tested = dhPrimeTests();
  t.true(tested >= before + 1 && tested <= before + 2);
  t.true(checkDhParamsKnown(FFDHE2048, 2, gA));
  t.notThrows(() => checkDhParams(FFDHE2048, 2, gA));
  t.true(await testDhPrime(FFDHE2048));
  t.is(dhPrimeTests(), tested, 'a kept verdict is a lookup');
});

test.serial(
  'a prime that fails the test is refused by every check after it, without another test',
  async (t) => {
    // Telegram's prime + 6: odd, still 2 mod 3 (g = 3 passes), not a safe prime.
    const p = Buffer.from(TELEGRAM_DH_PRIME);
    p[255] += 6;
    const gA = modPow(Buffer.of(3), randomBytes(256), p);
    t.false(checkDhParamsKnown(p, 3, gA));
    t.false(await testDhPrime(p));
    const tested = dhPrimeTests();
    t.throws(() => checkDhParamsKnown(p, 3, gA), { code: 'ERR_DH_PRIME_NOT_SAFE' });
    t.throws(() => checkDhParams(p, 3, gA), { code: 'ERR_DH_PRIME_NOT_SAFE' });
    t.is(dhPrimeTests(), tested);
    // Not a 2048-bit number at all: no test either.
    t.false(await testDhPrime(p.subarray(1)));
    t.is(dhPrimeTests(), tested);
  },
);

test.serial('createAuthKey with a new safe prime makes a key', async (t) => {
  // Another prime than the test above, which watches the verdicts of ffdhe2048.
  const dc = await TestDc.start({ dcId: 2, rsaKey: 'shared', dhPrime: RFC3526_2048, g: 2 });
  try {
    const key = await createAuthKey({
      host: dc.host,
      port: dc.port,
      dcId: 2,
      rsaKeys: [dc.rsaPublicKey.pem],
    });
    t.is(key.authKey.length, 256);
    t.is(dc.stats.authKeysCreated, 1);
  } finally {
    await dc.stop();
  }
});

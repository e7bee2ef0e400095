// SRP for 2FA (core.telegram.org/api/srp) against an independent reference
// written here with node:crypto (pbkdf2Sync sha512, createHash sha256) and JS
// bigint modular exponentiation, a published vector, the test-server math in
// both directions, and every error code.
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import test from 'ava';
import fc from 'fast-check';
import {
  srpComputeCheck,
  srpPasswordHash,
  srpPasswordHashSync,
  srpServerB,
  srpServerCheck,
  srpVerifier,
  srpVerifierFromHash,
} from '../bindings/native';

const hex = (s: string) => Buffer.from(s, 'hex');

// Telegram's 2048-bit DH prime (every server's dh_prime and 2FA p), g = 3.
const P = hex(
  'c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13abdc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf6f4fadf034b10403119cd8e3b92fcc5b',
);
const G = 3;

// ---- the reference ----
const sha256 = (...parts: Buffer[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const big = (b: Buffer) => (b.length === 0 ? 0n : BigInt(`0x${b.toString('hex')}`));
const pad256 = (n: bigint) => Buffer.from(n.toString(16).padStart(512, '0'), 'hex');
const powMod = (base: bigint, exp: bigint, mod: bigint) => {
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return r;
};
const sh = (data: Buffer, salt: Buffer) => sha256(salt, data, salt);
const refX = (password: Buffer, salt1: Buffer, salt2: Buffer) =>
  sh(pbkdf2Sync(sh(sh(password, salt1), salt2), salt1, 100000, 64, 'sha512'), salt2);

function refCheck(x: Buffer, salt1: Buffer, salt2: Buffer, gB: Buffer, a: Buffer) {
  const p = big(P);
  const g = BigInt(G);
  const gPad = pad256(g);
  const k = big(sha256(P, gPad));
  const v = powMod(g, big(x), p);
  const gA = pad256(powMod(g, big(a), p));
  const u = big(sha256(gA, pad256(big(gB))));
  const t = (((big(gB) - ((k * v) % p)) % p) + p) % p;
  const s = powMod(t, big(a) + u * big(x), p);
  const hp = sha256(P);
  const hg = sha256(gPad);
  const xor = Buffer.from(hp.map((byte, i) => byte ^ hg[i]));
  const m1 = sha256(xor, sha256(salt1), sha256(salt2), gA, pad256(big(gB)), sha256(pad256(s)));
  return { A: gA, M1: m1, v: pad256(v), k };
}

// ---- a published vector ----
// grammers (github.com/Lonami/grammers, lib/grammers-crypto/src/two_factor_auth.rs,
// test check_calculations_2): password "234567", Telegram's p, g = 3.
const V = {
  salt1: hex('5f483c38bd0986e7cdc95ae138ef4f49b951c1f81c713fecdef3af692cec4b4716ac9b770a195ebe'),
  salt2: hex('b616fc6bbedf511119c5ed34629527f1'),
  gB: hex(
    '93f70ebd50f6426aca2568769599f91f24d01284cc51a449e62dcc1527dfe50126b2aa44238e4fb2331419ed4aebf1a0ae15e03abd18bfc52ca6baec564c13b5a1d2e357799897757bb736fdc2ceb1b56aacf19ab3548d6d922a522f0b51f40124c3bc9936aff3e1dcfbea39ac9ad2addc6af0ad30783278bbb84cab0ed8464b0ffeb2b0c93a39a5d97dba0105672ca5475373d8d23e54a6ac9bed9519e8bef4f00719f5ad56151be5537648df2f8e3e7265cb57fb94a054ce2a82b8cc664ad060e0d6c6df1879345440eb977fa0f2d36f31a253d8917732f133d40033a34b6152969b600d59cdabfea2ab2393ad659e56d66e13605b1f61e48e3cd65c0f58ac',
  ),
  a: hex(
    'bf31574f34fce1e53891c59b7f62468a0ca682da8585df8de0a18873359755fbb1818878a9ee919bb1e94d20c5f0607e02a33176199bf3220256c9ea1a69f395a515d20539d88cda750a5252fb864f573f2b032f3b467d08b34fd9c89d1c5d06278e113e51d4e893c1c027455af4653f096607a4156d94fb8e1dc7cee5bfe32850982f941ae4414e83bf22df56270b43b7ccc44c26d40886464da8e344a8540795b8f69b8f508552a723cd6931e1d69204e8e9dc056f0a2a10a0d7951e355f3edef5a5e18a9091295a51eb9db10b8b0d30489c8d29bc0cd86e97781f5e30c5b6bfe7caf4aae81b282e653ac48aa1a8fde789722bc04f4320cd9f86849fe05ca4',
  ),
  M1: hex('4d7af412c5a2e7b15467376bd118b853604e687b31f51c4980c4d7c1876613e3'),
  x: hex('ef792704447d41b8c41eaae6a9e4f8d50b5cd6a6ba71b7da5cc43de58bb7fa11'),
};

test('published vector (grammers) and the reference agree with the native code', async (t) => {
  const x = await srpPasswordHash('234567', V.salt1, V.salt2);
  t.deepEqual(x, V.x);
  t.deepEqual(refX(Buffer.from('234567'), V.salt1, V.salt2), V.x);
  t.deepEqual(srpPasswordHashSync(Buffer.from('234567'), V.salt1, V.salt2), V.x);
  const fromPassword = srpComputeCheck({
    password: '234567',
    salt1: V.salt1,
    salt2: V.salt2,
    g: G,
    p: P,
    srpB: V.gB,
    a: V.a,
  });
  t.deepEqual(fromPassword.M1, V.M1);
  const ref = refCheck(V.x, V.salt1, V.salt2, V.gB, V.a);
  t.deepEqual(ref.M1, V.M1);
  t.deepEqual(fromPassword.A, ref.A);
  const fromX = srpComputeCheck({ x, salt1: V.salt1, salt2: V.salt2, g: G, p: P, srpB: V.gB, a: V.a });
  t.deepEqual(fromX, fromPassword);
});

const bytes = (min: number, max: number) =>
  fc.uint8Array({ minLength: min, maxLength: max }).map(Buffer.from);

test('client and test server against the reference, random x, salts, a and b', (t) => {
  fc.assert(
    fc.property(
      bytes(32, 32),
      bytes(0, 64),
      bytes(0, 32),
      bytes(256, 256),
      bytes(256, 256),
      (x, s1, s2, a, b) => {
        const v = srpVerifierFromHash(x, G, P);
        const ref = refCheck(x, s1, s2, Buffer.alloc(256), a);
        t.deepEqual(v, ref.v);
        const gB = srpServerB(v, G, P, b);
        t.deepEqual(gB, pad256((ref.k * big(v) + powMod(BigInt(G), big(b), big(P))) % big(P)));
        const mine = srpComputeCheck({ x, salt1: s1, salt2: s2, g: G, p: P, srpB: gB, a });
        const want = refCheck(x, s1, s2, gB, a);
        t.deepEqual(mine.A, want.A);
        t.deepEqual(mine.M1, want.M1);
        t.true(srpServerCheck(v, G, P, s1, s2, mine.A, gB, b, mine.M1));
        const bad = Buffer.from(mine.M1);
        bad[0] ^= 1;
        t.false(srpServerCheck(v, G, P, s1, s2, mine.A, gB, b, bad));
        // The reference's server accepts our answer too: S = (A * v^u)^b.
        const p = big(P);
        const u = big(sha256(mine.A, gB));
        const S = powMod((big(mine.A) * powMod(big(v), u, p)) % p, big(b), p);
        const hp = sha256(P);
        const hg = sha256(pad256(BigInt(G)));
        const xor = Buffer.from(hp.map((byte, i) => byte ^ hg[i]));
        t.deepEqual(mine.M1, sha256(xor, sha256(s1), sha256(s2), mine.A, gB, sha256(pad256(S))));
      },
    ),
    { numRuns: 12 },
  );
});

test('passwords through PBKDF2: random passwords, random a; the wrong password fails', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.string({ maxLength: 20 }), bytes(8, 40), bytes(8, 16), async (password, s1, s2) => {
      const x = await srpPasswordHash(password, s1, s2);
      t.deepEqual(x, refX(Buffer.from(password, 'utf8'), s1, s2));
      const v = srpVerifier(password, s1, s2, G, P);
      t.deepEqual(v, srpVerifierFromHash(x, G, P));
      const b = randomBytes(256);
      const gB = srpServerB(v, G, P, b);
      const good = srpComputeCheck({ x, salt1: s1, salt2: s2, g: G, p: P, srpB: gB });
      t.is(good.A.length, 256);
      t.is(good.M1.length, 32);
      t.true(srpServerCheck(v, G, P, s1, s2, good.A, gB, b, good.M1));
      const wrong = srpComputeCheck({ password: `${password}!`, salt1: s1, salt2: s2, g: G, p: P, srpB: gB });
      t.false(srpServerCheck(v, G, P, s1, s2, wrong.A, gB, b, wrong.M1));
    }),
    { numRuns: 3 },
  );
});

test('every check throws its code', (t) => {
  const x = randomBytes(32);
  const v = srpVerifierFromHash(x, G, P);
  const gB = srpServerB(v, G, P, randomBytes(256));
  const base = { x, salt1: Buffer.from('s1'), salt2: Buffer.from('s2'), g: G, p: P, srpB: gB };
  const code = (f: () => unknown, c: string) =>
    t.is((t.throws(f) as NodeJS.ErrnoException | undefined)?.code, c, c);
  const p = big(P);
  code(() => srpComputeCheck({ ...base, p: P.subarray(1) }), 'ERR_SRP_BAD_P');
  const notPrime = Buffer.from(P);
  notPrime[255] += 6; // keeps p mod 3 = 2, so g = 3 passes its residue check
  code(() => srpComputeCheck({ ...base, p: notPrime }), 'ERR_SRP_BAD_P');
  code(() => srpComputeCheck({ ...base, g: 8 }), 'ERR_SRP_BAD_G');
  code(() => srpComputeCheck({ ...base, g: 2 }), 'ERR_SRP_BAD_G'); // p mod 8 = 3, not 7
  for (const bad of [0n, 1n, 2n, p - 1n, p, p + 1n, (1n << 1984n) - 1n, p - (1n << 1984n) + 1n]) {
    code(() => srpComputeCheck({ ...base, srpB: pad256(bad) }), 'ERR_SRP_BAD_B');
  }
  code(() => srpComputeCheck({ ...base, a: Buffer.from([0]) }), 'ERR_SRP_BAD_A'); // g_a = 1
  code(() => srpComputeCheck({ ...base, a: Buffer.from([1]) }), 'ERR_SRP_BAD_A'); // g_a = 3
  code(() => srpComputeCheck({ ...base, a: Buffer.alloc(257, 1) }), 'ERR_SRP_TOO_LONG');
  code(() => srpComputeCheck({ ...base, x: Buffer.alloc(31) }), 'ERR_SRP_ARGS');
  code(() => srpComputeCheck({ ...base, password: 'pw' }), 'ERR_SRP_ARGS');
  code(() => srpComputeCheck({ ...base, x: undefined }), 'ERR_SRP_ARGS');
  code(() => srpServerB(P, G, P, randomBytes(256)), 'ERR_SRP_TOO_LONG');
  code(
    () => srpServerCheck(v, G, P, base.salt1, base.salt2, Buffer.from([1]), gB, Buffer.alloc(1), x),
    'ERR_SRP_BAD_A',
  );
  code(() => srpVerifierFromHash(x, 5, P), 'ERR_SRP_BAD_G');
  // u = H(g_a | g_b) = 0 needs a SHA-256 preimage of zero: the Rust unit tests
  // cover ERR_SRP_U_ZERO's check directly.
});

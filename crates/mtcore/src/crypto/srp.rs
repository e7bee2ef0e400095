//! SRP-6a for Telegram's two-step verification (core.telegram.org/api/srp),
//! algorithm passwordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow.
//!
//! With H = SHA-256 and SH(data, salt) = H(salt | data | salt):
//! - x = PH2 = SH(pbkdf2_sha512(PH1, salt1, 100000), salt2), where
//!   PH1 = SH(SH(password, salt1), salt2); the verifier is v = g^x mod p.
//! - k = H(p | g), u = H(g_a | g_b), k_v = k * v, t = g_b - k_v (mod p),
//!   s_a = t^(a + u * x), k_a = H(s_a),
//!   M1 = H(H(p) xor H(g) | H(salt1) | H(salt2) | g_a | g_b | k_a).
//!
//! Every number that goes into a hash is big-endian and padded to 256 bytes
//! (the spec: "padded to 2048 bits"), g included.
//!
//! Checks on the server's parameters (api/srp and the DH rules of
//! mtproto/security_guidelines, which SRP shares): p is a 2048-bit safe prime,
//! g is 2..7 and generates the subgroup of order (p-1)/2, g_b (and the
//! client's own g_a) satisfy 1 < x < p - 1 and 2^(2048-64) <= x <= p -
//! 2^(2048-64), and u != 0.
//!
//! The server side (`verifier`, `server_b`, `server_check`) exists for a test
//! DC: B = k*v + g^b, S = (A * v^u)^b, and S equals the client's s_a.

use super::dh::{check_dh_value, check_g, check_safe_prime, parse_prime, Bound, DhError};
use super::dh_group::DhGroup;
use crate::bignum::encoding::{self, number_within, odd_modulus, to_be_padded};
use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::BoxedUint;
use hmac::Hmac;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Byte length of p and of every padded number.
pub const LEN: usize = 256;
/// PBKDF2 iterations of the algorithm's name.
pub const PBKDF2_ITERATIONS: u32 = 100_000;

/// Errors of the SRP computation; each names the check that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SrpError {
    /// p is not a 2048-bit safe prime (`DhError::PrimeSize` or `PrimeNotSafe`).
    BadP(DhError),
    /// g is outside 2..7 or does not generate the right subgroup mod p.
    BadG(DhError),
    /// The server's g_b (srp_B) is out of range.
    BadB(Bound),
    /// g_a (our own, from `a`; or the client's, on the server) is out of range.
    BadA(Bound),
    /// u = H(g_a | g_b) is zero.
    UZero,
    /// A number (a, b or v) is longer than 256 bytes.
    TooLong { what: &'static str, len: usize },
}

impl std::fmt::Display for SrpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SrpError::BadP(e) => write!(f, "bad SRP p: {e}"),
            SrpError::BadG(e) => write!(f, "bad SRP g: {e}"),
            SrpError::BadB(b) => write!(f, "SRP g_b out of range: {}", bound_text(*b)),
            SrpError::BadA(b) => write!(f, "SRP g_a out of range: {}", bound_text(*b)),
            SrpError::UZero => write!(f, "SRP u = H(g_a | g_b) is zero"),
            SrpError::TooLong { what, len } => {
                write!(f, "SRP {what} has {len} bytes, at most {LEN} allowed")
            }
        }
    }
}

impl std::error::Error for SrpError {}

fn bound_text(b: Bound) -> &'static str {
    match b {
        Bound::AtMostOne => "not above 1",
        Bound::AtLeastPrimeMinusOne => "not below p - 1",
        Bound::BelowMargin => "below 2^(2048-64)",
        Bound::AboveMargin => "above p - 2^(2048-64)",
    }
}

/// The client's answer: inputCheckPasswordSRP's A and M1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrpCheck {
    /// g_a, padded to 256 bytes.
    pub a: [u8; LEN],
    /// M1.
    pub m1: [u8; 32],
}

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().into()
}

fn sh(data: &[u8], salt: &[u8]) -> [u8; 32] {
    h(&[salt, data, salt])
}

/// x = PH2(password, salt1, salt2): the PBKDF2-heavy part (100,000 rounds of
/// HMAC-SHA512, tens of milliseconds).
pub fn password_hash(password: &[u8], salt1: &[u8], salt2: &[u8]) -> [u8; 32] {
    let ph1 = sh(&sh(password, salt1), salt2);
    let mut dk = [0u8; 64];
    pbkdf2::pbkdf2::<Hmac<Sha512>>(&ph1, salt1, PBKDF2_ITERATIONS, &mut dk)
        .expect("HMAC takes keys of any length");
    sh(&dk, salt2)
}

/// Bits of p and of every number below it.
const BITS: u32 = (LEN * 8) as u32;

/// A checked group: p as a number and as 256 bytes, its Montgomery
/// parameters, g and the shared fixed-base table for g^e.
struct Group {
    p: BoxedUint,
    p_bytes: [u8; LEN],
    g_bytes: [u8; LEN],
    params: BoxedMontyParams,
    table: std::sync::Arc<DhGroup>,
}

impl Group {
    /// p and g with the spec's checks (the safe-prime test is a comparison for
    /// Telegram's prime, tens of milliseconds once per process for another).
    fn checked(g: u32, p: &[u8]) -> Result<Self, SrpError> {
        let n = parse_prime(p).map_err(SrpError::BadP)?;
        check_g(g, &n).map_err(SrpError::BadG)?;
        check_safe_prime(p).map_err(SrpError::BadP)?;
        let params = odd_modulus(&n).map_err(|_| SrpError::BadP(DhError::PrimeNotSafe))?;
        let table = DhGroup::shared(g, p).map_err(|_| SrpError::BadP(DhError::PrimeNotSafe))?;
        let mut g_bytes = [0u8; LEN];
        g_bytes[LEN - 4..].copy_from_slice(&g.to_be_bytes());
        Ok(Group {
            p_bytes: pad(&n),
            p: n,
            g_bytes,
            params,
            table,
        })
    }

    /// A number below p (at p's precision) in Montgomery form.
    fn monty(&self, x: &BoxedUint) -> BoxedMontyForm {
        BoxedMontyForm::new(x.clone(), &self.params)
    }

    /// A checked 256-byte value below p in Montgomery form.
    fn monty_bytes(&self, x: &[u8; LEN]) -> BoxedMontyForm {
        self.monty(&number_within(x, BITS).expect("256 bytes"))
    }

    /// k = H(p | g).
    fn k(&self) -> BoxedMontyForm {
        let k = h(&[&self.p_bytes, &self.g_bytes]);
        self.monty(&number_within(&k, BITS).expect("32 bytes"))
    }

    /// g^e for a secret exponent of fixed length.
    fn g_pow(&self, e: &[u8]) -> BoxedUint {
        self.table.power(e)
    }

    /// The M1 of both sides.
    fn m1(&self, salt1: &[u8], salt2: &[u8], g_a: &[u8], g_b: &[u8], key: &[u8]) -> [u8; 32] {
        let hp = h(&[&self.p_bytes]);
        let hg = h(&[&self.g_bytes]);
        let mut x = [0u8; 32];
        for i in 0..32 {
            x[i] = hp[i] ^ hg[i];
        }
        h(&[&x, &h(&[salt1]), &h(&[salt2]), g_a, g_b, key])
    }
}

fn pad(x: &BoxedUint) -> [u8; LEN] {
    to_be_padded(x, LEN)
        .expect("below 2^2048")
        .try_into()
        .expect("256 bytes")
}

/// A secret number as exactly 256 big-endian bytes, so that the work of the
/// exponentiation depends on the length only.
fn pad_secret(what: &'static str, x: &[u8]) -> Result<[u8; LEN], SrpError> {
    let start = x.iter().position(|&b| b != 0).unwrap_or(x.len());
    let significant = &x[start..];
    if significant.len() > LEN {
        return Err(SrpError::TooLong { what, len: x.len() });
    }
    let mut out = [0u8; LEN];
    out[LEN - significant.len()..].copy_from_slice(significant);
    Ok(out)
}

/// A DH value of the exchange, range-checked, as a padded 256-byte string.
fn checked_value(value: &[u8], group: &Group) -> Result<[u8; LEN], Bound> {
    check_dh_value(value, &group.p_bytes).map_err(|e| match e {
        DhError::ValueRange(b) => b,
        _ => Bound::AtLeastPrimeMinusOne,
    })?;
    Ok(pad(&number_within(value, BITS).expect("checked")))
}

/// u = H(g_a | g_b), which must not be zero.
fn u_of(g_a: &[u8; LEN], g_b: &[u8; LEN]) -> Result<[u8; 32], SrpError> {
    nonzero_u(h(&[g_a, g_b]))
}

fn nonzero_u(u: [u8; 32]) -> Result<[u8; 32], SrpError> {
    if u.iter().all(|&b| b == 0) {
        return Err(SrpError::UZero);
    }
    Ok(u)
}

/// a + u * x as 264 big-endian bytes (at most 2049 bits), computed with a
/// fixed sequence of operations: base-256 schoolbook product with u32
/// columns (32 * 255^2 + 255 + carry stays far below 2^32).
fn exponent(a: &[u8; LEN], u: &[u8; 32], x: &[u8; 32]) -> [u8; LEN + 8] {
    let mut acc = [0u32; LEN + 8];
    for i in 0..LEN {
        acc[i] = a[LEN - 1 - i] as u32;
    }
    for i in 0..32 {
        for j in 0..32 {
            acc[i + j] += u[31 - i] as u32 * x[31 - j] as u32;
        }
    }
    let mut out = [0u8; LEN + 8];
    let mut carry = 0u32;
    for (i, column) in acc.iter().enumerate() {
        let t = column + carry;
        out[LEN + 7 - i] = t as u8;
        carry = t >> 8;
    }
    out
}

/// The client's check from x = `password_hash(...)`: the server's
/// (g, p, salt1, salt2, srp_B) from account.password and a random 2048-bit
/// `a` (at most 256 bytes; the caller draws it). `BadA` means this `a` gave
/// an out-of-range g_a (probability about 2^-64): draw another.
pub fn compute_check_x(
    x: &[u8; 32],
    salt1: &[u8],
    salt2: &[u8],
    g: u32,
    p: &[u8],
    g_b: &[u8],
    a: &[u8],
) -> Result<SrpCheck, SrpError> {
    let group = Group::checked(g, p)?;
    let g_b = checked_value(g_b, &group).map_err(SrpError::BadB)?;
    let a = pad_secret("a", a)?;
    let g_a = pad(&group.g_pow(&a));
    let g_a = checked_value(&g_a, &group).map_err(SrpError::BadA)?;
    let u = u_of(&g_a, &g_b)?;

    let v = group.monty(&group.g_pow(x));
    let k_v = group.k().mul(&v);
    // t = (g_b - k_v) mod p.
    let t = group.monty_bytes(&g_b).sub(&k_v);
    let s_a = t.pow(&encoding::exponent(&exponent(&a, &u, x))).retrieve();
    let k_a = h(&[&pad(&s_a)]);
    let m1 = group.m1(salt1, salt2, &g_a, &g_b, &k_a);
    Ok(SrpCheck { a: g_a, m1 })
}

/// `compute_check_x` from the password (runs the PBKDF2 of `password_hash`).
#[allow(clippy::too_many_arguments)]
pub fn compute_check(
    password: &[u8],
    salt1: &[u8],
    salt2: &[u8],
    g: u32,
    p: &[u8],
    g_b: &[u8],
    a: &[u8],
) -> Result<SrpCheck, SrpError> {
    let x = password_hash(password, salt1, salt2);
    compute_check_x(&x, salt1, salt2, g, p, g_b, a)
}

/// The verifier v = g^x mod p that a server stores for x = `password_hash`.
pub fn verifier(x: &[u8; 32], g: u32, p: &[u8]) -> Result<[u8; LEN], SrpError> {
    let group = Group::checked(g, p)?;
    Ok(pad(&group.g_pow(x)))
}

/// v as a number below p, in Montgomery form.
fn parse_v(v: &[u8], group: &Group) -> Result<BoxedMontyForm, SrpError> {
    let too_long = SrpError::TooLong {
        what: "v",
        len: v.len(),
    };
    match number_within(v, BITS) {
        Some(n) if n.cmp_vartime(&group.p).is_lt() => Ok(group.monty(&n)),
        _ => Err(too_long),
    }
}

/// The server's srp_B = (k*v + g^b) mod p for a secret random `b`.
pub fn server_b(v: &[u8], g: u32, p: &[u8], b: &[u8]) -> Result<[u8; LEN], SrpError> {
    let group = Group::checked(g, p)?;
    let v = parse_v(v, &group)?;
    let b = pad_secret("b", b)?;
    let sum = group.k().mul(&v).add(&group.monty(&group.g_pow(&b)));
    Ok(pad(&sum.retrieve()))
}

/// The server's side of auth.checkPassword: whether `m1` proves knowledge of
/// the password behind `v`, for the client's `g_a` and this server's `g_b`
/// and `b`. S = (g_a * v^u)^b equals the client's s_a; the comparison of M1
/// is constant-time. An out-of-range g_a is `BadA`.
#[allow(clippy::too_many_arguments)]
pub fn server_check(
    v: &[u8],
    g: u32,
    p: &[u8],
    salt1: &[u8],
    salt2: &[u8],
    g_a: &[u8],
    g_b: &[u8],
    b: &[u8],
    m1: &[u8],
) -> Result<bool, SrpError> {
    let group = Group::checked(g, p)?;
    let v = parse_v(v, &group)?;
    let g_a = checked_value(g_a, &group).map_err(SrpError::BadA)?;
    let g_b = checked_value(g_b, &group).map_err(SrpError::BadB)?;
    let b = pad_secret("b", b)?;
    let u = u_of(&g_a, &g_b)?;
    let v_u = v.pow(&encoding::exponent(&u));
    let base = group.monty_bytes(&g_a).mul(&v_u);
    let s = base.pow(&encoding::exponent(&b)).retrieve();
    let k = h(&[&pad(&s)]);
    let expected = group.m1(salt1, salt2, &g_a, &g_b, &k);
    Ok(m1.len() == 32 && bool::from(expected.ct_eq(m1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::dh::TELEGRAM_DH_PRIME as P;
    use num_bigint::BigUint as Big;

    fn hex(s: &str) -> Vec<u8> {
        ::hex::decode(s).unwrap()
    }

    /// Deterministic test bytes: SHA-256 of (label, counter) blocks.
    fn bytes(label: &str, n: usize) -> Vec<u8> {
        (0u32..)
            .flat_map(|i| h(&[label.as_bytes(), &i.to_be_bytes()]))
            .take(n)
            .collect()
    }

    // Published vector: grammers (github.com/Lonami/grammers,
    // lib/grammers-crypto/src/two_factor_auth.rs, test check_calculations_2),
    // password "234567" with Telegram's p and g = 3. x re-derived independently
    // with Python's hashlib.pbkdf2_hmac while checking the vector.
    const SALT1: &str =
        "5f483c38bd0986e7cdc95ae138ef4f49b951c1f81c713fecdef3af692cec4b4716ac9b770a195ebe";
    const SALT2: &str = "b616fc6bbedf511119c5ed34629527f1";
    const G_B: &str = "93f70ebd50f6426aca2568769599f91f24d01284cc51a449e62dcc1527dfe50126b2aa44238e4fb2331419ed4aebf1a0ae15e03abd18bfc52ca6baec564c13b5a1d2e357799897757bb736fdc2ceb1b56aacf19ab3548d6d922a522f0b51f40124c3bc9936aff3e1dcfbea39ac9ad2addc6af0ad30783278bbb84cab0ed8464b0ffeb2b0c93a39a5d97dba0105672ca5475373d8d23e54a6ac9bed9519e8bef4f00719f5ad56151be5537648df2f8e3e7265cb57fb94a054ce2a82b8cc664ad060e0d6c6df1879345440eb977fa0f2d36f31a253d8917732f133d40033a34b6152969b600d59cdabfea2ab2393ad659e56d66e13605b1f61e48e3cd65c0f58ac";
    const A: &str = "bf31574f34fce1e53891c59b7f62468a0ca682da8585df8de0a18873359755fbb1818878a9ee919bb1e94d20c5f0607e02a33176199bf3220256c9ea1a69f395a515d20539d88cda750a5252fb864f573f2b032f3b467d08b34fd9c89d1c5d06278e113e51d4e893c1c027455af4653f096607a4156d94fb8e1dc7cee5bfe32850982f941ae4414e83bf22df56270b43b7ccc44c26d40886464da8e344a8540795b8f69b8f508552a723cd6931e1d69204e8e9dc056f0a2a10a0d7951e355f3edef5a5e18a9091295a51eb9db10b8b0d30489c8d29bc0cd86e97781f5e30c5b6bfe7caf4aae81b282e653ac48aa1a8fde789722bc04f4320cd9f86849fe05ca4";
    const M1: &str = "4d7af412c5a2e7b15467376bd118b853604e687b31f51c4980c4d7c1876613e3";
    const G_A: &str = "0fa12bc655b1187a28296a69ae565d682782e0ceb05a089c0c41c1dce983dc7f4a53434ea78e065d9e1cb60e427b4468a4780609feba2f55654ee2efe0aeb72edafde2652e26ed5b4d4baad9d2a381806af63416bf6263df45a43d85be5401bc223ebfac09421caddd7e260bd6b86542133c048d6cd54b38d8e2ccdf6b550e875b1353a4acfe3292ffb56a0f58b2a39027c9bfdd91fd4c531d23c77d6e8f7d583eaeea316dedded69935296ce7ea34e9be6ef2fbd829eac4c9bd646dc1563e47f77b91431ca002cf79fc149d968272835c15ca1c6b2c5e03712a2e1b5d52f5e4faa1c16cb177fafd96a6aa5b4b3f4c649915644b63855cfb38561ff17fedfb8a";
    const X: &str = "ef792704447d41b8c41eaae6a9e4f8d50b5cd6a6ba71b7da5cc43de58bb7fa11";

    #[test]
    fn published_vector() {
        let (s1, s2) = (hex(SALT1), hex(SALT2));
        assert_eq!(password_hash(b"234567", &s1, &s2).to_vec(), hex(X));
        let check = compute_check(b"234567", &s1, &s2, 3, &P, &hex(G_B), &hex(A)).unwrap();
        assert_eq!(check.a.to_vec(), hex(G_A));
        assert_eq!(check.m1.to_vec(), hex(M1));
    }

    fn server(x: &[u8; 32], b: &[u8]) -> ([u8; LEN], [u8; LEN]) {
        let v = verifier(x, 3, &P).unwrap();
        let g_b = server_b(&v, 3, &P, b).unwrap();
        (v, g_b)
    }

    #[test]
    fn round_trip_with_the_server_math() {
        for round in 0..4 {
            let tag = format!("round{round}");
            let x: [u8; 32] = bytes(&format!("{tag}x"), 32).try_into().unwrap();
            let (s1, s2) = (
                bytes(&format!("{tag}s1"), 40),
                bytes(&format!("{tag}s2"), 16),
            );
            let (a, b) = (
                bytes(&format!("{tag}a"), 256),
                bytes(&format!("{tag}b"), 256),
            );
            let (v, g_b) = server(&x, &b);
            let check = compute_check_x(&x, &s1, &s2, 3, &P, &g_b, &a).unwrap();
            let ok = |m1: &[u8]| server_check(&v, 3, &P, &s1, &s2, &check.a, &g_b, &b, m1);
            assert_eq!(ok(&check.m1), Ok(true));
            let mut bad = check.m1;
            bad[round] ^= 1;
            assert_eq!(ok(&bad), Ok(false));
            assert_eq!(ok(&check.m1[..31]), Ok(false));
            // The wrong password (another x) fails.
            let mut wrong = x;
            wrong[31] ^= 0x80;
            let other = compute_check_x(&wrong, &s1, &s2, 3, &P, &g_b, &a).unwrap();
            assert_eq!(other.a, check.a);
            assert_eq!(ok(&other.m1), Ok(false));
        }
    }

    #[test]
    fn matches_num_bigint() {
        let x: [u8; 32] = bytes("nbx", 32).try_into().unwrap();
        let (a, b) = (bytes("nba", 256), bytes("nbb", 256));
        let (s1, s2) = (b"salt-one".to_vec(), b"salt-two".to_vec());
        let (v, g_b) = server(&x, &b);
        let check = compute_check_x(&x, &s1, &s2, 3, &P, &g_b, &a).unwrap();
        let p = Big::from_bytes_be(&P);
        let g = Big::from(3u32);
        let big = |x: &[u8]| Big::from_bytes_be(x);
        let pad = |n: &Big| {
            let b = n.to_bytes_be();
            let mut out = vec![0u8; 256 - b.len()];
            out.extend(b);
            out
        };
        assert_eq!(pad(&g.modpow(&big(&x), &p)), v.to_vec());
        let k = big(&h(&[&P, &pad(&g)]));
        let gb = (&k * big(&v) + g.modpow(&big(&b), &p)) % &p;
        assert_eq!(pad(&gb), g_b.to_vec());
        let ga = g.modpow(&big(&a), &p);
        assert_eq!(pad(&ga), check.a.to_vec());
        let u = big(&h(&[&pad(&ga), &g_b]));
        let t = (&gb + &p - (&k * big(&v)) % &p) % &p;
        let s = t.modpow(&(big(&a) + &u * big(&x)), &p);
        let hp = h(&[&P]);
        let hg = h(&[&pad(&g)]);
        let xor: Vec<u8> = hp.iter().zip(hg).map(|(a, b)| a ^ b).collect();
        let m1 = h(&[
            &xor,
            &h(&[&s1]),
            &h(&[&s2]),
            &pad(&ga),
            &g_b,
            &h(&[&pad(&s)]),
        ]);
        assert_eq!(m1, check.m1);
    }

    #[test]
    fn exponent_is_a_plus_u_x() {
        for i in 0..20 {
            let mut a: [u8; LEN] = bytes(&format!("ea{i}"), LEN).try_into().unwrap();
            if i % 2 == 0 {
                a = [0xff; LEN];
            }
            let u: [u8; 32] = bytes(&format!("eu{i}"), 32).try_into().unwrap();
            let x: [u8; 32] = if i % 3 == 0 {
                [0xff; 32]
            } else {
                bytes(&format!("ex{i}"), 32).try_into().unwrap()
            };
            let want = Big::from_bytes_be(&a) + Big::from_bytes_be(&u) * Big::from_bytes_be(&x);
            assert_eq!(Big::from_bytes_be(&exponent(&a, &u, &x)), want);
        }
    }

    #[test]
    fn checks_on_p_and_g() {
        let (x, a) = ([7u8; 32], bytes("ca", 256));
        let (_, g_b) = server(&x, &bytes("cb", 256));
        let run = |g: u32, p: &[u8]| compute_check_x(&x, b"s", b"t", g, p, &g_b, &a).unwrap_err();
        assert_eq!(
            run(3, &P[1..]),
            SrpError::BadP(DhError::PrimeSize { bits: 2037 })
        );
        // p + 6 keeps p mod 3 = 2 (so g = 3 passes) but is not a safe prime.
        let mut not_prime = P;
        not_prime[255] += 6;
        assert_eq!(run(3, &not_prime), SrpError::BadP(DhError::PrimeNotSafe));
        assert_eq!(run(8, &P), SrpError::BadG(DhError::BadG { g: 8 }));
        assert!(matches!(
            run(2, &P),
            SrpError::BadG(DhError::GResidue { g: 2, .. })
        ));
        assert!(matches!(verifier(&x, 5, &P), Err(SrpError::BadG(_))));
    }

    #[test]
    fn checks_on_g_b_g_a_and_u() {
        let (x, a) = ([7u8; 32], bytes("ga", 256));
        let p = Big::from_bytes_be(&P);
        let run = |g_b: &[u8], a: &[u8]| compute_check_x(&x, b"s", b"t", 3, &P, g_b, a);
        let margin: Big = Big::from(1u32) << 1984usize;
        let cases = [
            (Big::from(0u32), Bound::AtMostOne),
            (Big::from(1u32), Bound::AtMostOne),
            (&p - 1u32, Bound::AtLeastPrimeMinusOne),
            (p.clone(), Bound::AtLeastPrimeMinusOne),
            (Big::from(2u32), Bound::BelowMargin),
            (&margin - 1u32, Bound::BelowMargin),
            (&p - &margin + 1u32, Bound::AboveMargin),
        ];
        for (value, bound) in cases {
            assert_eq!(
                run(&value.to_bytes_be(), &a),
                Err(SrpError::BadB(bound)),
                "{value:x}"
            );
        }
        assert!(run(&margin.to_bytes_be(), &a).is_ok());
        assert_eq!(
            run(&[1u8; 257], &a),
            Err(SrpError::BadB(Bound::AtLeastPrimeMinusOne))
        );
        let (_, g_b) = server(&x, &bytes("gb", 256));
        // a = 0 gives g_a = 1, a = 1 gives g_a = 3.
        assert_eq!(run(&g_b, &[0]), Err(SrpError::BadA(Bound::AtMostOne)));
        assert_eq!(run(&g_b, &[1]), Err(SrpError::BadA(Bound::BelowMargin)));
        assert!(matches!(
            run(&g_b, &[1; 257]),
            Err(SrpError::TooLong { what: "a", .. })
        ));
        assert_eq!(nonzero_u([0; 32]), Err(SrpError::UZero));
        assert!(nonzero_u([0, 0, 1, 0].repeat(8).try_into().unwrap()).is_ok());
    }

    #[test]
    fn server_rejects_a_bad_g_a() {
        let x = [9u8; 32];
        let b = bytes("sb", 256);
        let (v, g_b) = server(&x, &b);
        let r = server_check(&v, 3, &P, b"s", b"t", &[1], &g_b, &b, &[0; 32]);
        assert_eq!(r, Err(SrpError::BadA(Bound::AtMostOne)));
        let r = server_check(&P, 3, &P, b"s", b"t", &g_b, &g_b, &b, &[0; 32]);
        assert!(matches!(r, Err(SrpError::TooLong { what: "v", .. })));
    }
}

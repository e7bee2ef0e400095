//! Diffie-Hellman for the auth-key exchange: the checks that MTProto makes
//! mandatory before a client uses the server's parameters
//! (core.telegram.org/mtproto/security_guidelines, "Mandatory checks", and
//! core.telegram.org/mtproto/auth_key, step 6).
//!
//! - dh_prime is a 2048-bit safe prime. The prime every Telegram server sends
//!   is recognized by comparison; any other goes through the safe-prime test
//!   (`bignum::prime::is_safe_prime`, tens of milliseconds: callers that meet
//!   the same unknown prime repeatedly should remember the verdict).
//! - g is 2..=7 and generates the subgroup of order (p-1)/2, which the
//!   guidelines reduce to a residue condition on p for each g.
//! - g_a and g_b satisfy 1 < x < p - 1 and 2^(2048-64) <= x <= p - 2^(2048-64).
//!
//! The exponentiations: g^b through `DhGroup` (a fixed-base comb table per
//! (g, dh_prime), built once and shared through a small process-wide cache),
//! g_a^b through `bignum::mod_pow_be`.

use crate::bignum::prime::{is_safe_prime, DEFAULT_ROUNDS};
use crate::bignum::{BigUint, BignumError, FixedBase, Modulus};
use std::sync::{Arc, Mutex};

/// The 2048-bit safe prime that Telegram's servers use (the `dh_prime` of
/// every server_DH_inner_data, e.g. the official auth-key samples), with g = 3.
pub const TELEGRAM_DH_PRIME: [u8; 256] = [
    0xc7, 0x1c, 0xae, 0xb9, 0xc6, 0xb1, 0xc9, 0x04, 0x8e, 0x6c, 0x52, 0x2f, 0x70, 0xf1, 0x3f, 0x73,
    0x98, 0x0d, 0x40, 0x23, 0x8e, 0x3e, 0x21, 0xc1, 0x49, 0x34, 0xd0, 0x37, 0x56, 0x3d, 0x93, 0x0f,
    0x48, 0x19, 0x8a, 0x0a, 0xa7, 0xc1, 0x40, 0x58, 0x22, 0x94, 0x93, 0xd2, 0x25, 0x30, 0xf4, 0xdb,
    0xfa, 0x33, 0x6f, 0x6e, 0x0a, 0xc9, 0x25, 0x13, 0x95, 0x43, 0xae, 0xd4, 0x4c, 0xce, 0x7c, 0x37,
    0x20, 0xfd, 0x51, 0xf6, 0x94, 0x58, 0x70, 0x5a, 0xc6, 0x8c, 0xd4, 0xfe, 0x6b, 0x6b, 0x13, 0xab,
    0xdc, 0x97, 0x46, 0x51, 0x29, 0x69, 0x32, 0x84, 0x54, 0xf1, 0x8f, 0xaf, 0x8c, 0x59, 0x5f, 0x64,
    0x24, 0x77, 0xfe, 0x96, 0xbb, 0x2a, 0x94, 0x1d, 0x5b, 0xcd, 0x1d, 0x4a, 0xc8, 0xcc, 0x49, 0x88,
    0x07, 0x08, 0xfa, 0x9b, 0x37, 0x8e, 0x3c, 0x4f, 0x3a, 0x90, 0x60, 0xbe, 0xe6, 0x7c, 0xf9, 0xa4,
    0xa4, 0xa6, 0x95, 0x81, 0x10, 0x51, 0x90, 0x7e, 0x16, 0x27, 0x53, 0xb5, 0x6b, 0x0f, 0x6b, 0x41,
    0x0d, 0xba, 0x74, 0xd8, 0xa8, 0x4b, 0x2a, 0x14, 0xb3, 0x14, 0x4e, 0x0e, 0xf1, 0x28, 0x47, 0x54,
    0xfd, 0x17, 0xed, 0x95, 0x0d, 0x59, 0x65, 0xb4, 0xb9, 0xdd, 0x46, 0x58, 0x2d, 0xb1, 0x17, 0x8d,
    0x16, 0x9c, 0x6b, 0xc4, 0x65, 0xb0, 0xd6, 0xff, 0x9c, 0xa3, 0x92, 0x8f, 0xef, 0x5b, 0x9a, 0xe4,
    0xe4, 0x18, 0xfc, 0x15, 0xe8, 0x3e, 0xbe, 0xa0, 0xf8, 0x7f, 0xa9, 0xff, 0x5e, 0xed, 0x70, 0x05,
    0x0d, 0xed, 0x28, 0x49, 0xf4, 0x7b, 0xf9, 0x59, 0xd9, 0x56, 0x85, 0x0c, 0xe9, 0x29, 0x85, 0x1f,
    0x0d, 0x81, 0x15, 0xf6, 0x35, 0xb1, 0x05, 0xee, 0x2e, 0x4e, 0x15, 0xd0, 0x4b, 0x24, 0x54, 0xbf,
    0x6f, 0x4f, 0xad, 0xf0, 0x34, 0xb1, 0x04, 0x03, 0x11, 0x9c, 0xd8, 0xe3, 0xb9, 0x2f, 0xcc, 0x5b,
];

/// Bits of a valid dh_prime.
pub const PRIME_BITS: usize = 2048;
/// The safety margin of the range check: 2^(2048-64).
const MARGIN_BITS: usize = PRIME_BITS - 64;

/// Which bound a DH value violated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// x <= 1.
    AtMostOne,
    /// x >= p - 1.
    AtLeastPrimeMinusOne,
    /// x < 2^(2048-64).
    BelowMargin,
    /// x > p - 2^(2048-64).
    AboveMargin,
}

/// Errors of the DH checks; each names the check that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DhError {
    /// dh_prime is not a 2048-bit number.
    PrimeSize { bits: usize },
    /// dh_prime or (dh_prime - 1) / 2 is not prime.
    PrimeNotSafe,
    /// g is outside 2..=7.
    BadG { g: u32 },
    /// p mod `modulus` = `residue` fails the condition for g.
    GResidue { g: u32, modulus: u32, residue: u32 },
    /// g_a is out of range.
    GaRange(Bound),
    /// A DH value (g_a or g_b) is out of range.
    ValueRange(Bound),
}

impl std::fmt::Display for DhError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DhError::PrimeSize { bits } => write!(f, "dh_prime has {bits} bits, expected 2048"),
            DhError::PrimeNotSafe => write!(f, "dh_prime is not a safe prime"),
            DhError::BadG { g } => write!(f, "g = {g} is outside 2..7"),
            DhError::GResidue {
                g,
                modulus,
                residue,
            } => {
                write!(
                    f,
                    "g = {g} needs another dh_prime mod {modulus} than {residue}"
                )
            }
            DhError::GaRange(b) => write!(f, "g_a out of range: {}", bound_text(*b)),
            DhError::ValueRange(b) => write!(f, "DH value out of range: {}", bound_text(*b)),
        }
    }
}

fn bound_text(b: Bound) -> &'static str {
    match b {
        Bound::AtMostOne => "not above 1",
        Bound::AtLeastPrimeMinusOne => "not below dh_prime - 1",
        Bound::BelowMargin => "below 2^(2048-64)",
        Bound::AboveMargin => "above dh_prime - 2^(2048-64)",
    }
}

impl std::error::Error for DhError {}

/// Every check on server_DH_inner_data's (dh_prime, g, g_a), cheapest first.
pub fn check_dh_params(dh_prime: &[u8], g: u32, g_a: &[u8]) -> Result<(), DhError> {
    let p = parse_prime(dh_prime)?;
    check_g(g, &p)?;
    check_range(g_a, &p).map_err(DhError::GaRange)?;
    check_safe_prime(&p)
}

/// The range checks alone, for g_a or g_b against a dh_prime.
pub fn check_dh_value(value: &[u8], dh_prime: &[u8]) -> Result<(), DhError> {
    let p = parse_prime(dh_prime)?;
    check_range(value, &p).map_err(DhError::ValueRange)
}

/// dh_prime is the known prime, or a 2048-bit safe prime.
pub fn check_safe_prime(p: &BigUint) -> Result<(), DhError> {
    if p.bits() != PRIME_BITS {
        return Err(DhError::PrimeSize { bits: p.bits() });
    }
    if p.to_be_bytes_minimal() == TELEGRAM_DH_PRIME {
        return Ok(());
    }
    if is_safe_prime(p, DEFAULT_ROUNDS) {
        Ok(())
    } else {
        Err(DhError::PrimeNotSafe)
    }
}

/// g in 2..=7, with the condition on p under which g generates the subgroup
/// of order (p-1)/2 (security_guidelines: "for g = 2, p mod 8 = 7; g = 3,
/// p mod 3 = 2; g = 4 no extra condition; g = 5, p mod 5 = 1 or 4; g = 6,
/// p mod 24 = 19 or 23; g = 7, p mod 7 = 3, 5 or 6").
pub fn check_g(g: u32, p: &BigUint) -> Result<(), DhError> {
    let (modulus, allowed): (u32, &[u32]) = match g {
        2 => (8, &[7]),
        3 => (3, &[2]),
        4 => return Ok(()),
        5 => (5, &[1, 4]),
        6 => (24, &[19, 23]),
        7 => (7, &[3, 5, 6]),
        _ => return Err(DhError::BadG { g }),
    };
    let residue = p.rem_u64(modulus as u64) as u32;
    if allowed.contains(&residue) {
        Ok(())
    } else {
        Err(DhError::GResidue {
            g,
            modulus,
            residue,
        })
    }
}

fn parse_prime(dh_prime: &[u8]) -> Result<BigUint, DhError> {
    let p = BigUint::from_be_bytes(dh_prime).map_err(|e| match e {
        BignumError::TooLarge { bits, .. } => DhError::PrimeSize { bits },
        _ => DhError::PrimeSize { bits: 0 },
    })?;
    if p.bits() != PRIME_BITS {
        return Err(DhError::PrimeSize { bits: p.bits() });
    }
    Ok(p)
}

/// 1 < x < p - 1 and 2^(2048-64) <= x <= p - 2^(2048-64).
fn check_range(value: &[u8], p: &BigUint) -> Result<(), Bound> {
    let x = BigUint::from_be_bytes(value).map_err(|_| Bound::AtLeastPrimeMinusOne)?;
    let one = BigUint::from_u64(1);
    let p_minus_1 = p.checked_sub(&one).expect("p > 1");
    let margin = BigUint::pow2(MARGIN_BITS).expect("below 4096 bits");
    let upper = p.checked_sub(&margin).expect("p > 2^1984");
    if x <= one {
        Err(Bound::AtMostOne)
    } else if x >= p_minus_1 {
        Err(Bound::AtLeastPrimeMinusOne)
    } else if x < margin {
        Err(Bound::BelowMargin)
    } else if x > upper {
        Err(Bound::AboveMargin)
    } else {
        Ok(())
    }
}

/// A DH group (g, dh_prime) prepared for g^b: a `FixedBase` table covering
/// exponents as long as the prime (2048 bits for Telegram's), which makes g^b
/// about four times cheaper than `mod_pow`. Building it costs about one
/// exponentiation; `DhGroup::shared` builds each group once per process.
pub struct DhGroup {
    g: u32,
    prime: Vec<u8>,
    table: FixedBase,
}

/// Groups kept by `DhGroup::shared` (tables are 64 KB at 2048 bits): g is 2..7
/// and Telegram uses one prime, so a few slots are plenty.
const SHARED_GROUPS: usize = 8;

static SHARED: Mutex<Vec<Arc<DhGroup>>> = Mutex::new(Vec::new());

impl DhGroup {
    /// The group of `g` modulo the odd `dh_prime` (big-endian). No DH checks
    /// here: those are `check_dh_params`.
    pub fn new(g: u32, dh_prime: &[u8]) -> Result<Self, BignumError> {
        let p = BigUint::from_be_bytes(dh_prime)?;
        let modulus = Modulus::new(&p)?;
        let exp_bits = (p.bits().div_ceil(8) * 8).max(8);
        let table = FixedBase::new(&modulus, &BigUint::from_u64(g as u64), exp_bits);
        Ok(DhGroup {
            g,
            prime: p.to_be_bytes_minimal(),
            table,
        })
    }

    /// `new`, or the same group built by an earlier call (the least recently
    /// built one is dropped when the cache is full).
    pub fn shared(g: u32, dh_prime: &[u8]) -> Result<Arc<Self>, BignumError> {
        let start = dh_prime
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(dh_prime.len());
        let key = &dh_prime[start..];
        let found = {
            let cache = SHARED.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .iter()
                .find(|grp| grp.g == g && grp.prime == key)
                .cloned()
        };
        if let Some(group) = found {
            return Ok(group);
        }
        // Built outside the lock: two threads may both build, which is harmless.
        let group = Arc::new(DhGroup::new(g, dh_prime)?);
        let mut cache = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= SHARED_GROUPS {
            cache.remove(0);
        }
        cache.push(group.clone());
        Ok(group)
    }

    /// g^b mod dh_prime for a big-endian `b` (secret: constant-time for a
    /// given length), left-padded to the prime's byte length like `mod_pow_be`.
    pub fn pow(&self, b: &[u8]) -> Vec<u8> {
        self.table
            .pow(b)
            .to_be_bytes(self.prime.len())
            .expect("below the prime")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bignum::mod_pow_be;

    // Official sample 2025-10 (core.telegram.org/mtproto/samples-auth_key via
    // the telegram-crawler archive; vectors/mtproto-auth-sample.json).
    const G_A: &str = "5c0fe3fd6f85a54d44dc3e0c5076323491c22a14780d5539b7e0b169a98f9a726d298f2f598535bb15c463ae3e71b7322741177ea2ea6296f007aae947a9837b315077732cc4272497f728255bd77eb7330c26832b7b50b0901565d65bd4223496d34fddf839b8f5be2055e71324f3a7a3b1b214564148113db276b27866eb0c3791ecfebaaa6e2f3fbd91de2733faf34afe20c7b1192b3ed9e13b3d792bd70358d2581bd57e89f426308516eb7f013b5e5b6e25b07c852615b1c237b027950d1c297689e0c16ad846fae4b6aac224a74f96a4e3d4e40c38cd93b22d475b960fdac852e9952b6a25accc0f0179139968579a80a91729f7c23ab18b89f64e84bd";
    const B: &str = "1eb6c0a3f02e68fb3eff3acc1b6b30d75bc1075aed0203c0766fa5a77694b291585d6923d80faddd62c2a54c269bcbac9eedef0a02468a89a89c7078fbd3fecc3819e1ed99853dd3fb985d358ea4df1c67c8b3f6310f770a380236959048e7260189cb654af4015b1af90b78715b7c2d39f3e9b7ca557395cb1808ba1ac157df864775a14b0a698bf67802e3e12c2c01285dbbbeb32f26d6822c59d5f07a41d311d9e8596ea59fa06067175471fab434d8aa803c4f0ebd0af48f60095cead6a6374cb6bfc782c62e7ccdbf769d09f67a79b03df34bbe305b323486c478e48fbe55d375dae85469c7999eb9364413850b2566c3bb436193373402938d58d3c93c";
    const G_B: &str = "537b34cf2aa33cdf4680d880407d2f0524da4b23215511fe6e4520bbb200cf9c9c889096151b76f8edbf43e46b1b80e09c333f35960718c792019a342470ff59eee7400a15b66d1ecf58f2f934de6b453136fd00f9dfdd9e488666bd1327ca0194ab025e2c9da409d5c39d04f8e71df3cd492c74bdecf57e414778811ba2a1fbfbae91bbf26dc8355f1d0c30275c8bf52067fdc3ced5bd3391c57db284d1ee070988b35911297dc2d3f336a62f2e1341e5433f97ab5bfeca4db5863bfea0c3e1ae004cf08a4436352a540014065dbd6005e6749b0b2dc2c0d7dfb9981d6779b8064a317dd4015c598259a0cd31f7dff108ddf48a423d408474e7ce1f0f12bb88";
    const AUTH_KEY: &str = "871f0328064f71fe1a23c05f5d5b0fe4b06443cb2f28cfbc182b116e09135e3e1612e1d2e7c0659c1e9c9fca014b1c763564f6dde147a272b43753bb5eb29acdc817579cfc79b074416aad43ea252141e9bda65569ab322ac4b8d47ca143f0e8410c2ec4a193dff7085edea8efb5d4ebbddb51d013b61b11c76ccdeeee032330dce8c494bcfc990e374cef823c26d727fc59299622a994e4ca7233e96fc6b70c93b4882fe4650c3cff558c56978191c3dc12c57ec4404b139778e551eea0bce94ba9424ccbeea856e839ec097802db10d10b19cbfe07e8d1d411eb68ba2a16b8f8797e8b8cc08293cc07fb81e93f12e3d9646e71f952f3f34095b0165a8d9b3b";

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    #[test]
    fn official_sample_exchange() {
        let p = TELEGRAM_DH_PRIME;
        check_dh_params(&p, 3, &unhex(G_A)).unwrap();
        // g_b = g^b mod p, and auth_key = g_a^b mod p.
        let g_b = mod_pow_be(&[3], &unhex(B), &p).unwrap();
        assert_eq!(hex::encode(&g_b), G_B);
        check_dh_value(&g_b, &p).unwrap();
        let auth_key = mod_pow_be(&unhex(G_A), &unhex(B), &p).unwrap();
        assert_eq!(hex::encode(auth_key), AUTH_KEY);
    }

    #[test]
    fn group_power_matches_sample_and_mod_pow() {
        let group = DhGroup::shared(3, &TELEGRAM_DH_PRIME).unwrap();
        assert_eq!(hex::encode(group.pow(&unhex(B))), G_B);
        // The cache hands out the same table, also for a zero-padded prime.
        let mut padded = vec![0u8; 2];
        padded.extend_from_slice(&TELEGRAM_DH_PRIME);
        assert!(Arc::ptr_eq(&group, &DhGroup::shared(3, &padded).unwrap()));
        let mut seed = 0x5eedu64;
        for g in [2u32, 3, 4, 5, 6, 7] {
            let group = DhGroup::shared(g, &TELEGRAM_DH_PRIME).unwrap();
            for len in [256usize, 255, 1, 0, 300] {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        seed as u8
                    })
                    .collect();
                let want = mod_pow_be(&[g as u8], &b, &TELEGRAM_DH_PRIME).unwrap();
                assert_eq!(group.pow(&b), want, "g {g} len {len}");
            }
        }
        assert_eq!(
            DhGroup::new(3, &[0x10, 0x00]).err(),
            Some(BignumError::EvenModulus)
        );
        assert_eq!(DhGroup::new(3, &[]).err(), Some(BignumError::ZeroModulus));
    }

    #[test]
    fn telegram_prime_passes_the_full_test() {
        // The fast path is a comparison; the slow path must agree.
        let p = BigUint::from_be_bytes(&TELEGRAM_DH_PRIME).unwrap();
        assert!(is_safe_prime(&p, 8));
    }

    #[test]
    fn unknown_primes_are_tested() {
        // RFC 3526 group 14 is a 2048-bit safe prime (p mod 8 = 7: g = 2 works).
        let rfc = unhex("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF");
        let g_a = mod_pow_be(&[2], &[0x5a; 256], &rfc).unwrap();
        check_dh_params(&rfc, 2, &g_a).unwrap();
        // The Telegram prime plus 2 is odd but not a safe prime.
        let mut not_prime = TELEGRAM_DH_PRIME;
        not_prime[255] = not_prime[255].wrapping_add(2);
        assert_eq!(
            check_safe_prime(&BigUint::from_be_bytes(&not_prime).unwrap()),
            Err(DhError::PrimeNotSafe)
        );
    }

    #[test]
    fn each_check_fails_with_its_error() {
        let p = TELEGRAM_DH_PRIME;
        let g_a = unhex(G_A);
        // Dropping the top byte (0xc7) leaves 2037 bits.
        assert_eq!(
            check_dh_params(&p[1..], 3, &g_a),
            Err(DhError::PrimeSize { bits: 2037 })
        );
        assert_eq!(check_dh_params(&p, 1, &g_a), Err(DhError::BadG { g: 1 }));
        assert_eq!(check_dh_params(&p, 8, &g_a), Err(DhError::BadG { g: 8 }));
        // The Telegram prime is 3 mod 8, 2 mod 3, 3 mod 5, 11 mod 24, 6 mod 7
        // (computed with Python): g = 3, 4, 7 pass; g = 2, 5, 6 do not.
        for (g, modulus, residue) in [(2, 8, 3), (5, 5, 3), (6, 24, 11)] {
            assert_eq!(
                check_dh_params(&p, g, &g_a),
                Err(DhError::GResidue {
                    g,
                    modulus,
                    residue
                })
            );
        }
        assert!(check_dh_params(&p, 7, &g_a).is_ok());
        assert!(check_dh_params(&p, 4, &g_a).is_ok());
        let p_num = BigUint::from_be_bytes(&p).unwrap();
        let val = |x: &BigUint| x.to_be_bytes(256).unwrap();
        let cases = [
            (BigUint::from_u64(1), Bound::AtMostOne),
            (BigUint::ZERO, Bound::AtMostOne),
            (BigUint::from_u64(2), Bound::BelowMargin),
            (
                BigUint::pow2(MARGIN_BITS)
                    .unwrap()
                    .checked_sub_u64(1)
                    .unwrap(),
                Bound::BelowMargin,
            ),
            (
                p_num.checked_sub_u64(1).unwrap(),
                Bound::AtLeastPrimeMinusOne,
            ),
            (p_num, Bound::AtLeastPrimeMinusOne),
            (
                p_num
                    .checked_sub(&BigUint::pow2(MARGIN_BITS).unwrap())
                    .unwrap()
                    .checked_add(&BigUint::from_u64(1))
                    .unwrap(),
                Bound::AboveMargin,
            ),
        ];
        for (x, bound) in cases {
            assert_eq!(
                check_dh_params(&p, 3, &val(&x)),
                Err(DhError::GaRange(bound))
            );
            assert_eq!(
                check_dh_value(&val(&x), &p),
                Err(DhError::ValueRange(bound))
            );
        }
        // The bounds themselves are allowed.
        let low = BigUint::pow2(MARGIN_BITS).unwrap();
        let high = p_num.checked_sub(&low).unwrap();
        assert!(check_dh_value(&val(&low), &p).is_ok());
        assert!(check_dh_value(&val(&high), &p).is_ok());
        assert_eq!(
            check_dh_value(&[1u8; 300], &p),
            Err(DhError::ValueRange(Bound::AtLeastPrimeMinusOne))
        );
    }
}

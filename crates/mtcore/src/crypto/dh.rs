//! Diffie-Hellman for the auth-key exchange: the checks that MTProto makes
//! mandatory before a client uses the server's parameters
//! (core.telegram.org/mtproto/security_guidelines, "Mandatory checks", and
//! core.telegram.org/mtproto/auth_key, step 6).
//!
//! - dh_prime is a 2048-bit safe prime. The prime every Telegram server sends
//!   is recognized by comparison; any other goes through the safe-prime test
//!   once per process (`safe_prime`, tens of milliseconds).
//! - g is 2..=7 and generates the subgroup of order (p-1)/2, which the
//!   guidelines reduce to a residue condition on p for each g.
//! - g_a and g_b satisfy 1 < x < p - 1 and 2^(2048-64) <= x <= p - 2^(2048-64).
//!
//! The exponentiations: g^b through `DhGroup` (dh_group.rs), g_a^b through
//! `bignum::mod_pow_be`.

use super::safe_prime;
use crate::bignum::encoding::{number_within, significant};
use crypto_bigint::{BoxedUint, Limb, NonZero};

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
    let prime = cheap_checks(dh_prime, g, g_a)?;
    check_safe_prime(prime)
}

/// `check_dh_params` without a safe-prime test that has not run yet in this
/// process: `Ok(true)` when every check passed, `Ok(false)` when all but that
/// test passed and the test is due (`safe_prime::is_safe_prime`, tens of
/// milliseconds; then call `check_dh_params`, which finds the verdict).
pub fn check_dh_params_known(dh_prime: &[u8], g: u32, g_a: &[u8]) -> Result<bool, DhError> {
    let prime = cheap_checks(dh_prime, g, g_a)?;
    if prime == TELEGRAM_DH_PRIME {
        return Ok(true);
    }
    match safe_prime::known_verdict(prime) {
        Some(true) => Ok(true),
        Some(false) => Err(DhError::PrimeNotSafe),
        None => Ok(false),
    }
}

/// Size, g and g_a: microseconds. Returns dh_prime without leading zeros.
fn cheap_checks<'a>(dh_prime: &'a [u8], g: u32, g_a: &[u8]) -> Result<&'a [u8], DhError> {
    let p = parse_prime(dh_prime)?;
    check_g(g, &p)?;
    check_range(g_a, &p).map_err(DhError::GaRange)?;
    Ok(significant(dh_prime))
}

/// The range checks alone, for g_a or g_b against a dh_prime.
pub fn check_dh_value(value: &[u8], dh_prime: &[u8]) -> Result<(), DhError> {
    let p = parse_prime(dh_prime)?;
    check_range(value, &p).map_err(DhError::ValueRange)
}

/// dh_prime (big-endian) is a 2048-bit safe prime: Telegram's, or one that
/// passes the safe-prime test (run once per prime and process).
pub fn check_safe_prime(dh_prime: &[u8]) -> Result<(), DhError> {
    parse_prime(dh_prime)?;
    let prime = significant(dh_prime);
    if prime == TELEGRAM_DH_PRIME || safe_prime::is_safe_prime(prime) {
        Ok(())
    } else {
        Err(DhError::PrimeNotSafe)
    }
}

/// g in 2..=7, with the condition on p under which g generates the subgroup
/// of order (p-1)/2 (security_guidelines: "for g = 2, p mod 8 = 7; g = 3,
/// p mod 3 = 2; g = 4 no extra condition; g = 5, p mod 5 = 1 or 4; g = 6,
/// p mod 24 = 19 or 23; g = 7, p mod 7 = 3, 5 or 6").
pub fn check_g(g: u32, p: &BoxedUint) -> Result<(), DhError> {
    let (modulus, allowed): (u32, &[u32]) = match g {
        2 => (8, &[7]),
        3 => (3, &[2]),
        4 => return Ok(()),
        5 => (5, &[1, 4]),
        6 => (24, &[19, 23]),
        7 => (7, &[3, 5, 6]),
        _ => return Err(DhError::BadG { g }),
    };
    let divisor = NonZero::new(Limb::from(modulus)).expect("nonzero");
    let residue = p.rem_limb(divisor).0 as u32;
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

/// dh_prime as a 2048-bit number (at 2048-bit precision), or its size error.
pub fn parse_prime(dh_prime: &[u8]) -> Result<BoxedUint, DhError> {
    let digits = significant(dh_prime);
    let bits = match digits.first() {
        Some(top) => digits.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    if bits != PRIME_BITS {
        return Err(DhError::PrimeSize { bits });
    }
    Ok(number_within(digits, PRIME_BITS as u32).expect("2048 bits"))
}

/// 1 < x < p - 1 and 2^(2048-64) <= x <= p - 2^(2048-64); values and bounds
/// are public, so the comparisons may take variable time.
fn check_range(value: &[u8], p: &BoxedUint) -> Result<(), Bound> {
    let Some(x) = number_within(value, PRIME_BITS as u32) else {
        return Err(Bound::AtLeastPrimeMinusOne);
    };
    let one = BoxedUint::one_with_precision(PRIME_BITS as u32);
    let p_minus_1 = p.wrapping_sub(&one);
    let margin = one.shl_vartime(MARGIN_BITS as u32).expect("below 2^2048");
    let upper = p.wrapping_sub(&margin);
    if x.cmp_vartime(&one).is_le() {
        Err(Bound::AtMostOne)
    } else if x.cmp_vartime(&p_minus_1).is_ge() {
        Err(Bound::AtLeastPrimeMinusOne)
    } else if x.cmp_vartime(&margin).is_lt() {
        Err(Bound::BelowMargin)
    } else if x.cmp_vartime(&upper).is_gt() {
        Err(Bound::AboveMargin)
    } else {
        Ok(())
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

    /// A 2048-bit number as 256 big-endian bytes.
    fn val(x: &BoxedUint) -> Vec<u8> {
        crate::bignum::encoding::to_be_padded(x, 256).unwrap()
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

    // RFC 3526 group 14 is a 2048-bit safe prime (p mod 8 = 7: g = 2 works).
    const RFC3526_2048: &str = "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF";

    #[test]
    fn unknown_primes_are_tested_once() {
        let rfc = unhex(RFC3526_2048);
        let g_a = mod_pow_be(&[2], &[0x5a; 256], &rfc).unwrap();
        check_dh_params(&rfc, 2, &g_a).unwrap();
        // Now the verdict is known: the quick form completes, with no test.
        let before = safe_prime::tests_run();
        assert_eq!(check_dh_params_known(&rfc, 2, &g_a), Ok(true));
        check_dh_params(&rfc, 2, &g_a).unwrap();
        assert_eq!(safe_prime::tests_run(), before);
        // Telegram's prime needs no test at all.
        assert_eq!(
            check_dh_params_known(&TELEGRAM_DH_PRIME, 3, &unhex(G_A)),
            Ok(true)
        );
        // The Telegram prime plus 6 is odd, = 2 mod 3 (g = 3 passes) and not a
        // safe prime: unknown first, then refused both ways.
        let mut not_prime = TELEGRAM_DH_PRIME;
        not_prime[255] += 6;
        let g_a = unhex(G_A);
        assert_eq!(check_dh_params_known(&not_prime, 3, &g_a), Ok(false));
        assert_eq!(check_safe_prime(&not_prime), Err(DhError::PrimeNotSafe));
        assert_eq!(
            check_dh_params_known(&not_prime, 3, &g_a),
            Err(DhError::PrimeNotSafe)
        );
        assert_eq!(
            check_dh_params(&not_prime, 3, &g_a),
            Err(DhError::PrimeNotSafe)
        );
        // The cheap checks come first in the quick form too.
        assert_eq!(
            check_dh_params_known(&not_prime, 8, &g_a),
            Err(DhError::BadG { g: 8 })
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
        assert_eq!(
            check_dh_params(&[], 3, &g_a),
            Err(DhError::PrimeSize { bits: 0 })
        );
        assert_eq!(
            check_dh_params(&[1u8; 513], 3, &g_a),
            Err(DhError::PrimeSize { bits: 4097 })
        );
        let mut padded = vec![0u8; 4];
        padded.extend_from_slice(&p);
        assert!(check_dh_params(&padded, 3, &g_a).is_ok());
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
        let p_num = parse_prime(&p).unwrap();
        let one = BoxedUint::one_with_precision(2048);
        let margin = one.shl_vartime(MARGIN_BITS as u32).unwrap();
        let cases = [
            (one.clone(), Bound::AtMostOne),
            (BoxedUint::zero_with_precision(2048), Bound::AtMostOne),
            (one.wrapping_add(&one), Bound::BelowMargin),
            (margin.wrapping_sub(&one), Bound::BelowMargin),
            (p_num.wrapping_sub(&one), Bound::AtLeastPrimeMinusOne),
            (p_num.clone(), Bound::AtLeastPrimeMinusOne),
            (
                p_num.wrapping_sub(&margin).wrapping_add(&one),
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
        let high = p_num.wrapping_sub(&margin);
        assert!(check_dh_value(&val(&margin), &p).is_ok());
        assert!(check_dh_value(&val(&high), &p).is_ok());
        assert_eq!(
            check_dh_value(&[1u8; 300], &p),
            Err(DhError::ValueRange(Bound::AtLeastPrimeMinusOne))
        );
    }
}

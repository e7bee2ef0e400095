//! A key_share value that passes for a real x25519 public key.
//!
//! An observer can tell random bytes from a public key: a real key is the
//! u-coordinate of a point on Curve25519 (RFC 7748 section 4.1), for which
//! u^3 + 486662 u^2 + u is a square mod p = 2^255 - 19; for half of all random
//! values it is not (they lie on the twist). So we draw until the value is on
//! the curve, with its top bit clear as RFC 7748 section 5 masks it. No key
//! agreement happens: the server never uses it.

use crate::transport::RandomSource;
use crypto_bigint::modular::{FixedMontyForm, FixedMontyParams};
use crypto_bigint::{JacobiSymbol, Odd, U256};

/// Curve25519's Montgomery coefficient A.
const A: u64 = 486_662;

/// p = 2^255 - 19.
const P: U256 =
    U256::from_be_hex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed");

/// Whether `u` (little-endian, as on the wire) is the u-coordinate of a
/// point on the curve rather than on its twist: f(u) = u^3 + A u^2 + u is a
/// square mod p (or zero), which the Legendre symbol tells.
pub fn on_curve(u_le: &[u8; 32]) -> bool {
    let p = Odd::new(P).expect("odd prime");
    let params = FixedMontyParams::new_vartime(p);
    // u < 2^256 < R: the conversion to Montgomery form reduces it mod p.
    let u = FixedMontyForm::new(&U256::from_le_slice(u_le), &params);
    let num = |x: u64| FixedMontyForm::new(&U256::from_u64(x), &params);
    // f(u) = u * (u * (u + A) + 1)
    let f = u.mul(&u.add(&num(A)).mul(&u).add(&num(1))).retrieve();
    // A key on the wire is public: variable time is fine.
    !matches!(f.jacobi_symbol_vartime(&p), JacobiSymbol::MinusOne)
}

/// Fills `out` with a random on-curve u-coordinate (little-endian).
pub fn fake_public_key<R: RandomSource + ?Sized>(rng: &mut R, out: &mut [u8; 32]) {
    loop {
        rng.fill_random(out);
        out[31] &= 0x7f;
        if on_curve(out) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_point_is_on_curve_and_a_twist_point_is_not() {
        // u = 9 is the base point (RFC 7748 section 4.1).
        let mut nine = [0u8; 32];
        nine[0] = 9;
        assert!(on_curve(&nine));
        // RFC 7748 section 6.1: Alice's public key.
        let alice: [u8; 32] =
            hex::decode("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
                .unwrap()
                .try_into()
                .unwrap();
        assert!(on_curve(&alice));
        // About half of all values are on the twist.
        let mut counts = [0; 2];
        for u in 1u8..=40 {
            let mut v = [0u8; 32];
            v[0] = u;
            counts[usize::from(on_curve(&v))] += 1;
        }
        assert!(counts[0] > 5 && counts[1] > 5, "{counts:?}");
    }

    #[test]
    fn drawn_keys_are_on_curve() {
        let mut seed = 1u64;
        let mut rng = |d: &mut [u8]| {
            for b in d {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                *b = (seed >> 33) as u8;
            }
        };
        for _ in 0..8 {
            let mut k = [0u8; 32];
            fake_public_key(&mut rng, &mut k);
            assert!(on_curve(&k));
            assert_eq!(k[31] & 0x80, 0);
        }
    }
}

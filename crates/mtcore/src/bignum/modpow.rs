//! Modular exponentiation for any nonzero modulus.
//!
//! Odd moduli (every modulus MTProto uses: DH primes, RSA moduli) go through
//! Montgomery arithmetic with a constant-time fixed window (`Modulus::pow`).
//! An even modulus falls back to square-and-multiply with long division:
//! correct but slower and variable-time; nothing in the protocol needs it.

use super::uint::BigUint;
use super::{div, BignumError, Modulus};

/// `base^exp mod modulus`, with `exp` as big-endian bytes.
pub fn mod_pow(base: &BigUint, exp: &[u8], modulus: &BigUint) -> Result<BigUint, BignumError> {
    if modulus.is_zero() {
        return Err(BignumError::ZeroModulus);
    }
    if modulus.is_odd() {
        return Ok(Modulus::new(modulus)?.pow(base, exp));
    }
    Ok(pow_plain(base, exp, modulus))
}

/// `mod_pow` on big-endian byte strings; the result is left-padded with zeros
/// to the modulus's byte length (its minimal big-endian length).
pub fn mod_pow_be(base: &[u8], exp: &[u8], modulus: &[u8]) -> Result<Vec<u8>, BignumError> {
    let m = BigUint::from_be_bytes(modulus)?;
    let r = mod_pow(&BigUint::from_be_bytes(base)?, exp, &m)?;
    r.to_be_bytes(m.byte_len())
}

/// Left-to-right square-and-multiply with a division after every product.
fn pow_plain(base: &BigUint, exp: &[u8], m: &BigUint) -> BigUint {
    let mut acc = BigUint::from_u64(1).rem(m).expect("nonzero modulus");
    let base = base.rem(m).expect("nonzero modulus");
    for byte in exp {
        for bit in (0..8).rev() {
            acc = mul_mod(&acc, &acc, m);
            if (byte >> bit) & 1 == 1 {
                acc = mul_mod(&acc, &base, m);
            }
        }
    }
    acc
}

/// `a * b mod m` by schoolbook product and long division.
fn mul_mod(a: &BigUint, b: &BigUint, m: &BigUint) -> BigUint {
    let (a, b) = (a.limbs(), b.limbs());
    let mut prod = vec![0u64; a.len() + b.len()];
    for (i, &x) in a.iter().enumerate() {
        let mut carry = 0u128;
        for (j, &y) in b.iter().enumerate() {
            let t = x as u128 * y as u128 + prod[i + j] as u128 + carry;
            prod[i + j] = t as u64;
            carry = t >> 64;
        }
        prod[i + b.len()] = carry as u64;
    }
    BigUint::from_limbs(&div::rem_limbs(&prod, m.limbs())).expect("below the modulus")
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint as Ref;

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    fn random_bytes(seed: &mut u64, len: usize) -> Vec<u8> {
        (0..len).map(|_| xorshift(seed) as u8).collect()
    }

    /// Differential test against num-bigint's modpow on random sizes.
    fn check_against_reference(seed: u64, rounds: usize, max_bytes: usize, odd: bool) {
        let mut seed = seed;
        for round in 0..rounds {
            let mlen = 1 + (xorshift(&mut seed) as usize % max_bytes);
            let mut m = random_bytes(&mut seed, mlen);
            m[0] |= 0x80 >> (xorshift(&mut seed) % 8);
            let last = m.len() - 1;
            if odd {
                m[last] |= 1;
            } else {
                m[last] &= !1;
            }
            let base_len = 1 + xorshift(&mut seed) as usize % (mlen + 8);
            let base = random_bytes(&mut seed, base_len);
            let exp_len = xorshift(&mut seed) as usize % (mlen + 4);
            let exp = random_bytes(&mut seed, exp_len);
            let got = mod_pow_be(&base, &exp, &m);
            let (rb, re, rm) = (
                Ref::from_bytes_be(&base),
                Ref::from_bytes_be(&exp),
                Ref::from_bytes_be(&m),
            );
            if rm == Ref::from(0u8) {
                assert!(matches!(got, Err(BignumError::ZeroModulus)));
                continue;
            }
            let want = rb.modpow(&re, &rm);
            let got = got.unwrap();
            let m_len = rm.to_bytes_be().len();
            assert_eq!(got.len(), m_len);
            assert_eq!(Ref::from_bytes_be(&got), want, "round {round} mlen {mlen}");
        }
    }

    #[test]
    fn odd_moduli_match_num_bigint() {
        check_against_reference(1, 300, 64, true);
        check_against_reference(2, 40, 512, true);
    }

    #[test]
    fn even_moduli_match_num_bigint() {
        check_against_reference(3, 200, 40, false);
    }

    #[test]
    fn full_size_2048_and_4096() {
        let mut seed = 77;
        for len in [256usize, 512] {
            for _ in 0..3 {
                let mut m = random_bytes(&mut seed, len);
                m[0] |= 0x80;
                m[len - 1] |= 1;
                let base = random_bytes(&mut seed, len);
                let exp = random_bytes(&mut seed, len);
                let got = mod_pow_be(&base, &exp, &m).unwrap();
                let want = Ref::from_bytes_be(&base)
                    .modpow(&Ref::from_bytes_be(&exp), &Ref::from_bytes_be(&m));
                assert_eq!(Ref::from_bytes_be(&got), want);
            }
        }
    }

    #[test]
    fn small_bases_match_num_bigint() {
        // The small-base path (bases below 2^21), at several widths and
        // exponent lengths, including zero-length and all-zero exponents.
        let mut seed = 99;
        for round in 0..300 {
            let mlen = [1usize, 8, 30, 64, 200, 256, 300, 512][round % 8];
            let mut m = random_bytes(&mut seed, mlen);
            m[0] |= 0x80;
            m[mlen - 1] |= 1;
            let base = match round % 5 {
                0 => 2u64,
                1 => 3,
                2 => 7,
                3 => (1 << 21) - 1,
                _ => xorshift(&mut seed) % 16,
            };
            let exp_len = xorshift(&mut seed) as usize % (mlen + 3);
            let exp = random_bytes(&mut seed, exp_len);
            let got = mod_pow_be(&base.to_be_bytes(), &exp, &m).unwrap();
            let want = Ref::from(base).modpow(&Ref::from_bytes_be(&exp), &Ref::from_bytes_be(&m));
            assert_eq!(Ref::from_bytes_be(&got), want, "round {round} base {base}");
        }
    }

    #[test]
    fn edge_cases() {
        let one = BigUint::from_u64(1);
        assert_eq!(
            mod_pow(&BigUint::from_u64(5), &[3], &one).unwrap(),
            BigUint::ZERO
        );
        assert_eq!(
            mod_pow(&BigUint::from_u64(0), &[], &BigUint::from_u64(7)).unwrap(),
            one
        );
        assert_eq!(
            mod_pow(&BigUint::from_u64(0), &[0, 0], &BigUint::from_u64(8)).unwrap(),
            one
        );
        assert_eq!(
            mod_pow(&BigUint::from_u64(3), &[200], &BigUint::from_u64(1 << 20)).unwrap(),
            BigUint::from_u64((0..200).fold(1u64, |a, _| a * 3 % (1 << 20)))
        );
        assert!(matches!(
            mod_pow(&one, &[1], &BigUint::ZERO),
            Err(BignumError::ZeroModulus)
        ));
        assert_eq!(
            mod_pow_be(&[2], &[10], &[0, 0, 0x10, 0x01]).unwrap(),
            vec![0x04, 0x00]
        );
    }
}

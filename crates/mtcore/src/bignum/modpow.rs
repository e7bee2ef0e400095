//! Modular exponentiation for any nonzero modulus, on crypto-bigint.
//!
//! Odd moduli (every modulus MTProto uses: DH primes, RSA moduli) go through
//! `BoxedMontyForm::pow`, a constant-time fixed window whose work depends on
//! the exponent's byte length only. An even modulus falls back to
//! square-and-multiply with a division after each product: correct, slower
//! and variable-time; nothing in the protocol needs it.

use super::encoding::{byte_len, exponent, number, odd_modulus, reduce, to_be_padded};
use super::BignumError;
use crypto_bigint::modular::BoxedMontyForm;
use crypto_bigint::{BoxedUint, NonZero};

/// `base^exp mod modulus` on big-endian byte strings, `exp` of any length;
/// the result is left-padded with zeros to the modulus's minimal byte length.
/// Base and modulus have at most `MAX_BITS` significant bits.
pub fn mod_pow_be(base: &[u8], exp: &[u8], modulus: &[u8]) -> Result<Vec<u8>, BignumError> {
    let m = number(modulus)?;
    let base = number(base)?;
    let r = match odd_modulus(&m) {
        Ok(params) => {
            let base = reduce(&base, &m);
            BoxedMontyForm::new(base, &params)
                .pow(&exponent(exp))
                .retrieve()
        }
        Err(BignumError::EvenModulus) => pow_even(&base, exp, &m),
        Err(e) => return Err(e),
    };
    to_be_padded(&r, byte_len(&m))
}

/// Left-to-right square-and-multiply for an even (nonzero) modulus.
fn pow_even(base: &BoxedUint, exp: &[u8], m: &BoxedUint) -> BoxedUint {
    let nz = NonZero::new(m.clone()).expect("nonzero modulus");
    let base = reduce(base, m);
    let mut acc = reduce(&BoxedUint::one(), m);
    for byte in exp {
        for bit in (0..8).rev() {
            acc = acc.mul_mod(&acc, &nz);
            if (byte >> bit) & 1 == 1 {
                acc = acc.mul_mod(&base, &nz);
            }
        }
    }
    acc
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
        check_against_reference(4, 6, 300, false);
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
    fn edge_cases() {
        // x^0 = 1, 0^e = 0, anything mod 1 = 0 (one byte of output).
        assert_eq!(mod_pow_be(&[5], &[], &[7]).unwrap(), vec![1]);
        assert_eq!(mod_pow_be(&[0], &[3], &[7]).unwrap(), vec![0]);
        assert_eq!(mod_pow_be(&[5], &[3], &[1]).unwrap(), vec![0]);
        assert_eq!(mod_pow_be(&[5], &[], &[1]).unwrap(), vec![0]);
        assert_eq!(mod_pow_be(&[5], &[], &[2]).unwrap(), vec![1]);
        assert_eq!(mod_pow_be(&[0], &[0, 0], &[8]).unwrap(), vec![1]);
        let want = (0..200).fold(1u64, |a, _| a * 3 % (1 << 20));
        assert_eq!(
            mod_pow_be(&[3], &[200], &[0x10, 0, 0]).unwrap(),
            want.to_be_bytes()[5..].to_vec()
        );
        assert_eq!(
            mod_pow_be(&[2], &[10], &[0, 0, 0x10, 0x01]).unwrap(),
            vec![0x04, 0x00]
        );
        // Leading zeros of the modulus do not widen the output.
        assert_eq!(mod_pow_be(&[3], &[2], &[0, 0, 0, 11]).unwrap(), vec![9]);
        assert_eq!(
            mod_pow_be(&[3], &[2], &[0, 0]),
            Err(BignumError::ZeroModulus)
        );
        assert!(matches!(
            mod_pow_be(&[3], &[2], &[1u8; 513]),
            Err(BignumError::TooLarge { .. })
        ));
        assert!(matches!(
            mod_pow_be(&[1u8; 513], &[2], &[7]),
            Err(BignumError::TooLarge { .. })
        ));
    }
}

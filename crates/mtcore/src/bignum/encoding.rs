//! Big-endian byte strings to and from crypto-bigint's `BoxedUint`, with the
//! size limit of this layer.
//!
//! A `BoxedUint` has a fixed precision (a whole number of 64-bit limbs) and
//! every operation on it costs the same for any value of that precision. So
//! secrets get their precision from their byte length as given (leading
//! zeros included), never from their value.

use super::BignumError;
use crypto_bigint::modular::BoxedMontyParams;
use crypto_bigint::{BoxedUint, NonZero, Odd, Resize};

/// The most significant bits of a base or modulus: 4096, twice the 2048 bits
/// of MTProto's DH primes and RSA keys.
pub const MAX_BITS: usize = 4096;

/// The precision, in bits, that holds `bytes` bytes: whole limbs, at least one.
pub fn precision_of(bytes: usize) -> u32 {
    let limbs = (bytes * 8).div_ceil(64).max(1);
    (limbs * 64) as u32
}

/// `bytes` without its leading zero bytes.
pub fn significant(bytes: &[u8]) -> &[u8] {
    &bytes[bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len())..]
}

/// A public number of at most `MAX_BITS` significant bits, at the smallest
/// precision that holds it.
pub fn number(bytes: &[u8]) -> Result<BoxedUint, BignumError> {
    let digits = significant(bytes);
    if digits.len() * 8 > MAX_BITS {
        let bits = digits.len() * 8 - digits[0].leading_zeros() as usize;
        return Err(BignumError::TooLarge {
            bits,
            max: MAX_BITS,
        });
    }
    Ok(at_precision(digits, precision_of(digits.len())))
}

/// A number at `bits` precision, or `None` when its value needs more.
pub fn number_within(bytes: &[u8], bits: u32) -> Option<BoxedUint> {
    let digits = significant(bytes);
    (digits.len() * 8 <= bits as usize).then(|| at_precision(digits, bits))
}

/// An exponent of any length, at the precision of its byte length: a
/// constant-time power with it then costs what its length dictates.
pub fn exponent(bytes: &[u8]) -> BoxedUint {
    at_precision(bytes, precision_of(bytes.len()))
}

fn at_precision(bytes: &[u8], bits: u32) -> BoxedUint {
    BoxedUint::from_be_slice(bytes, bits).expect("the precision holds the bytes")
}

/// Montgomery parameters of an odd modulus. Moduli here are public (DH
/// primes, RSA moduli), so the setup may take variable time.
pub fn odd_modulus(m: &BoxedUint) -> Result<BoxedMontyParams, BignumError> {
    if bool::from(m.is_zero()) {
        return Err(BignumError::ZeroModulus);
    }
    let odd = Odd::new(m.clone())
        .into_option()
        .ok_or(BignumError::EvenModulus)?;
    Ok(BoxedMontyParams::new_vartime(odd))
}

/// `x mod m` for a nonzero `m`, at the precision of `m`.
pub fn reduce(x: &BoxedUint, m: &BoxedUint) -> BoxedUint {
    let m = NonZero::new(m.clone()).expect("nonzero modulus");
    let wide = x.resize_unchecked(x.bits_precision().max(m.bits_precision()));
    wide.rem(&m)
}

/// The minimal big-endian byte length of a public `x` (0 for zero).
pub fn byte_len(x: &BoxedUint) -> usize {
    (x.bit_width_vartime() as usize).div_ceil(8)
}

/// `x` as exactly `len` big-endian bytes, left-padded with zeros. `x` may be
/// a secret (a shared key): the work depends on its precision, not its value.
pub fn to_be_padded(x: &BoxedUint, len: usize) -> Result<Vec<u8>, BignumError> {
    let full = x.to_be_bytes();
    let cut = full.len().saturating_sub(len);
    let spilled = full[..cut].iter().fold(0u8, |acc, &b| acc | b);
    if spilled != 0 {
        return Err(BignumError::OutputTooShort {
            needed: byte_len(x),
            got: len,
        });
    }
    let mut out = vec![0u8; len];
    let take = full.len() - cut;
    out[len - take..].copy_from_slice(&full[cut..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_the_limit_holds() {
        assert_eq!(precision_of(0), 64);
        assert_eq!(precision_of(8), 64);
        assert_eq!(precision_of(9), 128);
        assert_eq!(precision_of(256), 2048);
        let x = number(&[0, 0, 1, 2, 3]).unwrap();
        assert_eq!(x.bits_precision(), 64);
        assert_eq!(byte_len(&x), 3);
        assert_eq!(to_be_padded(&x, 5).unwrap(), vec![0, 0, 1, 2, 3]);
        assert_eq!(
            to_be_padded(&x, 2),
            Err(BignumError::OutputTooShort { needed: 3, got: 2 })
        );
        assert_eq!(byte_len(&number(&[]).unwrap()), 0);
        // 512 bytes fit; 513 (or a top byte past bit 4096) do not.
        assert_eq!(number(&[0xff; 512]).unwrap().bits_precision(), 4096);
        let mut over = vec![0u8; 513];
        over[0] = 0x10;
        assert_eq!(
            number(&over),
            Err(BignumError::TooLarge {
                bits: 4101,
                max: MAX_BITS
            })
        );
        // Leading zeros do not count against the limit, but do for exponents.
        let mut padded = vec![0u8; 600];
        padded[599] = 7;
        assert_eq!(number(&padded).unwrap().bits_precision(), 64);
        assert_eq!(exponent(&padded).bits_precision(), 4800);
        assert_eq!(exponent(&[]).bits_precision(), 64);
        assert!(number_within(&[1; 9], 64).is_none());
        assert_eq!(
            number_within(&[0, 0, 1], 128).unwrap().bits_precision(),
            128
        );
    }

    #[test]
    fn only_odd_nonzero_moduli() {
        assert!(matches!(
            odd_modulus(&number(&[0, 0]).unwrap()),
            Err(BignumError::ZeroModulus)
        ));
        assert!(matches!(
            odd_modulus(&number(&[0x10, 0]).unwrap()),
            Err(BignumError::EvenModulus)
        ));
        assert!(odd_modulus(&number(&[1]).unwrap()).is_ok());
    }
}

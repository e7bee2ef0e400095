//! `BigUint`: an unsigned integer of up to 4096 bits in fixed storage.
//!
//! Little-endian u64 limbs in an inline array, so values live on the stack and
//! copying one never allocates. `len` counts the significant limbs (the value
//! is normalized: `limbs[len - 1] != 0`, or `len == 0` for zero), which makes
//! comparisons and bit lengths cheap. That normalization depends on the value,
//! so secret exponents never go through this type: `modpow` reads them as raw
//! big-endian bytes whose length, not value, fixes the work done.

use super::BignumError;
use std::cmp::Ordering;

/// Largest supported value width in bits.
pub const MAX_BITS: usize = 4096;
/// Limbs of storage: `MAX_BITS / 64`.
pub const MAX_LIMBS: usize = MAX_BITS / 64;

/// An unsigned integer below 2^4096.
#[derive(Clone, Copy)]
pub struct BigUint {
    limbs: [u64; MAX_LIMBS],
    len: usize,
}

impl BigUint {
    /// Zero.
    pub const ZERO: BigUint = BigUint {
        limbs: [0; MAX_LIMBS],
        len: 0,
    };

    /// The value of a u64.
    pub fn from_u64(v: u64) -> Self {
        let mut r = Self::ZERO;
        r.limbs[0] = v;
        r.normalize();
        r
    }

    /// Parses a big-endian byte string (leading zero bytes allowed).
    pub fn from_be_bytes(bytes: &[u8]) -> Result<Self, BignumError> {
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        let bytes = &bytes[start..];
        if bytes.len() * 8 > MAX_BITS {
            return Err(BignumError::TooLarge {
                bits: bit_len_of_be(bytes),
                max: MAX_BITS,
            });
        }
        let mut r = Self::ZERO;
        for (i, chunk) in bytes.rchunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[8 - chunk.len()..].copy_from_slice(chunk);
            r.limbs[i] = u64::from_be_bytes(word);
        }
        r.normalize();
        Ok(r)
    }

    /// Builds a value from little-endian limbs (at most `MAX_LIMBS` significant).
    pub fn from_limbs(limbs: &[u64]) -> Result<Self, BignumError> {
        let used = limbs.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1);
        if used > MAX_LIMBS {
            return Err(BignumError::TooLarge {
                bits: used * 64 - limbs[used - 1].leading_zeros() as usize,
                max: MAX_BITS,
            });
        }
        let mut r = Self::ZERO;
        r.limbs[..used].copy_from_slice(&limbs[..used]);
        r.len = used;
        Ok(r)
    }

    /// Writes the value big-endian into `out`, left-padded with zeros.
    pub fn write_be(&self, out: &mut [u8]) -> Result<(), BignumError> {
        let bytes = self.byte_len();
        if bytes > out.len() {
            return Err(BignumError::OutputTooShort {
                needed: bytes,
                got: out.len(),
            });
        }
        out.fill(0);
        for (i, chunk) in out.rchunks_mut(8).enumerate() {
            if i >= self.len {
                break;
            }
            let word = self.limbs[i].to_be_bytes();
            let n = chunk.len();
            chunk.copy_from_slice(&word[8 - n..]);
        }
        Ok(())
    }

    /// The value as exactly `len` big-endian bytes.
    pub fn to_be_bytes(&self, len: usize) -> Result<Vec<u8>, BignumError> {
        let mut out = vec![0u8; len];
        self.write_be(&mut out)?;
        Ok(out)
    }

    /// The value as its minimal big-endian byte string (empty for zero).
    pub fn to_be_bytes_minimal(&self) -> Vec<u8> {
        let mut out = vec![0u8; self.byte_len()];
        self.write_be(&mut out).expect("sized to fit");
        out
    }

    /// Significant little-endian limbs (empty for zero).
    pub fn limbs(&self) -> &[u64] {
        &self.limbs[..self.len]
    }

    /// Number of significant bits.
    pub fn bits(&self) -> usize {
        if self.len == 0 {
            0
        } else {
            self.len * 64 - self.limbs[self.len - 1].leading_zeros() as usize
        }
    }

    /// Number of bytes of the minimal big-endian form.
    pub fn byte_len(&self) -> usize {
        self.bits().div_ceil(8)
    }

    pub fn is_zero(&self) -> bool {
        self.len == 0
    }

    pub fn is_odd(&self) -> bool {
        self.limbs[0] & 1 == 1
    }

    /// Bit `i` (0 = least significant).
    pub fn bit(&self, i: usize) -> bool {
        i < MAX_BITS && (self.limbs[i / 64] >> (i % 64)) & 1 == 1
    }

    /// 2^k, for k < 4096.
    pub fn pow2(k: usize) -> Result<Self, BignumError> {
        if k >= MAX_BITS {
            return Err(BignumError::TooLarge {
                bits: k + 1,
                max: MAX_BITS,
            });
        }
        let mut r = Self::ZERO;
        r.limbs[k / 64] = 1 << (k % 64);
        r.normalize();
        Ok(r)
    }

    /// `self + other`, or `TooLarge` past 4096 bits.
    pub fn checked_add(&self, other: &Self) -> Result<Self, BignumError> {
        let mut r = Self::ZERO;
        let n = self.len.max(other.len);
        let mut carry = 0u64;
        for i in 0..n {
            let (s1, c1) = self.limbs[i].overflowing_add(other.limbs[i]);
            let (s2, c2) = s1.overflowing_add(carry);
            r.limbs[i] = s2;
            carry = (c1 | c2) as u64;
        }
        if carry != 0 {
            if n == MAX_LIMBS {
                return Err(BignumError::TooLarge {
                    bits: MAX_BITS + 1,
                    max: MAX_BITS,
                });
            }
            r.limbs[n] = carry;
        }
        r.normalize();
        Ok(r)
    }

    /// `self - other`, or `None` when `other > self`.
    pub fn checked_sub(&self, other: &Self) -> Option<Self> {
        if *self < *other {
            return None;
        }
        let mut r = *self;
        sub_assign_limbs(&mut r.limbs[..self.len], &other.limbs[..other.len]);
        r.normalize();
        Some(r)
    }

    /// `self - v`, or `None` when `v > self`.
    pub fn checked_sub_u64(&self, v: u64) -> Option<Self> {
        self.checked_sub(&Self::from_u64(v))
    }

    /// `self >> k`.
    pub fn shr(&self, k: usize) -> Self {
        let mut r = Self::ZERO;
        let (words, bits) = (k / 64, k % 64);
        if words >= self.len {
            return r;
        }
        for i in 0..self.len - words {
            let lo = self.limbs[i + words] >> bits;
            let hi = if bits > 0 && i + words + 1 < self.len {
                self.limbs[i + words + 1] << (64 - bits)
            } else {
                0
            };
            r.limbs[i] = lo | hi;
        }
        r.normalize();
        r
    }

    /// Number of trailing zero bits (0 for zero).
    pub fn trailing_zeros(&self) -> usize {
        self.limbs()
            .iter()
            .position(|&l| l != 0)
            .map_or(0, |i| i * 64 + self.limbs[i].trailing_zeros() as usize)
    }

    /// `self mod m` for a small nonzero `m`.
    pub fn rem_u64(&self, m: u64) -> u64 {
        assert!(m != 0, "division by zero");
        let m = m as u128;
        self.limbs()
            .iter()
            .rev()
            .fold(0u128, |r, &l| ((r << 64) | l as u128) % m) as u64
    }

    /// `self mod m`, or `ZeroModulus`.
    pub fn rem(&self, m: &Self) -> Result<Self, BignumError> {
        if m.is_zero() {
            return Err(BignumError::ZeroModulus);
        }
        if *self < *m {
            return Ok(*self);
        }
        let r = super::div::rem_limbs(self.limbs(), m.limbs());
        Self::from_limbs(&r)
    }

    fn normalize(&mut self) {
        self.len = self
            .limbs
            .iter()
            .rposition(|&l| l != 0)
            .map_or(0, |i| i + 1);
    }
}

/// `a -= b` over little-endian limbs (`b` no longer than `a`); returns the borrow.
pub(crate) fn sub_assign_limbs(a: &mut [u64], b: &[u64]) -> bool {
    let mut borrow = false;
    for (i, x) in a.iter_mut().enumerate() {
        let y = b.get(i).copied().unwrap_or(0);
        let (d1, b1) = x.overflowing_sub(y);
        let (d2, b2) = d1.overflowing_sub(borrow as u64);
        *x = d2;
        borrow = b1 | b2;
    }
    borrow
}

fn bit_len_of_be(bytes: &[u8]) -> usize {
    match bytes.first() {
        None => 0,
        Some(&b) => bytes.len() * 8 - b.leading_zeros() as usize,
    }
}

impl PartialEq for BigUint {
    fn eq(&self, other: &Self) -> bool {
        self.limbs() == other.limbs()
    }
}

impl Eq for BigUint {}

impl PartialOrd for BigUint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BigUint {
    fn cmp(&self, other: &Self) -> Ordering {
        self.len
            .cmp(&other.len)
            .then_with(|| self.limbs().iter().rev().cmp(other.limbs().iter().rev()))
    }
}

impl std::fmt::Debug for BigUint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BigUint(0x")?;
        if self.len == 0 {
            write!(f, "0")?;
        }
        for (i, l) in self.limbs().iter().rev().enumerate() {
            if i == 0 {
                write!(f, "{l:x}")?;
            } else {
                write!(f, "{l:016x}")?;
            }
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_padding() {
        let v = BigUint::from_be_bytes(&[0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap();
        assert_eq!(v.limbs(), &[0x0203040506070809, 0x01]);
        assert_eq!(v.bits(), 65);
        assert_eq!(v.to_be_bytes_minimal(), vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(v.to_be_bytes(11).unwrap()[..2], [0, 0]);
        assert!(matches!(
            v.to_be_bytes(8),
            Err(BignumError::OutputTooShort { needed: 9, got: 8 })
        ));
        assert!(BigUint::from_be_bytes(&[]).unwrap().is_zero());
        assert_eq!(BigUint::ZERO.to_be_bytes_minimal(), Vec::<u8>::new());
    }

    #[test]
    fn size_limit() {
        let mut big = vec![0u8; 513];
        big[0] = 1;
        assert!(matches!(
            BigUint::from_be_bytes(&big),
            Err(BignumError::TooLarge { bits: 4097, .. })
        ));
        let max = vec![0xffu8; 512];
        let v = BigUint::from_be_bytes(&max).unwrap();
        assert_eq!(v.bits(), 4096);
        assert!(v.checked_add(&BigUint::from_u64(1)).is_err());
    }

    #[test]
    fn arithmetic_helpers() {
        let a = BigUint::pow2(130).unwrap();
        let b = a.checked_sub_u64(1).unwrap();
        assert_eq!(b.bits(), 130);
        assert_eq!(b.checked_add(&BigUint::from_u64(1)).unwrap(), a);
        assert!(b.checked_sub(&a).is_none());
        assert_eq!(a.shr(129), BigUint::from_u64(2));
        assert_eq!(b.shr(64).limbs(), &[u64::MAX, 3]);
        assert_eq!(a.trailing_zeros(), 130);
        // 2^3 = 1 (mod 7), so 2^130 - 1 = 2^1 - 1 = 1 (mod 7).
        assert_eq!(b.rem_u64(7), 1);
        assert!(a > b);
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Greater);
    }
}

//! `Modulus`: an odd modulus prepared for Montgomery arithmetic, and
//! constant-time fixed-window exponentiation.
//!
//! The kernels are monomorphized for a few widths; a modulus runs at the
//! smallest width that holds it (Montgomery form works for any odd n < R).
//!
//! Exponentiation uses a fixed window over every bit of the exponent's byte
//! string, with table entries read by a masked scan of the whole table. So the
//! sequence of operations and memory accesses depends on the exponent's
//! length only, never on its bits: the same code serves secret exponents (the
//! DH `b`, an RSA private exponent) and public ones. A sliding window would
//! save only ~15% of the multiplications at 2048 bits (squarings dominate),
//! which is not worth a second, leaky code path. A base below 2^21 (g in DH)
//! takes the same structure with one-limb multiplications (`smallbase`).
//!
//! Measured for 2048-bit p and exponent on the development machine (Zen 5):
//! g^b ~1.7 ms and g_a^b ~2.05 ms, against ~1.45 ms for OpenSSL's assembly
//! (node:crypto DH); see bench/bignum.bench.ts. A base that repeats (DH's g)
//! is cheaper still through `FixedBase` (comb.rs): ~0.48 ms for g^b.

use super::kernel::{mont_mul, mont_sqr, neg_inv_u64};
use super::smallbase::{powers, select_limb, small_window, Barrett, SMALL_BASE_BITS};
use super::uint::{BigUint, MAX_LIMBS};
use super::BignumError;
use subtle::ConstantTimeEq;

/// Widths (in limbs) the kernels are compiled for.
const WIDTHS: [usize; 7] = [4, 8, 16, 24, 32, 48, 64];

/// An element in Montgomery form (x·R mod n), zero-padded to full storage.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MontElem([u64; MAX_LIMBS]);

/// A `Modulus`'s constants as the kernels take them.
pub(crate) struct KernelParts<'a> {
    /// Kernel width in limbs.
    pub width: usize,
    /// The modulus, zero-padded.
    pub n: &'a [u64; MAX_LIMBS],
    /// -n^-1 mod 2^64.
    pub n0: u64,
    /// R mod n.
    pub one: &'a [u64; MAX_LIMBS],
    /// R^2 mod n.
    pub r2: &'a [u64; MAX_LIMBS],
}

/// An odd modulus with its Montgomery constants.
#[derive(Clone)]
pub struct Modulus {
    n: BigUint,
    limbs: [u64; MAX_LIMBS],
    width: usize,
    n0: u64,
    /// R^2 mod n: multiplying by it converts into Montgomery form.
    r2: [u64; MAX_LIMBS],
    /// R mod n: one in Montgomery form.
    one: [u64; MAX_LIMBS],
    /// For multiplying by one-limb numbers (small bases).
    barrett: Barrett,
}

impl Modulus {
    /// Prepares an odd modulus `n > 1`.
    pub fn new(n: &BigUint) -> Result<Self, BignumError> {
        if n.is_zero() {
            return Err(BignumError::ZeroModulus);
        }
        if !n.is_odd() {
            return Err(BignumError::EvenModulus);
        }
        let used = n.limbs().len();
        let width = *WIDTHS
            .iter()
            .find(|&&w| w >= used)
            .expect("at most 64 limbs");
        let mut limbs = [0u64; MAX_LIMBS];
        limbs[..used].copy_from_slice(n.limbs());
        // R = 2^(64·width): R mod n and R^2 mod n by long division, once.
        let mut power = vec![0u64; 2 * width + 1];
        power[width] = 1;
        let one_v = super::div::rem_limbs(&power[..=width], n.limbs());
        power[width] = 0;
        power[2 * width] = 1;
        let r2_v = super::div::rem_limbs(&power, n.limbs());
        let mut one = [0u64; MAX_LIMBS];
        let mut r2 = [0u64; MAX_LIMBS];
        one[..used].copy_from_slice(&one_v);
        r2[..used].copy_from_slice(&r2_v);
        Ok(Modulus {
            n: *n,
            limbs,
            width,
            n0: neg_inv_u64(n.limbs()[0]),
            r2,
            one,
            barrett: Barrett::new(n),
        })
    }

    /// The Montgomery constants, for other exponentiation strategies in this
    /// module (`comb`).
    pub(crate) fn kernel_parts(&self) -> KernelParts<'_> {
        KernelParts {
            width: self.width,
            n: &self.limbs,
            n0: self.n0,
            one: &self.one,
            r2: &self.r2,
        }
    }

    /// The modulus.
    pub fn value(&self) -> &BigUint {
        &self.n
    }

    /// `base^exp mod n`, `exp` as big-endian bytes. Constant-time in the
    /// values of `base` and `exp` for a given exponent length (the reduction
    /// of a `base >= n` excepted, which is variable-time).
    pub fn pow(&self, base: &BigUint, exp: &[u8]) -> BigUint {
        let base = if *base >= self.n {
            base.rem(&self.n).expect("nonzero modulus")
        } else {
            *base
        };
        if base.bits() <= SMALL_BASE_BITS {
            let s = base.limbs().first().copied().unwrap_or(0);
            let r = match self.width {
                4 => self.pow_small_n::<4>(s, exp),
                8 => self.pow_small_n::<8>(s, exp),
                16 => self.pow_small_n::<16>(s, exp),
                24 => self.pow_small_n::<24>(s, exp),
                32 => self.pow_small_n::<32>(s, exp),
                48 => self.pow_small_n::<48>(s, exp),
                _ => self.pow_small_n::<64>(s, exp),
            };
            return BigUint::from_limbs(&r).expect("below the modulus");
        }
        let mut b = [0u64; MAX_LIMBS];
        b[..base.limbs().len()].copy_from_slice(base.limbs());
        let r = match self.width {
            4 => self.pow_n::<4>(&b, exp),
            8 => self.pow_n::<8>(&b, exp),
            16 => self.pow_n::<16>(&b, exp),
            24 => self.pow_n::<24>(&b, exp),
            32 => self.pow_n::<32>(&b, exp),
            48 => self.pow_n::<48>(&b, exp),
            _ => self.pow_n::<64>(&b, exp),
        };
        BigUint::from_limbs(&r).expect("below the modulus")
    }

    /// `x` (reduced mod n first) in Montgomery form.
    pub fn to_mont(&self, x: &BigUint) -> MontElem {
        let x = x.rem(&self.n).expect("nonzero modulus");
        let mut a = [0u64; MAX_LIMBS];
        a[..x.limbs().len()].copy_from_slice(x.limbs());
        self.mul(&MontElem(a), &MontElem(self.r2))
    }

    /// The plain value of a Montgomery-form element.
    pub fn from_mont(&self, x: &MontElem) -> BigUint {
        let mut unit = [0u64; MAX_LIMBS];
        unit[0] = 1;
        let r = self.mul(x, &MontElem(unit));
        BigUint::from_limbs(&r.0).expect("below the modulus")
    }

    /// One in Montgomery form.
    pub fn one(&self) -> MontElem {
        MontElem(self.one)
    }

    /// Montgomery product.
    pub fn mul(&self, a: &MontElem, b: &MontElem) -> MontElem {
        fn go<const N: usize>(m: &Modulus, a: &MontElem, b: &MontElem) -> MontElem {
            let r = mont_mul::<N>(&head(&a.0), &head(&b.0), &head(&m.limbs), m.n0);
            MontElem(pad(&r))
        }
        match self.width {
            4 => go::<4>(self, a, b),
            8 => go::<8>(self, a, b),
            16 => go::<16>(self, a, b),
            24 => go::<24>(self, a, b),
            32 => go::<32>(self, a, b),
            48 => go::<48>(self, a, b),
            _ => go::<64>(self, a, b),
        }
    }

    /// Montgomery square.
    pub fn sqr(&self, a: &MontElem) -> MontElem {
        fn go<const N: usize>(m: &Modulus, a: &MontElem) -> MontElem {
            MontElem(pad(&mont_sqr::<N>(&head(&a.0), &head(&m.limbs), m.n0)))
        }
        match self.width {
            4 => go::<4>(self, a),
            8 => go::<8>(self, a),
            16 => go::<16>(self, a),
            24 => go::<24>(self, a),
            32 => go::<32>(self, a),
            48 => go::<48>(self, a),
            _ => go::<64>(self, a),
        }
    }

    /// Fixed-window exponentiation of a small base (see `smallbase`): the
    /// multiplication per window is a one-limb Barrett row.
    fn pow_small_n<const N: usize>(&self, base: u64, exp: &[u8]) -> [u64; MAX_LIMBS] {
        let n: [u64; N] = head(&self.limbs);
        let n0 = self.n0;
        let bits = exp.len() * 8;
        let w = small_window(base, window_bits(bits));
        let table = powers(base, w);
        let table = &table[..1 << w];
        let windows = bits.div_ceil(w);
        let mut acc = head::<N>(&self.one);
        for k in (0..windows).rev() {
            if k + 1 != windows {
                for _ in 0..w {
                    acc = mont_sqr(&acc, &n, n0);
                }
            }
            let s = select_limb(table, window_value(exp, k * w, w));
            acc = self.barrett.mul_limb(&acc, s, &n);
        }
        let mut unit = [0u64; N];
        unit[0] = 1;
        pad(&mont_mul(&acc, &unit, &n, n0))
    }

    fn pow_n<const N: usize>(&self, base: &[u64; MAX_LIMBS], exp: &[u8]) -> [u64; MAX_LIMBS] {
        let n: [u64; N] = head(&self.limbs);
        let n0 = self.n0;
        let bits = exp.len() * 8;
        let w = window_bits(bits);
        let size = 1usize << w;

        // table[i] = base^i in Montgomery form; even entries by squaring.
        let mut table = [[0u64; N]; 1 << MAX_WINDOW];
        table[0] = head(&self.one);
        if size > 1 {
            table[1] = mont_mul(&head(base), &head(&self.r2), &n, n0);
        }
        for i in 2..size {
            table[i] = if i % 2 == 0 {
                mont_sqr(&table[i / 2], &n, n0)
            } else {
                mont_mul(&table[i - 1], &table[1], &n, n0)
            };
        }
        let table = &table[..size];

        // Windows of w bits from the top; the first one takes the remainder.
        let windows = bits.div_ceil(w);
        let mut acc = head::<N>(&self.one);
        for k in (0..windows).rev() {
            if k + 1 != windows {
                for _ in 0..w {
                    acc = mont_sqr(&acc, &n, n0);
                }
            }
            let entry = select(table, window_value(exp, k * w, w));
            acc = if k + 1 == windows {
                entry
            } else {
                mont_mul(&acc, &entry, &n, n0)
            };
        }
        // Out of Montgomery form: multiply by plain 1.
        let mut unit = [0u64; N];
        unit[0] = 1;
        pad(&mont_mul(&acc, &unit, &n, n0))
    }
}

const MAX_WINDOW: usize = 6;

/// Window width for an exponent of `bits` bits: balances the table's cost
/// (2^w products, and a full scan per lookup) against one product per window.
fn window_bits(bits: usize) -> usize {
    match bits {
        0..=8 => 1,
        9..=40 => 3,
        41..=160 => 4,
        161..=2560 => 5,
        _ => MAX_WINDOW,
    }
}

/// Bits `[lo, lo + w)` of the big-endian byte string `exp` (bit 0 = least significant).
fn window_value(exp: &[u8], lo: usize, w: usize) -> usize {
    let len = exp.len();
    (0..w).fold(0usize, |v, j| {
        let bit = lo + j;
        let byte = if bit / 8 < len {
            exp[len - 1 - bit / 8]
        } else {
            0
        };
        v | ((((byte >> (bit % 8)) & 1) as usize) << j)
    })
}

/// `table[idx]`, reading every entry so the access pattern does not depend on `idx`.
fn select<const N: usize>(table: &[[u64; N]], idx: usize) -> [u64; N] {
    let mut out = [0u64; N];
    for (i, entry) in table.iter().enumerate() {
        let mask = 0u64.wrapping_sub((i as u64).ct_eq(&(idx as u64)).unwrap_u8() as u64);
        for (o, e) in out.iter_mut().zip(entry) {
            *o |= e & mask;
        }
    }
    out
}

fn head<const N: usize>(x: &[u64; MAX_LIMBS]) -> [u64; N] {
    x[..N].try_into().expect("N <= MAX_LIMBS")
}

fn pad<const N: usize>(x: &[u64; N]) -> [u64; MAX_LIMBS] {
    let mut out = [0u64; MAX_LIMBS];
    out[..N].copy_from_slice(x);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bits_are_read_little_end_first() {
        let exp = [0b1010_0000u8, 0b0000_0110];
        assert_eq!(window_value(&exp, 0, 3), 0b110);
        assert_eq!(window_value(&exp, 13, 3), 0b101);
        assert_eq!(window_value(&exp, 15, 3), 0b1); // past the top reads zeros
    }

    #[test]
    fn rejects_zero_and_even() {
        assert!(matches!(
            Modulus::new(&BigUint::ZERO),
            Err(BignumError::ZeroModulus)
        ));
        assert!(matches!(
            Modulus::new(&BigUint::from_u64(10)),
            Err(BignumError::EvenModulus)
        ));
    }

    #[test]
    fn montgomery_round_trip() {
        let m = Modulus::new(&BigUint::from_u64(1_000_000_007)).unwrap();
        let x = BigUint::from_u64(123_456_789);
        let y = BigUint::from_u64(987_654_321);
        let p = m.from_mont(&m.mul(&m.to_mont(&x), &m.to_mont(&y)));
        assert_eq!(
            p,
            BigUint::from_u64(123_456_789 * 987_654_321 % 1_000_000_007)
        );
        assert_eq!(m.from_mont(&m.one()), BigUint::from_u64(1));
        let s = m.from_mont(&m.sqr(&m.to_mont(&x)));
        assert_eq!(
            s,
            BigUint::from_u64(123_456_789 * 123_456_789 % 1_000_000_007)
        );
    }
}

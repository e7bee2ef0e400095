//! 64-bit Montgomery arithmetic and a deterministic primality test for u64,
//! the building blocks of the pq factorization.

/// Montgomery arithmetic modulo an odd `n < 2^64` with R = 2^64.
#[derive(Clone, Copy)]
pub(crate) struct Mont64 {
    n: u64,
    /// n^-1 mod 2^64.
    n_inv: u64,
}

/// `n^-1 mod 2^64` for odd `n`: Newton's iteration doubles the correct bits,
/// from 3 (n·n = 1 mod 8) to 96 in five steps.
fn inverse_mod_2_64(n: u64) -> u64 {
    let mut x = n;
    for _ in 0..5 {
        x = x.wrapping_mul(2u64.wrapping_sub(n.wrapping_mul(x)));
    }
    x
}

impl Mont64 {
    pub(crate) fn new(n: u64) -> Self {
        debug_assert!(n & 1 == 1);
        Mont64 {
            n,
            n_inv: inverse_mod_2_64(n),
        }
    }

    /// `a * b / 2^64 mod n` for `a, b < n`.
    ///
    /// With m = (ab mod 2^64)·n^-1, ab - mn is divisible by 2^64 and its low
    /// limbs cancel exactly, so the quotient is hi(ab) - hi(mn), in (-n, n).
    /// Unlike the `(ab + mn) / 2^64` form this never overflows u128, so it is
    /// right for every n up to 2^64 - 1 (pq may reach 2^64).
    #[inline(always)]
    pub(crate) fn mul(&self, a: u64, b: u64) -> u64 {
        let t = a as u128 * b as u128;
        let m = (t as u64).wrapping_mul(self.n_inv);
        let mn_hi = ((m as u128 * self.n as u128) >> 64) as u64;
        let (r, borrow) = ((t >> 64) as u64).overflowing_sub(mn_hi);
        if borrow {
            r.wrapping_add(self.n)
        } else {
            r
        }
    }

    /// `(a * a + c) / 2^64 mod n` for `a < n` and a small `c`: the constant
    /// joins the product before the reduction, so no modular addition
    /// follows it (a·a + c stays below n·2^64, which the reduction needs).
    #[inline(always)]
    pub(crate) fn sqr_plus(&self, a: u64, c: u64) -> u64 {
        let t = a as u128 * a as u128 + c as u128;
        let m = (t as u64).wrapping_mul(self.n_inv);
        let mn_hi = ((m as u128 * self.n as u128) >> 64) as u64;
        let (r, borrow) = ((t >> 64) as u64).overflowing_sub(mn_hi);
        if borrow {
            r.wrapping_add(self.n)
        } else {
            r
        }
    }

    /// `x·2^64 mod n`.
    pub(crate) fn to_mont(self, x: u64) -> u64 {
        (((x as u128) << 64) % self.n as u128) as u64
    }

    /// `base^exp` in Montgomery form (`base` in Montgomery form too).
    fn pow(&self, base: u64, mut exp: u64) -> u64 {
        let mut acc = self.to_mont(1);
        let mut b = base;
        while exp > 0 {
            if exp & 1 == 1 {
                acc = self.mul(acc, b);
            }
            b = self.mul(b, b);
            exp >>= 1;
        }
        acc
    }
}

/// Deterministic primality of a u64: Miller-Rabin with the first twelve prime
/// bases, which has no false positive below 3.3·10^24 (Sorenson and Webster,
/// "Strong pseudoprimes to twelve prime bases", 2015), so none for u64.
pub(crate) fn is_prime_u64(n: u64) -> bool {
    const BASES: [u64; 12] = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37];
    if n < 2 {
        return false;
    }
    for p in BASES {
        if n.is_multiple_of(p) {
            return n == p;
        }
    }
    let s = (n - 1).trailing_zeros();
    let d = (n - 1) >> s;
    let m = Mont64::new(n);
    let one = m.to_mont(1);
    let minus_one = m.to_mont(n - 1);
    'bases: for a in BASES {
        let mut x = m.pow(m.to_mont(a), d);
        if x == one || x == minus_one {
            continue;
        }
        for _ in 1..s {
            x = m.mul(x, x);
            if x == minus_one {
                continue 'bases;
            }
        }
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_is_prime(n: u64) -> bool {
        n >= 2
            && (2..)
                .take_while(|d| d * d <= n)
                .all(|d| !n.is_multiple_of(d))
    }

    #[test]
    fn agrees_with_trial_division() {
        for n in 0..20_000u64 {
            assert_eq!(is_prime_u64(n), naive_is_prime(n), "{n}");
        }
        for n in (1u64 << 40)..(1u64 << 40) + 2000 {
            assert_eq!(is_prime_u64(n), naive_is_prime(n), "{n}");
        }
    }

    #[test]
    fn known_hard_cases() {
        // Strong pseudoprimes to several small bases, and primes near 2^64.
        assert!(!is_prime_u64(3_215_031_751)); // spsp(2, 3, 5, 7)
        assert!(!is_prime_u64(3_825_123_056_546_413_051)); // spsp to bases 2..=23
        assert!(is_prime_u64(18_446_744_073_709_551_557)); // largest u64 prime
        assert!(!is_prime_u64(u64::MAX));
        assert!(is_prime_u64(4_294_967_291));
        assert!(!is_prime_u64(4_294_967_291 * 3));
    }

    #[test]
    fn sqr_plus_is_square_plus_constant_over_r() {
        for n in [
            1_000_000_007u64,
            18_446_744_073_709_551_557,
            2_097_143 * 2_097_131,
        ] {
            let m = Mont64::new(n);
            let r_inv = |x: u128| {
                // x / 2^64 mod n by repeated halving (n odd).
                (0..64).fold(x % n as u128, |v, _| {
                    if v % 2 == 0 {
                        v / 2
                    } else {
                        (v + n as u128) / 2
                    }
                })
            };
            for (a, c) in [
                (0u64, 1u64),
                (n - 1, 3),
                (n / 3, 7),
                (12345, u32::MAX as u64),
            ] {
                let want = r_inv(a as u128 * a as u128 + c as u128) as u64;
                assert_eq!(m.sqr_plus(a, c), want, "n {n} a {a} c {c}");
            }
        }
    }

    #[test]
    fn mont_mul_near_two_to_the_64() {
        let n = 18_446_744_073_709_551_557u64;
        let m = Mont64::new(n);
        let (a, b) = (n - 1, n - 2);
        let got = m.mul(m.to_mont(a), m.to_mont(b));
        let want = (a as u128 * b as u128 % n as u128) as u64;
        assert_eq!(got, m.to_mont(want));
    }
}

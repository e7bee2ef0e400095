//! Exponentiation of a small base (DH's g = 2..7, RSA tests' small numbers).
//!
//! With a base below 2^21, every window-table entry base^i fits one limb, so
//! the multiplication per window is a one-limb product `acc·s` reduced by
//! Barrett's method (HAC 14.42 with a one-limb quotient): about 3·k limb
//! products instead of a full Montgomery product's 2·k². The accumulator stays
//! in Montgomery form throughout (`(x·R)·s mod n` is the form of `x·s`), so
//! g^b costs little more than its squarings: ~17% less than a general base at
//! 2048 bits. Same constant-time structure as `Modulus::pow`: the operations
//! depend on the exponent's length and on k, never on the values.

use super::div;
use super::uint::{BigUint, MAX_LIMBS};
use subtle::ConstantTimeEq;

/// Bases up to this many bits take the small-base path.
pub(crate) const SMALL_BASE_BITS: usize = 21;

/// Barrett's constant for a modulus of `k` significant limbs: mu = floor(b^2k / n).
#[derive(Clone)]
pub(crate) struct Barrett {
    k: usize,
    mu: [u64; MAX_LIMBS + 1],
}

impl Barrett {
    pub(crate) fn new(n: &BigUint) -> Self {
        let k = n.limbs().len();
        let mut power = vec![0u64; 2 * k + 1];
        power[2 * k] = 1;
        let (q, _) = div::div_rem_limbs(&power, n.limbs());
        let mut mu = [0u64; MAX_LIMBS + 1];
        let used = q.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1);
        mu[..used].copy_from_slice(&q[..used]);
        Barrett { k, mu }
    }

    /// `a·s mod n` for `a < n` (limbs past k are zero) and a one-limb `s`.
    pub(crate) fn mul_limb<const N: usize>(&self, a: &[u64; N], s: u64, n: &[u64; N]) -> [u64; N] {
        let k = self.k;
        // x = a·s: k + 1 limbs, below n·2^64.
        let mut x = [0u64; MAX_LIMBS + 1];
        let mut carry = 0u64;
        for i in 0..k {
            let p = a[i] as u128 * s as u128 + carry as u128;
            x[i] = p as u64;
            carry = (p >> 64) as u64;
        }
        x[k] = carry;
        // q3 = floor(floor(x / b^(k-1)) · mu / b^(k+1)): within 2 below
        // floor(x / n), which is below 2^64 here.
        let (q1_lo, q1_hi) = (x[k - 1], x[k]);
        let mut q2 = [0u64; MAX_LIMBS + 3];
        for (j, &q1) in [q1_lo, q1_hi].iter().enumerate() {
            let mut carry = 0u64;
            for i in 0..=k {
                let t = q1 as u128 * self.mu[i] as u128 + q2[i + j] as u128 + carry as u128;
                q2[i + j] = t as u64;
                carry = (t >> 64) as u64;
            }
            q2[k + 1 + j] = carry;
        }
        let q3 = q2[k + 1];
        // r = x - q3·n (mod b^(k+1)), then at most two subtractions of n.
        let mut r = [0u64; MAX_LIMBS + 1];
        let (mut mul_carry, mut borrow) = (0u64, 0u64);
        for i in 0..=k {
            let ni = if i < k { n[i] } else { 0 };
            let p = q3 as u128 * ni as u128 + mul_carry as u128;
            mul_carry = (p >> 64) as u64;
            let (d1, b1) = x[i].overflowing_sub(p as u64);
            let (d2, b2) = d1.overflowing_sub(borrow);
            r[i] = d2;
            borrow = (b1 | b2) as u64;
        }
        for _ in 0..2 {
            subtract_if_not_below(&mut r[..=k], &n[..k]);
        }
        let mut out = [0u64; N];
        out[..k].copy_from_slice(&r[..k]);
        out
    }
}

/// `r -= n` when `r >= n`, selected with a mask (`r` has one limb more than `n`).
fn subtract_if_not_below(r: &mut [u64], n: &[u64]) {
    let mut d = [0u64; MAX_LIMBS + 1];
    let mut borrow = 0u64;
    for i in 0..r.len() {
        let ni = n.get(i).copied().unwrap_or(0);
        let (d1, b1) = r[i].overflowing_sub(ni);
        let (d2, b2) = d1.overflowing_sub(borrow);
        d[i] = d2;
        borrow = (b1 | b2) as u64;
    }
    let mask = borrow.wrapping_sub(1); // all ones when there was no borrow
    for (x, &y) in r.iter_mut().zip(&d) {
        *x = (y & mask) | (*x & !mask);
    }
}

/// The widest window (at most `max`) whose entries base^i, i < 2^w, fit one
/// limb; at least 2 for a base below 2^21.
pub(crate) fn small_window(base: u64, max: usize) -> usize {
    (1..=max)
        .rev()
        .find(|&w| base.checked_pow((1u32 << w) - 1).is_some())
        .unwrap_or(1)
}

/// base^i for i < 2^w.
pub(crate) fn powers(base: u64, w: usize) -> [u64; 64] {
    let mut table = [0u64; 64];
    let mut power = 1u64;
    for entry in table.iter_mut().take(1 << w) {
        *entry = power;
        power = power.wrapping_mul(base);
    }
    table
}

/// `table[idx]` for one-limb entries, reading every entry.
pub(crate) fn select_limb(table: &[u64], idx: usize) -> u64 {
    table.iter().enumerate().fold(0, |out, (i, &e)| {
        let mask = 0u64.wrapping_sub((i as u64).ct_eq(&(idx as u64)).unwrap_u8() as u64);
        out | (e & mask)
    })
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

    fn check<const N: usize>(rounds: usize) {
        let mut seed = 0xfeed ^ N as u64;
        for round in 0..rounds {
            // Moduli of every limb count up to N, odd or even, full or short tops.
            let k = 1 + round % N;
            let mut limbs = [0u64; N];
            for l in limbs.iter_mut().take(k) {
                *l = xorshift(&mut seed);
            }
            if round % 3 == 0 {
                limbs[k - 1] >>= xorshift(&mut seed) % 63;
            }
            if round % 7 == 0 {
                limbs.iter_mut().take(k).for_each(|l| *l = u64::MAX);
            }
            if limbs[k - 1] == 0 {
                limbs[k - 1] = 1;
            }
            let n = BigUint::from_limbs(&limbs).unwrap();
            let nr = Ref::from_slice(
                &limbs
                    .iter()
                    .flat_map(|&l| [l as u32, (l >> 32) as u32])
                    .collect::<Vec<_>>(),
            );
            let barrett = Barrett::new(&n);
            let mut a = [0u64; N];
            for l in a.iter_mut().take(k) {
                *l = xorshift(&mut seed);
            }
            let a_ref = Ref::from_slice(
                &a.iter()
                    .flat_map(|&l| [l as u32, (l >> 32) as u32])
                    .collect::<Vec<_>>(),
            ) % &nr;
            let mut a = [0u64; N];
            for (i, d) in a_ref.to_u64_digits().into_iter().enumerate() {
                a[i] = d;
            }
            if round % 5 == 0 {
                // The largest input: n - 1.
                a = limbs;
                a[0] = a[0].wrapping_sub(1);
                if limbs[0] == 0 {
                    continue;
                }
            }
            for s in [0u64, 1, 3, 7, 3u64.pow(31), u64::MAX, xorshift(&mut seed)] {
                let got = barrett.mul_limb(&a, s, &limbs);
                let got_ref = Ref::from_slice(
                    &got.iter()
                        .flat_map(|&l| [l as u32, (l >> 32) as u32])
                        .collect::<Vec<_>>(),
                );
                let a_ref = Ref::from_slice(
                    &a.iter()
                        .flat_map(|&l| [l as u32, (l >> 32) as u32])
                        .collect::<Vec<_>>(),
                );
                assert_eq!(
                    got_ref,
                    a_ref * Ref::from(s) % &nr,
                    "N {N} round {round} s {s}"
                );
            }
        }
    }

    #[test]
    fn barrett_row_matches_num_bigint() {
        check::<4>(400);
        check::<32>(200);
        check::<64>(100);
    }

    #[test]
    fn small_windows_fit_one_limb() {
        assert_eq!(small_window(2, 5), 5);
        assert_eq!(small_window(3, 6), 5); // 3^31 < 2^64 < 3^63
        assert_eq!(small_window(7, 5), 4);
        assert_eq!(small_window((1 << 21) - 1, 5), 2);
        assert_eq!(small_window(0, 5), 5);
        assert_eq!(powers(3, 2)[..4], [1, 3, 9, 27]);
        assert_eq!(select_limb(&[5, 6, 7, 8], 2), 7);
    }
}

//! Long division of little-endian u64 limb strings (Knuth, TAOCP vol. 2,
//! 4.3.1, Algorithm D): reducing inputs below a modulus, R^2 mod n for
//! Montgomery form, the Barrett constant of the small-base path, and the
//! even-modulus fallback of `modpow`. Variable-time: used on public values only.

/// `u mod v`, as `v.len()` limbs. `v` must have a nonzero top limb.
pub(crate) fn rem_limbs(u: &[u64], v: &[u64]) -> Vec<u64> {
    div_rem_limbs(u, v).1
}

/// `(u / v, u mod v)`: the quotient as `u.len() - v.len() + 1` limbs (at
/// least one), the remainder as `v.len()` limbs. `v` must have a nonzero top limb.
pub(crate) fn div_rem_limbs(u: &[u64], v: &[u64]) -> (Vec<u64>, Vec<u64>) {
    let n = v.len();
    assert!(
        n > 0 && v[n - 1] != 0,
        "divisor must be normalized and nonzero"
    );
    let mut q = vec![0u64; u.len().saturating_sub(n) + 1];
    let u = &u[..u.iter().rposition(|&l| l != 0).map_or(0, |i| i + 1)];
    if u.len() < n {
        let mut r = u.to_vec();
        r.resize(n, 0);
        return (q, r);
    }
    if n == 1 {
        let d = v[0] as u128;
        let mut r = 0u128;
        for (i, &l) in u.iter().enumerate().rev() {
            let cur = (r << 64) | l as u128;
            q[i] = (cur / d) as u64;
            r = cur % d;
        }
        return (q, vec![r as u64]);
    }

    // D1: normalize so the divisor's top bit is set; the dividend gains a limb.
    let s = v[n - 1].leading_zeros();
    let vn = shl_limbs(v, s, n);
    let mut un = shl_limbs(u, s, u.len() + 1);
    let m = u.len() - n;
    let (v1, v2) = (vn[n - 1] as u128, vn[n - 2] as u128);

    for j in (0..=m).rev() {
        // D3: estimate the quotient digit from the top two limbs, then correct
        // it with the next limb; it is then at most one too large.
        let num = ((un[j + n] as u128) << 64) | un[j + n - 1] as u128;
        let mut qhat = num / v1;
        let mut rhat = num % v1;
        while qhat > u64::MAX as u128 || qhat * v2 > ((rhat << 64) | un[j + n - 2] as u128) {
            qhat -= 1;
            rhat += v1;
            if rhat > u64::MAX as u128 {
                break;
            }
        }
        // D4: un[j..=j+n] -= qhat * vn.
        let mut mul_carry = 0u128;
        let mut borrow = 0u64;
        for i in 0..n {
            let p = qhat * vn[i] as u128 + mul_carry;
            mul_carry = p >> 64;
            let (d1, b1) = un[i + j].overflowing_sub(p as u64);
            let (d2, b2) = d1.overflowing_sub(borrow);
            un[i + j] = d2;
            borrow = (b1 | b2) as u64;
        }
        let (d1, b1) = un[j + n].overflowing_sub(mul_carry as u64);
        let (d2, b2) = d1.overflowing_sub(borrow);
        un[j + n] = d2;
        // D6: the estimate was one too large; add the divisor back.
        if b1 | b2 {
            let mut carry = false;
            for i in 0..n {
                let (s1, c1) = un[i + j].overflowing_add(vn[i]);
                let (s2, c2) = s1.overflowing_add(carry as u64);
                un[i + j] = s2;
                carry = c1 | c2;
            }
            un[j + n] = un[j + n].wrapping_add(carry as u64);
            qhat -= 1;
        }
        q[j] = qhat as u64;
    }

    // D8: un[..n] holds the remainder shifted left by s.
    let mut r = vec![0u64; n];
    for i in 0..n {
        r[i] = if s == 0 {
            un[i]
        } else {
            (un[i] >> s) | (un[i + 1] << (64 - s))
        };
    }
    (q, r)
}

/// `x << s` (s < 64) into `len` limbs.
fn shl_limbs(x: &[u64], s: u32, len: usize) -> Vec<u64> {
    let mut out = vec![0u64; len];
    let mut carry = 0u64;
    for (i, &l) in x.iter().enumerate() {
        out[i] = (l << s) | carry;
        carry = if s == 0 { 0 } else { l >> (64 - s) };
    }
    if x.len() < len {
        out[x.len()] = carry;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint as Ref;

    fn to_ref(x: &[u64]) -> Ref {
        Ref::from_slice(
            &x.iter()
                .flat_map(|&l| [l as u32, (l >> 32) as u32])
                .collect::<Vec<_>>(),
        )
    }

    // A small xorshift generator: deterministic inputs, no extra dependency.
    pub(crate) fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn division_matches_num_bigint() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        for round in 0..2000 {
            let ul = 1 + (xorshift(&mut seed) % 70) as usize;
            let vl = 1 + (xorshift(&mut seed) % 40) as usize;
            let mut u: Vec<u64> = (0..ul).map(|_| xorshift(&mut seed)).collect();
            let mut v: Vec<u64> = (0..vl).map(|_| xorshift(&mut seed)).collect();
            // Exercise the rare correction paths: limbs of all ones and small tops.
            if round % 3 == 0 {
                v[vl - 1] = 1 + (v[vl - 1] & 0xff);
            }
            if round % 5 == 0 {
                for l in u.iter_mut().rev().take(3) {
                    *l = u64::MAX;
                }
                if vl > 1 {
                    v[vl - 2] = u64::MAX;
                }
            }
            if v[vl - 1] == 0 {
                v[vl - 1] = 1;
            }
            let (q, r) = div_rem_limbs(&u, &v);
            assert_eq!(r.len(), vl);
            assert_eq!(to_ref(&r), to_ref(&u) % to_ref(&v), "round {round}");
            assert_eq!(to_ref(&q), to_ref(&u) / to_ref(&v), "round {round}");
        }
    }
}

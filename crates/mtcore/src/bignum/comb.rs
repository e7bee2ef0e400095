//! Fixed-base exponentiation: Lim and Lee's comb ("More Flexible
//! Exponentiation with Precomputation", CRYPTO '94; HAC 14.117 describes the
//! single-table case).
//!
//! DH's g^b repeats the same base and modulus for every key (g = 3 and
//! Telegram's prime in practice), so the squarings of a plain exponentiation
//! can be paid once. The exponent's `t` bits are read as `h` rows of
//! `a = t / h` bits, each row split into `v` blocks of `b = a / v` bits. Table
//! `j` holds, for every h-bit pattern `u`, the product of
//! g^(2^(i·a + j·b)) over the set bits `i` of `u`. The power then takes `b - 1`
//! squarings and `a` multiplications, each by an entry chosen by one bit of
//! every row. At 2048 bits with h = 5 and v = 8: 51 squarings and 410
//! multiplications instead of 2048 squarings and ~410 multiplications.
//!
//! Constant time: the operation sequence depends on the exponent's byte
//! length only; every lookup reads all 2^h entries of its table with masks, so
//! memory accesses do not depend on the exponent's bits (the table index `j`
//! is public). Exponents longer than the table covers take `Modulus::pow`.

use super::kernel::{mont_mul, mont_sqr};
use super::uint::{BigUint, MAX_LIMBS};
use super::Modulus;
use subtle::ConstantTimeEq;

/// Rows (bits per table index): 32 entries per table.
const TEETH: usize = 5;
/// Tables: more of them trade memory (v·2^h entries) for squarings.
const TABLES: usize = 8;

/// A base and an odd modulus with the comb tables of the base's powers.
#[derive(Clone)]
pub struct FixedBase {
    modulus: Modulus,
    base: BigUint,
    teeth: usize,
    tables: usize,
    /// Bits per block (`b`); a row is `tables·block` bits.
    block: usize,
    /// `tables · 2^teeth` entries of `width` limbs, in Montgomery form.
    entries: Vec<u64>,
}

impl FixedBase {
    /// Tables for `base` (reduced mod n) and exponents of up to `exp_bits`
    /// bits. Costs about one exponentiation plus v·2^h multiplications.
    pub fn new(modulus: &Modulus, base: &BigUint, exp_bits: usize) -> Self {
        Self::with_shape(modulus, base, exp_bits, TEETH, TABLES)
    }

    /// `new` with a chosen number of rows (`teeth`, 1..=8) and tables (>= 1).
    pub(crate) fn with_shape(
        modulus: &Modulus,
        base: &BigUint,
        exp_bits: usize,
        teeth: usize,
        tables: usize,
    ) -> Self {
        assert!((1..=8).contains(&teeth) && tables >= 1, "comb shape");
        let row = exp_bits.max(1).div_ceil(teeth);
        let tables = tables.min(row);
        let block = row.div_ceil(tables);
        let base = base.rem(modulus.value()).expect("nonzero modulus");
        let mut fb = FixedBase {
            modulus: modulus.clone(),
            base,
            teeth,
            tables,
            block,
            entries: Vec::new(),
        };
        fb.entries = match modulus.kernel_parts().width {
            4 => fb.build::<4>(),
            8 => fb.build::<8>(),
            16 => fb.build::<16>(),
            24 => fb.build::<24>(),
            32 => fb.build::<32>(),
            48 => fb.build::<48>(),
            _ => fb.build::<64>(),
        };
        fb
    }

    /// The most exponent bits the tables cover.
    pub fn max_exp_bits(&self) -> usize {
        self.teeth * self.tables * self.block
    }

    /// The modulus.
    pub fn modulus(&self) -> &Modulus {
        &self.modulus
    }

    /// The base, reduced mod n.
    pub fn base(&self) -> &BigUint {
        &self.base
    }

    /// `base^exp mod n`, `exp` as big-endian bytes; equals
    /// `modulus.pow(base, exp)`. Constant-time in the exponent's value for a
    /// given byte length.
    pub fn pow(&self, exp: &[u8]) -> BigUint {
        if exp.len() * 8 > self.max_exp_bits() {
            return self.modulus.pow(&self.base, exp);
        }
        let r = match self.modulus.kernel_parts().width {
            4 => self.pow_n::<4>(exp),
            8 => self.pow_n::<8>(exp),
            16 => self.pow_n::<16>(exp),
            24 => self.pow_n::<24>(exp),
            32 => self.pow_n::<32>(exp),
            48 => self.pow_n::<48>(exp),
            _ => self.pow_n::<64>(exp),
        };
        BigUint::from_limbs(&r).expect("below the modulus")
    }

    fn build<const N: usize>(&self) -> Vec<u64> {
        let k = self.modulus.kernel_parts();
        let n: [u64; N] = head(k.n);
        let count = self.teeth * self.tables;
        // bases[i·v + j] = g^(2^(i·a + j·b)) = g^(2^((i·v + j)·b)), in Montgomery form.
        let mut plain = [0u64; MAX_LIMBS];
        plain[..self.base.limbs().len()].copy_from_slice(self.base.limbs());
        let mut cur = mont_mul(&head::<N>(&plain), &head(k.r2), &n, k.n0);
        let mut bases = Vec::with_capacity(count);
        for t in 0..count {
            bases.push(cur);
            if t + 1 < count {
                for _ in 0..self.block {
                    cur = mont_sqr(&cur, &n, k.n0);
                }
            }
        }
        let size = 1usize << self.teeth;
        let mut entries = vec![0u64; self.tables * size * N];
        for j in 0..self.tables {
            let table = &mut entries[j * size * N..(j + 1) * size * N];
            table[..N].copy_from_slice(&head::<N>(k.one));
            for u in 1..size {
                // Entry u = entry (u without its top bit) · the top bit's base.
                let top = usize::BITS as usize - 1 - u.leading_zeros() as usize;
                let rest = u ^ (1 << top);
                let factor = &bases[top * self.tables + j];
                let value = if rest == 0 {
                    *factor
                } else {
                    let prev: [u64; N] =
                        table[rest * N..(rest + 1) * N].try_into().expect("N limbs");
                    mont_mul(&prev, factor, &n, k.n0)
                };
                table[u * N..(u + 1) * N].copy_from_slice(&value);
            }
        }
        entries
    }

    fn pow_n<const N: usize>(&self, exp: &[u8]) -> [u64; MAX_LIMBS] {
        let k = self.modulus.kernel_parts();
        let n: [u64; N] = head(k.n);
        let size = 1usize << self.teeth;
        let row = self.tables * self.block;
        let mut acc = [0u64; N];
        for bit in (0..self.block).rev() {
            let first = bit + 1 == self.block;
            if !first {
                acc = mont_sqr(&acc, &n, k.n0);
            }
            for j in (0..self.tables).rev() {
                // One bit of each row: positions i·a + j·b + bit.
                let offset = j * self.block + bit;
                let idx =
                    (0..self.teeth).fold(0usize, |u, i| u | (exp_bit(exp, i * row + offset) << i));
                let table = &self.entries[j * size * N..(j + 1) * size * N];
                let entry = select::<N>(table, idx);
                acc = if first && j + 1 == self.tables {
                    entry
                } else {
                    mont_mul(&acc, &entry, &n, k.n0)
                };
            }
        }
        let mut unit = [0u64; N];
        unit[0] = 1;
        let mut out = [0u64; MAX_LIMBS];
        out[..N].copy_from_slice(&mont_mul(&acc, &unit, &n, k.n0));
        out
    }
}

/// Bit `pos` (0 = least significant) of the big-endian `exp`; zero past its top.
fn exp_bit(exp: &[u8], pos: usize) -> usize {
    let len = exp.len();
    if pos / 8 < len {
        ((exp[len - 1 - pos / 8] >> (pos % 8)) & 1) as usize
    } else {
        0
    }
}

/// Entry `idx` of a table of `N`-limb entries, reading every entry.
fn select<const N: usize>(table: &[u64], idx: usize) -> [u64; N] {
    let mut out = [0u64; N];
    for (i, entry) in table.chunks_exact(N).enumerate() {
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

    #[test]
    fn matches_num_bigint_for_many_shapes() {
        let mut seed = 0xc0b;
        for round in 0..120 {
            let mlen = [1usize, 8, 31, 64, 100, 256][round % 6];
            let mut m = random_bytes(&mut seed, mlen);
            m[0] |= 0x80;
            m[mlen - 1] |= 1;
            let modulus = Modulus::new(&BigUint::from_be_bytes(&m).unwrap()).unwrap();
            // Small bases like DH's g, full-size ones, and bases above n.
            let base = match round % 3 {
                0 => vec![2 + (round % 6) as u8],
                1 => random_bytes(&mut seed, mlen),
                _ => random_bytes(&mut seed, mlen + 3),
            };
            let exp_bits = 1 + xorshift(&mut seed) as usize % (mlen * 8 + 16);
            let teeth = 1 + round % 8;
            let tables = 1 + (round / 8) % 9;
            let fb = FixedBase::with_shape(
                &modulus,
                &BigUint::from_be_bytes(&base).unwrap(),
                exp_bits,
                teeth,
                tables,
            );
            assert!(fb.max_exp_bits() >= exp_bits);
            for exp_len in [0, exp_bits / 8, exp_bits.div_ceil(8), exp_bits / 8 + 2] {
                let mut exp = random_bytes(&mut seed, exp_len);
                if round % 5 == 0 {
                    exp.iter_mut().for_each(|b| *b = 0xff);
                }
                let want = Ref::from_bytes_be(&base)
                    .modpow(&Ref::from_bytes_be(&exp), &Ref::from_bytes_be(&m));
                let got = fb.pow(&exp);
                assert_eq!(
                    Ref::from_bytes_be(&got.to_be_bytes_minimal()),
                    want,
                    "round {round} mlen {mlen} exp_bits {exp_bits} len {exp_len} shape {teeth}x{tables}"
                );
            }
        }
    }

    #[test]
    fn default_shape_at_2048_bits_matches_modulus_pow() {
        let mut seed = 2048;
        let mut m = random_bytes(&mut seed, 256);
        m[0] |= 0x80;
        m[255] |= 1;
        let modulus = Modulus::new(&BigUint::from_be_bytes(&m).unwrap()).unwrap();
        for g in [2u64, 3, 7] {
            let fb = FixedBase::new(&modulus, &BigUint::from_u64(g), 2048);
            assert_eq!(fb.max_exp_bits(), 2080); // 5 rows of 8 blocks of 52 bits
            for _ in 0..4 {
                let exp = random_bytes(&mut seed, 256);
                assert_eq!(fb.pow(&exp), modulus.pow(&BigUint::from_u64(g), &exp));
            }
        }
    }

    /// Timing of the shapes at 2048 bits:
    /// `cargo test --release -p mtcore comb_shapes -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn comb_shapes() {
        let mut seed = 5;
        let mut m = random_bytes(&mut seed, 256);
        m[0] |= 0x80;
        m[255] |= 1;
        let modulus = Modulus::new(&BigUint::from_be_bytes(&m).unwrap()).unwrap();
        let g = BigUint::from_u64(3);
        let exp = random_bytes(&mut seed, 256);
        let time = |f: &dyn Fn() -> BigUint| {
            let runs = 200;
            let start = std::time::Instant::now();
            for _ in 0..runs {
                std::hint::black_box(f());
            }
            start.elapsed().as_secs_f64() * 1e6 / runs as f64
        };
        println!("modulus.pow: {:.0} us", time(&|| modulus.pow(&g, &exp)));
        for (teeth, tables) in [
            (4, 4),
            (4, 8),
            (4, 16),
            (5, 4),
            (5, 8),
            (5, 12),
            (6, 4),
            (6, 8),
            (7, 4),
            (8, 2),
        ] {
            let start = std::time::Instant::now();
            let fb = FixedBase::with_shape(&modulus, &g, 2048, teeth, tables);
            let built = start.elapsed().as_secs_f64() * 1e6;
            let us = time(&|| fb.pow(&exp));
            println!("{teeth}x{tables}: {us:.0} us per power, built in {built:.0} us");
        }
    }
}

//! Fixed-base exponentiation: Lim and Lee's comb ("More Flexible
//! Exponentiation with Precomputation", CRYPTO '94; HAC 14.117 describes the
//! single-table case), on crypto-bigint's Montgomery multiplication.
//!
//! Why our own code: DH's g^b repeats the same base and modulus for every key
//! (g = 3 and Telegram's prime in practice), so the squarings of a plain
//! exponentiation can be paid once. At 2048 bits this takes 51 squarings and
//! 410 multiplications where `BoxedMontyForm::pow` takes 2048 squarings and
//! 512 multiplications: 3.5x less time on this machine (`cargo bench -p
//! mtcore --bench dh`: "g^b comb" beside "g^b pow"), on the path of every key
//! exchange.
//!
//! The exponent's `t` bits are read as `h` rows of `a = t / h` bits, each row
//! split into `v` blocks of `b = a / v` bits. Table `j` holds, for every h-bit
//! pattern `u`, the product of g^(2^(i·a + j·b)) over the set bits `i` of `u`.
//! The power then takes `b - 1` squarings and `a` multiplications, each by an
//! entry chosen by one bit of every row.
//!
//! Constant time: the operation sequence depends on the exponent's byte
//! length only; every lookup reads all 2^h entries of its table with masks, so
//! memory accesses do not depend on the exponent's bits (the table index `j`
//! is public); the multiplications are crypto-bigint's constant-time ones.
//! Exponents longer than the table covers take `BoxedMontyForm::pow`.

use super::encoding::{exponent, reduce};
use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, MontyForm, MontyMultiplier, Word};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// Rows (bits per table index): 32 entries per table.
const TEETH: usize = 5;
/// Tables: more of them trade memory (v·2^h entries) for squarings.
const TABLES: usize = 8;

/// A base and an odd modulus with the comb tables of the base's powers.
#[derive(Clone)]
pub struct FixedBase {
    base: BoxedMontyForm,
    teeth: usize,
    tables: usize,
    /// Bits per block (`b`); a row is `tables·block` bits.
    block: usize,
    /// Words per entry: the modulus's precision.
    words: usize,
    /// `tables · 2^teeth` entries of `words` words each, in Montgomery form.
    entries: Vec<Word>,
}

impl FixedBase {
    /// Tables for `base` (reduced mod n) and exponents of up to `exp_bits`
    /// bits. Costs about one exponentiation plus v·2^h multiplications.
    pub fn new(params: &BoxedMontyParams, base: &BoxedUint, exp_bits: usize) -> Self {
        Self::with_shape(params, base, exp_bits, TEETH, TABLES)
    }

    /// `new` with a chosen number of rows (`teeth`, 1..=8) and tables (>= 1).
    pub(crate) fn with_shape(
        params: &BoxedMontyParams,
        base: &BoxedUint,
        exp_bits: usize,
        teeth: usize,
        tables: usize,
    ) -> Self {
        assert!((1..=8).contains(&teeth) && tables >= 1, "comb shape");
        let row = exp_bits.max(1).div_ceil(teeth);
        let tables = tables.min(row);
        let block = row.div_ceil(tables);
        let precision = params.bits_precision();
        let base = BoxedMontyForm::new(reduce(base, params.modulus().as_ref()), params);
        let mut fb = FixedBase {
            base,
            teeth,
            tables,
            block,
            words: (precision / Word::BITS) as usize,
            entries: Vec::new(),
        };
        fb.entries = fb.build();
        fb
    }

    /// The most exponent bits the tables cover.
    pub fn max_exp_bits(&self) -> usize {
        self.teeth * self.tables * self.block
    }

    fn build(&self) -> Vec<Word> {
        let count = self.teeth * self.tables;
        // bases[i·v + j] = g^(2^(i·a + j·b)) = g^(2^((i·v + j)·b)).
        let mut bases = Vec::with_capacity(count);
        let mut cur = self.base.clone();
        for t in 0..count {
            bases.push(cur.clone());
            if t + 1 < count {
                for _ in 0..self.block {
                    cur = cur.square();
                }
            }
        }
        let size = 1usize << self.teeth;
        let one = BoxedMontyForm::one(self.base.params());
        let mut entries = Vec::with_capacity(self.tables * size * self.words);
        for j in 0..self.tables {
            let mut table: Vec<BoxedMontyForm> = Vec::with_capacity(size);
            table.push(one.clone());
            for u in 1..size {
                // Entry u = entry (u without its top bit) · the top bit's base.
                let top = usize::BITS as usize - 1 - u.leading_zeros() as usize;
                let factor = &bases[top * self.tables + j];
                let value = table[u ^ (1 << top)].mul(factor);
                table.push(value);
            }
            for entry in &table {
                entries.extend_from_slice(entry.as_montgomery().as_words());
            }
        }
        entries
    }

    /// `base^exp mod n`, `exp` as big-endian bytes; equals
    /// `BoxedMontyForm::pow`. Constant-time in the exponent's value for a
    /// given byte length.
    pub fn pow(&self, exp: &[u8]) -> BoxedUint {
        if exp.len() * 8 > self.max_exp_bits() {
            return self.base.pow(&exponent(exp)).retrieve();
        }
        let params = self.base.params();
        let mut multiplier = <BoxedMontyForm as MontyForm>::Multiplier::from(params);
        let size = 1usize << self.teeth;
        let row = self.tables * self.block;
        let mut acc = BoxedMontyForm::one(params);
        let mut entry = BoxedMontyForm::one(params);
        for bit in (0..self.block).rev() {
            let first = bit + 1 == self.block;
            if !first {
                multiplier.square_assign(&mut acc);
            }
            for j in (0..self.tables).rev() {
                // One bit of each row: positions i·a + j·b + bit.
                let offset = j * self.block + bit;
                let idx =
                    (0..self.teeth).fold(0u32, |u, i| u | (exp_bit(exp, i * row + offset) << i));
                let table = &self.entries[j * size * self.words..(j + 1) * size * self.words];
                select(table, idx, entry.as_montgomery_mut().as_mut_words());
                if first && j + 1 == self.tables {
                    std::mem::swap(&mut acc, &mut entry);
                } else {
                    multiplier.mul_assign(&mut acc, &entry);
                }
            }
        }
        acc.retrieve()
    }
}

/// Bit `pos` (0 = least significant) of the big-endian `exp`; zero past its top.
fn exp_bit(exp: &[u8], pos: usize) -> u32 {
    let len = exp.len();
    if pos / 8 < len {
        ((exp[len - 1 - pos / 8] >> (pos % 8)) & 1) as u32
    } else {
        0
    }
}

/// Copies entry `idx` of `table` into `out`, reading every entry.
fn select(table: &[Word], idx: u32, out: &mut [Word]) {
    for (i, entry) in table.chunks_exact(out.len()).enumerate() {
        let hit = (i as u32).ct_eq(&idx);
        for (o, e) in out.iter_mut().zip(entry) {
            o.conditional_assign(e, hit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bignum::encoding::{number, odd_modulus};

    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    fn random_bytes(seed: &mut u64, len: usize) -> Vec<u8> {
        (0..len).map(|_| xorshift(seed) as u8).collect()
    }

    /// Differential test against the crate's own exponentiation.
    fn crate_pow(params: &BoxedMontyParams, base: &[u8], exp: &[u8]) -> BoxedUint {
        let b = reduce(&number(base).unwrap(), params.modulus().as_ref());
        BoxedMontyForm::new(b, params)
            .pow(&exponent(exp))
            .retrieve()
    }

    #[test]
    fn matches_the_crates_pow_for_many_shapes() {
        let mut seed = 0xc0b;
        for round in 0..120 {
            let mlen = [1usize, 8, 31, 64, 100, 256][round % 6];
            let mut m = random_bytes(&mut seed, mlen);
            m[0] |= 0x80;
            m[mlen - 1] |= 1;
            let params = odd_modulus(&number(&m).unwrap()).unwrap();
            // Small bases like DH's g, full-size ones, and bases above n.
            let base = match round % 3 {
                0 => vec![2 + (round % 6) as u8],
                1 => random_bytes(&mut seed, mlen),
                _ => random_bytes(&mut seed, mlen + 3),
            };
            let exp_bits = 1 + xorshift(&mut seed) as usize % (mlen * 8 + 16);
            let teeth = 1 + round % 8;
            let tables = 1 + (round / 8) % 9;
            let fb =
                FixedBase::with_shape(&params, &number(&base).unwrap(), exp_bits, teeth, tables);
            assert!(fb.max_exp_bits() >= exp_bits);
            for exp_len in [0, exp_bits / 8, exp_bits.div_ceil(8), exp_bits / 8 + 2] {
                let mut exp = random_bytes(&mut seed, exp_len);
                if round % 5 == 0 {
                    exp.iter_mut().for_each(|b| *b = 0xff);
                }
                assert_eq!(
                    fb.pow(&exp),
                    crate_pow(&params, &base, &exp),
                    "round {round} mlen {mlen} exp_bits {exp_bits} len {exp_len} shape {teeth}x{tables}"
                );
            }
        }
    }

    #[test]
    fn default_shape_at_2048_bits_matches_the_crate() {
        let mut seed = 2048;
        let mut m = random_bytes(&mut seed, 256);
        m[0] |= 0x80;
        m[255] |= 1;
        let params = odd_modulus(&number(&m).unwrap()).unwrap();
        for g in [2u8, 3, 7] {
            let fb = FixedBase::new(&params, &number(&[g]).unwrap(), 2048);
            assert_eq!(fb.max_exp_bits(), 2080); // 5 rows of 8 blocks of 52 bits
            for _ in 0..4 {
                let exp = random_bytes(&mut seed, 256);
                assert_eq!(fb.pow(&exp), crate_pow(&params, &[g], &exp));
            }
        }
    }
}

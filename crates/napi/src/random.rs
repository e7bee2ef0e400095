//! OS randomness for the bindings: padding, session ids, the obfuscated2 init.
//!
//! A system call per packet would cost more than sealing it, so bytes are
//! drawn from the OS a block at a time into a per-thread pool and handed out
//! once each (they are wiped as they leave the pool).

use std::cell::RefCell;

const POOL_LEN: usize = 4096;

struct Pool {
    bytes: [u8; POOL_LEN],
    used: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool { bytes: [0; POOL_LEN], used: POOL_LEN })
    };
}

/// Fills `dest` with OS randomness (buffered per thread). Usable wherever
/// mtcore takes randomness: `&mut fill` is both a `FnMut(&mut [u8])` and a
/// `transport::RandomSource`.
///
/// Panics if the OS generator fails, which it does not once the system has
/// booted; sending predictable padding or init bytes would be worse.
pub fn fill(dest: &mut [u8]) {
    POOL.with(|pool| {
        let pool = &mut *pool.borrow_mut();
        let mut out = dest;
        while !out.is_empty() {
            if pool.used == POOL_LEN {
                getrandom::fill(&mut pool.bytes).expect("the OS random source failed");
                pool.used = 0;
            }
            let n = out.len().min(POOL_LEN - pool.used);
            let taken = &mut pool.bytes[pool.used..pool.used + n];
            out[..n].copy_from_slice(taken);
            // Never hand out the same bytes twice.
            taken.fill(0);
            pool.used += n;
            out = &mut out[n..];
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_not_handed_out_twice() {
        let mut a = [0u8; 3000];
        let mut b = [0u8; 3000];
        fill(&mut a);
        fill(&mut b);
        assert_ne!(a, b);
        assert_ne!(a, [0; 3000]);
        // Across a refill, and in single bytes.
        let mut one = [0u8; 1];
        let ones: Vec<u8> = (0..5000)
            .map(|_| {
                fill(&mut one);
                one[0]
            })
            .collect();
        assert!(ones.iter().any(|&x| x != ones[0]));
    }
}

//! Randomness for every binding's hot path (message and transport padding, the
//! obfuscated2 init, session ids): one ChaCha20 generator per thread, seeded once
//! from the operating system. (One-off key material in `bignum` comes from the OS
//! directly.)
//!
//! A syscall per message (getrandom) would cost more than the whole envelope, so
//! the OS is asked once per thread for a 256-bit seed and ChaCha20 (RustCrypto's
//! `chacha20`, SIMD backends picked at run time) expands it. Padding only needs to
//! be unpredictable to an observer of the wire; ChaCha20 keyed by an OS seed is a
//! CSPRNG, and its state never leaves the thread. Node never forks a process
//! without exec, so two processes never share a seeded state.

use std::cell::RefCell;

use chacha20::rand_core::{Rng, SeedableRng};
use chacha20::ChaCha20Rng;

use crate::errors::{coded, JsError};

thread_local! {
    static RNG: RefCell<Option<ChaCha20Rng>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's generator as a `fill(bytes)` callback, seeding it
/// from the OS on first use.
pub fn with_random<T>(f: impl FnOnce(&mut dyn FnMut(&mut [u8])) -> T) -> Result<T, JsError> {
    RNG.with(|cell| {
        let mut slot = cell.borrow_mut();
        let rng = match &mut *slot {
            Some(rng) => rng,
            empty => {
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).map_err(|e| {
                    coded(
                        "ERR_NO_RANDOMNESS",
                        format!("the OS gave no random seed: {e}"),
                    )
                })?;
                empty.insert(ChaCha20Rng::from_seed(seed))
            }
        };
        Ok(f(&mut |bytes: &mut [u8]| rng.fill_bytes(bytes)))
    })
}

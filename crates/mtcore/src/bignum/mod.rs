//! Big-number math for the auth-key exchange.
//!
//! - `BigUint`: unsigned integers up to 4096 bits in fixed (stack) storage.
//! - `Modulus`: Montgomery arithmetic for odd moduli, with constant-time
//!   fixed-window exponentiation (a cheaper path for small bases such as
//!   DH's g); `mod_pow`/`mod_pow_be` for any modulus.
//! - `FixedBase`: a precomputed comb table for one (base, modulus), so that
//!   repeated powers of the same base (DH's g^b) need no squarings at all.
//! - `prime`: Miller-Rabin and the safe-prime test that DH parameters need.
//! - `pq`: Pollard-Brent factorization of the handshake's 64-bit `pq`.
//!
//! Everything is sans-IO and deterministic: the primality test derives its
//! witnesses from a hash of the candidate instead of asking for randomness.

mod comb;
mod div;
mod kernel;
mod modpow;
mod mont;
pub mod pq;
pub mod prime;
mod prime64;
mod smallbase;
mod uint;

pub use comb::FixedBase;
pub use modpow::{mod_pow, mod_pow_be};
pub use mont::{Modulus, MontElem};
pub use uint::{BigUint, MAX_BITS, MAX_LIMBS};

/// Errors of the big-number layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BignumError {
    /// A value needs more bits than supported.
    TooLarge { bits: usize, max: usize },
    /// Reduction or exponentiation modulo zero.
    ZeroModulus,
    /// Montgomery arithmetic needs an odd modulus (`mod_pow` falls back instead).
    EvenModulus,
    /// A value does not fit the output buffer.
    OutputTooShort { needed: usize, got: usize },
}

impl std::fmt::Display for BignumError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BignumError::TooLarge { bits, max } => {
                write!(f, "number of {bits} bits exceeds the {max}-bit limit")
            }
            BignumError::ZeroModulus => write!(f, "modulus is zero"),
            BignumError::EvenModulus => write!(f, "Montgomery arithmetic needs an odd modulus"),
            BignumError::OutputTooShort { needed, got } => {
                write!(f, "number needs {needed} bytes, output has {got}")
            }
        }
    }
}

impl std::error::Error for BignumError {}

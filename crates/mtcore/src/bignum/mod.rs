//! Big-number math for the auth-key exchange, on RustCrypto's crypto-bigint.
//!
//! - `encoding`: big-endian bytes to and from `BoxedUint`, the 4096-bit limit,
//!   Montgomery parameters of an odd modulus.
//! - `mod_pow_be`: modular exponentiation for any modulus (constant-time
//!   `BoxedMontyForm::pow` for odd ones).
//! - `FixedBase`: a precomputed comb table for one (base, modulus), so that
//!   repeated powers of the same base (DH's g^b) need few squarings; our own
//!   code because it is 3.5x faster than the crate's pow on that path.
//! - `pq`: Pollard-Brent factorization of the handshake's 64-bit `pq`, in
//!   64-bit Montgomery arithmetic (`prime64`).
//!
//! The safe-prime test of DH primes is crypto-primes' (see crypto::safe_prime).

mod comb;
pub mod encoding;
mod modpow;
pub mod pq;
pub(crate) mod prime64;

pub use comb::FixedBase;
pub use modpow::mod_pow_be;

/// Errors of the big-number layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BignumError {
    /// A value needs more bits than supported.
    TooLarge { bits: usize, max: usize },
    /// Reduction or exponentiation modulo zero.
    ZeroModulus,
    /// Montgomery arithmetic needs an odd modulus (`mod_pow_be` falls back instead).
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

//! Cryptographic primitives of MTProto 2.0.
//!
//! AES and SHA come from the RustCrypto crates (which pick AES-NI and the SHA
//! extensions at run time); IGE chaining and the MTProto constructions are ours,
//! and so is the AES-NI form of IGE (aes_ni.rs), which a benchmark earned.

#[cfg(target_arch = "x86_64")]
mod aes_ni;
pub mod bind;
pub mod dh;
pub mod dh_group;
pub mod envelope;
pub mod ige;
pub mod rsa;
pub mod safe_prime;
pub mod sha;
pub mod srp;

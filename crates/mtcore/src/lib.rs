//! mtcore: the sans-IO core of telegram-mt.
//!
//! Pure Rust, no napi and no sockets: it works on buffers, takes time and
//! randomness as arguments, and returns deadlines instead of owning timers.
#![deny(unsafe_code)]

pub mod bignum;
pub mod crypto;
pub mod link;
pub mod mtp;
pub mod transport;

//! The napi-rs binding of mtcore: type conversions and error mapping only.

// napi-derive registers exports only outside `cfg(test)`, so the unit-test
// build sees every binding as unused.
#![cfg_attr(test, allow(dead_code))]

mod arena;
mod bignum;
mod convert;
mod crypto;
mod errors;
mod fake_tls;
mod link;
mod link_convert;
mod mtp;
mod mtp_convert;
mod random;
mod srp;
mod transport;

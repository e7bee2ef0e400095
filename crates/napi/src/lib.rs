//! The napi-rs binding of mtcore: type conversions and error mapping only.

// napi-derive registers exports only outside `cfg(test)`, so the unit-test
// build sees every binding as unused.
#![cfg_attr(test, allow(dead_code))]

mod arena;
mod bignum;
mod convert;
mod crypto;
mod errors;
mod factories;
mod fake_tls;
mod link;
mod link_convert;
mod link_state;
mod mtp_convert;
mod plain;
mod random;
mod srp;
mod transport;

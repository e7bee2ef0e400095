//! The full transport's decoders (client and server side) on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mtcore::transport::Kind;

mod common;

fuzz_target!(|data: &[u8]| common::fuzz_kind(Kind::Full, data));
